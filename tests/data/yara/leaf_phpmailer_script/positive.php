<?php
/* Leaf PHPMailer */
$title = 'Leaf PHPMailer 2.8';
?>
