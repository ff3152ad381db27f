<?php
print "Sending mail to $to....... ";
?>
