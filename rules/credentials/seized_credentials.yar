/*
    Rules written for seized, licence Apache-2.0.
    Credential material typical of seized spam/hosting servers: e-mail:password combo lists,
    crypt(3) hash lines (shadow, htpasswd) and PEM/OpenSSH private keys.
    Findings only say where such material is; the pipeline never reports the matched bytes.
*/
rule combo_list_email_password {
  meta:
    description = "Combo list: at least 10 lines of webmail address followed by ':' ';' or '|' and a password"
    author      = "seized"
    source      = "seized rules/credentials/seized_credentials.yar"
    reference   = "https://en.wikipedia.org/wiki/Credential_stuffing"
    license     = "Apache-2.0"

  strings:
    $combo = /@(gmail|googlemail|yahoo|hotmail|outlook|live|msn|aol|icloud|mail|yandex|gmx|web|comcast|rambler|orange|free|libero|t-online)\.(com|net|ru|de|fr|it|co\.uk|ca)[:;|][^\s:;|@]{3,64}\r?\n/

  condition:
    #combo >= 10
}

rule unix_crypt_hash_entry {
  meta:
    description = "passwd/shadow-style line holding a crypt(3) hash ($1$ MD5, $5$/$6$ SHA, $y$ yescrypt, $2b$ bcrypt)"
    author      = "seized"
    source      = "seized rules/credentials/seized_credentials.yar"
    reference   = "https://man7.org/linux/man-pages/man5/shadow.5.html"
    license     = "Apache-2.0"
    changed     = "2026-12-06: the system's own account database (/etc/shadow, /etc/gshadow and their - backups) is left to the accounts table; a hash line anywhere else (a dump, a copied shadow) still matches"

  strings:
    $md5crypt = /:\$1\$[.\/0-9A-Za-z]{1,8}\$[.\/0-9A-Za-z]{22}:/
    $sha      = /:\$[56]\$(rounds=[0-9]{1,9}\$)?[.\/0-9A-Za-z]{1,16}\$[.\/0-9A-Za-z]{43,86}:/
    $yescrypt = /:\$y\$[.\/0-9A-Za-z]{1,8}\$[.\/0-9A-Za-z]{1,86}\$[.\/0-9A-Za-z]{43}:/
    $bcrypt   = /:\$2[aby]\$[0-9]{2}\$[.\/0-9A-Za-z]{53}:/

  condition:
    any of them and not (filepath matches /^\/etc\/g?shadow-?$/)
}

rule htpasswd_apr1_entry {
  meta:
    description = "Apache htpasswd line with an APR1-MD5 hash (user:$apr1$salt$hash)"
    author      = "seized"
    source      = "seized rules/credentials/seized_credentials.yar"
    reference   = "https://httpd.apache.org/docs/2.4/misc/password_encryptions.html"
    license     = "Apache-2.0"

  strings:
    $apr1 = /:\$apr1\$[.\/0-9A-Za-z]{1,8}\$[.\/0-9A-Za-z]{22}/

  condition:
    $apr1
}

rule pem_private_key {
  meta:
    description = "PEM or OpenSSH private key block (SSH host/user keys, TLS keys): the BEGIN line followed by a base64 body; not under /usr/share/doc (packages' example keys)"
    author      = "seized"
    source      = "seized rules/credentials/seized_credentials.yar"
    reference   = "https://www.rfc-editor.org/rfc/rfc7468"
    license     = "Apache-2.0"
    changed     = "2026-12-06: a key needs its base64 body (was: the BEGIN line alone, which every TLS/SSH library and tool carries as a constant: libgnutls, ssh-keygen, libgio); documentation examples and keys compiled into ELF binaries or ar archives (libgnutls's self-test vectors) excluded"

  strings:
    $key = /-----BEGIN (OPENSSH |RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----\r?\n([A-Za-z0-9-]{1,32}: [^\r\n]{1,200}\r?\n)*(\r?\n)?[A-Za-z0-9+\/=]{40,76}\r?\n/

  condition:
    $key and not (filepath matches /^\/usr\/share\/doc\//)
      and not (uint32(0) == 0x464c457f or uint32(0) == 0x72613c21)  // ELF or ar: a library's compiled-in self-test keys
}
