<?php
use PHPMailer\PHPMailer\PHPMailer;
$mail = new PHPMailer(true);
?>
