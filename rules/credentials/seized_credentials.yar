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

  strings:
    $md5crypt = /:\$1\$[.\/0-9A-Za-z]{1,8}\$[.\/0-9A-Za-z]{22}:/
    $sha      = /:\$[56]\$(rounds=[0-9]{1,9}\$)?[.\/0-9A-Za-z]{1,16}\$[.\/0-9A-Za-z]{43,86}:/
    $yescrypt = /:\$y\$[.\/0-9A-Za-z]{1,8}\$[.\/0-9A-Za-z]{1,86}\$[.\/0-9A-Za-z]{43}:/
    $bcrypt   = /:\$2[aby]\$[0-9]{2}\$[.\/0-9A-Za-z]{53}:/

  condition:
    any of them
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
    description = "PEM or OpenSSH private key block (SSH host/user keys, TLS keys)"
    author      = "seized"
    source      = "seized rules/credentials/seized_credentials.yar"
    reference   = "https://www.rfc-editor.org/rfc/rfc7468"
    license     = "Apache-2.0"

  strings:
    $openssh   = "-----BEGIN OPENSSH PRIVATE KEY-----"
    $rsa       = "-----BEGIN RSA PRIVATE KEY-----"
    $ec        = "-----BEGIN EC PRIVATE KEY-----"
    $dsa       = "-----BEGIN DSA PRIVATE KEY-----"
    $pkcs8     = "-----BEGIN PRIVATE KEY-----"
    $encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----"

  condition:
    any of them
}
