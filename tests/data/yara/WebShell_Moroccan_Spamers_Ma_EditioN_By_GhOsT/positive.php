<?php
if (!$from && !$subject && !$message && !$emaillist){ 
  echo 'fill';
}
$content = chunk_split(base64_encode($content)); 
print "Sending mail to $to....... "; 
?>
