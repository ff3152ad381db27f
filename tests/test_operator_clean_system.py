"""The operator extractors on a clean system (this machine's own /etc, /usr/share/doc and
binaries, installed from real Debian packages): no login, history line, tagged command or
carved utmp record; accounts only from the account files; keys only where keys are."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from extractors import accounts, logins, scheduled_tasks, shell_history, ssh_keys, utmp
from extractors.base import Source

ROOTS = ("/etc", "/usr/share/doc", "/usr/share/common-licenses", "/var/lib/dpkg/info")
MAX_FILES = 4000
MAX_BYTES = 1 << 20


def _files() -> list[Path]:
    out = []
    for root in ROOTS:
        for dirpath, _dirs, names in os.walk(root):
            for name in sorted(names):
                p = Path(dirpath, name)
                if p.is_file() and not p.is_symlink():
                    out.append(p)
    return sorted(out)[:MAX_FILES]


def test_clean_system_yields_no_operator_activity() -> None:
    files = _files()
    if len(files) < 100:
        pytest.skip("this machine has too few system files to stand for a clean server")
    found: dict[str, list] = {}
    for p in files:
        try:
            data = p.read_bytes()[:MAX_BYTES]
        except OSError:
            continue
        src = Source(None, str(p), None, p.name, len(data), 0, int(p.stat().st_mtime))
        for ext in (logins.EXTRACTOR, utmp.UTMP, utmp.LASTLOG_EXTRACTOR, shell_history.EXTRACTOR, ssh_keys.EXTRACTOR,
                    accounts.EXTRACTOR, scheduled_tasks.EXTRACTOR):
            for f in ext.extract(data, src):
                found.setdefault(ext.name, []).append((str(p), f))
    assert "logins" not in found and "utmp" not in found and "lastlog" not in found
    assert "shell_history" not in found
    assert {Path(p).name for p, _ in found.get("accounts", [])} <= {"passwd", "group", "shadow", "gshadow",
                                                                 "passwd-", "group-", "shadow-", "gshadow-"}
    assert all(p.startswith("/etc/ssh/") for p, _ in found.get("ssh_keys", []))
    assert all(p.startswith(("/etc/cron", "/etc/systemd/system/", "/etc/anacrontab", "/etc/rc.local"))
               for p, _ in found.get("scheduled_tasks", []))


def test_no_utmp_carved_from_real_binaries_and_libraries() -> None:
    chunks = []
    for d in ("/usr/bin", "/usr/lib/x86_64-linux-gnu"):
        for name in sorted(os.listdir(d))[:400]:
            p = Path(d, name)
            if p.is_file() and not p.is_symlink():
                chunks.append(p.read_bytes()[:256 * 1024])
    data = b"".join(chunks)
    assert len(data) > 1 << 20
    unallocated = Source(None, None, None, None)
    assert list(utmp.extract_carved(data, unallocated)) == []
