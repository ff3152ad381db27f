"""Cron runs seen in syslog, counted per day, user and command (table `cron_runs`).

Why: a crontab says what was scheduled; the log says it ran, from when to when. Debian's cron
logs `Mar 16 03:05:01 host CRON[1234]: (root) CMD (/root/.x/upd.sh)` to syslog (and to
`cron.log` when configured); Red Hat's cronie logs `... crond[1234]: (root) CMD (...)` or
`CROND[...]` to `/var/log/cron`. A job run every five minutes writes 288 lines a day, so rows
are per (day, user, command) per window, counting only lines that start in the window's own
part (as web_access and mail_log do), added up afterwards (the timeline does it in DuckDB).
Syslog stamps have no year (taken from the file's mtime) and no zone (read as UTC): see
extractors._logtime; RFC 3339 stamps keep theirs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from extractors._logtime import SYSLOG_STAMP, syslog_time
from extractors.base import Extractor, Finding, LimitReached, Source

NAME = "cron_log"
VERSION = "1.0.0"
MAX_ROWS = 20_000  # (day, user, command) keys per window
COMMAND_MAX = 500

_NAME = re.compile(r"^(?:syslog|messages|cron|cron\.log|daemon\.log)(?:[.-]\d{1,8})*$", re.IGNORECASE)
_LINE = re.compile(rb"(?m)^" + SYSLOG_STAMP +
                   rb"(?:CRON|crond|CROND|cron)\[\d+\]: \(([^)\s]{1,64})\) CMD \((.*)\)\r?$")


@dataclass(frozen=True, slots=True)
class CronRun(Finding):
    day: str  # YYYY-MM-DD
    time_inferred: bool
    first: str  # ISO-8601 of the first and last run counted in this row
    last: str
    user: str
    command: str
    runs: int


def extract(data: bytes, source: Source) -> Iterator[Finding]:
    if not (source.name and _NAME.match(source.name)) or b" CMD (" not in data:
        return
    own_start = source.own_start
    own_end = len(data) if source.own_end is None else source.own_end
    rows: dict[tuple[str, str, str], list] = {}
    limited = False
    for m in _LINE.finditer(data, own_start):
        if m.start() >= own_end:
            break
        t, inferred = syslog_time(m, source.mtime)
        if t is None:
            continue
        user = m.group(13).decode("utf-8", "replace")
        command = m.group(14).decode("utf-8", "replace")[:COMMAND_MAX]
        key = (t[:10], user, command)
        row = rows.get(key)
        if row is None:
            if len(rows) >= MAX_ROWS:
                limited = True
                continue
            row = rows[key] = [m.start(), t, t, 0, inferred]
        row[1], row[2] = min(row[1], t), max(row[2], t)
        row[3] += 1
        row[4] = row[4] or inferred
    for (day, user, command), (offset, first, last, runs, inferred) in rows.items():
        yield CronRun(offset, day, inferred, first, last, user, command, runs)
    if limited:
        yield LimitReached(own_start, "cron_log (day, user, command) rows per window", MAX_ROWS)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="cron_runs",
    finding=CronRun,
    extract=extract,
    description="cron runs logged in syslog / cron logs (CRON[pid]: (user) CMD (...)), counted per day, user, command",
)
