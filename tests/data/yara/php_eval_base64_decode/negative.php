<?php echo base64_decode('ZWNobyAnaGknOw=='); ?>
