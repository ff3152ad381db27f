<?php
$x = base64_decode($_POST['p']);
echo htmlspecialchars($x);
?>
