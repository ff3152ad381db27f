<?php
echo '<h1>Execution PHP-code</h1><div class=content><form name=pf method=post>';
?>
