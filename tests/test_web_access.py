"""web_access: access logs summarised per client and per path, windows added up exactly once."""
from __future__ import annotations

import pyarrow as pa

from hypothesis import given, settings, strategies as st

from caseformat.schema import finding_schema
from extractors.base import LimitReached, Source
from extractors.web_access import WebAccess, extract
from reports.operators import merge_web_access
from seized.scanning import windows

# Real lines in Apache's combined format (LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"")
LINES = [
    b'203.0.113.66 - - [16/Mar/2011:10:00:00 +0300] "POST /wp-login.php HTTP/1.1" 302 0 "-" "Mozilla/5.0"',
    b'203.0.113.66 - - [16/Mar/2011:10:00:05 +0300] "GET /wp-content/uploads/2011/03/wso.php?cmd=id HTTP/1.1" '
    b'200 48 "-" "curl/7.21.0"',
    b'192.0.2.44 - frank [16/Mar/2011:11:30:00 +0300] "GET /index.html HTTP/1.0" 200 2326',  # common format
    b'www.example.com:80 192.0.2.45 - - [17/Mar/2011:00:00:01 +0000] "POST /xmlrpc.php HTTP/1.1" 500 0 "-" "-"',
]
SRC = Source("ev", "/var/log/apache2/access.log", None, "access.log", None)


def rows(data: bytes, source: Source = SRC) -> dict[tuple[str, str], WebAccess]:
    return {(f.kind, f.key): f for f in extract(data, source) if isinstance(f, WebAccess)}


def test_summary_per_client_and_path():
    r = rows(b"\n".join(LINES) + b"\n")
    c = r[("client", "203.0.113.66")]
    assert (c.count, c.first, c.last, c.statuses, c.status_2xx, c.status_3xx) == (
        2, "2011-03-16T07:00:00Z", "2011-03-16T07:00:05Z", ["200", "302"], 1, 1)
    assert c.tags == ["shell", "uploads-php", "wp-login"] and c.methods == ["GET", "POST"]
    assert r[("path", "/wp-content/uploads/2011/03/wso.php")].tags == ["shell", "uploads-php"]
    assert r[("path", "/xmlrpc.php")].tags == ["xmlrpc"] and r[("client", "192.0.2.45")].status_5xx == 1
    assert r[("path", "/index.html")].tags == [] and r[("client", "192.0.2.44")].count == 1
    assert sum(f.count for (k, _), f in r.items() if k == "client") == len(LINES)


def test_not_an_access_log_is_silent():
    prose = b"Apache writes lines like 1.2.3.4 - - [date] to its log.\n" * 20
    assert list(extract(prose, Source("ev", "/usr/share/doc/x/README", None, "README", None))) == []
    # an access log under another name is recognised by its lines
    assert rows(b"\n".join(LINES * 5) + b"\n", Source("ev", "/srv/site.log", None, "site.log", None))


def test_windows_count_each_hit_once():
    """The pipeline's own windows (tiny blocks and overlap here) and ownership rule, then the merge."""
    lines = [LINES[i % 4].replace(b"16/Mar/2011:10", b"%02d/Mar/2011:10" % (1 + i % 28)) for i in range(400)]
    data = b"\n".join(lines) + b"\n"
    blocks = [data[i:i + 1000] for i in range(0, len(data), 1000)]
    found = []
    for w in windows(blocks, overlap=300):
        source = Source("ev", SRC.path, None, SRC.name, len(data), w.data_start,
                        own_start=w.own_start - w.data_start, own_end=w.own_end - w.data_start)
        for f in extract(w.data, source):
            assert w.own_start <= w.data_start + f.offset < w.own_end  # the pipeline would keep it
            found.append(f)
    assert len({f.offset for f in found}) > 1
    cols = {name: [getattr(f, name) for f in found] for name in finding_schema(WebAccess).names
            if name not in ("finding_id", "evidence_id", "volume", "inode", "stream", "path", "member", "offset",
                            "image_offset", "extractor", "extractor_version")}
    n = len(found)
    table = pa.table({"evidence_id": ["e"] * n, "path": [SRC.path] * n, "member": pa.nulls(n, pa.string()),
                      "finding_id": [str(i) for i in range(n)], **cols})
    merged = merge_web_access(table)
    whole = rows(data)
    assert merged.num_rows == len(whole)
    for r in merged.to_pylist():
        w = whole[(r["kind"], r["key"])]
        assert (r["count"], r["first"], r["last"], r["statuses"], r["tags"]) == (w.count, w.first, w.last,
                                                                                 w.statuses, w.tags)


def test_key_cap_is_said(monkeypatch):
    import extractors.web_access as wa

    monkeypatch.setattr(wa, "MAX_KEYS", 2)
    data = b"\n".join(LINES) + b"\n"
    found = list(wa.extract(data, SRC))
    assert any(isinstance(f, LimitReached) for f in found)
    clients = [f for f in found if isinstance(f, WebAccess) and f.kind == "client"]
    assert sum(f.count for f in clients) == len(LINES) and any(f.key == "(other)" for f in clients)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4096) | st.text(alphabet="Mar 16 12:00:00 ()[]<>=:/.-+\"@TZ0123456789 abc\n").map(str.encode))
def test_damaged_bytes_never_raise_web_access(data):
    """Bytes under the artefact's own name that are not (or not quite) the artefact."""
    from extractors.web_access import extract as run_web_access

    for f in run_web_access(data, Source("ev", "/var/log/apache2/access.log", None, "access.log", len(data), 0, 1_300_000_000)):
        assert 0 <= f.offset <= len(data)
