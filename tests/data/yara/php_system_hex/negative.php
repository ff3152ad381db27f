<?php system("ls"); ?>
