<?php echo htmlspecialchars_decode(base64_decode($p)); ?>
