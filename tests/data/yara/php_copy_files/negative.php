<?php move_uploaded_file($_FILES['f']['tmp_name'], '/srv/uploads/x'); ?>
