<?php
$content = chunk_split(base64_encode($content));
echo 'sending';
?>
