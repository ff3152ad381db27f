<?php $kdd = 'x';$vbo=explode(',','a,b');if (!function_exists('qzx')) { }
