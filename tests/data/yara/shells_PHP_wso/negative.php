<?php
echo '<h1>Execution</h1>';
?>
