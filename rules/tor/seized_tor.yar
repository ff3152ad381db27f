/*
    Rules written for the seized project, licence Apache-2.0.
    Tor hidden-service artefacts on Linux servers: torrc files with active onion-service or
    client/relay options, the key and hostname files tor writes into a HiddenServiceDir.
    No public rule covered these at the time of writing.
*/
rule torrc_hidden_service_config {
  meta:
    description = "torrc with an active (not commented) HiddenServiceDir or HiddenServicePort line: the server hosted an onion service"
    author      = "seized"
    source      = "seized rules/tor/seized_tor.yar"
    reference   = "https://2019.www.torproject.org/docs/tor-manual.html.en#HiddenServiceDir"
    license     = "Apache-2.0"

  strings:
    $dir_first  = /HiddenServiceDir[ \t]+[^\s#]/ nocase
    $port_first = /HiddenServicePort[ \t]+[0-9]/ nocase
    $dir_line   = /\n[ \t]*HiddenServiceDir[ \t]+[^\s#]/ nocase
    $port_line  = /\n[ \t]*HiddenServicePort[ \t]+[0-9]/ nocase

  condition:
    $dir_first at 0 or $port_first at 0 or $dir_line or $port_line
}

rule torrc_client_or_relay_config {
  meta:
    description = "torrc (or torrc.d drop-in) with at least two active Tor client/relay options (SocksPort, ControlPort, ORPort, ...) written as tor reads them: at the start of a line, with a value of the option's shape; not a package's defaults torrc"
    author      = "seized"
    source      = "seized rules/tor/seized_tor.yar"
    reference   = "https://2019.www.torproject.org/docs/tor-manual.html.en"
    license     = "Apache-2.0"
    changed     = "2026-12-06: options at column 0 with typed values (was: any indentation, any word after), so changelogs and the HTML manual, whose indented prose starts lines with option names, no longer match; files named *defaults* (tor's --defaults-torrc, shipped by the package) are the vendor's, not the operator's"

  strings:
    $port   = /\n(SocksPort|ControlPort|ORPort|DirPort|TransPort|DNSPort)[ \t]+(auto|unix:|[0-9]|\[)/
    $flag   = /\n(ExitRelay|CookieAuthentication|UseBridges)[ \t]+[01][ \t]*\r?\n/
    $policy = /\nExitPolicy[ \t]+(accept|reject)6?[ \t]/
    $hashed = /\nHashedControlPassword[ \t]+16:[0-9A-Fa-f]{20}/
    $auth   = /\nClientOnionAuthDir[ \t]+\//
    $nodes  = /\n(ExitNodes|EntryNodes)[ \t]+[{$]/
    $hs     = /\nHiddenServiceDir[ \t]+\//

  condition:
    (#port + #flag + #policy + #hashed + #auth + #nodes + #hs) >= 2 and not (filename matches /defaults/)
}

rule tor_hs_ed25519_secret_key {
  meta:
    description = "Tor v3 onion service secret key file (hs_ed25519_secret_key): whoever holds it controls the .onion address"
    author      = "seized"
    source      = "seized rules/tor/seized_tor.yar"
    reference   = "https://spec.torproject.org/rend-spec/"
    license     = "Apache-2.0"

  strings:
    $hdr = "== ed25519v1-secret: type0 ==\x00\x00\x00"

  condition:
    $hdr
}

rule tor_hs_ed25519_public_key {
  meta:
    description = "Tor v3 onion service public key file (hs_ed25519_public_key)"
    author      = "seized"
    source      = "seized rules/tor/seized_tor.yar"
    reference   = "https://spec.torproject.org/rend-spec/"
    license     = "Apache-2.0"

  strings:
    $hdr = "== ed25519v1-public: type0 ==\x00\x00\x00"

  condition:
    $hdr
}

rule tor_onion_hostname_file {
  meta:
    description = "Tor onion service 'hostname' file: the whole file is one v3 (56 chars) or v2 (16 chars) .onion name"
    author      = "seized"
    source      = "seized rules/tor/seized_tor.yar"
    reference   = "https://spec.torproject.org/rend-spec/"
    license     = "Apache-2.0"

  strings:
    $v3 = /[a-z2-7]{56}\.onion/
    $v2 = /[a-z2-7]{16}\.onion/

  condition:
    filesize <= 72 and ($v3 at 0 or $v2 at 0)
}

rule tor_hs_v2_private_key {
  meta:
    description = "Tor v2 onion service RSA key file (HiddenServiceDir/private_key); uses the filepath/filename externals"
    author      = "seized"
    source      = "seized rules/tor/seized_tor.yar"
    reference   = "https://gitweb.torproject.org/torspec.git/tree/rend-spec-v2.txt"
    license     = "Apache-2.0"

  strings:
    $rsa = "-----BEGIN RSA PRIVATE KEY-----"

  condition:
    $rsa at 0 and filesize < 4KB and (filename == "private_key" or filepath matches /\/private_key$/)
}
