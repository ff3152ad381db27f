<?php
// B374k Vip In Beautify Just For Self
?>
