<?php
set_time_limit(0);
date_default_timezone_set('UTC');
$u = "/index.php?host=".$h;
echo $Content_mb;
?>
