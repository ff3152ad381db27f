/*
    Rules written for the seized project, licence Apache-2.0.
    PHP mass-mailer scripts as found on compromised/seized web hosts.
*/
rule leaf_phpmailer_script {
  meta:
    description = "Leaf PHPMailer mass-mailer script (named in its source and page title)"
    author      = "seized"
    source      = "seized rules/mailers/seized_mailers.yar"
    reference   = "Leaf PHPMailer family of spam mailers; see rules/SOURCES.md"
    license     = "Apache-2.0"

  strings:
    $php   = "<?php"
    $leaf1 = "Leaf PHPMailer" nocase
    $leaf2 = "leafmailer" nocase

  condition:
    $php and any of ($leaf*)
}

rule php_bulk_mailer_script {
  meta:
    description = "PHP script that takes a posted recipient list and calls mail() per address: a web mass-mailer"
    author      = "seized"
    source      = "seized rules/mailers/seized_mailers.yar"
    reference   = "https://www.php.net/manual/en/function.mail.php"
    license     = "Apache-2.0"

  strings:
    $php  = "<?php"
    $list = /\$_(POST|REQUEST|GET)\[['"]?(emaillist|email_list|maillist|mailist|emails|mails|to_list|tolist|leads)['"]?\]/ nocase
    $send = /[^a-z_]mail\(\$/

  condition:
    filesize < 1MB and $php and $list and $send
}
