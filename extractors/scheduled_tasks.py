"""What the server was told to run by itself: crontabs, anacrontab, systemd units and timers
under `/etc/systemd/system` (and users' `~/.config/systemd/user`), `/etc/rc.local`, and the
scripts in `/etc/cron.{hourly,daily,weekly,monthly}`.

Formats:
* `/etc/crontab`, `/etc/cron.d/*`: `min hour dom mon dow USER command` (or `@reboot USER
  command`); `VAR=value` lines set the environment and are skipped.
* User crontabs `/var/spool/cron/crontabs/USER` (Debian) and `/var/spool/cron/USER` (Red Hat):
  no user field; the owner is the file name.
* `/etc/anacrontab`: `period delay job-id command`, run as root.
* systemd units (`*.service`, `*.timer`): one finding per `ExecStart=`-like line (owner from
  `User=`, else root; for user units, the home's owner) and per `OnCalendar=`/`On*Sec=` line
  of a timer (the command is the unit it triggers). Units shipped by packages live in
  /lib/systemd and /usr/lib/systemd and are not read here.
* `/etc/rc.local`: every command line (not comments, not the `exit 0`).
* `/etc/cron.daily/*` etc.: one finding per script (schedule `daily`, command its path).
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Iterator

from extractors._unix import content_lines, home_user, is_compressed, lines, object_path, text
from extractors.base import Extractor, Finding, Source

NAME = "scheduled_tasks"
VERSION = "1.0.0"
COMMAND_MAX = 1000

_SPECIAL = re.compile(r"@(reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)")
_FIELD = re.compile(r"[0-9*/,\-A-Za-z?LW#]+")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\s*=")
_EXEC_KEYS = ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecReload")
_TIMER_KEYS = ("OnCalendar", "OnBootSec", "OnStartupSec", "OnActiveSec", "OnUnitActiveSec", "OnUnitInactiveSec")
_CRON_DIRS = {"cron.hourly": "hourly", "cron.daily": "daily", "cron.weekly": "weekly", "cron.monthly": "monthly",
              "cron.yearly": "yearly"}
_UNIT_SUFFIXES = (".service", ".timer")


@dataclass(frozen=True, slots=True)
class ScheduledTaskFinding(Finding):
    """One scheduled command; `offset` is the first byte of its line (0 for a cron.daily script)."""

    source: str  # crontab, cron.d, user_crontab, anacrontab, systemd_service, systemd_timer, rc.local, cron_script
    owner: str | None  # the user it runs as
    schedule: str | None  # cron fields, @reboot, OnCalendar value, "boot", "daily" ...
    command: str
    unit: str | None = None  # systemd unit file name
    line_no: int | None = None


def task_source(source: Source) -> str | None:
    path = object_path(source)
    name = posixpath.basename(path)
    if not path or is_compressed(name) or name.startswith(".") or name.endswith(("~", ".dpkg-old", ".dpkg-dist")):
        return None
    parent = posixpath.dirname(path)
    pname = posixpath.basename(parent)
    if path.endswith("/etc/crontab"):
        return "crontab"
    if path.endswith("/etc/anacrontab"):
        return "anacrontab"
    if path.endswith("/etc/rc.local"):
        return "rc.local"
    if pname == "cron.d" and posixpath.basename(posixpath.dirname(parent)) == "etc":
        return "cron.d"
    if pname == "crontabs" and parent.endswith("/spool/cron/crontabs"):
        return "user_crontab"
    if parent.endswith("/var/spool/cron") and name not in ("atjobs", "atspool", "crontabs", "lastrun"):
        return "user_crontab"
    if pname in _CRON_DIRS and posixpath.basename(posixpath.dirname(parent)) == "etc" and name != "0anacron":
        return "cron_script"
    if name.endswith(_UNIT_SUFFIXES) and ("/etc/systemd/system/" in path or "/.config/systemd/user/" in path):
        return "systemd_timer" if name.endswith(".timer") else "systemd_service"
    return None


def _cron_line(line: str, with_user: bool) -> tuple[str, str | None, str] | None:
    """(schedule, user, command) of a crontab line, None if it is not one."""
    m = _SPECIAL.match(line)
    if m:
        schedule, rest = m.group(0), line[m.end():].lstrip()
    else:
        f = line.split(None, 5)
        if len(f) < 6 or not all(_FIELD.fullmatch(x) for x in f[:5]):
            return None
        schedule, rest = " ".join(f[:5]), f[5]
    user = None
    if with_user:
        parts = rest.split(None, 1)
        if len(parts) < 2:
            return None
        user, rest = parts
    if not rest:
        return None
    return schedule, user, rest[:COMMAND_MAX]


def _units(data: bytes, kind: str, name: str, path: str) -> Iterator[ScheduledTaskFinding]:
    owner = home_user(path) if "/.config/systemd/user/" in path else None
    rows = []
    section = None
    for n, (off, raw) in enumerate(lines(data), 1):
        line = text(raw).strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, eq, value = line.partition("=")
        if not eq:
            continue
        key, value = key.strip(), value.strip()
        if section == "Service" and key == "User" and owner is None:
            owner = value
        rows.append((off, n, section, key, value))
    unit_target = name.removesuffix(".timer") + ".service"
    for off, n, section, key, value in rows:
        if key == "Unit" and section == "Timer":
            unit_target = value
    for off, n, section, key, value in rows:
        if kind == "systemd_service" and section == "Service" and key in _EXEC_KEYS and value:
            yield ScheduledTaskFinding(off, kind, owner or "root", key, value[:COMMAND_MAX], name, n)
        elif kind == "systemd_timer" and section == "Timer" and key in _TIMER_KEYS and value:
            yield ScheduledTaskFinding(off, kind, owner or "root", f"{key}={value}", unit_target, name, n)


def extract(data: bytes, source: Source) -> Iterator[ScheduledTaskFinding]:
    kind = task_source(source)
    if kind is None or b"\x00" in data[:4096]:
        return
    path = object_path(source)
    name = posixpath.basename(path)
    if kind == "cron_script":
        if source.window_offset == 0:
            yield ScheduledTaskFinding(0, kind, "root", _CRON_DIRS[posixpath.basename(posixpath.dirname(path))],
                                       path, None, 1)
        return
    if kind in ("systemd_service", "systemd_timer"):
        if source.window_offset == 0:  # unit files are small; a window-crossing unit is not one
            yield from _units(data, kind, name, path)
        return
    for n, off, line in content_lines(data, source.window_offset):
        if kind == "rc.local":
            if line in ("exit 0", "exit") or line.startswith(("#!", "set -e")):
                continue
            yield ScheduledTaskFinding(off, kind, "root", "boot", line[:COMMAND_MAX], None, n)
            continue
        if _ENV.match(line) and not _SPECIAL.match(line):
            continue
        if kind == "anacrontab":
            f = line.split(None, 3)
            if len(f) == 4 and (f[0].isdigit() or f[0].startswith("@")) and f[1].isdigit():
                yield ScheduledTaskFinding(off, kind, "root", f"period={f[0]} delay={f[1]} job={f[2]}",
                                           f[3][:COMMAND_MAX], None, n)
            continue
        parsed = _cron_line(line, with_user=kind in ("crontab", "cron.d"))
        if parsed is None:
            continue
        schedule, user, command = parsed
        yield ScheduledTaskFinding(off, kind, user if user is not None else name, schedule, command, None, n)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="scheduled_tasks",
    finding=ScheduledTaskFinding,
    extract=extract,
    description="Crontabs, anacrontab, systemd units/timers in /etc/systemd/system, rc.local, cron.* scripts",
)
