import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from extractors.base import Source
from extractors.tor import KEYWORDS, extract, line_keywords, onion_valid

from tests.conftest import CORPUS as _ROOT  # $SEIZED_CORPUS

CORPUS = _ROOT / "tor"
DATA = Path(__file__).parent / "data/extractors/hs"
V3 = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"


def src(path):
    return Source("ev", path, None, path.rsplit("/", 1)[-1], None)


def run(data, path="/etc/tor/torrc"):
    return list(extract(data, src(path)))


def test_onion_validity():
    assert onion_valid(V3)
    assert not onion_valid(V3.replace("2g", "3g", 1))
    assert onion_valid("potatooezyf2aql6.onion")


def test_torrc_rules():
    data = (b"  socksport  9050\n#HiddenServiceDir /old/\nHiddenServiceDir \"/var/lib/tor/hs a/\"\n"
            b"HiddenServicePort 80 \\\n 127.0.0.1:8080\n%include /etc/tor/torrc.d/*.conf\n")
    r = run(data)
    d = [(f.kind, f.name, f.value, f.active) for f in r]
    assert ("directive", "socksport", "9050", True) in d
    assert ("directive", "HiddenServiceDir", "/old/", False) in d
    assert ("directive", "%include", "/etc/tor/torrc.d/*.conf", True) in d
    hs = [f for f in r if f.kind == "hidden_service" and f.active]
    assert [(h.value, h.ports) for h in hs] == [("/var/lib/tor/hs a/", ["80 127.0.0.1:8080"])]
    for f in r:
        assert data[f.offset:].lower().startswith(f.name.lower().encode())


def test_one_keyword_in_prose_is_not_a_torrc():
    assert run(b"Set SocksPort 9050 in your config.\nThanks\n", "/home/u/notes.txt") == []


def test_onion_anywhere_utf16():
    data = f"visit {V3} now".encode("utf-16-le")
    r = run(data, "/home/u/x.bin")
    assert [(f.kind, f.onion, f.valid) for f in r] == [("onion", V3, True)]


def test_hidden_service_files():
    pub = (DATA / "hs_ed25519_public_key").read_bytes()
    r = run(pub, "/var/lib/tor/hs/hs_ed25519_public_key")
    assert [(f.kind, f.onion, f.hs_dir) for f in r] == [("key_file", V3, "/var/lib/tor/hs")]
    r = run((DATA / "hostname").read_bytes(), "/var/lib/tor/hs/hostname")
    assert [(f.kind, f.name, f.onion, f.valid, f.hs_dir) for f in r] == [("onion", "hostname", V3, True, "/var/lib/tor/hs")]


def test_secret_key_file_records_nothing_secret():
    secret = b"== ed25519v1-secret: type0 ==\x00\x00\x00" + bytes(range(64))
    r = run(secret, "/var/lib/tor/hs/hs_ed25519_secret_key")
    assert [(f.kind, f.value) for f in r] == [("key_file", "ed25519v1-secret type0")]
    blob = repr(r).encode()
    assert bytes(range(64))[:8].hex().encode() not in blob and b"\\x00\\x01\\x02" not in blob


def _corpus(rel):
    p = CORPUS / rel
    if not p.exists():
        pytest.skip(f"public corpus not found at {CORPUS}: set SEIZED_CORPUS")
    return run(p.read_bytes(), "/corpus/tor/" + rel)


@pytest.mark.parametrize("rel", ["torrc.sample.in", "torrc.minimal.in", "torrc.minimal.in-staging"])
def test_templates_have_no_active_hidden_service(rel):
    r = _corpus(rel)
    assert r and not [f for f in r if f.active]
    assert any(f.kind == "hidden_service" for f in r)


def test_whonix_examples():
    r = _corpus("whonix/torrc.examples")
    hs = [(f.value, f.ports) for f in r if f.kind == "hidden_service"]
    assert hs == [("/var/lib/tor/webserver/", ["80 10.152.152.11:80"]),
                  ("/var/lib/tor/torchat/", ["11009 10.152.152.11:11009"]),
                  ("/var/lib/tor/mumble/", ["80 10.152.152.11:80"])]
    assert not [f for f in r if f.active]  # an examples file


def test_conf_examples():
    r = _corpus("tor_conf_examples/example_1/torrc")
    assert [(f.name, f.value) for f in r if f.active] == [("SocksPort", "80"), ("ContactInfo", "tor_tellini@example.com")]
    r = _corpus("whonix/65_gateway.conf")
    assert ("ControlPort", "9052") in [(f.name, f.value) for f in r if f.active]


def test_mixed_case_onion_suffix_found_alone():
    # 1.1.0: every view is scanned for onions, not only windows that hold `.onion`/`.ONION`.
    host = V3.removesuffix(".onion") + ".Onion"
    r = [f for f in run(f"see {host} now".encode(), "/home/u/notes.txt") if f.kind == "onion"]
    assert [(f.value, f.valid, f.offset) for f in r] == [(host, True, 4)]


_LINE_START_KW = re.compile(rb"(?m)^[ \t]*#?[ \t]*([A-Za-z][A-Za-z0-9]{2,40})[ \t]")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"SocksPort", b"orport", b"HiddenServiceDir", b"Log", b"x", b"user@a.b",
                                 b"#", b" ", b"\t", b"\n", b"\r\n", b"9050", b"Nickname", b"ab", b"\xff"]),
                max_size=40).map(b"".join))
def test_line_keywords_equal_the_line_start_pattern(data: bytes) -> None:
    """The newline-led scan finds the same first words as `(?m)^` tried at every byte."""
    want = {m.group(1).lower().decode("ascii") for m in _LINE_START_KW.finditer(data)} & KEYWORDS
    assert line_keywords(data) == want


# -- issue 16: a torrc is a torrc by name, place or density, never prose -----------------------

def test_changelog_prose_starting_lines_with_options_is_not_a_torrc():
    prose = (b"Changes in version 0.4.8:\n  o Minor features:\n"
             b"User accounts are now checked earlier when the service starts.\n"
             b"Address resolution was made faster for IPv6 relays on the network.\n"
             b"Log messages about bootstrapping were made clearer for users.\n"
             b"Nickname lookups ignore case now.\nSeveral bugs were fixed in this release.\n"
             b"Thanks to everyone who reported them.\nMore details are on the website.\n")
    assert [f for f in run(prose, "/usr/share/doc/tor/NEWS") if f.kind != "onion"] == []


def test_dense_options_make_a_torrc_and_place_counts():
    conf = b"ControlPort 9052\nCookieAuthentication 1\nClientOnionAuthDir /var/lib/tor/authdir\n"
    assert [f.name for f in run(conf, "/usr/local/etc/gw/65_gateway.conf") if f.active] == \
        ["ControlPort", "CookieAuthentication", "ClientOnionAuthDir"]
    assert [f.name for f in run(b"SocksPort 9050\n", "/etc/tor/custom") if f.active] == ["SocksPort"]


def test_a_package_defaults_torrc_is_not_the_operators_configuration():
    defaults = b"DataDirectory /var/lib/tor\nPidFile /run/tor/tor.pid\nRunAsDaemon 1\nUser debian-tor\nSocksPort 9050\n"
    r = run(defaults, "/usr/share/tor/tor-service-defaults-torrc")
    assert r and not [f for f in r if f.active]
