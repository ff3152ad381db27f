<?php
echo get_current_user();
?>
