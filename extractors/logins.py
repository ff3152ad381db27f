"""Logins from the authentication log: `/var/log/auth.log*` (Debian) and `secure*` (Red Hat).

One finding per login event or attempt: sshd `Accepted`/`Failed` (method, user, source IP
and port, key type and fingerprint as sshd logs them), `Invalid user`, PAM session
open/close and authentication failures, sudo (who ran what as whom), su, login failures.
Rotated copies (`auth.log.1`, `secure-20261201`) and gzip'd ones (`auth.log.2.gz`, read
through its member `auth.log.2`) are the same artefact.

Times: the traditional syslog stamp (`Dec  5 10:11:12`) has neither year nor zone. The year
is inferred from the file's mtime as for every syslog log (`extractors._logtime.yearless`: a
line more than a day after the mtime was written the year before, since a log is written up
to its last change; an impossible time is unknown), and the zone is assumed to be UTC; such
rows have `time_inferred` true. RFC 3339 stamps (rsyslog's high
precision format, `2026-12-05T10:11:12.123456+01:00`) carry both and are converted exactly.
Without an mtime (unallocated space) the year is unknown: time is None and time_inferred true.

Applicability is by name (`auth.log`, `auth.log.N`, `auth.log-DATE`, `secure`, `secure.N`,
`secure-DATE`); lines that are not syslog lines of a known program are skipped.
"""
from __future__ import annotations

import datetime
import posixpath
import re
from dataclasses import dataclass
from typing import Iterator

from extractors._logtime import yearless
from extractors._unix import is_compressed, lines, object_path, text
from extractors.base import Extractor, Finding, Source

NAME = "logins"
VERSION = "1.0.1"  # 1.0.1: the year of a syslog stamp by extractors._logtime.yearless
RAW_MAX = 200

_LOG_NAME = re.compile(r"(auth\.log|secure)(?:[.-][A-Za-z0-9_.-]*)?")
_SYSLOG = re.compile(
    rb"(?:(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?P<day>[ 0-3]?\d) (?P<hms>\d\d:\d\d:\d\d)"
    rb"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)))"
    rb" (?P<host>\S+) (?P<prog>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)")
_SSHD_AUTH = re.compile(
    r"(?P<what>Accepted|Failed) (?P<method>\S+) for (?P<invalid>invalid user )?(?P<user>.*?) from (?P<ip>\S+)"
    r" port (?P<port>\d+)(?: ssh\d)?(?:: (?P<ktype>\S+) (?P<fp>(?:SHA256|MD5):\S+|[0-9a-f]{2}(?::[0-9a-f]{2}){15}))?")
_SSHD_INVALID = re.compile(r"[Ii]nvalid user (?P<user>.*?) from (?P<ip>\S+)(?: port (?P<port>\d+))?\s*$")
_PAM_SESSION = re.compile(
    r"pam_unix\((?P<svc>[^:)]+):session\): session (?P<what>opened|closed) for user (?P<user>[^\s(]+)"
    r"(?:\(uid=\d+\))?(?: by (?P<by>[^\s(]*)(?:\(uid=\d+\))?)?")
_PAM_AUTHFAIL = re.compile(
    r"pam_unix\((?P<svc>[^:)]+):auth\): authentication failure;.*?(?:rhost=(?P<rhost>\S*))?(?:\s+user=(?P<user>\S+))?\s*$")
_SUDO = re.compile(
    r"\s*(?P<user>\S+) : (?:(?P<why>.*?) ; )?TTY=(?P<tty>\S+) ; PWD=(?P<pwd>.*?) ; USER=(?P<target>\S+) ;"
    r"(?:.*? ; )?(?:.*?)COMMAND=(?P<cmd>.*)$")
_SU_TO = re.compile(r"\(to (?P<target>\S+)\) (?P<user>\S+) on (?P<tty>\S+)")
_SU_RESULT = re.compile(r"(?P<what>Successful|FAILED) su for (?P<target>\S+) by (?P<user>\S+)")
_SU_OLD = re.compile(r"(?P<what>[+-]) (?P<tty>\S+) (?P<user>[^\s:]+):(?P<target>\S+)$")
_LOGIN_FAILED = re.compile(
    r"FAILED LOGIN \(?\d+\)? (?:on '?(?P<tty>[^' ]+)'? )?(?:FROM '?(?P<host>[^' ]*)'? )?FOR '?(?P<user>[^',]*)'?")
_IP = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+")


@dataclass(frozen=True, slots=True)
class LoginFinding(Finding):
    """One login event or attempt; `offset` is the first byte of its log line or utmp record."""

    source: str  # auth.log, secure, wtmp, btmp, utmp, lastlog, carved-utmp
    time: str | None  # YYYY-MM-DDTHH:MM:SSZ (UTC)
    time_inferred: bool  # the year and/or the zone had to be assumed (see the module docstring)
    user: str | None
    result: str  # accepted, failed, invalid_user, session_open, session_close, auth_failure, sudo,
    # sudo_failed, su, su_failed, login, logout, boot, shutdown, runlevel, ...
    method: str | None  # publickey, password, keyboard-interactive/pam, or the PAM service (sshd, su, cron)
    remote_ip: str | None
    remote_port: int | None
    key_type: str | None  # as sshd logs it: RSA, ED25519, ECDSA, ...
    key_fingerprint: str | None  # SHA256:... as sshd logs it
    terminal: str | None  # tty / utmp ut_line
    raw: str | None  # the log line (at most 200 characters); None for binary records
    service: str | None = None  # the logging program (sshd, sudo, su) or utmp record type
    host: str | None = None  # the syslog host field
    pid: int | None = None
    remote_host: str | None = None  # utmp ut_host / lastlog ll_host / PAM rhost as written
    target_user: str | None = None  # sudo USER=, su target
    command: str | None = None  # sudo COMMAND=
    uid: int | None = None  # lastlog: the record's index is the uid


def log_source(source: Source) -> str | None:
    """"auth.log" or "secure" when the object is an authentication log (rotated copies too)."""
    name = posixpath.basename(object_path(source))
    if is_compressed(name) or not _LOG_NAME.fullmatch(name):
        return None
    return "secure" if name.startswith("secure") else "auth.log"


def _ip(value: str | None) -> str | None:
    return value if value and _IP.fullmatch(value) else None


def _rfc3339(stamp: bytes) -> str | None:
    """rsyslog's high precision stamp, converted exactly to UTC."""
    s = stamp.decode()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    if "." in s:  # fromisoformat takes at most 6 fractional digits
        head, frac = s.split(".", 1)
        digits = re.match(r"\d+", frac).group(0)
        s = head + frac[len(digits):]
    try:
        dt = datetime.datetime.fromisoformat(s)
    except ValueError:
        return None
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ev(result: str, user: str | None = None, method: str | None = None, remote_ip: str | None = None,
        remote_port: int | None = None, key_type: str | None = None, key_fingerprint: str | None = None,
        terminal: str | None = None, remote_host: str | None = None, target_user: str | None = None,
        command: str | None = None) -> tuple:
    """An event's fields in LoginFinding order (a tuple: a busy log makes hundreds of thousands)."""
    return (user or None, result, method, remote_ip, remote_port, key_type, key_fingerprint, terminal, remote_host,
            target_user, command)


def _sshd(msg: str) -> tuple | None:
    m = _SSHD_AUTH.match(msg)
    if m:
        result = "accepted" if m["what"] == "Accepted" else "failed"
        return _ev(result=result, user=m["user"], method=m["method"], remote_ip=_ip(m["ip"]),
                    remote_host=m["ip"], remote_port=int(m["port"]), key_type=m["ktype"], key_fingerprint=m["fp"])
    m = _SSHD_INVALID.match(msg)
    if m:
        return _ev(result="invalid_user", user=m["user"], remote_ip=_ip(m["ip"]), remote_host=m["ip"],
                    remote_port=int(m["port"]) if m["port"] else None)
    return None


def _pam(msg: str) -> tuple | None:
    if not msg.startswith("pam_unix("):
        return None
    m = _PAM_SESSION.match(msg)
    if m:
        return _ev(result="session_open" if m["what"] == "opened" else "session_close", user=m["user"],
                    method=m["svc"])
    m = _PAM_AUTHFAIL.match(msg)
    if m:
        return _ev(result="auth_failure", user=m["user"], method=m["svc"], remote_ip=_ip(m["rhost"]),
                    remote_host=m["rhost"] or None)
    return None


def _sudo(msg: str) -> tuple | None:
    m = _SUDO.match(msg)
    if not m:
        return None
    failed = bool(m["why"]) and ("incorrect password" in m["why"] or "NOT in sudoers" in m["why"]
                                 or "NOT allowed" in m["why"] or "authentication failure" in m["why"])
    return _ev(result="sudo_failed" if failed else "sudo", user=m["user"], method="sudo", terminal=m["tty"],
                target_user=m["target"], command=m["cmd"][:RAW_MAX])


def _su(msg: str) -> tuple | None:
    m = _SU_TO.match(msg)
    if m:
        return _ev(result="su", user=m["user"], method="su", terminal=m["tty"], target_user=m["target"])
    m = _SU_RESULT.match(msg)
    if m:
        return _ev(result="su" if m["what"] == "Successful" else "su_failed", user=m["user"], method="su",
                    target_user=m["target"])
    m = _SU_OLD.match(msg)
    if m:
        return _ev(result="su" if m["what"] == "+" else "su_failed", user=m["user"], method="su",
                    terminal=m["tty"], target_user=m["target"])
    return None


def _login(msg: str) -> tuple | None:
    m = _LOGIN_FAILED.search(msg)
    if m:
        return _ev(result="failed", user=m["user"], method="login", terminal=m["tty"],
                    remote_host=m["host"] or None, remote_ip=_ip(m["host"]))
    return None


# OpenSSH 9.8+ logs authentication from its per-connection binaries (sshd-session, sshd-auth).
_PROGRAMS = {"sshd": (_sshd, _pam), "sshd-session": (_sshd, _pam), "sshd-auth": (_sshd, _pam),
             "sudo": (_sudo, _pam), "su": (_su, _pam), "login": (_login, _pam)}
_OTHER = (_pam,)


# What an event's message can start with, per program (bytes, checked before any decoding).
_PAM_START = (b"pam_unix(",)
_SSHD_START = (b"Accepted ", b"Failed ", b"Invalid user ", b"invalid user ", b"pam_unix(")
_EVENT_STARTS = {b"sshd": _SSHD_START, b"sshd-session": _SSHD_START, b"sshd-auth": _SSHD_START,
                 b"sudo": (b"",),  # `   user : TTY=...`: every sudo line is parsed
                 b"su": (b"(to ", b"Successful su", b"FAILED su", b"+ ", b"- ", b"pam_unix("),
                 b"login": (b"FAILED LOGIN", b"pam_unix(")}


def _parse_message(prog: str, msg: str) -> tuple | None:
    for parse in _PROGRAMS.get(prog, _OTHER):
        found = parse(msg)
        if found is not None:
            return found
    return None


def extract(data: bytes, source: Source) -> Iterator[LoginFinding]:
    kind = log_source(source)
    if kind is None or b"\x00" in data[:512]:
        return
    mtime = source.mtime
    skip_first = source.window_offset > 0  # a later window's first line is partial (owned by the window before)
    for off, raw in lines(data):
        if skip_first:
            skip_first = False
            continue
        m = _SYSLOG.match(raw)
        if m is None:
            continue
        prog = m["prog"]
        msg = m["msg"]
        base = prog.rsplit(b"/", 1)[-1]  # `/usr/sbin/sshd[1]:` on some systems
        if not msg.startswith(_EVENT_STARTS.get(base, _PAM_START)):  # most lines of a busy log are no event
            continue
        event = _parse_message(base.decode("utf-8", "replace"), text(msg))
        if event is None:
            continue
        if m["iso"] is not None:
            when, inferred = _rfc3339(m["iso"]), False
        else:
            hms = m["hms"]
            when = yearless(m["mon"], int(m["day"]), int(hms[:2]), int(hms[3:5]), int(hms[6:]), mtime)
            inferred = True
        user, result, method, ip, port, key_type, fp, terminal, remote_host, target, command = event
        yield LoginFinding(off, kind, when, inferred, user, result, method, ip, port, key_type, fp, terminal,
                           text(raw[:RAW_MAX * 2])[:RAW_MAX], prog.decode("utf-8", "replace"), text(m["host"]),
                           int(m["pid"]) if m["pid"] else None, remote_host, target, command, None)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="logins",
    finding=LoginFinding,
    extract=extract,
    description="Logins, failures, sessions, sudo and su from auth.log* / secure* (rotated and gzip'd too)",
)
