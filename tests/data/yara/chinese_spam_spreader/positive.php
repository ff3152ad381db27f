<?php
$ua = "User-Agent: aQ0O010O";
if ($_POST[Submit]) {
 echo "<font color='red'><b>Connection Error!</b></font>";
}
?>
