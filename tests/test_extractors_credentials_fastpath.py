"""The credentials fast path (issue 17) finds exactly what the old per-line code found.

`_fast_classify` must answer only where `_classify` gives the same answer; `_combos` (newline
gaps from match ends, line numbers within a run), `_csv_rows` (unquoted rows split) and the
columnar path must give the same findings, in the same order, as the code they replaced, which
is kept below verbatim as the reference (`reference_extract`).
"""
from __future__ import annotations

import csv

from hypothesis import given, settings, strategies as st

from extractors import credentials as cr
from extractors._text import LineCounter, View, views
from extractors.accounts import account_file
from extractors.base import Source

S = Source("ev", "/x", None, "x", None)
FIELDS = ("offset", "kind", "username", "secret", "host", "port", "line_no")


# --- the reference: the code before the fast path (1.1.0), unchanged but for `Finding` -> tuple ---

def _few_newlines(data: bytes, start: int, end: int, most: int = 2) -> bool:
    pos = start
    for _ in range(most + 1):
        pos = data.find(b"\n", pos, end)
        if pos < 0:
            return True
        pos += 1
    return False


def _ref_combos(view: View, data: bytes, lines: LineCounter):
    text = view.text
    first = cr._COMBO_FIRST.match(text)
    matches = ([(0, first)] if first is not None else []) + [(m.start() + 1, m) for m in cr._COMBO.finditer(text)]
    runs: list[list[tuple[int, tuple]]] = []
    prev = -1
    for line_start, m in matches:
        user, sep, rest = m.group(1, 2, 3)
        c = cr._classify(cr._dec(user), chr(sep[0]), cr._dec(rest))
        if c is None:
            continue
        off = view.offset(line_start)
        if prev >= 0 and _few_newlines(data, prev, off):
            runs[-1].append((off, c))
        else:
            runs.append([(off, c)])
        prev = off
    total_lines = None
    for run in runs:
        keys = {c[1].lower() if "@" in c[1] else cr._KEY_SPLIT.split(c[1], 1)[0].lower() for _, c in run}
        if len(run) < cr.MIN_RUN or len(keys) <= cr.KEYS_PER_ROW_MIN * len(run):
            continue
        if len(run) < cr.LONG_RUN:
            if total_lines is None:
                total_lines = max(1, text.count(b"\n") + (0 if text.endswith(b"\n") else 1))
            if 2 * len(run) < total_lines:
                continue
        for off, c in run:
            yield (off, c[0], c[1], c[2], c[3], c[4], lines.line_at(off))


def _ref_csv_rows(view: View, lines: LineCounter):
    text = view.text
    end = text.find(b"\n")
    header = text[: end if end >= 0 else len(text)].rstrip(b"\r")
    if len(header) > 1024:
        return
    head = cr._dec(header)
    delim = max(",;\t", key=head.count)
    if head.count(delim) < 1:
        return
    try:
        cols = [c.strip().strip("\"'").strip().lower() for c in next(csv.reader([head], delimiter=delim))]
    except csv.Error:
        return
    ui = next((cols.index(c) for c in cr._CSV_USER if c in cols), None)
    pi = next((cols.index(c) for c in cr._CSV_PASS if c in cols), None)
    if ui is None or pi is None:
        return
    hi = next((cols.index(c) for c in cr._CSV_HOST if c in cols), None)
    port_i = cols.index("port") if "port" in cols else None
    pos = end + 1 if end >= 0 else len(text)
    while pos < len(text):
        nl = text.find(b"\n", pos)
        nl = len(text) if nl < 0 else nl
        raw = text[pos:nl].rstrip(b"\r")
        if raw.strip():
            try:
                row = next(csv.reader([cr._dec(raw)], delimiter=delim), [])
            except csv.Error:
                row = []
            if len(row) > max(ui, pi) and (row[ui] or row[pi]):
                host = row[hi] if hi is not None and hi < len(row) and row[hi] else None
                port = None
                if port_i is not None and port_i < len(row) and cr._PORT.fullmatch(row[port_i].strip()):
                    port = int(row[port_i].strip())
                off = view.offset(pos)
                yield (off, "csv", row[ui], row[pi], host, port, lines.line_at(off))
        pos = nl + 1


def reference_extract(data: bytes, source: Source) -> list[tuple]:
    if account_file(source) is not None:
        return []
    out = []
    lines = LineCounter(data)
    for view in views(data):
        csv_done = False
        if view.base == 0 or (view.step == 2 and view.base <= 2):
            if source.window_offset == 0:
                rows = list(_ref_csv_rows(view, lines))
                csv_done = bool(rows)
                out += rows
        if not csv_done:
            out += list(_ref_combos(view, data, lines))
        out += [tuple(getattr(f, n) for n in FIELDS) for f in _url_findings(view, lines)]
    return out


def _url_findings(view: View, lines: LineCounter):
    from extractors.credentials import CredentialFinding
    return [CredentialFinding(*r) for r in cr._url_creds(view, lines)]  # unchanged by the fast path


def both(data: bytes, source: Source = S) -> tuple[list, list, list]:
    """(reference, `extract`, `extract_columns`) findings as tuples of the fields."""
    new = [tuple(getattr(f, n) for n in FIELDS) for f in cr.extract(data, source)]
    cols = []
    for block in cr.extract_columns(data, source):
        cols += list(zip(block["offset"].tolist(), *(block[n] for n in FIELDS[1:])))
    return reference_extract(data, source), new, cols


def assert_same(data: bytes, source: Source = S) -> list:
    ref, new, cols = both(data, source)
    assert new == ref
    assert cols == ref
    return ref


# --- generated lines: the dominant shapes, their near misses and every reject case ---

LOGIN = st.text(alphabet="abcdefxyzTZ0123456789._-", min_size=1, max_size=12)
DOMAIN = st.sampled_from(["example.com", "mail.ru", "a.b.co.uk", "x.y", "ex-ample.org", "9.com", "localhost"])
EMAIL = st.builds(lambda u, d: f"{u}@{d}", LOGIN, DOMAIN)
USERS = ["C", "c", "ab", "fe80", "ff", "12", "0", "mailto", "Mailto", "urn", "http", "ftp", "root", "daemon",
         "/usr/bin", "$x", ".sel", "-o", "&#60", "<a", "`x`", "\\x", "-", "a/b", "x@y", "ü", "Über", "a b", "A", "Z",
         "T", "ZZ", "1T", "2020-01-01T10", "..", "_", "_x", "x_y", "10.0.0.1", "smtp.example.com", "abcd", "abcde",
         "a.b", "1.2", "12345", "-a.b", "a-.b", "a..b", "localhost", "[::1]", "fe80:", "a_b.c", "mx.example.c_m",
         "bob@example.com", "a@b.cc", "a@b", "@x.com", "a@-.com", "x@y.c0m", ".a@x.com", "u@x.c", "1.2.3.4"]
RESTS = ["", " ", "x", "*", "!", "!!", "*LK*", "*NP*", "!*", " * ", "//host/x", "/x", "\\x", ":b", "::1", "1:2",
         "30:45", "x:0:0:root:/root:/bin/bash", "*:19800:0:99999:7:::", "x:4:syslog", "$6$salt$hash:19800:0:", "!::",
         "*::admin", "pw;", "pw,", "pw{", "pw ", "25|u@x.com|pw", "99999|u|pw", "0|u|pw", "25|u", "25|u|p|q",
         "587:u@example.com:pw", "22:root:toor:x", "pass", "s3cret:with:colons", "cubswin:)", "21:123:456",
         "21::pw", "0:u:p", "70000:u:p", "21:u:p{", "\u0663:u:p", "21:u:", "21:u: ", "21:1:2:3", "21:x:0:",
         "3306:root:toor", "21:u:p;", "21:u:*", "22:0:0", "25|u|", "25|u|p{", "25|12|34", ";x", "|x", "x ", "a\tb"]
USER = st.one_of(LOGIN, EMAIL, st.sampled_from(USERS), st.text(alphabet="abcT:;|/\\@.-_ !*$0129\u00fc", min_size=1,
                                                                 max_size=8))
REST = st.one_of(st.text(alphabet="abcxyzT0129 :;|/\\!*{},.@-_\t\u00fc\ufffd", max_size=14), st.sampled_from(RESTS))
SEP = st.sampled_from([":", ";", "|"])


@settings(max_examples=3000, deadline=None)
@given(user=USER, sep=SEP, rest=REST)
def test_fast_classify_answers_only_as_classify_does(user, sep, rest):
    got = cr._fast_classify(user, sep, rest)
    if got is not cr._UNSURE:
        assert got == cr._classify(user, sep, rest)


def test_fast_classify_on_every_listed_user_and_secret():
    for user in USERS:
        for rest in RESTS:
            for sep in ":;|":
                got = cr._fast_classify(user, sep, rest)
                if got is not cr._UNSURE:
                    assert got == cr._classify(user, sep, rest), (user, sep, rest)


def _line(user: str, sep: str, rest: str) -> str:
    return f"{user}{sep}{rest}"


OTHER_LINES = st.sampled_from([
    "", "plain prose line", "12:30:45", "2024-01-01T10:00:00Z", "fe80::1", "00:11:22:33:44:55",
    "root:x:0:0:root:/root:/bin/bash", "daemon:*:19800:0:99999:7:::", "adm:x:4:syslog", "C:\\Windows\\x",
    "Mail::DKIM::Signer", "http://example.com/x", "mailto:x@example.com", "key: value",
    "see http://bob:s3cret@ftp.example.com/ and mysql://dbuser:dbpass@localhost/db", "\"a\",\"b\"", "a,b",
    "user,pass", "login;password", "username\tpassword", "x,\"y,z\"", "a\rb,c", "FUNC:x", "FUNC:y",
])
LINE = st.one_of(st.builds(_line, USER, SEP, REST), st.builds(_line, EMAIL, st.just(":"), REST),
                 st.builds(_line, LOGIN, st.just(";"), REST), OTHER_LINES)
HEADER = st.sampled_from(["", "login,password\n", "user;pass;host;port\n", "email\tpassword\n",
                          "\"username\",\"password\"\n", "site,username,password,port\n", "a,b\n"])


def _window(header: str, lines: list[str], eol: str, final: bool, encoding: str, pad: bytes) -> bytes:
    text = header + eol.join(lines) + (eol if final else "")
    if encoding == "utf-8":
        return text.encode("utf-8", "surrogatepass")
    return pad + text.encode(encoding, "surrogatepass") + pad


@settings(max_examples=1500, deadline=None)
@given(header=HEADER, lines=st.lists(LINE, max_size=30), eol=st.sampled_from(["\n", "\r\n"]), final=st.booleans(),
       encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16-le", "utf-16-be"]),
       pad=st.sampled_from([b"", b"\x00", b"\xff\xfe", b"\x01\x02\x03"]), offset=st.sampled_from([0, 0, 4096]))
def test_fast_path_finds_what_the_reference_finds(header, lines, eol, final, encoding, pad, offset):
    data = _window(header, lines, eol, final, encoding, pad)
    assert_same(data, Source("ev", "/x", None, "x", None, window_offset=offset))


@settings(max_examples=300, deadline=None)
@given(shape=st.sampled_from(["email", "semi", "pipe", "colon4", "mixed"]), n=st.integers(1, 60),
       noise=st.lists(st.tuples(st.integers(0, 60), OTHER_LINES), max_size=6),
       eol=st.sampled_from(["\n", "\r\n"]), seed=st.integers(0, 1000))
def test_dense_combo_lists(shape, n, noise, eol, seed):
    import random
    r = random.Random(seed)
    lines = []
    for i in range(n):
        s = shape if shape != "mixed" else r.choice(["email", "semi", "pipe", "colon4"])
        u = f"user{r.randrange(10**6)}"
        pw = r.choice(["pw", "p@ss w0rd ", "x;y", "a|b", "ü€", "*", "", "C:\\", "pa:ss", "{x}", "a,"]) + str(i)
        lines.append({"email": f"{u}@example.com:{pw}", "semi": f"{u};{pw}",
                      "pipe": f"smtp.example.com|{r.choice([25, 0, 70000, 587])}|{u}@example.com|{pw}",
                      "colon4": f"10.0.{i}.1:{r.choice([21, 22, 3306])}:{u}:{pw}"}[s])
    for at, line in noise:
        lines.insert(min(at, len(lines)), line)
    data = eol.join(lines).encode()
    assert_same(data)
    assert_same(data.decode().encode("utf-16-le"))


def test_bench_combo_formats_and_crlf():
    import random
    from pathlib import Path
    from bench import content
    p = content.Planter(Path("/nonexistent"), random.Random(3))
    for fmt in content.COMBO_FORMATS:
        _, data = content.combo_list(p, f"/c/{fmt}", 500, fmt, write=False)
        assert len(assert_same(data)) == 500
        assert len(assert_same(data.replace(b"\n", b"\r\n"))) == 500


def test_account_files_and_window_offset():
    rows = b"root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n" * 5
    assert assert_same(rows, Source("ev", "/etc/passwd", None, "passwd", None)) == []
    data = b"login,password\n" + b"".join(b"u%d@example.com,pw%d\n" % (i, i) for i in range(20))
    assert len(assert_same(data)) == 20
    assert len(assert_same(data, Source("ev", "/x", None, "x", None, window_offset=1 << 20))) == 0
