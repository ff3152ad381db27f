"""The evidence's own time zone setting (table `timezones`), to place zone-less log times.

Why: syslog, dpkg and exim write local time without a zone. The timeline (reports.timeline)
converts such times to UTC with the zone the server itself was set to, read here from:
* `/etc/timezone` (Debian): an IANA name, e.g. `Europe/Moscow`;
* `/etc/sysconfig/clock` (older Red Hat): `ZONE="Europe/Moscow"`;
* `/etc/localtime`, a TZif file (RFC 8536): its version 2+ footer is a POSIX TZ string
  (`MSK-3`). A fixed offset (no DST rule) is turned into the IANA name `Etc/GMT-3` (POSIX
  and Etc/ names both count hours west of Greenwich); a string with DST rules is recorded but
  not used. When `/etc/localtime` is a symbolic link (usual on Debian) there is no TZif content
  to read; `/etc/timezone` says the same.
Only these paths are read; anything else yields nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from extractors.base import Extractor, Finding, Source

NAME = "system_timezone"
VERSION = "1.0.0"

_IANA = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}$")
_CLOCK = re.compile(rb"(?m)^\s*ZONE\s*=\s*\"?([^\"\s]+)\"?")
_FIXED = re.compile(r"^(?:[A-Za-z]{3,}|<[+-]?[A-Za-z0-9]+>)([+-]?)(\d{1,2})$")


@dataclass(frozen=True, slots=True)
class TimeZoneSetting(Finding):
    source: str  # "/etc/timezone", "/etc/sysconfig/clock", "/etc/localtime"
    zone: str | None  # IANA name usable for conversion (None: not determinable)
    tz_string: str | None  # the TZif footer, as found


def _fixed_offset_zone(tz: str) -> str | None:
    m = _FIXED.match(tz)
    if not m:
        return None
    hours = int(m.group(2))
    if hours == 0:
        return "Etc/UTC"
    if hours > 14:
        return None
    return f"Etc/GMT{'-' if m.group(1) == '-' else '+'}{hours}"


def extract(data: bytes, source: Source) -> Iterator[TimeZoneSetting]:
    path = source.path or ""
    if source.member is not None or source.window_offset:
        return
    if path.endswith("/etc/timezone"):
        name = data[:256].decode("ascii", "replace").strip().split("\n", 1)[0].strip()
        if _IANA.match(name):
            yield TimeZoneSetting(0, "/etc/timezone", name, None)
    elif path.endswith("/etc/sysconfig/clock"):
        m = _CLOCK.search(data[:4096])
        if m:
            name = m.group(1).decode("ascii", "replace")
            if _IANA.match(name):
                yield TimeZoneSetting(m.start(1), "/etc/sysconfig/clock", name, None)
    elif path.endswith("/etc/localtime") and data[:4] == b"TZif" and data[4:5] in (b"2", b"3", b"4"):
        footer = data.rstrip(b"\x00")
        if footer.endswith(b"\n"):
            start = footer.rfind(b"\n", 0, len(footer) - 1)
            tz = footer[start + 1:-1].decode("ascii", "replace")
            if 0 < len(tz) < 64 and tz.isprintable():
                yield TimeZoneSetting(start + 1, "/etc/localtime", _fixed_offset_zone(tz), tz)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="timezones",
    finding=TimeZoneSetting,
    extract=extract,
    description="the system's time zone (/etc/timezone, /etc/sysconfig/clock, /etc/localtime TZif footer)",
)
