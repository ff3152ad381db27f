"""The operator extractors on hostile bytes, each handed a path it applies to: they never raise,
offsets stay inside the data, and pathological inputs stay cheap."""
from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from extractors import accounts, logins, scheduled_tasks, shell_history, ssh_keys, utmp
from extractors.base import Finding, Source

CASES = [
    (accounts.EXTRACTOR, "/etc/shadow"), (accounts.EXTRACTOR, "/etc/passwd"), (accounts.EXTRACTOR, "/etc/gshadow"),
    (logins.EXTRACTOR, "/var/log/auth.log"), (utmp.UTMP, "/var/log/wtmp"), (utmp.LASTLOG_EXTRACTOR, "/var/log/lastlog"),
    (utmp.CARVER, None), (shell_history.EXTRACTOR, "/root/.zsh_history"),
    (shell_history.EXTRACTOR, "/home/a/.bash_history"), (shell_history.EXTRACTOR, "/root/.lesshst"),
    (ssh_keys.EXTRACTOR, "/root/.ssh/authorized_keys"), (ssh_keys.EXTRACTOR, "/root/.ssh/known_hosts"),
    (ssh_keys.EXTRACTOR, "/root/.ssh/id_rsa"), (scheduled_tasks.EXTRACTOR, "/etc/crontab"),
    (scheduled_tasks.EXTRACTOR, "/etc/systemd/system/x.timer"), (scheduled_tasks.EXTRACTOR, "/etc/anacrontab"),
]
PIECES = st.sampled_from([
    b"\n", b" ", b":", b"$6$", b"!", b"*", b"Dec  1 10:00:01 h sshd[1]: ", b"Accepted publickey for ", b" from ",
    b" port ", b"2001:db8::1", b"1.2.3.4", b"#1796380000\n", b": 1796380200:0;", b"\\\n", b"\x83", b"ssh-rsa ",
    b"AAAAB3NzaC1yc2EAAAADAQABAAABAQ", b'from="x y" ', b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
    b"-----END OPENSSH PRIVATE KEY-----", b"b3BlbnNzaC1rZXktdjEAAAAA", b"[Timer]\n", b"OnCalendar=", b"@reboot ",
    b"* * * * * ", b"\x07\x00\x00\x00", b"\x00" * 40, b"pts/0", b"\xff\xfe", b"\x00",
])


def _src(path: str | None, size: int, window_offset: int = 0) -> Source:
    return Source(None, path, None, None if path is None else path.rsplit("/", 1)[-1], size, window_offset, 1_796_472_000)


@pytest.mark.parametrize("ext, path", CASES, ids=lambda v: getattr(v, "name", v))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=3000), st.lists(PIECES, max_size=80).map(b"".join)),
       window_offset=st.sampled_from([0, 1, 383, 4096]))
def test_hostile_bytes_never_raise(ext, path, data, window_offset) -> None:
    for f in ext.extract(data, _src(path, len(data) + window_offset, window_offset)):
        assert isinstance(f, Finding)
        assert 0 <= f.offset <= len(data)


PATHOLOGICAL = {
    "no_newline": b"Dec  1 10:00:01 h sshd[1]: " + b"x" * 2_000_000,
    "colons": b":" * 2_000_000,
    "backslashes": b"\\\n" * 500_000,
    "armour_no_end": b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + b"A" * 2_000_000,
    "armours": b"-----BEGIN OPENSSH PRIVATE KEY-----\n" * 50_000,
    "quotes": b'"' * 2_000_000,
    "lines": b"ls -la\n" * 100_000,  # a history far beyond any HISTSIZE: 100,000 findings
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
@pytest.mark.parametrize("ext, path", CASES, ids=lambda v: getattr(v, "name", v))
def test_pathological_inputs_bounded_time(ext, path, name) -> None:
    data = PATHOLOGICAL[name]
    t0 = time.process_time()  # CPU time: a bound on the extractor's work, not on how loaded the machine is
    for _ in ext.extract(data, _src(path, len(data))):
        pass
    assert time.process_time() - t0 < 3.0
