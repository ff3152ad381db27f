"""Accounts: `/etc/passwd`, `/etc/shadow`, `/etc/group`, `/etc/gshadow` (and their `-` backups).

Why: who could log in, with which shell, and whether a password was set and when it last
changed, is the first question about who ran a server. The password hash itself is a secret:
only its algorithm (from the crypt `$id$` prefix) and whether the account is locked leave
this module; no hash, salt or part of one is in any finding.

Applicability: a file named passwd/shadow/group/gshadow (optionally with a backup suffix:
`-`, `.bak`, `.old`, `.orig`, `.save`, `~`) in a directory named `etc` (deleted copies and archive members included). Each line
must have the file's exact field count and numeric ids where ids belong; other lines are
skipped, so bytes that are not an account file yield nothing.
"""
from __future__ import annotations

import datetime
import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterator

from extractors._unix import is_compressed, lines, object_path, text
from extractors.base import Extractor, Finding, Source

NAME = "accounts"
VERSION = "1.0.0"
FILES = {"passwd": 7, "shadow": 9, "group": 4, "gshadow": 4}  # name -> field count
BACKUP_SUFFIXES = ("-", ".bak", ".old", ".orig", ".save", "~", ".dpkg-old", ".dpkg-dist")
_ID = re.compile(rb"\d{1,10}")
_NAME = re.compile(rb"[A-Za-z0-9_.][A-Za-z0-9_.@$+-]{0,63}")
# crypt(5) prefixes -> scheme names as libxcrypt's crypt(5) calls them.
_SCHEMES = {
    "1": "md5crypt", "2a": "bcrypt", "2b": "bcrypt", "2x": "bcrypt", "2y": "bcrypt", "5": "sha256crypt",
    "6": "sha512crypt", "y": "yescrypt", "gy": "gost-yescrypt", "7": "scrypt", "sha1": "sha1crypt",
    "md5": "sunmd5", "3": "nthash",
}
_DES = re.compile(r"[./0-9A-Za-z]{13}")
_BSDI = re.compile(r"_[./0-9A-Za-z]{19}")


@dataclass(frozen=True, slots=True)
class AccountFinding(Finding):
    """One line of an account file; `offset` is the line's first byte."""

    source: str  # passwd, shadow, group, gshadow
    user: str | None  # the account (passwd, shadow); None for group rows
    group: str | None  # the group (group, gshadow); None for account rows
    uid: int | None
    gid: int | None
    home: str | None
    shell: str | None
    gecos: str | None
    hash_algorithm: str | None  # sha512crypt, yescrypt, ..., "none" (empty: no password), "locked"; None: not here
    locked: bool | None  # `!` / `*` prefixes (shadow, gshadow); None where the file says nothing
    last_change: str | None  # YYYY-MM-DD (shadow field 3, days since the epoch)
    members: list[str] = field(default_factory=list)  # group members (group), members + admins (gshadow)
    line_no: int | None = None


def account_file(source: Source) -> str | None:
    """passwd/shadow/group/gshadow when the object is one of these account files, else None."""
    path = object_path(source)
    name = posixpath.basename(path)
    if is_compressed(name):
        return None
    base = name
    for suffix in BACKUP_SUFFIXES:  # shadow- (written by the tools), shadow.bak (by hand) ...
        if base.endswith(suffix) and base[:-len(suffix)] in FILES:
            base = base[:-len(suffix)]
            break
    if base not in FILES or posixpath.basename(posixpath.dirname(path)) != "etc":
        return None
    return base


def hash_algorithm(value: str) -> tuple[str, bool]:
    """(scheme, locked) of a shadow password field, without keeping any of the hash.

    `!` (usermod -L, passwd -l) prefixes a hash to lock it; `*` and `!` alone mean no password
    can match (locked); an empty field means no password at all ("none").
    """
    locked = value.startswith(("!", "*"))
    core = value.lstrip("!")
    if core in ("", "*") and locked:
        return "locked", True
    if core == "":
        return "none", False
    if core.startswith("*"):
        return "locked", True
    if core.startswith("$"):
        ident = core[1:].split("$", 1)[0]
        return _SCHEMES.get(ident, f"unknown(${ident}$)"[:40]), locked
    if _DES.fullmatch(core):
        return "descrypt", locked
    if _BSDI.fullmatch(core):
        return "bsdicrypt", locked
    if core in ("x", "NP", "LK", "*LK*"):
        return "locked", True
    return "unknown", locked


def _date(days: bytes) -> str | None:
    if not _ID.fullmatch(days):
        return None
    n = int(days)
    if not 0 < n < 60000:
        return None
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=n)).isoformat()


def _int(b: bytes) -> int | None:
    return int(b) if _ID.fullmatch(b) else None


def _members(b: bytes) -> list[str]:
    return [m for m in text(b).split(",") if m]


def _parse(kind: str, f: list[bytes], off: int, line_no: int) -> AccountFinding | None:
    if not _NAME.fullmatch(f[0].lstrip(b"+-")) and f[0] not in (b"+", b"-"):
        return None
    name = text(f[0])
    if kind == "passwd":
        uid, gid = _int(f[2]), _int(f[3])
        if uid is None or gid is None:
            return None
        pw = text(f[1])
        algo, locked = (None, None) if pw == "x" else hash_algorithm(pw)  # "x": the hash is in shadow
        return AccountFinding(off, "passwd", name, None, uid, gid, text(f[5]), text(f[6]), text(f[4]),
                              algo, locked, None, [], line_no)
    if kind == "shadow":
        if any(x and not _ID.fullmatch(x) for x in f[2:8]):
            return None
        algo, locked = hash_algorithm(text(f[1]))
        return AccountFinding(off, "shadow", name, None, None, None, None, None, None, algo, locked,
                              _date(f[2]), [], line_no)
    if kind == "group":
        gid = _int(f[2])
        if gid is None:
            return None
        return AccountFinding(off, "group", None, name, None, gid, None, None, None, None, None, None,
                              _members(f[3]), line_no)
    # gshadow: name:password:admins:members
    algo, locked = hash_algorithm(text(f[1]))
    members = _members(f[3]) + [a for a in _members(f[2]) if a not in _members(f[3])]
    return AccountFinding(off, "gshadow", None, name, None, None, None, None, None, algo, locked, None,
                          members, line_no)


def extract(data: bytes, source: Source) -> Iterator[AccountFinding]:
    kind = account_file(source)
    if kind is None or b"\x00" in data[:4096]:
        return
    want = FILES[kind]
    for n, (off, raw) in enumerate(lines(data), 1):
        if not raw or raw.startswith(b"#"):
            continue
        f = raw.split(b":")
        if len(f) != want:
            continue
        found = _parse(kind, f, off, n)
        if found is not None:
            yield found


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="accounts",
    finding=AccountFinding,
    extract=extract,
    description="Accounts and groups from /etc/passwd, shadow, group, gshadow (hash algorithm only, never the hash)",
)
