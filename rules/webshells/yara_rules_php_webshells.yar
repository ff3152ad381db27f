/*
    Source: Yara-Rules/rules (https://github.com/Yara-Rules/rules), commit 0f93570194a8,
    files webshells/WShell_PHP_Anuna.yar, webshells/WShell_PHP_in_images.yar, webshells/Wshell_ChineseSpam.yar.
    Licence: GPL-2.0 (Yara-Rules repository licence). Licence text: rules/LICENSES/Yara-Rules_GPL-2.0.txt
    Changes by seized: meta fields source/reference/license added; strings and conditions unchanged.
*/

/*
    I first found this in May 2016, appeared in every PHP file on the
    server, cleaned it with `sed` and regex magic. Second time was
    in June 2016, same decoded content, different encoding/naming.

    https://www.symantec.com/security_response/writeup.jsp?docid=2015-111911-4342-99
*/
rule php_anuna
{
    meta:
        author      = "Vlad https://github.com/vlad-s"
        date        = "2016/07/18"
        description = "Catches a PHP Trojan"
        source      = "Yara-Rules/rules webshells/WShell_PHP_Anuna.yar"
        reference   = "https://www.symantec.com/security_response/writeup.jsp?docid=2015-111911-4342-99"
        license     = "GPL-2.0"
    strings:
        $a = /<\?php \$[a-z]+ = '/
        $b = /\$[a-z]+=explode\(chr\(\([0-9]+[-+][0-9]+\)\)/
        $c = /\$[a-z]+=\([0-9]+[-+][0-9]+\)/
        $d = /if \(!function_exists\('[a-z]+'\)\)/
    condition:
        all of them
}

/*
    Finds PHP code in JP(E)Gs, GIFs, PNGs.
    Magic numbers via Wikipedia.
*/
rule php_in_image
{
    meta:
        author      = "Vlad https://github.com/vlad-s"
        date        = "2016/07/18"
        description = "Finds image files w/ PHP code in images"
        source      = "Yara-Rules/rules webshells/WShell_PHP_in_images.yar"
        reference   = "https://github.com/Yara-Rules/rules/blob/master/webshells/WShell_PHP_in_images.yar"
        license     = "GPL-2.0"
    strings:
        $gif = /^GIF8[79]a/
        $jfif = { ff d8 ff e? 00 10 4a 46 49 46 }
        $png = { 89 50 4e 47 0d 0a 1a 0a }

        $php_tag = "<?php"
    condition:
        (($gif at 0) or
        ($jfif at 0) or
        ($png at 0)) and

        $php_tag
}

/*
    PHP file(s) (spreader) that, using multiple remote
    servers, use file_get_contents() to get more PHP
    content that it writes in files with random name
    (echoers), file(s) which use file_get_contents()
    to get and echo the HTML (chinese blog/shop/???).
*/
rule chinese_spam_spreader : webshell
{
    meta:
        author      = "Vlad https://github.com/vlad-s"
        date        = "2016/07/18"
        description = "Catches chinese PHP spam files (autospreaders)"
        source      = "Yara-Rules/rules webshells/Wshell_ChineseSpam.yar"
        reference   = "https://github.com/Yara-Rules/rules/blob/master/webshells/Wshell_ChineseSpam.yar"
        license     = "GPL-2.0"
    strings:
        $a = "User-Agent: aQ0O010O"
        $b = "<font color='red'><b>Connection Error!</b></font>"
        $c = /if ?\(\$_POST\[Submit\]\) ?{/
    condition:
        all of them
}

rule chinese_spam_echoer : webshell
{
    meta:
        author      = "Vlad https://github.com/vlad-s"
        date        = "2016/07/18"
        description = "Catches chinese PHP spam files (printers)"
        source      = "Yara-Rules/rules webshells/Wshell_ChineseSpam.yar"
        reference   = "https://github.com/Yara-Rules/rules/blob/master/webshells/Wshell_ChineseSpam.yar"
        license     = "GPL-2.0"
    strings:
        $a = "set_time_limit(0)"
        $b = "date_default_timezone_set('PRC');"
        $c = "$Content_mb;"
        $d = "/index.php?host="
    condition:
        all of them
}
