"""Authentication logs (extractors.logins): sshd, PAM, sudo, su and login lines in their real
formats, year inference from the mtime, RFC 3339 stamps, rotated and gzip'd names, windows."""
from __future__ import annotations

import gzip
import re

import pytest

from extractors._logtime import SYSLOG_STAMP, syslog_time
from extractors.base import Source
from extractors.logins import EXTRACTOR, extract, log_source
from ingest import containers
from seized.scanning import NO_MAP, ObjectContext, Rows, scan_window, windows

MTIME = 1_796_472_000  # 2026-12-05T12:00:00Z
FP = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"


def _one(line: str, path: str = "/var/log/auth.log", mtime: int | None = MTIME):
    found = list(extract(line.encode() + b"\n", Source(None, path, None, path.rsplit("/", 1)[-1], mtime=mtime)))
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("line, expected", [
    (f"Dec  1 10:00:01 mx1 sshd[1234]: Accepted publickey for root from 203.0.113.7 port 51234 ssh2: ED25519 {FP}",
     dict(result="accepted", user="root", method="publickey", remote_ip="203.0.113.7", remote_port=51234,
          key_type="ED25519", key_fingerprint=FP, service="sshd", pid=1234, host="mx1")),
    ("Dec  1 10:00:01 mx1 /usr/sbin/sshd[77]: Accepted password for bob from 192.0.2.8 port 2 ssh2",
     dict(result="accepted", user="bob", service="/usr/sbin/sshd", pid=77)),
    ("Dec  1 10:00:01 mx1 sshd-session[1234]: Accepted password for bob from 192.0.2.8 port 2 ssh2",
     dict(result="accepted", user="bob", method="password", service="sshd-session")),
    ("Dec  1 10:00:01 mx1 sshd[1234]: Accepted publickey for git from 2001:db8::1 port 22 ssh2: RSA-CERT SHA256:abc ID x (serial 1) CA RSA SHA256:def",
     dict(result="accepted", user="git", remote_ip="2001:db8::1", key_type="RSA-CERT", key_fingerprint="SHA256:abc")),
    ("Dec  1 10:05:09 mx1 sshd[1300]: Failed password for invalid user admin from 198.51.100.9 port 40022 ssh2",
     dict(result="failed", user="admin", method="password", remote_ip="198.51.100.9", remote_port=40022)),
    ("Dec  1 10:05:09 mx1 sshd[1300]: Failed none for invalid user  from 198.51.100.9 port 40022 ssh2",
     dict(result="failed", user=None, method="none")),
    ("Dec  1 10:05:09 mx1 sshd[1300]: Invalid user oracle from 198.51.100.9 port 40022",
     dict(result="invalid_user", user="oracle", remote_ip="198.51.100.9", remote_port=40022)),
    ("Dec  1 10:05:09 mx1 sshd[1300]: Invalid user oracle from 198.51.100.9",
     dict(result="invalid_user", user="oracle", remote_port=None)),
    ("Dec  1 10:05:11 mx1 sshd[1301]: Accepted keyboard-interactive/pam for bob from 192.0.2.1 port 1 ssh2",
     dict(result="accepted", method="keyboard-interactive/pam", user="bob")),
    ("Dec  1 10:06:00 mx1 sshd[1302]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.9  user=root",
     dict(result="auth_failure", user="root", method="sshd", remote_ip="198.51.100.9")),
    ("Dec  1 10:00:01 mx1 sshd[1234]: pam_unix(sshd:session): session opened for user cosma(uid=1000) by (uid=0)",
     dict(result="session_open", user="cosma", method="sshd")),
    ("Dec  1 10:00:01 mx1 sshd[1234]: pam_unix(sshd:session): session opened for user cosma by (uid=0)",
     dict(result="session_open", user="cosma")),
    ("Dec  1 10:09:00 mx1 sshd[1234]: pam_unix(sshd:session): session closed for user cosma",
     dict(result="session_close", user="cosma")),
    ("Dec  1 10:07:00 mx1 sudo:    cosma : TTY=pts/0 ; PWD=/home/cosma ; USER=root ; COMMAND=/bin/systemctl restart tor",
     dict(result="sudo", user="cosma", target_user="root", terminal="pts/0", command="/bin/systemctl restart tor")),
    ("Dec  1 10:07:00 mx1 sudo:    cosma : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/cosma ; USER=root ; COMMAND=/bin/sh",
     dict(result="sudo_failed", user="cosma")),
    ("Dec  1 10:07:00 mx1 sudo:      eve : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh",
     dict(result="sudo_failed", user="eve")),
    ("Dec  1 10:08:00 mx1 su[2000]: (to root) cosma on pts/0", dict(result="su", user="cosma", target_user="root")),
    ("Dec  1 10:08:00 mx1 su[2000]: FAILED su for root by cosma", dict(result="su_failed", user="cosma")),
    ("Dec  1 10:08:00 mx1 su: + pts/0 cosma:root", dict(result="su", user="cosma", target_user="root")),
    ("Dec  1 10:08:00 mx1 login[700]: FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure",
     dict(result="failed", user="root", method="login")),
])
def test_real_line_formats(line: str, expected: dict) -> None:
    f = _one(line)
    assert f is not None
    for key, value in expected.items():
        assert getattr(f, key) == value, key
    assert f.time == "2026-12-01T" + line[7:15] + "Z" and f.time_inferred is True
    assert f.raw == line[:200]


@pytest.mark.parametrize("line", [
    "Dec  1 10:09:30 mx1 systemd-logind[400]: Removed session 3.",
    "Dec  1 10:09:30 mx1 sshd[1]: Server listening on 0.0.0.0 port 22.",
    "Dec  1 10:09:30 mx1 sshd[1]: Received disconnect from 198.51.100.9 port 4: 11: Bye Bye [preauth]",
    "random text Accepted password for root from 1.2.3.4 port 5 ssh2",
])
def test_other_lines_are_skipped(line: str) -> None:
    assert _one(line) is None


def test_year_from_mtime_and_rfc3339_zones() -> None:
    assert _one("Dec 31 23:59:59 h sshd[1]: Invalid user a from 192.0.2.1").time == "2025-12-31T23:59:59Z"
    assert _one("Dec  6 10:00:00 h sshd[1]: Invalid user a from 192.0.2.1").time == "2026-12-06T10:00:00Z"
    assert _one("Jan  2 10:00:00 h sshd[1]: Invalid user a from 192.0.2.1").time == "2026-01-02T10:00:00Z"
    f = _one("Dec  6 10:00:00 h sshd[1]: Invalid user a from 192.0.2.1", mtime=None)
    assert f.time is None and f.time_inferred is True
    f = _one("2026-12-01T10:10:00.123456+01:00 mx1 sshd[1400]: Invalid user a from 192.0.2.1 port 5")
    assert (f.time, f.time_inferred) == ("2026-12-01T09:10:00Z", False)
    f = _one("2026-12-01T10:10:00Z mx1 sshd[1400]: Invalid user a from 192.0.2.1 port 5")
    assert (f.time, f.time_inferred) == ("2026-12-01T10:10:00Z", False)


def test_the_year_is_inferred_as_for_every_syslog_log() -> None:
    """One rule (extractors._logtime.yearless) for auth, cron, mail and package logs: a line more
    than a day after its file's mtime was written the year before; an impossible time is unknown."""
    assert _one("Dec  6 12:00:00 h sshd[1]: Invalid user a from 192.0.2.1").time == "2026-12-06T12:00:00Z"
    assert _one("Dec  6 12:00:01 h sshd[1]: Invalid user a from 192.0.2.1").time == "2025-12-06T12:00:01Z"
    assert _one("Dec  6 25:00:00 h sshd[1]: Invalid user a from 192.0.2.1").time is None
    for stamp in ("Feb 29 10:00:00", "Dec  5 11:59:59", "Dec  7 00:00:00", "Jan  1 00:00:00", "Nov 30 23:59:59"):
        line = f"{stamp} h sshd[1]: Invalid user a from 192.0.2.1"
        m = re.match(SYSLOG_STAMP, line.encode())
        assert _one(line).time == syslog_time(m, MTIME)[0], stamp


@pytest.mark.parametrize("path, member, kind", [
    ("/var/log/auth.log", None, "auth.log"), ("/var/log/auth.log.1", None, "auth.log"),
    ("/var/log/auth.log.2.gz", "auth.log.2", "auth.log"), ("/var/log/secure", None, "secure"),
    ("/var/log/secure-20261201", None, "secure"), ("/var/log/auth.log.2.gz", None, None),
    ("/var/log/syslog", None, None), ("/home/a/auth.log.txt", None, "auth.log"), ("/var/log/securely", None, None),
])
def test_which_files_are_auth_logs(path: str, member: str | None, kind: str | None) -> None:
    name = member or path.rsplit("/", 1)[-1]
    assert log_source(Source(None, path, member, name)) == kind


def test_gzip_member_name_is_what_the_pipeline_hands_over() -> None:
    """The container layer names a .gz member after the file without `.gz` (the extractor relies on it)."""
    data = gzip.compress(b"Nov 20 21:00:00 mx1 sshd[900]: Accepted password for root from 192.0.2.44 port 1 ssh2\n")
    (member,) = [m for m in containers.expand(data, "auth.log.2.gz", 0, containers.Budget())]
    assert member.name == "auth.log.2"
    (f,) = extract(member.data, Source(None, "/var/log/auth.log.2.gz", member.name, member.name, mtime=MTIME))
    assert (f.result, f.time) == ("accepted", "2026-11-20T21:00:00Z")


def test_each_line_once_across_windows() -> None:
    line = b"Dec  1 10:05:09 mx1 sshd[1300]: Invalid user u%06d from 198.51.100.9 port 40022\n"
    data = b"".join(line.replace(b"%06d", b"%06d" % i) for i in range(5000))
    ctx = ObjectContext("v", 12, None, "/var/log/auth.log", None, "auth.log", len(data), NO_MAP, mtime=MTIME)
    rows = Rows()
    for w in windows((data[i:i + 9999] for i in range(0, len(data), 9999)), overlap=1000):
        scan_window(w, ctx, (EXTRACTOR,), rows)
    users = sorted(u for t in rows.batches["logins"] for u in t.column("user").to_pylist())
    assert users == [f"u{i:06d}" for i in range(5000)]
    assert sorted(o for t in rows.batches["logins"] for o in t.column("offset").to_pylist()) == [
        i * len(line.replace(b"%06d", b"000000")) for i in range(5000)]
