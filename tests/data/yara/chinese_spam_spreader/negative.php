<?php
$ua = "User-Agent: Mozilla";
if ($_POST[Submit]) {
 echo "<font color='red'><b>Connection Error!</b></font>";
}
?>
