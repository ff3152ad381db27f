"""Times in log lines, as ISO-8601 UTC strings, and whether anything had to be assumed.

Why a helper: syslog lines (postfix, yum.log) carry no year and no zone, exim and dpkg
carry no zone, Apache carries both. Each extractor says which it had to assume through
`time_inferred`, so a declaration never states an assumed time as a fact:
* a missing zone is taken as UTC;
* a missing year is the year of the log file's modification time (`Source.mtime`), one
  year earlier when that would put the line after the file was last written (a log rotated
  in January holds December's lines). Without an mtime the year is unknown and so is the time.
"""
from __future__ import annotations

import re

import calendar
from datetime import datetime, timedelta, timezone
from functools import lru_cache

MONTHS = {m.lower().encode(): i for i, m in enumerate(calendar.month_abbr) if m}
_SLACK = timedelta(days=1)  # clock skew between a log line and its file's mtime


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_epoch(seconds: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)


# The time at the head of a syslog line, then the host: "Mar 16 12:34:56 host " (groups 1-5) or
# RFC 3339 as newer rsyslog writes it, "2011-03-16T12:34:56.123+03:00 host " (groups 6-12).
SYSLOG_STAMP = (rb"(?:([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})|(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})"
                rb"(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?) \S+ ")


def syslog_time(m: "re.Match[bytes]", mtime: int | None) -> tuple[str | None, bool]:
    """(UTC time, inferred) of a match whose first 12 groups are SYSLOG_STAMP's: a year-less line
    takes its file's mtime year, a line without a zone is read as UTC; both say `inferred`."""
    if m.group(1):
        return yearless(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)), mtime), True
    zone = m.group(12)
    z = None if zone in (None, b"Z") else zone.replace(b":", b"")
    return with_zone(*(int(m.group(i)) for i in range(6, 12)), z), zone is None


def with_zone(year: int, month: int, day: int, hh: int, mm: int, ss: int, zone: bytes | None) -> str | None:
    """A full time; zone like b"+0300" (None: assumed UTC). None when the fields are impossible."""
    try:
        tz = timezone.utc
        if zone:
            sign = -1 if zone[:1] == b"-" else 1
            tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])))
        return iso(datetime(year, month, day, hh, mm, ss, tzinfo=tz))
    except (ValueError, OverflowError):
        return None


def yearless(month: bytes, day: int, hh: int, mm: int, ss: int, mtime: int | None) -> str | None:
    """A syslog time ("Mar 16 12:34:56") placed in the year of the file's mtime (seconds since the
    epoch, `Source.mtime`; see module doc). None when the month, day or time is impossible.

    Called once per line of a busy log: the year and date text of each (month, day) are worked
    out once per file (`_placed_day`), the time of day is only compared and formatted."""
    m = MONTHS.get(month.lower())
    if m is None or mtime is None or not (0 <= hh < 24 and 0 <= mm < 60 and 0 <= ss < 60):
        return None
    this_year, limit, year_before = _placed_day(m, day, mtime)
    date = this_year if hh * 3600 + mm * 60 + ss <= limit else year_before
    return None if date is None else f"{date}T{hh:02d}:{mm:02d}:{ss:02d}Z"


@lru_cache(maxsize=4096)
def _placed_day(month: int, day: int, mtime: int) -> tuple[str | None, int, str | None]:
    """The date text of (month, day) in the mtime's year, the last second of that day (from its
    midnight) that is not after the mtime (+ slack), and the date text a year earlier: a time is
    in the mtime's year up to that second, else the year before."""
    ref = from_epoch(mtime)
    dates = []
    for year in (ref.year, ref.year - 1):
        try:
            dates.append(datetime(year, month, day, tzinfo=timezone.utc))
        except ValueError:  # 29 February in a common year
            dates.append(None)
    this_year, year_before = dates
    limit = -1 if this_year is None else int((ref + _SLACK - this_year).total_seconds())
    return (None if this_year is None else this_year.strftime("%Y-%m-%d"), limit,
            None if year_before is None else year_before.strftime("%Y-%m-%d"))
