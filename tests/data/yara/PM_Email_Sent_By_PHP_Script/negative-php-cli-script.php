#!/usr/bin/php
<?php
// X-PHP-Originating-Script and X-PHP-Script are added by mail() when mail.add_x_header is on
