"""Operator artefacts end to end: an ext4 image (mkfs.ext4 -d) holding accounts, auth.log and a
gzip'd rotated copy, wtmp/btmp/lastlog written by utmpdump, a wtmp deleted kernel-style (found
again by carving unallocated space), histories, SSH keys from ssh-keygen, crontabs, systemd
units and rc.local, scanned by `seized scan`; every plant is found with its time and source,
`last -f`/`utmpdump` agree with `logins`, and no table holds a hash or key material."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import imaging
from tests.conftest import read_table, scan_ok, table_names
from tests.operator_plants import Plants, build_image

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("seized_cli")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plants]:
    try:
        return build_image(tmp_path_factory.mktemp("operator"))
    except imaging.ImagingError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def case(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scan_ok(tmp_path_factory.mktemp("operator-case") / "case", built[0], extra=("--workers", "1"))


def rows(case: Path, name: str) -> list[dict]:
    assert name in table_names(case), f"no {name} table"
    return read_table(case, name).to_pylist()


def test_no_extractor_failed(case: Path) -> None:
    errors = rows(case, "errors") if "errors" in table_names(case) else []
    assert not [e for e in errors if e["stage"] == "internal" or e["stage"].startswith("extractor:")]


def test_accounts_are_found_without_any_hash(case: Path, built) -> None:
    _, plants = built
    acc = rows(case, "accounts")
    shadow = {r["user"]: r for r in acc if r["source"] == "shadow"}
    assert shadow["root"]["hash_algorithm"] == "sha512crypt" and shadow["root"]["locked"] is False
    assert shadow["cosma"]["hash_algorithm"] == "yescrypt"
    assert shadow["bob"]["hash_algorithm"] == "md5crypt" and shadow["bob"]["locked"] is True
    assert shadow["mailer"]["hash_algorithm"] == "sha256crypt"
    assert shadow["old"]["hash_algorithm"] == "bcrypt"
    assert shadow["nopw"]["hash_algorithm"] == "none"
    assert shadow["daemon"]["hash_algorithm"] == "locked"
    assert shadow["cosma"]["last_change"] == "2025-12-01"  # day 20423
    passwd = {r["user"]: r for r in acc if r["source"] == "passwd"}
    assert (passwd["cosma"]["uid"], passwd["cosma"]["home"], passwd["cosma"]["shell"]) == (1000, "/home/cosma", "/bin/bash")
    groups = {r["group"]: r for r in acc if r["source"] == "group"}
    assert groups["sudo"]["members"] == ["cosma", "bob"]
    # credentials no longer reports account files
    creds = rows(case, "credentials") if "credentials" in table_names(case) else []
    assert not [c for c in creds if (c["path"] or "").startswith("/etc/")]


def test_no_table_holds_a_hash_or_private_key_material(case: Path, built) -> None:
    _, plants = built
    secrets = [h.lstrip("!") for h in plants.passwords.values()]
    for key in plants.keys.values():
        body = [line for line in key.path.read_text().splitlines() if line and not line.startswith("-----")
                and ":" not in line]
        secrets += body[1:-1]  # the armoured lines after the first (which holds the clear header)
    for name in table_names(case):
        table = read_table(case, name)
        for col in table.column_names:
            for value in table.column(col).to_pylist():
                text = str(value)
                for secret in secrets:
                    assert secret not in text, f"{name}.{col} holds secret material"
                    # nor the hash part of a crypt string (after the last $)
                    assert secret.rsplit("$", 1)[-1] not in text or len(secret.rsplit("$", 1)[-1]) < 16


def test_auth_log_and_its_gzipd_rotation_are_read_with_inferred_years(case: Path, built) -> None:
    _, plants = built
    logins = [r for r in rows(case, "logins") if r["source"] == "auth.log"]
    live = [r for r in logins if r["path"] == "/var/log/auth.log"]
    accepted = [r for r in live if r["result"] == "accepted"]
    assert len(accepted) == 1
    a = accepted[0]
    assert (a["user"], a["method"], a["remote_ip"], a["remote_port"], a["key_type"], a["key_fingerprint"]) == (
        "cosma", "publickey", "203.0.113.7", 51234, "ED25519", plants.keys["cosma"].fingerprint)
    assert a["time"] == "2026-12-01T10:00:01Z" and a["time_inferred"] is True
    results = sorted(r["result"] for r in live)
    assert results == sorted(["session_open", "accepted", "session_open", "invalid_user", "failed", "failed", "sudo",
                              "su", "session_close"])
    sudo = next(r for r in live if r["result"] == "sudo")
    assert (sudo["user"], sudo["target_user"], sudo["command"]) == ("cosma", "root", "/usr/bin/apt-get install tor")
    rotated = sorted((r for r in logins if r["member"] == "auth.log.2"), key=lambda r: r["offset"])
    assert [r["path"] for r in rotated] == ["/var/log/auth.log.2.gz"] * 2
    assert [r["time"] for r in rotated] == ["2026-11-20T21:00:00Z", "2025-12-31T23:59:59Z"]
    # the raw gzip bytes are not read as a log
    assert not [r for r in logins if r["path"] == "/var/log/auth.log.2.gz" and r["member"] is None]


def _utmpdump(path: Path) -> list[list[str]]:
    out = subprocess.run([imaging.tool("utmpdump"), str(path)], capture_output=True, text=True, check=True).stdout
    return [[f.strip() for f in line.strip()[1:-1].split("] [")] for line in out.splitlines() if line.startswith("[")]


def _last(path: Path) -> list[tuple[str, str, str, str]]:
    """(user, tty, host, login time) of every session and reboot `last -f` prints."""
    out = subprocess.run([imaging.tool("last"), "-f", str(path), "-w", "--time-format", "iso"],
                         capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4 or line.startswith("wtmp begins") or line.startswith("btmp begins"):
            continue
        if parts[0] == "reboot":
            found.append(("reboot", "~", parts[3], parts[4]))
        else:
            found.append((parts[0], parts[1], parts[2], parts[3]))
    return found


def test_wtmp_and_btmp_agree_with_utmpdump_and_last(case: Path, built, tmp_path: Path) -> None:
    _, plants = built
    logins = rows(case, "logins")
    for name, data in (("wtmp", plants.wtmp), ("btmp", plants.btmp)):
        copy = tmp_path / name
        copy.write_bytes(data)
        ours = sorted((r for r in logins if r["path"] == f"/var/log/{name}"), key=lambda r: r["offset"])
        dumped = _utmpdump(copy)
        assert len(ours) == len(dumped)
        for r, (typ, pid, _id, user, line, host, addr, when) in zip(ours, dumped):
            assert r["service"] == {"1": "RUN_LVL", "2": "BOOT_TIME", "6": "LOGIN_PROCESS", "7": "USER_PROCESS",
                                    "8": "DEAD_PROCESS"}[typ]
            assert (r["pid"] or 0) == int(pid)
            assert (r["user"] or "") == user and (r["terminal"] or "") == line and (r["remote_host"] or "") == host
            assert r["time"] == when[:19] + "Z"
            assert (r["remote_ip"] or "0.0.0.0") == (addr if addr != "0.0.0.0" or not r["remote_ip"] else r["remote_ip"])
        if name == "wtmp":
            sessions = {(u, t, h, w[:19]) for u, t, h, w in _last(copy)}
            ours_last = {(r["user"], r["terminal"], r["remote_host"], r["time"][:19]) for r in ours
                         if r["result"] in ("login", "boot")}
            assert {s for s in sessions if s[0] != "shutdown" and s[0] != "runlevel"} == ours_last


def test_rm_deleted_wtmp_is_read_and_carved_at_the_same_image_offset(case: Path) -> None:
    logins = rows(case, "logins")
    (read,) = [r for r in logins if r["path"] == "/var/log/wtmp.2"]
    assert (read["user"], read["remote_ip"], read["time"]) == ("mallory", "192.0.2.99", "2026-09-09T09:09:09Z")
    (carved,) = [r for r in logins if r["source"] == "carved-utmp" and r["image_offset"] == read["image_offset"]]
    assert (carved["user"], carved["time"]) == ("mallory", read["time"])


def test_deleted_wtmp_is_carved_from_unallocated(case: Path, built) -> None:
    carved = [r for r in rows(case, "logins") if r["source"] == "carved-utmp" and r["user"] != "mallory"]
    assert all(r["path"] is None and r["image_offset"] == r["offset"] for r in carved)
    got = sorted((r["user"] or "", r["terminal"], r["remote_ip"] or "", r["time"]) for r in carved)
    assert got == sorted([("cosma2k", "pts/3", "198.51.100.23", "2026-10-10T03:04:05Z"),
                          ("", "pts/3", "", "2026-10-10T04:00:00Z"),
                          ("root", "pts/4", "198.51.100.23", "2026-10-11T05:06:07Z")])
    image, plants = built
    records = {plants.deleted_wtmp[i:i + 384] for i in range(0, len(plants.deleted_wtmp), 384)}
    with open(image, "rb") as fh:  # the image bytes at image_offset are a record utmpdump wrote
        for r in carved:
            fh.seek(r["image_offset"])
            assert fh.read(384) in records


def test_lastlog_records_by_uid(case: Path) -> None:
    ll = sorted((r for r in rows(case, "logins") if r["source"] == "lastlog"), key=lambda r: r["uid"])
    assert [(r["uid"], r["terminal"], r["remote_host"], r["time"]) for r in ll] == [
        (0, "pts/1", "2001:db8::5", "2026-12-03T12:13:20Z"), (1000, "pts/0", "203.0.113.7", "2026-12-03T17:46:40Z")]


def test_shell_history_with_times_users_and_tags(case: Path) -> None:
    hist = rows(case, "shell_history")
    bash = sorted((r for r in hist if r["shell"] == "bash"), key=lambda r: r["line_no"])
    assert {r["user"] for r in bash} == {"cosma"}
    wget = next(r for r in bash if r["command"].startswith("cd /tmp"))
    assert wget["time"] == "2026-12-04T10:26:40Z" and wget["tags"] == ["wget"] and wget["line_no"] == 3
    assert next(r for r in bash if r["command"].startswith("tar"))["tags"] == ["chmod+x"]
    assert next(r for r in bash if r["command"].startswith("echo"))["tags"] == []
    zsh = sorted((r for r in hist if r["shell"] == "zsh"), key=lambda r: r["line_no"])
    assert [r["user"] for r in zsh] == ["root"] * 3
    assert zsh[0]["tags"] == ["curl", "pipe-to-shell", "tor"]
    assert zsh[1]["command"] == "for h in a b; do\n  ssh root@$h uptime\ndone" and "ssh" in zsh[1]["tags"]
    assert zsh[2]["tags"] == ["mail"]
    mysql = [r for r in hist if r["shell"] == "mysql"]
    assert [r["command"] for r in mysql] == ["select count(*) from addresses;"]


def test_ssh_keys_match_ssh_keygen(case: Path, built) -> None:
    _, plants = built
    keys = rows(case, "ssh_keys")
    cosma, rsa, host, pem = (plants.keys[k] for k in ("cosma", "rsa", "host", "pem"))
    auth = sorted((r for r in keys if r["kind"] == "authorized_key"), key=lambda r: r["offset"])
    assert [(r["fingerprint"], r["key_type"], r["bits"], r["comment"], r["user"]) for r in auth] == [
        (cosma.fingerprint, cosma.key_type, cosma.bits, "cosma2k@mx1", "root"),
        (rsa.fingerprint, rsa.key_type, rsa.bits, "root@c2-panel", "root")]
    assert auth[0]["options"] == 'from="203.0.113.0/24",no-pty'
    known = sorted((r for r in keys if r["kind"] == "known_host"), key=lambda r: r["offset"])
    assert [(r["hosts"], r["hashed_host"], r["fingerprint"]) for r in known][0] == (
        "c2.example.net,203.0.113.7", False, host.fingerprint)
    assert known[1]["hashed_host"] is True and known[1]["hosts"].startswith("|1|")
    private = {r["path"]: r for r in keys if r["kind"] == "private_key"}
    assert private["/home/cosma/.ssh/id_ed25519"]["fingerprint"] == cosma.fingerprint
    assert private["/home/cosma/.ssh/id_ed25519"]["encrypted"] is False
    assert private["/root/.ssh/id_rsa"]["fingerprint"] == rsa.fingerprint
    assert private["/root/.ssh/id_rsa"]["encrypted"] is True
    assert private["/root/.ssh/legacy_rsa"]["encrypted"] is True and private["/root/.ssh/legacy_rsa"]["key_type"] == "RSA"
    pub = {r["path"]: r for r in keys if r["kind"] == "public_key"}
    assert pub["/etc/ssh/ssh_host_ecdsa_key.pub"]["fingerprint"] == host.fingerprint
    # a login and the key that let it in join on the fingerprint
    logins = rows(case, "logins")
    assert {r["key_fingerprint"] for r in logins if r["key_fingerprint"]} <= {r["fingerprint"] for r in auth}


def test_scheduled_tasks(case: Path) -> None:
    tasks = {(r["source"], r["owner"], r["schedule"], r["command"]) for r in rows(case, "scheduled_tasks")}
    assert ("crontab", "root", "0 3 * * *", "/usr/local/bin/rotate-lists.sh") in tasks
    assert ("crontab", "root", "17 * * * *", "cd / && run-parts --report /etc/cron.hourly") in tasks
    assert ("cron.d", "cosma", "15 4 * * 1", "/home/cosma/kit/harvest --all") in tasks
    assert ("user_crontab", "cosma", "*/5 * * * *", "/home/cosma/kit/spamd --once >/dev/null 2>&1") in tasks
    assert ("user_crontab", "cosma", "@reboot", "/usr/bin/tor -f /home/cosma/.torrc") in tasks
    assert ("systemd_timer", "root", "OnCalendar=*-*-* 02:00:00", "sendq.service") in tasks
    assert ("systemd_service", "cosma", "ExecStart", "/home/cosma/kit/spamd --flush") in tasks
    assert ("rc.local", "root", "boot", "/usr/local/bin/start-proxy --port 1080") in tasks
    assert len(tasks) == 8
