<?php
$list = explode("\n", $_POST['emaillist']);
foreach ($list as $to) {
  mail($to, $_POST['subject'], $_POST['message']);
}
?>
