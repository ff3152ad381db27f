/*
    Source: chainguard-dev/malcontent (https://github.com/chainguard-dev/malcontent), commit 8cf14e8e27b2,
    files rules/net/p2p/tor.yara and rules/c2/addr/tor_onion.yara.
    Copyright the malcontent authors. Licensed under the Apache License, Version 2.0.
    Licence text: rules/LICENSES/Apache-2.0_malcontent.txt
    Changes by seized: meta fields author/source/reference/license added; tag `software` added to tor_user
    (it says which software uses Tor: /usr/bin/tor, libtorsocks; its hits are listed as installed software,
    not as findings); hardcoded_onion dropped (see rules/SOURCES.md); strings and conditions unchanged.
*/
rule tor_user: high software {
  meta:
    ref_eleanor = "https://www.malwarebytes.com/blog/news/2016/07/new-mac-backdoor-malware-eleanor"
    description = "Makes use of the TOR/.onion protocol"
    author      = "malcontent authors (Chainguard)"
    source      = "chainguard-dev/malcontent rules/net/p2p/tor.yara"
    reference   = "https://github.com/chainguard-dev/malcontent/blob/main/rules/net/p2p/tor.yara"
    license     = "Apache-2.0"

  strings:
    $t_tor_addr            = "_tor_addr"
    $t_tor                 = "TOR Browser" nocase
    $t_hidden_service_port = "HiddenServicePort" nocase
    $t_go                  = "go-libtor"
    $t_rust                = "libtor" fullword
    $t_relay               = "relay.tor2socks."
    $t_tor2web             = ".tor2web"
    $not_drop              = "[.onion] drop policy"
    $not_bug               = "Tor Browser bug" nocase

  // $t_tor matches inside $not_bug, so a single bug reference used to exempt the
  // other six markers as well. Only $t_tor is discounted, and by occurrence count
  // rather than presence, so a file that both cites a bug and uses TOR still
  // fires. $not_bug carries nocase to match $t_tor, keeping the counts paired.

  condition:
    filesize < 20971520 and (any of ($t_tor_addr, $t_hidden_service_port, $t_go, $t_rust, $t_relay, $t_tor2web) or #t_tor > #not_bug) and not $not_drop
}
