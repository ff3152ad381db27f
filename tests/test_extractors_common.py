"""Properties every extractor keeps: purity of imports, unique names, robustness, bounded time,
offsets that point at the value, and no network access (tldextract's bundled snapshot only)."""
from __future__ import annotations

import ast
import socket
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from extractors.base import Finding, LimitReached, Source
from extractors.registry import EXTRACTORS

ROOT = Path(__file__).resolve().parents[1]
SRC = Source("ev", "/dir/file.txt", None, "file.txt", None)


def test_registry_names_unique_and_complete():
    names = [e.name for e in EXTRACTORS]
    assert len(names) == len(set(names))
    assert set(names) == {"emails", "credentials", "spam_templates", "tor", "indicators", "accounts", "logins",
                          "utmp", "lastlog", "utmp_carver", "shell_history", "ssh_keys", "scheduled_tasks",
                          "identities", "web_access", "mail_log", "package_log", "cron_log",
                          "system_timezone"}
    assert [e.name for e in EXTRACTORS if e.whole_object] == ["spam_templates"]


def test_no_heavy_imports():
    banned = {"pytsk3", "dask", "pyarrow", "distributed"}
    for path in (ROOT / "extractors").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            assert not {m.split(".")[0] for m in mods} & banned, f"{path}: {mods}"


@pytest.mark.parametrize("ext", EXTRACTORS, ids=lambda e: e.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_raise(ext, data):
    for f in ext.extract(data, SRC):
        assert isinstance(f, Finding)
        assert 0 <= f.offset <= len(data)


_TEXTY = st.lists(
    st.sampled_from([
        "john.doe@example.com", "admin:admin", "root:toor", "user;pass", "\n", "\r\n", " ", "x",
        "http://bob:pw@www.example.org/a", "10.1.2.3", "fe80::1", "www.example.co.uk", "1.2.3",
        "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion", "SocksPort 9050",
        "HiddenServiceDir /var/lib/tor/hs/", "HiddenServicePort 80 127.0.0.1:80", "@", ".", ":",
        "{a|b|c}", "[-email-]", "Viagra", "\x00", "é",
    ]), max_size=60)


def _raw_of(f) -> str | None:
    for attr in ("raw", "value"):
        v = getattr(f, attr, None)
        if isinstance(v, str) and "***" not in v:
            return v
    return None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("ext", [e for e in EXTRACTORS if e.name in ("emails", "indicators")], ids=lambda e: e.name)
@settings(max_examples=120, deadline=None)
@given(parts=_TEXTY)
def test_offsets_point_at_value(ext, encoding, parts):
    data = "".join(parts).encode(encoding)
    for f in ext.extract(data, SRC):
        if isinstance(f, LimitReached):
            continue
        raw = _raw_of(f)
        if raw is None:
            continue
        enc = getattr(f, "encoding", None)
        if enc in ("utf-16le", "utf-16be"):
            encodings = [enc]
        elif enc in ("ascii", "utf-8") or encoding == "utf-8":
            encodings = ["utf-8"]
        else:  # ASCII in UTF-16 LE and BE is the same bytes shifted by one: either is exact
            encodings = ["utf-16-le", "utf-16-be"]
        assert any(data[f.offset:].startswith(raw.encode(e)) for e in encodings), (f, data[f.offset:f.offset + 40])


PATHOLOGICAL = {
    "a@a@": b"a@" * 500_000,
    "aaaa@": b"a" * 1_000_000 + b"@",
    "braces": b"{" * 1_000_000,
    "long_line": (b"x" * 1000 + b":" + b"y" * 100 + b".") * 5000,
    "dots": b"a." * 500_000,
    "colons": b":" * 1_000_000,
    "digits": b"1." * 500_000,
    "onion": b"a" * 1_000_000 + b".onion",
    "utf16": ("a@" * 250_000).encode("utf-16-le"),
    "newlines_combos": b"a:b\n" * 50_000,  # 50,000 real findings
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
@pytest.mark.parametrize("ext", EXTRACTORS, ids=lambda e: e.name)
def test_pathological_inputs_bounded_time(ext, name):
    data = PATHOLOGICAL[name]
    t0 = time.process_time()  # CPU time: a bound on the extractor's work, not on how loaded the machine is
    for _ in ext.extract(data, SRC):
        pass
    assert time.process_time() - t0 < 2.0


def test_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    text = b"mail bob@fresh-domain-never-seen.co.uk and www.another-new-name.org http://x.example.net/ 8.8.8.8\n"
    for ext in EXTRACTORS:
        list(ext.extract(text, SRC))
    from extractors import _tld
    assert _tld.registered_domain("sub.brand-new-test-name.com.au") == "brand-new-test-name.com.au"
