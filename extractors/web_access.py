"""Web server access logs (Apache/nginx common and combined formats), summarised (table `web_access`).

Why a summary and not one row per hit: a spam server's access log holds millions of hits;
what an examiner needs is who came (per client IP) and what was asked for (per path): how
often, first and last time, with which status codes, and whether it was an admin login or a
web shell (`wp-login.php`, `xmlrpc.php`, `/wp-admin/`, any `*.php` under an `uploads/`
folder, well-known shell names).

How rows add up: the extractor sees one window of a large log at a time, so it yields one
row per (kind, key) per window, counting only the lines that start in the part of the
window it owns (`Source.own_start/own_end`), so no hit is counted twice. A report merges
the rows per (evidence, path, member, kind, key): `reports.operators.merge_web_access`.
Memory is bounded per window by MAX_KEYS; hits past it go to the key "(other)" and a
`LimitReached` row says so.

Which bytes: files named like access logs (`access.log*`, `access_log*`, `*-access.log`,
`other_vhosts_access.log`), or any window whose first lines are mostly in this format.
Times carry their zone, so they are exact UTC (`time_inferred` is always False here).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from extractors._logtime import MONTHS
from extractors.base import Extractor, Finding, LimitReached, Source

NAME = "web_access"
VERSION = "1.0.0"
MAX_KEYS = 20_000  # distinct keys per kind per window
PATH_MAX = 300
SNIFF_LINES = 20

_NAME = re.compile(r"access[._-]?log|access\.\d|_access\b", re.IGNORECASE)
# [vhost[:port] ]client ident user [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD target PROTO" status bytes
_LINE = re.compile(
    rb"(?m)^(?:[A-Za-z0-9.-]+(?::\d+)? )?([0-9A-Fa-f.:]{2,45}|[A-Za-z0-9.-]{1,253}) \S+ \S+ "
    rb"\[(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\] "
    rb"\"([A-Z]{1,16}) ([^ \"]{1,4096})(?: [^\"]*)?\" (\d{3}) ")
_SHELL_NAMES = re.compile(r"(?:^|/)(?:c99|r57|wso|b374k|shell|cmd|webshell|alfa|indoxploit|up|upl|uploader)"
                          r"\d*\.php\d?$", re.IGNORECASE)
_ADMIN = re.compile(r"/wp-admin(?:/|$)|/administrator(?:/|$)|/phpmyadmin|/pma(?:/|$)|/admin(?:/|\.php|$)",
                    re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class WebAccess(Finding):
    kind: str  # "client" (key: client IP or host) or "path" (key: request path without query)
    key: str
    count: int  # hits in this window
    first: str  # ISO-8601 UTC of the first and last hit
    last: str
    time_inferred: bool  # always False: common log format carries the zone
    status_2xx: int
    status_3xx: int
    status_4xx: int
    status_5xx: int
    statuses: list[str]  # distinct status codes, sorted
    methods: list[str]  # distinct methods, sorted
    tags: list[str]  # admin, wp-login, xmlrpc, uploads-php, shell (for a client: of the paths it asked for)


def tags_of(path: str) -> list[str]:
    low = path.lower()
    tags = []
    if _ADMIN.search(low):
        tags.append("admin")
    if low.endswith("/wp-login.php"):
        tags.append("wp-login")
    if low.endswith("/xmlrpc.php"):
        tags.append("xmlrpc")
    if "/uploads/" in low and re.search(r"\.php\d?$|\.phtml$", low):
        tags.append("uploads-php")
    if _SHELL_NAMES.search(low):
        tags.append("shell")
    return tags


class _Agg:
    __slots__ = ("offset", "count", "first", "last", "codes", "methods", "tags")

    def __init__(self, offset: int, t: int) -> None:
        self.offset, self.count, self.first, self.last = offset, 0, t, t
        self.codes: dict[bytes, int] = {}
        self.methods: set[bytes] = set()
        self.tags: set[str] = set()


def _epoch(m: re.Match) -> int | None:
    month = MONTHS.get(m.group(3).lower())
    if month is None:
        return None
    zone = m.group(8)
    try:
        dt = datetime(int(m.group(4)), month, int(m.group(2)), int(m.group(5)), int(m.group(6)), int(m.group(7)),
                      tzinfo=timezone.utc)
    except ValueError:
        return None
    offset = (int(zone[1:3]) * 60 + int(zone[3:5])) * 60 * (-1 if zone[:1] == b"-" else 1)
    return int(dt.timestamp()) - offset


def _iso(t: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _looks_like_access_log(data: bytes, start: int) -> bool:
    lines = data[start:start + 64 * 1024].split(b"\n")[1:SNIFF_LINES + 1]  # the first may be cut
    lines = [ln for ln in lines if ln.strip()]
    hits = sum(1 for ln in lines if _LINE.match(ln + b"\n"))
    return len(lines) >= 3 and hits * 10 >= len(lines) * 8


def _row(kind: str, key: str, a: _Agg) -> WebAccess:
    def band(c: str) -> int:
        return sum(n for code, n in a.codes.items() if code[:1] == c.encode())

    return WebAccess(a.offset, kind, key, a.count, _iso(a.first), _iso(a.last), False, band("2"), band("3"),
                     band("4"), band("5"), sorted(c.decode() for c in a.codes),
                     sorted(m.decode("ascii", "replace") for m in a.methods), sorted(a.tags))


def extract(data: bytes, source: Source) -> Iterator[Finding]:
    own_start = source.own_start
    own_end = len(data) if source.own_end is None else source.own_end
    named = bool(source.name and _NAME.search(source.name) and not source.name.lower().endswith(
        (".gz", ".bz2", ".xz", ".zip")))
    if not named and not _looks_like_access_log(data, own_start):
        return
    tables: dict[str, dict[str, _Agg]] = {"client": {}, "path": {}}
    limited: set[str] = set()
    # a line belongs to the window holding its first byte; it may run past own_end
    for m in _LINE.finditer(data, own_start):
        if m.start() >= own_end:
            break
        t = _epoch(m)
        if t is None:
            continue
        path = m.group(10).split(b"?", 1)[0].decode("utf-8", "replace")[:PATH_MAX]
        tags = tags_of(path)
        code, method = m.group(11), m.group(9)
        for kind, key in (("client", m.group(1).decode("ascii", "replace").lower()), ("path", path)):
            table = tables[kind]
            a = table.get(key)
            if a is None:
                if len(table) >= MAX_KEYS:
                    limited.add(kind)
                    key = "(other)"
                    a = table.get(key)
                if a is None:
                    a = table[key] = _Agg(m.start(), t)
            a.count += 1
            a.first, a.last = min(a.first, t), max(a.last, t)
            a.codes[code] = a.codes.get(code, 0) + 1
            a.methods.add(method)
            a.tags.update(tags)
    for kind in ("client", "path"):
        for key, a in tables[kind].items():
            yield _row(kind, key, a)
        if kind in limited:
            yield LimitReached(own_start, f"web_access distinct {kind} keys per window (rest counted as '(other)')",
                               MAX_KEYS)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="web_access",
    finding=WebAccess,
    extract=extract,
    description="Apache/nginx access logs summarised per client IP and per path (counts, first/last, statuses, "
                "admin and web-shell paths tagged)",
)
