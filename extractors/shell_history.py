"""What was typed: shell and client history files, one finding per command.

Files (by name, deleted copies and archive members too): `.bash_history` (with `#<epoch>`
lines when HISTTIMEFORMAT was set: the stamp belongs to the command on the next line),
`.zsh_history` / `.histfile` (extended format `: <epoch>:<duration>;command`, a trailing
backslash continues a command on the next line, zsh's metafied bytes undone), `.sh_history`,
`.ash_history`, `.mysql_history` and `.python_history` (libedit's `\\040` escapes undone),
`.psql_history`, `.sqlite_history`, `.lesshst` (search strings and shell commands).
The user is the owner of the home directory the file lies in.

Tags name commands that fetch or run things: each command is cut at `;`, `&&`, `||`, `|`,
`&`, `$(` and backquotes, and the first word of each part (after `sudo`, `nohup`, `env`,
`VAR=value` ...) is looked up, so `echo wget` is not tagged and `cd /tmp && wget ...` is.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterator

from extractors._unix import home_user, is_compressed, iso_utc, lines, object_path, text
from extractors.base import Extractor, Finding, Source

NAME = "shell_history"
VERSION = "1.0.0"
COMMAND_MAX = 2000

SHELLS = {
    ".bash_history": "bash", ".zsh_history": "zsh", ".histfile": "zsh", ".zhistory": "zsh",
    ".sh_history": "sh", ".ash_history": "ash", ".mysql_history": "mysql", ".python_history": "python",
    ".psql_history": "psql", ".sqlite_history": "sqlite", ".lesshst": "less",
}
# first word -> tag
_TOOLS = {
    "wget": "wget", "curl": "curl", "fetch": "fetch", "lwp-download": "fetch", "aria2c": "fetch",
    "scp": "scp", "sftp": "sftp", "rsync": "rsync", "ssh": "ssh", "ftp": "ftp", "tftp": "ftp",
    "nc": "nc", "ncat": "nc", "netcat": "nc", "socat": "nc", "telnet": "telnet",
    "tor": "tor", "torsocks": "tor", "torify": "tor", "proxychains": "tor", "proxychains4": "tor",
    "crontab": "crontab", "at": "at",
    "sendmail": "mail", "mail": "mail", "mailx": "mail", "mutt": "mail", "swaks": "mail", "exim": "mail",
    "exim4": "mail", "postfix": "mail", "postqueue": "mail", "ssmtp": "mail", "msmtp": "mail",
    "useradd": "account", "adduser": "account", "usermod": "account", "passwd": "account", "chpasswd": "account",
    "ssh-keygen": "ssh-key", "ssh-copy-id": "ssh-key",
    "history": "history", "shred": "wipe", "wipe": "wipe", "srm": "wipe",
    "iptables": "firewall", "ufw": "firewall",
}
_WRAPPERS = frozenset("torsocks torify proxychains proxychains4".split())
_PREFIXES = frozenset("sudo nohup env exec time nice ionice setsid command builtin doas timeout stdbuf".split())
_SPLIT = re.compile(r"(\|\||&&|[;|&`\n]|\$\(|\(|\))")
_OPTION_ARGS = frozenset("-u -g -U -C -D -h -p -r -t -n -c".split())  # sudo/nice/timeout options with a value
_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_CHMOD_X = re.compile(r"(?:[ugoa]*\+[rwst]*x|0?[0-7]?[1357][0-7]{0,2}|0?[0-7]?[0-7][1357][0-7]?|0?[0-7]{2}[1357])")
_SHELLS_RUN = frozenset("sh bash dash zsh ksh python python3 perl ruby php".split())
# Any word that could lead to a tag (a tool, a wrapper, a shell after a pipe, chmod, a local run).
_ANY_TAGGED = re.compile(
    r"(?:^|[\s/;|&(`])(?:" + "|".join(sorted(map(re.escape, set(_TOOLS) | _WRAPPERS | _SHELLS_RUN | {"chmod"}),
                                            key=len, reverse=True)) + r")(?:$|[\s;|&)`])|(?:^|[\s;|&(`])(?:\./|/tmp/|/dev/shm/|/var/tmp/)")
_BASH_STAMP = re.compile(rb"#(\d{9,11})")
_ZSH_EXT = re.compile(rb": (\d{9,11}):(\d+);")
_OCTAL = re.compile(rb"\\([0-7]{3})")


@dataclass(frozen=True, slots=True)
class HistoryFinding(Finding):
    """One command; `offset` is the first byte of its line (of its `#epoch` line's command, for bash)."""

    shell: str  # bash, zsh, sh, mysql, python, psql, sqlite, less
    user: str | None  # from the home directory
    line_no: int
    time: str | None  # YYYY-MM-DDTHH:MM:SSZ when the file recorded one
    command: str
    tags: list[str] = field(default_factory=list)


def history_shell(source: Source) -> str | None:
    name = posixpath.basename(object_path(source))
    if is_compressed(name):
        return None
    return SHELLS.get(name)


def _words(part: str) -> list[str]:
    words = part.split()
    i = 0
    while i < len(words) and (words[i] in _PREFIXES or _ASSIGN.match(words[i]) or words[i].startswith("-")):
        i += 2 if words[i] in _OPTION_ARGS else 1
    return words[i:]


def tag_command(command: str) -> list[str]:
    """Tags for the programs that a command line runs (see the module docstring)."""
    if _ANY_TAGGED.search(command) is None:  # most commands name no such program: one C-speed test
        return []
    tags: set[str] = set()
    pieces = _SPLIT.split(command)  # part, separator, part, ...
    for k in range(0, len(pieces), 2):
        words = _words(pieces[k])
        if not words:
            continue
        prog = posixpath.basename(words[0].strip("'\""))
        while prog in _WRAPPERS and len(words) > 1:  # `torsocks curl ...` runs curl through Tor
            tags.add(_TOOLS[prog])
            words = _words(" ".join(words[1:]))
            prog = posixpath.basename(words[0].strip("'\"")) if words else ""
        tag = _TOOLS.get(prog)
        if tag and not (prog == "tor" and len(words) > 1 and not words[1].startswith("-")):
            tags.add(tag)  # `tor` takes options only: `tor browser` is prose
        if prog == "chmod" and any(_CHMOD_X.fullmatch(w) for w in words[1:3]):
            tags.add("chmod+x")
        if prog in _SHELLS_RUN and k >= 2 and pieces[k - 1] == "|":
            tags.add("pipe-to-shell")
        if words[0].startswith(("./", "/tmp/", "/dev/shm/", "/var/tmp/")):
            tags.add("run-local")
    return sorted(tags)


def _unmetafy(raw: bytes) -> bytes:
    """zsh writes bytes 0x83..0x9f and some others as 0x83 followed by the byte XOR 0x20."""
    if b"\x83" not in raw:
        return raw
    out = bytearray()
    it = iter(raw)
    for b in it:
        if b == 0x83:
            nxt = next(it, None)
            if nxt is not None:
                out.append(nxt ^ 0x20)
        else:
            out.append(b)
    return bytes(out)


def _unescape_octal(raw: bytes) -> bytes:
    return _OCTAL.sub(lambda m: bytes([int(m.group(1), 8) & 0xFF]), raw) if b"\\" in raw else raw


def _finding(off: int, shell: str, user: str | None, n: int, when: int | None, raw: bytes) -> HistoryFinding:
    command = text(raw)[:COMMAND_MAX]
    tags = tag_command(command) if shell in ("bash", "zsh", "sh", "ash") else []
    return HistoryFinding(off, shell, user, n, iso_utc(when), command, tags)


def extract(data: bytes, source: Source) -> Iterator[HistoryFinding]:
    shell = history_shell(source)
    if shell is None or b"\x00" in data[:4096]:
        return
    user = home_user(object_path(source))
    rows = list(lines(data))
    if rows and rows[-1][1] == b"":
        rows.pop()
    start = 1 if source.window_offset > 0 else 0  # a later window's first line is partial
    if shell == "zsh":
        yield from _zsh(rows, start, user)
        return
    stamp: int | None = None
    for i in range(start, len(rows)):
        off, raw = rows[i]
        n = i + 1
        if shell == "less":
            if raw.startswith(b'"'):
                yield _finding(off, shell, user, n, None, raw[1:])
            continue
        if shell in ("bash", "sh", "ash"):
            m = _BASH_STAMP.fullmatch(raw)
            if m:
                stamp = int(m.group(1))
                continue
        else:
            if raw.startswith(b"_HiStOrY_V2_"):
                continue
            raw = _unescape_octal(raw)
        if not raw.strip():
            stamp = None
            continue
        yield _finding(off, shell, user, n, stamp, raw)
        stamp = None


def _zsh(rows: list[tuple[int, bytes]], start: int, user: str | None) -> Iterator[HistoryFinding]:
    i = start
    while i < len(rows):
        off, raw = rows[i]
        n = i + 1
        when = None
        m = _ZSH_EXT.match(raw)
        if m:
            when = int(m.group(1))
            raw = raw[m.end():]
        parts = [raw]
        while parts[-1].endswith(b"\\") and i + 1 < len(rows) and not _ZSH_EXT.match(rows[i + 1][1]):
            parts[-1] = parts[-1][:-1]
            i += 1
            parts.append(rows[i][1])
        i += 1
        command = _unmetafy(b"\n".join(parts))
        if command.strip():
            yield _finding(off, "zsh", user, n, when, command)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="shell_history",
    finding=HistoryFinding,
    extract=extract,
    description="Shell and client history (bash, zsh, mysql, python, less ...), commands that fetch or run things tagged",
)
