"""Clean systems made of real files, and the same systems with known artefacts planted on top.

Why: every synthetic image says little about precision. Real evidence is mostly an ordinary
operating system with the crime in a small corner of it, so an extractor is only right when it
is silent on a stock system (changelogs, manuals, spamassassin's rules, symbol tables, dpkg's
own database) and still finds the plants. This module builds such systems at test time:

- `server_tree(dest)`: a hosting server's root file system unpacked from the real Debian
  packages of apache2, php, postfix, exim4, openssh, tor, mariadb, wordpress, spamassassin and
  roundcube (plus their most relevant libraries), with a real dpkg database written from the
  packages' control data (`var/lib/dpkg/status`, `info/PKG.{list,md5sums,conffiles}`) and the
  account files a Debian installer writes (locked system accounts, one admin user).
- `machine_tree(dest)`: a bounded copy of this machine's own /usr, /etc and /var/lib/dpkg.
- `plant(tree)`: spam template, harvest list, combo list, torrc with a hidden service, its
  hostname, and one file for each shipped YARA rule's positive sample; returns the truth.
- `ext4_image(tree, img)`: `mkfs.ext4 -d`, sized to fit, reproducible.

Packages are fetched with `apt-get download` (under `flock /tmp/seized-apt.lock`) into
`$SEIZED_DEB_CACHE` (default `~/.cache/seized/debs`) once; later builds need no network.
`RealSystemUnavailable` says why a system cannot be built (tests turn it into a skip).
Only the standard library and tests/imaging.py are used, so bench/ can import this too.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from tests import imaging

APT_LOCK = "/tmp/seized-apt.lock"
# A typical Debian 12 hosting server: the packages the issue names and the libraries and data
# packages whose files produced false findings on real systems (gnutls, perl modules, docs).
SERVER_PACKAGES: tuple[str, ...] = (
    "apache2", "apache2-bin", "apache2-data", "apache2-utils", "libapache2-mod-php8.2",
    "php8.2-cli", "php8.2-common", "php8.2-mysql", "php8.2-readline", "php8.2-mbstring", "php8.2-xml",
    "php8.2-curl", "php-common", "php-pear", "php-mail-mime", "php-net-smtp", "php-auth-sasl",
    "postfix", "exim4-base", "exim4-config", "exim4-daemon-light",
    "openssh-server", "openssh-client", "openssh-sftp-server",
    "tor", "tor-geoipdb", "torsocks",
    "mariadb-server", "mariadb-server-core", "mariadb-client", "mariadb-client-core", "mariadb-common",
    "mysql-common",
    "wordpress", "wordpress-theme-twentytwentythree", "libphp-phpmailer",
    "spamassassin", "sa-compile", "spamc",
    "roundcube", "roundcube-core", "roundcube-plugins",
    "libssl3", "openssl", "libgnutls30", "libpcre2-8-0", "libapr1", "libaprutil1", "ssl-cert",
    "libsasl2-2", "libsasl2-modules-db", "libdb5.3", "libevent-2.1-7", "libnet-dns-perl",
    "libmail-dkim-perl", "libhtml-parser-perl", "libnetaddr-ip-perl", "perl-openssl-defaults",
    "base-passwd", "base-files", "netbase", "ca-certificates", "libc-bin", "sensible-utils",
    "logrotate", "cron",
)
_BAD_OWNER = ("./dev/", "./proc/", "./sys/")


class RealSystemUnavailable(RuntimeError):
    """A real system cannot be built here (no packages in the cache and no archive, a tool missing)."""


def deb_cache() -> Path:
    """Where downloaded .deb files are kept between sessions ($SEIZED_DEB_CACHE)."""
    return Path(os.environ.get("SEIZED_DEB_CACHE") or Path.home() / ".cache" / "seized" / "debs")


def _cached(cache: Path, package: str) -> Path | None:
    found = sorted(cache.glob(f"{package}_*.deb"))
    return found[-1] if found else None


def fetch_debs(packages: tuple[str, ...] = SERVER_PACKAGES, cache: Path | None = None) -> list[Path]:
    """The .deb of each package, downloading the missing ones with `apt-get download`.

    A package the archive does not have is left out; when nothing at all is available the
    error says why (the caller skips).
    """
    for name in ("dpkg-deb", "apt-get"):
        if not shutil.which(name):
            raise RealSystemUnavailable(f"{name} is not installed: cannot build a system from Debian packages")
    cache = cache or deb_cache()
    cache.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if _cached(cache, p) is None]
    failure = ""
    for batch in ([missing] if missing else []):
        proc = subprocess.run(["flock", APT_LOCK, "apt-get", "download", "-q", *batch], cwd=cache,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:  # one unknown name fails the batch: fall back to one at a time
            for package in batch:
                one = subprocess.run(["flock", APT_LOCK, "apt-get", "download", "-q", package], cwd=cache,
                                     capture_output=True, text=True, timeout=600)
                if one.returncode != 0:
                    failure = (one.stderr.strip().splitlines() or ["apt-get download failed"])[-1]
    debs = [d for d in (_cached(cache, p) for p in packages) if d is not None]
    if not debs:
        raise RealSystemUnavailable(f"no Debian packages in {cache} and apt-get download failed: {failure}")
    return debs


def _control(deb: Path) -> dict[str, bytes]:
    """The control members of a .deb (control, md5sums, conffiles, ...) by name."""
    out = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        return {Path(m.name).name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _members(deb: Path) -> list[tarfile.TarInfo]:
    out = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        return tar.getmembers()


def _field(control: bytes, name: str) -> str:
    m = re.search(rb"(?m)^" + name.encode() + rb":[ \t]*(.*)$", control)
    return m.group(1).decode().strip() if m else ""


@dataclass
class _Package:
    name: str
    info_name: str  # PKG or PKG:ARCH (Multi-Arch: same)
    control: bytes
    members: dict[str, bytes]
    paths: list[str]  # as in PKG.list
    md5sums: dict[str, str]  # relative path (no leading /) -> md5
    conffiles: list[str]


def _unpack(deb: Path, root: Path) -> _Package:
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True, capture_output=True)
    members = _control(deb)
    control = members["control"]
    name = _field(control, "Package")
    arch = _field(control, "Architecture")
    info_name = f"{name}:{arch}" if _field(control, "Multi-Arch") == "same" else name
    paths = []
    for m in _members(deb):
        p = m.name[1:] if m.name.startswith("./") else "/" + m.name.lstrip("/")
        paths.append(p.rstrip("/") or "/.")
    md5sums = {}
    for line in members.get("md5sums", b"").decode("utf-8", "replace").splitlines():
        digest, _, path = line.partition("  ")
        if path:
            md5sums[path] = digest
    conffiles = [c for c in members.get("conffiles", b"").decode().split() if c.startswith("/")]
    return _Package(name, info_name, control, members, paths, md5sums, conffiles)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""


def write_dpkg_database(root: Path, packages: list[_Package]) -> None:
    """var/lib/dpkg/status and info/ as dpkg writes them after `dpkg -i` of every package.

    A file two packages ship (exim4 and postfix both ship /usr/sbin/sendmail) belongs to the
    one unpacked last, as with dpkg's Replaces; the other package's list and md5sums drop it.
    """
    info = root / "var" / "lib" / "dpkg" / "info"
    info.mkdir(parents=True, exist_ok=True)
    owner: dict[str, str] = {}
    for pkg in packages:
        for path in pkg.md5sums:
            owner[path] = pkg.info_name
    status = []
    for pkg in sorted(packages, key=lambda p: p.name):
        md5sums = {p: d for p, d in pkg.md5sums.items() if owner.get(p) == pkg.info_name}
        dropped = {"/" + p for p in pkg.md5sums if p not in md5sums}
        (info / f"{pkg.info_name}.list").write_text("".join(p + "\n" for p in pkg.paths if p not in dropped))
        if md5sums:
            (info / f"{pkg.info_name}.md5sums").write_text("".join(f"{d}  {p}\n" for p, d in md5sums.items()))
        if pkg.conffiles:
            (info / f"{pkg.info_name}.conffiles").write_text("".join(c + "\n" for c in pkg.conffiles))
        for script in ("preinst", "postinst", "prerm", "postrm", "config", "templates", "triggers", "shlibs",
                       "symbols"):
            if script in pkg.members:
                target = info / f"{pkg.info_name}.{script}"
                target.write_bytes(pkg.members[script])
                target.chmod(0o755 if script in ("preinst", "postinst", "prerm", "postrm", "config") else 0o644)
        lines = pkg.control.decode("utf-8", "replace").rstrip("\n").split("\n")
        lines.insert(1, "Status: install ok installed")
        if pkg.conffiles:
            confs = [f" {c} {_md5(root / c.lstrip('/')) or 'newconffile'}" for c in pkg.conffiles]
            at = next((i for i, line in enumerate(lines) if line.startswith("Description:")), len(lines))
            lines[at:at] = ["Conffiles:", *confs]
        status.append("\n".join(lines) + "\n")
    (root / "var" / "lib" / "dpkg" / "status").write_text("\n".join(status))
    for name in ("available", "diversions", "statoverride"):
        (root / "var" / "lib" / "dpkg" / name).touch()


# A stock Debian 12 server's accounts: system accounts locked (`*` / `!`), one admin with a
# sha512crypt hash of a throw-away password (accounts, not credentials: see the accounts table).
_SYSTEM_USERS = [
    ("root", 0, 0, "root", "/root", "/bin/bash"), ("daemon", 1, 1, "daemon", "/usr/sbin", "/usr/sbin/nologin"),
    ("bin", 2, 2, "bin", "/bin", "/usr/sbin/nologin"), ("sys", 3, 3, "sys", "/dev", "/usr/sbin/nologin"),
    ("sync", 4, 65534, "sync", "/bin", "/bin/sync"), ("games", 5, 60, "games", "/usr/games", "/usr/sbin/nologin"),
    ("man", 6, 12, "man", "/var/cache/man", "/usr/sbin/nologin"),
    ("mail", 8, 8, "mail", "/var/mail", "/usr/sbin/nologin"),
    ("www-data", 33, 33, "www-data", "/var/www", "/usr/sbin/nologin"),
    ("nobody", 65534, 65534, "nobody", "/nonexistent", "/usr/sbin/nologin"),
    ("systemd-network", 998, 998, "systemd Network Management", "/", "/usr/sbin/nologin"),
    ("messagebus", 100, 107, "", "/nonexistent", "/usr/sbin/nologin"),
    ("sshd", 101, 65534, "", "/run/sshd", "/usr/sbin/nologin"),
    ("debian-tor", 102, 110, "", "/var/lib/tor", "/bin/false"),
    ("postfix", 103, 111, "", "/var/spool/postfix", "/usr/sbin/nologin"),
    ("Debian-exim", 104, 113, "", "/var/spool/exim4", "/usr/sbin/nologin"),
    ("mysql", 105, 114, "MySQL Server", "/nonexistent", "/bin/false"),
    ("debian-spamd", 106, 115, "", "/var/lib/spamassassin", "/usr/sbin/nologin"),
    ("admin", 1000, 1000, "Server Admin,,,", "/home/admin", "/bin/bash"),
]
_ADMIN_HASH = ("$6$Jk2c9Vq0ZbXr$Zp3m9s1oHcB4nWwM4cA7mY2oQ2d8Qm6rC7Yd2gJ8rX3f0n4PpQ0uB1xK7d3fS5tR2yV9wL6eH8jN0aM1kC4bZ/")
_GROUPS = [("root", 0, ""), ("daemon", 1, ""), ("bin", 2, ""), ("sys", 3, ""), ("adm", 4, "admin"),
           ("tty", 5, ""), ("mail", 8, ""), ("www-data", 33, ""), ("sudo", 27, "admin"), ("shadow", 42, ""),
           ("users", 100, ""), ("nogroup", 65534, ""), ("debian-tor", 110, ""), ("postfix", 111, ""),
           ("postdrop", 112, ""), ("Debian-exim", 113, ""), ("mysql", 114, ""), ("debian-spamd", 115, ""),
           ("admin", 1000, "")]


def write_accounts(root: Path) -> None:
    """/etc/passwd, shadow, group, gshadow as a Debian installer leaves them (0640 for the secrets)."""
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "passwd").write_text("".join(f"{u}:x:{uid}:{gid}:{g}:{h}:{s}\n" for u, uid, gid, g, h, s in _SYSTEM_USERS))
    shadow = "".join(f"{u}:{_ADMIN_HASH if u == 'admin' else ('!' if u == 'root' else '*')}:19800:0:99999:7:::\n"
                     for u, *_ in _SYSTEM_USERS)
    (etc / "shadow").write_text(shadow)
    (etc / "group").write_text("".join(f"{g}:x:{gid}:{m}\n" for g, gid, m in _GROUPS))
    (etc / "gshadow").write_text("".join(f"{g}:{'!' if gid >= 100 else '*'}::{m}\n" for g, gid, m in _GROUPS))
    for name in ("shadow", "gshadow"):
        (etc / name).chmod(0o640)
    (etc / "hostname").write_text("web01\n")
    home = root / "home" / "admin"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".bashrc").write_text("# ~/.bashrc: executed by bash(1) for non-login shells.\n"
                                  "HISTCONTROL=ignoreboth\nshopt -s histappend\nalias ll='ls -alF'\n")


def server_tree(dest: Path, packages: tuple[str, ...] = SERVER_PACKAGES) -> Path:
    """A clean hosting server's root file system at `dest` (which must not exist) from real .debs."""
    debs = fetch_debs(packages)
    dest.mkdir(parents=True)
    unpacked = [_unpack(deb, dest) for deb in debs]
    write_dpkg_database(dest, unpacked)
    write_accounts(dest)
    for d in ("var/log", "var/www/html", "tmp", "root", "srv"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    return dest


# -- this machine's own files ------------------------------------------------------------------

MACHINE_ROOTS = ("/usr/share", "/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu", "/etc", "/var/lib/dpkg")
MACHINE_BUDGET = 560 * 1024 * 1024
MACHINE_MAX_FILE = 8 * 1024 * 1024


def machine_tree(dest: Path, roots: tuple[str, ...] = MACHINE_ROOTS, budget: int = MACHINE_BUDGET,
                 max_file: int = MACHINE_MAX_FILE) -> Path:
    """A bounded copy of this machine's own system files at `dest` (which must not exist).

    Regular files, directories and symbolic links only (no sockets, fifos, devices); files an
    unprivileged user could not read are left out (host keys, /etc/shadow: this machine's
    secrets stay here); files above `max_file` are left out; each root gets an equal share of
    `budget`, walked in sorted order so the same machine gives the same tree.
    """
    present = [r for r in roots if Path(r).is_dir()]
    if not present:
        raise RealSystemUnavailable(f"none of {', '.join(roots)} exists on this machine")
    dest.mkdir(parents=True)
    share = budget // len(present)
    for root in present:
        used = 0
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to("/")
            out_dir = dest / rel_dir
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                src = os.path.join(dirpath, name)
                try:
                    st = os.lstat(src)
                except OSError:
                    continue
                target = out_dir / name
                if stat.S_ISLNK(st.st_mode):
                    if not os.path.lexists(target):
                        os.symlink(os.readlink(src), target)
                    continue
                if not stat.S_ISREG(st.st_mode) or not st.st_mode & stat.S_IROTH or st.st_size > max_file:
                    continue
                if used + st.st_size > share:
                    continue
                try:
                    shutil.copyfile(src, target)
                except OSError:
                    continue
                used += st.st_size
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return dest


# -- planted artefacts -------------------------------------------------------------------------

_REPO = Path(__file__).resolve().parents[1]
YARA_SAMPLES = _REPO / "tests" / "data" / "yara"
PLANT_HOME = "home/cosma2k"
VALID_ONION = (_REPO / "tests" / "data" / "extractors" / "hs" / "hostname").read_text().strip()

SPAM_TEMPLATE = """From: "Pfizer Online Pharmacy" <[-email-]>
To: %TO_EMAIL%
Subject: {Cheap|Discount|Genuine} V1agra for [-name-] - save %RND_NUM[2,2]%%
Content-Type: text/html; charset=utf-8

<html><body>
<p>{Hello|Hi|Dear} [-name-],</p>
<p>{Order|Buy} Viagra and Cialis from the Pfizer online pharmacy at the lowest prices,
no prescription needed. Click here: <a href="http://pfizer-rx-shop.ru/?id=%RND_NUM[6,6]%">pfizer-rx-shop.ru</a></p>
<p>To unsubscribe click <a href="http://pfizer-rx-shop.ru/u?e=[-email-]">here</a>.</p>
</body></html>
"""
TORRC = """## Configured by cosma2k
SocksPort 0
RunAsDaemon 1
DataDirectory /var/lib/tor
HiddenServiceDir /var/lib/tor/shop/
HiddenServicePort 80 127.0.0.1:8080
HiddenServiceDir /var/lib/tor/cc/
HiddenServicePort 443 127.0.0.1:4443
Log notice file /var/log/tor/notices.log
"""


@dataclass(frozen=True)
class Planted:
    """What `plant` put where: paths are absolute inside the image (`/home/...`)."""

    spam_templates: tuple[str, ...]
    harvest_lists: tuple[str, ...]
    credentials: tuple[tuple[str, str], ...]  # (path, username)
    torrc: str
    hidden_service_dirs: tuple[str, ...]
    onions: tuple[str, ...]
    yara: tuple[tuple[str, str], ...]  # (path, rule)
    extra: dict[str, str] = field(default_factory=dict)


def _write(tree: Path, rel: str, data: bytes | str) -> str:
    path = tree / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return "/" + rel


def plant(tree: Path) -> Planted:
    """Plant a spam operation's artefacts into `tree` and return where they are."""
    templates = (_write(tree, f"{PLANT_HOME}/mailer/pfizer.tpl", SPAM_TEMPLATE),)
    first = "james john mary linda hans olga wei priya carlos sophie ivan anna kenji lucia".split()
    domains = "gmail.com yahoo.com hotmail.com mail.ru web.de aol.com".split()
    addresses = [f"{n}.{i}{n[:2]}@{domains[i % len(domains)]}" for i in range(40) for n in first[i % 14:i % 14 + 1]]
    harvest = (_write(tree, f"{PLANT_HOME}/lists/harvest_2011-02.txt", "".join(a + "\n" for a in addresses)),)
    combos = [(a, f"Pa55w0rd{i:03d}!") for i, a in enumerate(addresses[:25])]
    combo_path = _write(tree, f"{PLANT_HOME}/lists/combo.txt", "".join(f"{u}:{p}\n" for u, p in combos))
    torrc = _write(tree, "etc/tor/torrc", TORRC)
    hs_dirs = ("/var/lib/tor/shop/", "/var/lib/tor/cc/")
    _write(tree, "var/lib/tor/shop/hostname", VALID_ONION + "\n")
    yara = []
    for sample in sorted(YARA_SAMPLES.glob("*/positive*")):
        rule = sample.parent.name
        overrides = sample.parent / "externals.json"
        where = json.loads(overrides.read_text()).get(sample.name, {}).get("filepath") if overrides.exists() else None
        rel = where.lstrip("/") if where else f"{PLANT_HOME}/kit/{rule}/{sample.name}"
        yara.append((_write(tree, rel, sample.read_bytes()), rule))
    return Planted(spam_templates=templates, harvest_lists=harvest,
                   credentials=tuple((combo_path, u) for u, _ in combos), torrc=torrc,
                   hidden_service_dirs=hs_dirs, onions=(VALID_ONION,), yara=tuple(yara))


# -- images ------------------------------------------------------------------------------------


def tree_bytes(tree: Path) -> tuple[int, int]:
    """(bytes in regular files, number of entries) under `tree`."""
    size = count = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        count += len(dirnames) + len(filenames)
        for name in filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                size += os.path.getsize(p)
    return size, count


def ext4_image(tree: Path, img: Path, *, label: str = "realsys") -> Path:
    """`mkfs.ext4 -d TREE` into a sparse file sized to fit; times and UUID pinned (reproducible)."""
    size, count = tree_bytes(tree)
    size_mib = max(32, int((size * 1.25 + count * 6144) / imaging.MIB) + 32)
    imaging.pin_times(tree)
    img.parent.mkdir(parents=True, exist_ok=True)
    with open(img, "wb") as fh:
        fh.truncate(size_mib * imaging.MIB)
    env = {**os.environ, **imaging._e2_env()}
    proc = subprocess.run([imaging.tool("mkfs.ext4"), "-q", "-F", "-b", "4096", "-i", "8192", "-L", label,
                           "-U", imaging.FIXED_UUID, "-E", f"hash_seed={imaging.FIXED_UUID},root_owner=0:0",
                           "-d", str(tree), str(img)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise imaging.ImagingError(f"mkfs.ext4 -d {tree} failed: {proc.stderr.strip()[-500:]}")
    return img
