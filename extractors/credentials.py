"""Credentials: combo lists (`user:pass`, `email;pass`, `host|port|user|pass`,
`host:port:user:pass`), CSV files with a user and a password column, and passwords in URLs.

Why judge by context: `foo:bar` is also a timestamp, a YAML pair, a drive letter or an
IPv6 address. A combo list is a run of lines that all have the combo shape, so a line is
only reported when it belongs to a run of at least `MIN_RUN` combo-shaped lines that is
either long (`LONG_RUN`) or at least half of the window's lines. Lines that have the shape
but are something else (times, MAC/IPv6, `/etc/passwd`/`group`/`shadow` rows, `C:\\`,
URI schemes) are rejected line by line first.

Decisions (documented for the report):
* The password is everything after the first separator up to the end of line, minus the
  CR of CRLF; trailing spaces are kept (`Root:wago ` -> `wago `) because that is what a
  tool replaying the list would send, and a colon inside it is kept (`cirros:cubswin:)`).
* An empty password (`default:`) is reported with secret `""`: a default account with no
  password is a credential.
* `scheme://user:password@host` in any text is a credential (kind `url`), not only an
  indicator; YAML `key: value` (space after the colon) never is.

What is not an account (1.1.0, learnt on clean Debian systems whose symbol tables, MIME globs,
tag files, dpkg `.list` files, postfix-files, X resource databases and apt configuration all
have the combo shape):
* A left side that is no login: a path (`/`, `\\`), a variable (`$x`), a selector or option
  (`.x`, `-x`), markup (`&#60`, `<`, backquotes), or no letter or digit at all (binary).
* A right side that is syntax: `::` namespaces (`Mail::DKIM`, `Acquire::http`), a line
  ending in `{`, `,` or `;` (CSS, code, config), an IPv6 address in a CSV row.
* Account-file rows (`passwd`, `shadow`, `group`, `gshadow`) and a locked or disabled entry
  (`*`, `!`, `!!`, `*LK*`): accounts belong in the `accounts` table, never here.
* A run in which a few words repeat on the left (`FUNC:`/`OBJECT:` in a symbol table,
  `XRequest.N:` in a resource database, `sgml-*:` in Emacs local variables): fewer distinct
  left-hand keys (the part before the first `.`, `-` or `_`, whole addresses for e-mail) than
  one per four rows is a table of fields, not of accounts.
* A URL whose user and password are both documentation placeholders (`user:pass`,
  `abc:xyz`, `dbuser:dbpass`), or whose "user" is a host name (the `http://www.bank.com:x@evil`
  disguise spam filters test for).

Linear time: candidate lines are found by one `re` scan anchored on the newline byte.

Fast path (issue 17): a combo list of 1.6 M lines spent most of its time in per-line checks
and per-finding objects. `_fast_classify` accepts the dominant shapes (`email:pass`,
`user;pass`, `host|port|user|pass`, `host:port:user:pass`, with plain ASCII logins and hosts)
by checks that each imply `_classify`'s answer, and hands every other line to `_classify`
itself; CSV rows without quotes are split rather than parsed by `csv`; and `columns` hands the
findings over as column lists (no frozen object per finding). The old code is kept in
tests/test_extractors_credentials_fastpath.py, which holds the two to the same findings.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Iterator

import numpy as np

from extractors._text import LineCounter, View, views
from extractors.accounts import account_file
from extractors.base import Columns, Extractor, Finding, Source

NAME = "credentials"
VERSION = "1.1.0"
MIN_RUN = 3
LONG_RUN = 10

# A line: user (no blanks, no separators, no quotes/brackets), separator, rest of line.
# Possessive runs (`{m,n}+`): neither character class holds what may follow it (a separator,
# CR/LF), so backtracking into them could never succeed; not trying keeps `re` fast on lines
# that are not combos. `_COMBO` is anchored on the newline byte; `_COMBO_FIRST` is the same
# line shape at the start of the view.
_COMBO_LINE = rb"([!#-'*+\-./0-9?-Z\\^-z~\x80-\xff]{1,128}+)([:;|])(?![ \t])([\t\x20-\x7e\x80-\xff]{0,256}+)\r?(?=\n|\Z)"
_COMBO = re.compile(rb"\n" + _COMBO_LINE)
_COMBO_FIRST = re.compile(_COMBO_LINE)
_PORT = re.compile(r"\d{1,5}")
_HOSTLIKE = re.compile(r"(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{1,63}|localhost|\[?[0-9A-Fa-f:]+\]?")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,253}\.[A-Za-z]{2,63}")
_NUMERIC_LINE = re.compile(r"[\d:.,\-TZ+ /]+")
_HEX_COLON = re.compile(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,}(?:/\d+)?")
_PASSWD_ROW = re.compile(r"(?:[^:]*:\d*:\d*:|\$[0-9a-z]+\$[^:]*:\d*:|[!*x]{0,2}:\d+:)")
# A login: not led by / $ . - & < ` ' " \, none of / \ ` & < > { } ( ) [ ] inside, a letter or digit.
_LOGIN = re.compile(r"(?![/$.\-&<`'\"\\])[^/\\`&<>{}()\[\]]*?[A-Za-z0-9][^/\\`&<>{}()\[\]]*")
_IPV6_PREFIX = re.compile(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,}")
_GSHADOW_ROW = re.compile(r"[!*x]{0,2}:[^:]*:[^:]*")
_LOCKED = frozenset(("*", "!", "!!", "!*", "*LK*", "x", "*NP*"))
_KEY_SPLIT = re.compile(r"[.\-_]")
KEYS_PER_ROW_MIN = 0.25
_PLACEHOLDER_USERS = frozenset("user username usr login name abc foo me myuser dbuser db_user root admin "
                               "someone somebody your_username yourname john jdoe uid u a 123 xyz".split())
_PLACEHOLDER_SECRETS = frozenset("pass password passwd pwd pw secret xyz bar dbpass db_pass db_password "
                                 "mypassword yourpassword your_password p pass123 changeme xxx xxxx *** b 123 abc".split())
_SCHEMES = frozenset(
    # Schemes whose URIs have no `//`; `ftp:video` is a combo (user "ftp"), `ftp://` is not.
    "mailto data javascript urn tel sip sips news about magnet xmpp skype callto sms geo cid mid".split()
)
_URL_CRED = re.compile(
    rb"://([^\s:/@\"'<>\\]{1,128}+):([^\s/@\"'<>\\]{1,128}+)@((?:[A-Za-z0-9\-]{1,63}\.)*[A-Za-z0-9\-]{1,63})(?::(\d{1,5}))?"
)
_SCHEME_BEFORE = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]{0,15}\Z")
_CSV_USER = ("username", "user", "login", "email", "e-mail", "mail", "user name", "account", "userid", "user_id")
_CSV_PASS = ("password", "pass", "passwd", "pwd", "secret", "passphrase")
_CSV_HOST = ("host", "hostname", "server", "url", "site", "domain", "place", "service", "address")


@dataclass(frozen=True, slots=True)
class CredentialFinding(Finding):
    """One credential; `offset` is the first byte of its record (line, CSV row or URL)."""

    kind: str  # email_password, user_password, smtp_combo, csv, url
    username: str
    secret: str = field(metadata={"secret": True})
    host: str | None  # host, URL or named place the credential applies to, if given
    port: int | None
    line_no: int


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _classify(user: str, sep: str, rest: str) -> tuple[str, str, str, str | None, int | None] | None:
    """(kind, username, secret, host, port) for a combo-shaped line, None if it is not one."""
    line = f"{user}{sep}{rest}"
    if user.lower() in _SCHEMES or rest.startswith("//"):
        return None  # a URI; URL credentials are found by the URL scan
    if len(user) == 1 and rest[:1] in ("\\", "/"):
        return None  # C:\path
    if _NUMERIC_LINE.fullmatch(line) or _IPV6_PREFIX.match(line):  # (covers _HEX_COLON.fullmatch)
        return None  # times, dates, ratios, MAC and IPv6 addresses (also as a CSV field)
    if sep == ":" and (_PASSWD_ROW.match(rest) or (rest[:1] in ("!", "*", "x") and _GSHADOW_ROW.fullmatch(rest))):
        return None  # /etc/passwd, group, shadow, gshadow rows: accounts, not credentials
    if rest.strip() in _LOCKED:
        return None  # a locked or disabled entry is never a credential
    if _LOGIN.fullmatch(user) is None:
        return None  # a path, variable, option, selector, markup or binary: not a login
    if rest.startswith(sep) or rest.rstrip().endswith(("{", ",", ";")):
        return None  # `::` namespaces; CSS selectors, code and config statements
    if sep == "|":
        parts = line.split("|")
        if len(parts) == 4 and _PORT.fullmatch(parts[1]) and 0 < int(parts[1]) < 65536:
            return "smtp_combo", parts[2], parts[3], parts[0], int(parts[1])
        if len(parts) != 2:
            return None
    elif sep == ":":
        parts = rest.split(":", 2)
        if (len(parts) == 3 and _PORT.fullmatch(parts[0]) and 0 < int(parts[0]) < 65536
                and _HOSTLIKE.fullmatch(user) and parts[1]):
            return "smtp_combo", parts[1], parts[2], user, int(parts[0])
    kind = "email_password" if _EMAIL.fullmatch(user) else "user_password"
    return kind, user, rest, None, None


# A record: (offset, kind, username, secret, host, port, line_no), the fields of a finding in order.
Record = tuple[int, str, str, str, str | None, int | None, int]

_UNSURE = ("unsure",)  # `_fast_classify`: only `_classify` can tell
# Logins whose every check in `_classify` is known to pass: ASCII, led by a letter or digit, none of
# `_LOGIN`'s forbidden bytes. An address (within `_EMAIL`'s language, so the kind is e-mail) or a
# plain login holding a byte outside `_NUMERIC_LINE`'s class (so the line is no time or number).
_FAST_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+%.\-]{0,63}@[A-Za-z0-9.\-]{1,126}\.[A-Za-z]{2,63}")
_FAST_LOGIN = re.compile(r"(?=[A-Za-z0-9])[A-Za-z0-9_.\-]*[A-SU-Ya-z_][A-Za-z0-9_.\-]*")
_FAST_HOST = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9\-]{0,62}\.)+[A-Za-z0-9\-]{1,63}")  # a login and `_HOSTLIKE`
_SYNTAX_ENDS = ("{", ",", ";")
_SEP = {b":": ":", b";": ";", b"|": "|"}


def _fast_classify(user: str, sep: str, rest: str):
    """`_classify(user, sep, rest)` for the shapes of dense combo lists, `_UNSURE` for the rest.

    Why each reject rule of `_classify` cannot fire when this answers (for `:` in `rest`, see
    `_fast_host_port`): no `:` in `rest` leaves the line one colon at most (no IPv6/MAC prefix,
    which needs two; no passwd/shadow/group row and no `host:port:` split, which need one in
    `rest`); `//`, a locked entry, `rest` led by the separator and the syntax endings are tested
    as `_classify` tests them; the login patterns rule out numeric lines and non-logins, and an
    address (`@`) or the tests of length and scheme rule out `C:` and URI schemes. `|` in
    `rest` with `|` as separator is `_classify`'s `smtp_combo` split.
    """
    if rest[:2] == "//" or rest[:1] == sep or rest.strip() in _LOCKED or rest.rstrip().endswith(_SYNTAX_ENDS):
        return _UNSURE
    if ":" in rest:
        return _fast_host_port(user, sep, rest)
    if "@" in user:
        if _FAST_EMAIL.fullmatch(user) is None:
            return _UNSURE
        kind = "email_password"
    elif _FAST_LOGIN.fullmatch(user) is not None and len(user) > 1 and user.lower() not in _SCHEMES:
        kind = "user_password"
    else:
        return _UNSURE
    if sep != "|" or "|" not in rest:
        return kind, user, rest, None, None
    parts = rest.split("|")
    if len(parts) == 3 and _PORT.fullmatch(parts[0]) and 0 < int(parts[0]) < 65536:
        return "smtp_combo", parts[1], parts[2], user, int(parts[0])
    return _UNSURE


def _fast_host_port(user: str, sep: str, rest: str):
    """`_fast_classify` for `host:port:user:pass` (its caller has tested `//`, locked entries, a
    leading separator and the syntax endings).

    Why `_classify` accepts it as `smtp_combo`: exactly two colons in `rest`, which starts with a
    digit, is no passwd/shadow/group row (each needs a third colon or a leading `!`, `*`, `x` or
    `:`); a dotted host name is no IPv6/MAC prefix (hex digits only before the first colon), no
    `C:`, no scheme, and is a login and `_HOSTLIKE`; a `rest` outside `_NUMERIC_LINE`'s class
    makes the line no time or number.
    """
    if sep != ":":
        return _UNSURE
    parts = rest.split(":")
    if (len(parts) == 3 and parts[1] and _PORT.fullmatch(parts[0]) and 0 < int(parts[0]) < 65536
            and _FAST_HOST.fullmatch(user) is not None and _NUMERIC_LINE.fullmatch(rest) is None):
        return "smtp_combo", parts[1], parts[2], user, int(parts[0])
    return _UNSURE


def _combos(view: View, lines: LineCounter) -> Iterator[Record]:
    """Combo-shaped lines that belong to a combo list (see the module docstring).

    Runs are told by the newlines between consecutive candidates (at most 2 apart). A candidate
    line holds no newline, so the newlines from one accepted line's start to the next one's are
    those from its end, counted in `view.text` (a UTF-16 view holds the same newlines between the
    same lines as `data`); they also give the line numbers within a run from its first one's.
    """
    text, base, step = view.text, view.base, view.step
    first = _COMBO_FIRST.match(text)
    matches = _COMBO.finditer(text)
    if first is not None:
        matches = chain((first,), matches)
    runs: list[list[tuple[int, tuple, int]]] = []  # runs of (data offset, classification, newlines before)
    run: list[tuple[int, tuple, int]] = []
    prev_end = -1
    fast, seps = _fast_classify, _SEP
    for m in matches:
        user, sep, rest = m.groups()
        u, sp, r = user.decode("utf-8", "replace"), seps[sep], rest.decode("utf-8", "replace")
        c = fast(u, sp, r)
        if c is _UNSURE:
            c = _classify(u, sp, r)
            if c is None:
                continue
        i = m.start(1)
        if prev_end >= 0 and (gap := text.count(b"\n", prev_end, i)) <= 2:
            run.append((base + step * i, c, gap))
        else:
            run = [(base + step * i, c, 0)]
            runs.append(run)
        prev_end = m.end()
    total_lines = None
    for run in runs:
        if len(run) < MIN_RUN or _few_keys(run):
            continue
        if len(run) < LONG_RUN:
            if total_lines is None:
                total_lines = max(1, text.count(b"\n") + (0 if text.endswith(b"\n") else 1))
            if 2 * len(run) < total_lines:
                continue
        line = lines.line_at(run[0][0])
        for off, c, gap in run:
            line += gap
            yield (off, c[0], c[1], c[2], c[3], c[4], line)


def _few_keys(run: list[tuple[int, tuple, int]]) -> bool:
    """True when a few words repeat on the left of the run: a table of fields, not accounts."""
    keys = {c[1].lower() if "@" in c[1] else _KEY_SPLIT.split(c[1], 1)[0].lower() for _, c, _ in run}
    return len(keys) <= KEYS_PER_ROW_MIN * len(run)


def _csv_rows(view: View, lines: LineCounter) -> Iterator[Record]:
    """Rows of a CSV/TSV whose first line is a header naming a user and a password column.

    A row without quotes, CR or NUL, no longer than `csv`'s field limit, is what `csv` makes of
    it split at the delimiter; only other rows are handed to `csv`.
    """
    text = view.text
    end = text.find(b"\n")
    header = text[: end if end >= 0 else len(text)].rstrip(b"\r")
    if len(header) > 1024:
        return
    head = _dec(header)
    delim = max(",;\t", key=head.count)
    if head.count(delim) < 1:
        return
    try:
        cols = [c.strip().strip("\"'").strip().lower() for c in next(csv.reader([head], delimiter=delim))]
    except csv.Error:
        return
    ui = next((cols.index(c) for c in _CSV_USER if c in cols), None)
    pi = next((cols.index(c) for c in _CSV_PASS if c in cols), None)
    if ui is None or pi is None:
        return
    hi = next((cols.index(c) for c in _CSV_HOST if c in cols), None)
    port_i = cols.index("port") if "port" in cols else None
    limit = csv.field_size_limit()
    pos = end + 1 if end >= 0 else len(text)
    while pos < len(text):
        nl = text.find(b"\n", pos)
        nl = len(text) if nl < 0 else nl
        raw = text[pos:nl].rstrip(b"\r")
        if raw.strip():
            line = _dec(raw)
            if '"' not in line and "\r" not in line and "\x00" not in line and len(line) <= limit:
                row = line.split(delim)
            else:
                try:
                    row = next(csv.reader([line], delimiter=delim), [])
                except csv.Error:
                    row = []
            if len(row) > max(ui, pi) and (row[ui] or row[pi]):
                host = row[hi] if hi is not None and hi < len(row) and row[hi] else None
                port = None
                if port_i is not None and port_i < len(row) and _PORT.fullmatch(row[port_i].strip()):
                    port = int(row[port_i].strip())
                off = view.offset(pos)
                yield (off, "csv", row[ui], row[pi], host, port, lines.line_at(off))
        pos = nl + 1


def _url_creds(view: View, lines: LineCounter) -> Iterator[Record]:
    text = view.text
    for m in _URL_CRED.finditer(text):
        s = _SCHEME_BEFORE.search(text, max(0, m.start() - 16), m.start())
        if s is None:
            continue
        user, secret = _dec(m.group(1)), _dec(m.group(2))
        if (user.lower() in _PLACEHOLDER_USERS and secret.lower() in _PLACEHOLDER_SECRETS) or (
                "." in user and _HOSTLIKE.fullmatch(user)):
            continue  # documentation's example pair; a host name disguised as a user
        off = view.offset(s.start())
        port = int(m.group(4)) if m.group(4) and 0 < int(m.group(4)) < 65536 else None
        yield (off, "url", _dec(m.group(1)), _dec(m.group(2)), _dec(m.group(3)), port, lines.line_at(off))


def _records(data: bytes, source: Source) -> Iterator[Record]:
    """The findings of `extract`, as tuples of their fields."""
    if account_file(source) is not None:  # /etc/passwd, shadow, group, gshadow: the `accounts` table
        return
    lines = LineCounter(data)
    for view in views(data):
        csv_done = False
        if view.base == 0 or (view.step == 2 and view.base <= 2):
            if source.window_offset == 0:
                rows = list(_csv_rows(view, lines))
                csv_done = bool(rows)
                yield from rows
        if not csv_done:
            yield from _combos(view, lines)
        yield from _url_creds(view, lines)  # anchored on `://`: finds nothing fast


def extract(data: bytes, source: Source) -> Iterator[CredentialFinding]:
    """Credentials in `data` (and in its UTF-16 runs); see the module docstring."""
    for r in _records(data, source):
        yield CredentialFinding(*r)


_BLOCK = 1 << 15  # findings per column block: the pipeline's chunk of findings on the `extract` path


def extract_columns(data: bytes, source: Source) -> Iterator[Columns]:
    """`extract`'s findings as column blocks of Python lists: no frozen object per finding."""
    records = _records(data, source)
    while chunk := list(islice(records, _BLOCK)):
        offset, kind, username, secret, host, port, line_no = zip(*chunk)
        yield {"offset": np.array(offset, np.int64), "kind": list(kind), "username": list(username),
               "secret": list(secret), "host": list(host), "port": list(port), "line_no": list(line_no)}


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="credentials",
    finding=CredentialFinding,
    extract=extract,
    columns=extract_columns,
    description="Combo lists, credential CSVs and URL passwords, judged by file context",
)
