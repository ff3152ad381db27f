/*
    Source: chainguard-dev/malcontent (https://github.com/chainguard-dev/malcontent), commit 8cf14e8e27b2,
    file rules/impact/remote_access/php.yara (rules selected by seized).
    Copyright the malcontent authors. Licensed under the Apache License, Version 2.0.
    Licence text: rules/LICENSES/Apache-2.0_malcontent.txt
    Changes by seized: meta fields author/source/reference/license added; strings and conditions unchanged.
*/
rule php_possible_backdoor: critical {
  meta:
    description = "Decodes and evaluates code"
    filetypes   = "php"
    author      = "malcontent authors (Chainguard)"
    source      = "chainguard-dev/malcontent rules/impact/remote_access/php.yara"
    reference   = "https://github.com/chainguard-dev/malcontent/blob/main/rules/impact/remote_access/php.yara"
    license     = "Apache-2.0"

  strings:
    $php             = "<?php"
    $php_or          = "<? "
    $f_base64_decode = "base64_decode"
    $f_strrev        = "strrev"
    $f_rot13         = "str_rot13"
    $f_explode       = "explode"
    $f_preg          = "preg_replace"
    $f_serialize     = "serialize"
    $f_gzinflate     = "gzinflate"
    $f_remote_addr   = "REMOTE_ADDR"
    $f_exec          = "exec("
    $eval            = "eval"
    $not_aprutil     = "APR-UTIL"
    $not_highlight   = "Please see https://github.com/highlightjs/highlight.js/pull/"
    $not_javadoc     = "@param int"
    $not_php_group   = "Copyright (c) The PHP Group"
    $not_reference   = "stream_register_wrapper"
    $not_syntax      = "syntax file"
    $not_workaround  = "/* workaround for chrome bug "

  condition:
    filesize < 64KB and $eval and 1 of ($php*) and 4 of ($f_*) and none of ($not*)
}

rule php_eval_base64_decode: critical {
  meta:
    description = "directly evaluates base64 content"
    author      = "malcontent authors (Chainguard)"
    source      = "chainguard-dev/malcontent rules/impact/remote_access/php.yara"
    reference   = "https://github.com/chainguard-dev/malcontent/blob/main/rules/impact/remote_access/php.yara"
    license     = "Apache-2.0"

  strings:
    $eval_base64_decode = "eval(base64_decode"

  condition:
    any of them
}

rule php_executor: critical {
  meta:
    description = "calls shell_exec and get_current_user"
    filetypes   = "php"
    author      = "malcontent authors (Chainguard)"
    source      = "chainguard-dev/malcontent rules/impact/remote_access/php.yara"
    reference   = "https://github.com/chainguard-dev/malcontent/blob/main/rules/impact/remote_access/php.yara"
    license     = "Apache-2.0"

  strings:
    $php          = "<?php"
    $f_shell_exec = "shell_exec("
    $f_user       = "get_current_user("

  condition:
    filesize < 1048576 and $php and all of ($f_*)
}

rule php_eval_gzinflate_base64_backdoor: critical {
  meta:
    description = "PHP code that evaluates gzinflate(base64_decode(...)) payloads"
    filetypes = "php"
    ref       = "xoxo"
    author      = "malcontent authors (Chainguard)"
    source      = "chainguard-dev/malcontent rules/impact/remote_access/php.yara"
    reference   = "https://github.com/chainguard-dev/malcontent/blob/main/rules/impact/remote_access/php.yara"
    license     = "Apache-2.0"

  strings:
    $f_eval          = "eval("
    $f_html_special  = "htmlspecialchars_decode"
    $f_gzinflate     = "gzinflate("
    $f_base64_decode = "base64_decode"

    $notgrp_js1 = " ?? "
    $notgrp_js2 = " === "
    $notgrp_js3 = "const"
    $notgrp_js4 = "this."
    $notgrp_js5 = "throw"

    $not_mongosh_php = { 3C 3F 70 68 70 00 00 00 01 0C 51 61 03 00 00 00 02 00 00 00 3F 3E }
    $not_php         = "PHP_FLOAT_DIG" fullword
    $not_workaround  = "/* workaround for chrome bug "

  condition:
    // $notgrp_js* are JavaScript tokens that jointly say "this file is JS, not PHP".
    // Each one is also legal PHP, so a single "throw" must not disable the rule; the
    // PHP syntax-mode JS files in the corpus carry three of the five, so require
    // that many before suppressing. The other three strings are conclusive alone.
    filesize < 64KB and all of ($f*) and none of ($not_*) and not 3 of ($notgrp_js*)
}

rule php_base64_eval_uname: critical {
  meta:
    description = "PHP code that calls eval, uname, and base64_decode"
    filetypes   = "php"
    author      = "malcontent authors (Chainguard)"
    source      = "chainguard-dev/malcontent rules/impact/remote_access/php.yara"
    reference   = "https://github.com/chainguard-dev/malcontent/blob/main/rules/impact/remote_access/php.yara"
    license     = "Apache-2.0"

  strings:
    $f_php           = "<?php"
    $f_eval          = "eval("
    $f_uname         = "_uname()"
    $f_base64_decode = "base64_decode"

    $not_php_group  = "Copyright (c) The PHP Group"
    $not_workaround = "/* workaround for chrome bug "

  condition:
    filesize < 64KB and all of ($f*) and none of ($not*)
}

rule php_system_hex: critical {
  meta:
    description = "runs hex-obfuscated command-lines"
    filetypes   = "php"
    author      = "malcontent authors (Chainguard)"
    source      = "chainguard-dev/malcontent rules/impact/remote_access/php.yara"
    reference   = "https://github.com/chainguard-dev/malcontent/blob/main/rules/impact/remote_access/php.yara"
    license     = "Apache-2.0"

  strings:
    $system_hex = "system(\"\\x"

  condition:
    filesize < 64KB and any of them
}

rule php_copy_files: high {
  meta:
    description = "copies files uploaded to it"
    author      = "malcontent authors (Chainguard)"
    source      = "chainguard-dev/malcontent rules/impact/remote_access/php.yara"
    reference   = "https://github.com/chainguard-dev/malcontent/blob/main/rules/impact/remote_access/php.yara"
    license     = "Apache-2.0"

  strings:
    $copy_files = "@copy($_FILES"

  condition:
    filesize < 64KB and all of them
}
