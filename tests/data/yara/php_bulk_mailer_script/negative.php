<?php
$to = 'webmaster@example.org';
mail('webmaster@example.org', 'contact form', $_POST['message']);
?>
