"""Package installs and removals from the package managers' own logs (table `package_log`).

Why: what was installed and when (tor, a mailer, a compiler) is part of how a server was set
up, and it belongs on the timeline. One row per action line:
* dpkg (`/var/log/dpkg.log*`): `2011-03-16 12:34:56 install tor:amd64 <none> 0.2.1.30-1`,
  also `upgrade`, `remove`, `purge` (the `status` and `configure` lines repeat them and are
  left out). Local time without a zone: `time_inferred`.
* yum (`/var/log/yum.log*`): `Mar 16 12:34:56 Installed: tor-0.2.1.30-1.el5.x86_64`
  (`Updated:`, `Erased:`); no year: it is taken from the file's mtime (extractors._logtime).
* dnf (`dnf.rpm.log*`, `dnf.log*`): `2021-03-16T12:34:56+0000 SUBDEBUG Installed: tor-...`
  (`Upgrade:`, `Erase:`, `Reinstalled:` ...), with its zone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from extractors._logtime import with_zone, yearless
from extractors.base import Extractor, Finding, Source

NAME = "package_log"
VERSION = "1.0.0"

_DPKG_NAME = re.compile(r"^dpkg\.log(?:\.\d+)?$")
_YUM_NAME = re.compile(r"^yum\.log(?:[.-]\d+)*$")
_DNF_NAME = re.compile(r"^dnf(?:\.rpm)?\.log(?:[.-]\d+)*$")
_DPKG = re.compile(rb"(?m)^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (install|upgrade|remove|purge) "
                   rb"(\S+) (\S+) (\S+)\r?$")
_YUM = re.compile(rb"(?m)^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (Installed|Updated|Erased|Obsoleted): "
                  rb"(\S+)\r?$")
_DNF = re.compile(rb"(?m)^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})? \w+ "
                  rb"(Installed|Installing|Upgrade|Upgraded|Upgrading|Erase|Erased|Removed|Reinstalled|Downgrade|"
                  rb"Downgraded|Obsoleted): (\S+)\r?$")
_ACTIONS = {b"install": "install", b"upgrade": "upgrade", b"remove": "remove", b"purge": "purge",
            b"Installed": "install", b"Installing": "install", b"Updated": "upgrade", b"Upgrade": "upgrade",
            b"Upgraded": "upgrade", b"Upgrading": "upgrade", b"Erased": "remove", b"Erase": "remove",
            b"Removed": "remove", b"Obsoleted": "remove", b"Reinstalled": "reinstall", b"Downgrade": "downgrade",
            b"Downgraded": "downgrade"}
# name-version-release.arch as rpm prints it
_NEVRA = re.compile(r"^(?:\d+:)?(.+?)-((?:\d+:)?[^-]+-[^-]+?)(?:\.(\w+))?$")


@dataclass(frozen=True, slots=True)
class PackageEvent(Finding):
    manager: str  # dpkg, yum, dnf
    time: str | None  # ISO-8601 UTC
    time_inferred: bool  # year or zone assumed
    action: str  # install, upgrade, remove, purge, reinstall, downgrade
    package: str
    version: str | None


def _split_nevra(text: str) -> tuple[str, str | None]:
    m = _NEVRA.match(text)
    if not m:
        return text, None
    return m.group(1), m.group(2)


def extract(data: bytes, source: Source) -> Iterator[PackageEvent]:
    name = source.name or ""
    if _DPKG_NAME.match(name):
        for m in _DPKG.finditer(data):
            t = with_zone(*(int(m.group(i)) for i in range(1, 7)), None)
            version = m.group(10).decode("utf-8", "replace")
            yield PackageEvent(m.start(), "dpkg", t, True, _ACTIONS[m.group(7)],
                               m.group(8).decode("utf-8", "replace"), None if version == "<none>" else version)
    elif _YUM_NAME.match(name):
        for m in _YUM.finditer(data):
            t = yearless(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)), source.mtime)
            package, version = _split_nevra(m.group(7).decode("utf-8", "replace"))
            yield PackageEvent(m.start(), "yum", t, True, _ACTIONS[m.group(6)], package, version)
    elif _DNF_NAME.match(name):
        for m in _DNF.finditer(data):
            zone = m.group(7)
            z = None if zone in (None, b"Z") else zone.replace(b":", b"")
            t = with_zone(*(int(m.group(i)) for i in range(1, 7)), z)
            package, version = _split_nevra(m.group(9).decode("utf-8", "replace"))
            yield PackageEvent(m.start(), "dnf", t, zone is None, _ACTIONS[m.group(8)], package, version)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="package_log",
    finding=PackageEvent,
    extract=extract,
    description="package installs/upgrades/removals from dpkg.log, yum.log and dnf logs (for the timeline)",
)
