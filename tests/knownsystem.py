"""Test helper (no tests): a small clean Debian server from real packages, a tampered copy of
it, and their scans, built once per test session and shared by the tests/test_known_*.py files.

The clean system is tests.realsystem.server_tree with a handful of packages (openssh, tor,
cron, logrotate, base files: a few thousand real files and a real dpkg database). The tampered
copy changes what an intruder changes: /usr/sbin/sshd replaced (a trojaned binary: the real one
with bytes appended), a conffile edited (/etc/logrotate.conf), and two files dropped whose
hashes are put into notable sets (one md5sum list, one NSRL RDS v3 database).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests import realsystem
from tests.conftest import read_table, run_seized

PACKAGES = ("openssh-server", "openssh-client", "openssh-sftp-server", "base-files", "base-passwd", "netbase",
            "logrotate", "cron", "tor", "ssl-cert", "sensible-utils", "libc-bin", "ca-certificates")
SSHD = "/usr/sbin/sshd"
CONFFILE = "/etc/logrotate.conf"
NOTABLE_LIST_FILE = "/var/tmp/.x/kelihos.exe"
NOTABLE_RDS_FILE = "/var/tmp/.x/harnig.exe"
KNOWN_SET_FILE = "/etc/hostname"
MERGED_CHANGED = "/usr/sbin/ldconfig"  # dpkg (libc-bin) says /sbin/ldconfig
# in process: what is checked is the classification, not Dask (tests/test_pipeline_determinism.py)
SCAN_ARGS = ("--workers", "0", "--no-default-rules", "--no-unallocated", "--no-containers")


@dataclass(frozen=True)
class Scanned:
    tree: Path
    image: Path
    case: Path
    sets: dict[str, Path]  # name -> path of the hash sets used (tampered scan)

    def files(self):
        return read_table(self.case, "files")

    def manifest(self) -> dict:
        return json.loads((self.case / "manifest.json").read_text())


def _skip_unless_available() -> None:
    try:
        realsystem.fetch_debs(PACKAGES)
    except realsystem.RealSystemUnavailable as exc:
        pytest.skip(f"no real Debian packages to build a clean system from: {exc}")


@cache
def _clean_tree(base: Path) -> Path:
    _skip_unless_available()
    return realsystem.server_tree(base / "tree", PACKAGES)


def _scan(image: Path, case: Path, *extra: str | Path) -> None:
    proc = run_seized("scan", image, "-o", case, *SCAN_ARGS, *map(str, extra))
    assert proc.returncode == 0, proc.stderr[-2000:]


@cache
def _clean(base: Path) -> Scanned:
    tree = _clean_tree(base)
    image = realsystem.ext4_image(tree, base / "img" / "clean.img")
    case = base / "clean-case"
    _scan(image, case)
    return Scanned(tree, image, case, {})


def write_md5sum_list(path: Path, entries: dict[str, bytes]) -> Path:
    """A set in `md5sum` output form, as an examiner would make it from samples."""
    path.write_text("# demo notable set\n" + "".join(f"{hashlib.md5(d).hexdigest()}  {n}\n" for n, d in entries.items()))
    return path


@cache
def _tampered(base: Path) -> Scanned:
    from bench.bench_hashsets import hashes_of, write_rds_v3

    clean = _clean_tree(base)
    tree = base / "tampered"
    shutil.copytree(clean, tree, symlinks=True)
    sshd = tree / SSHD.lstrip("/")
    sshd.write_bytes(sshd.read_bytes() + b"\x00backdoor: accept any password for user cosma2k\x00")
    conf = tree / CONFFILE.lstrip("/")
    conf.write_text(conf.read_text() + "\n# rotate the spam logs hourly\n")
    payloads = {NOTABLE_LIST_FILE: b"MZ\x90\x00 Kelihos stand-in sample for the notable-set test\n",
                NOTABLE_RDS_FILE: b"MZ\x90\x00 Harnig stand-in sample for the notable-set test\n"}
    for rel, data in payloads.items():
        target = tree / rel.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    sets_dir = base / "sets"
    sets_dir.mkdir()
    listed = write_md5sum_list(sets_dir / "kelihos.md5", {"kelihos.exe": payloads[NOTABLE_LIST_FILE]})
    rds = write_rds_v3(sets_dir / "rds_notable.db", 5000, [hashes_of(payloads[NOTABLE_RDS_FILE], "harnig.exe")])
    hostname = (tree / KNOWN_SET_FILE.lstrip("/")).read_bytes()
    known = sets_dir / "known.sha256"
    known.write_text(hashlib.sha256(hostname).hexdigest() + "\n")
    image = realsystem.ext4_image(tree, base / "img" / "tampered.img")
    case = base / "tampered-case"
    _scan(image, case, "--notable-hashes", listed, "--notable-hashes", rds, "--known-hashes", known)
    return Scanned(tree, image, case, {"kelihos.md5": listed, "rds_notable.db": rds, "known.sha256": known})


def clean_scan(factory: pytest.TempPathFactory) -> Scanned:
    return _clean(factory.getbasetemp() / "knownsystem")


def tampered_scan(factory: pytest.TempPathFactory) -> Scanned:
    return _tampered(factory.getbasetemp() / "knownsystem")


def package_files(tree: Path) -> dict[str, tuple[str, str]]:
    """path -> (package label 'NAME VERSION', md5) from the tree's own dpkg database, read with
    plain text handling (not known.dpkg), so the test does not check the parser with itself."""
    info = tree / "var/lib/dpkg/info"
    versions: dict[str, str] = {}
    name = None
    for line in (tree / "var/lib/dpkg/status").read_text().splitlines():
        if line.startswith("Package: "):
            name = line.split(": ", 1)[1]
        elif line.startswith("Version: ") and name:
            versions[name] = line.split(": ", 1)[1]
    out = {}
    for md5sums in sorted(info.glob("*.md5sums")):
        pkg = md5sums.name[: -len(".md5sums")].split(":")[0]
        for line in md5sums.read_text().splitlines():
            digest, _, rel = line.partition("  ")
            out["/" + rel] = (f"{pkg} {versions[pkg]}", digest)
    return out


def merge_usr(tree: Path) -> list[str]:
    """What Debian 12's usrmerge does: /bin, /sbin, /lib, /lib64 moved into /usr and replaced by
    symbolic links (dpkg's database still says /sbin/ldconfig). Returns the merged dirs."""
    merged = []
    for top in ("bin", "sbin", "lib", "lib64"):
        src = tree / top
        if src.is_symlink() or not src.exists():
            continue
        dest = tree / "usr" / top
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(src)
        src.symlink_to(f"usr/{top}")
        merged.append(top)
    return merged


@cache
def _merged(base: Path) -> Scanned:
    tree = base / "merged"
    shutil.copytree(_clean_tree(base), tree, symlinks=True)
    merge_usr(tree)
    ldconfig = tree / MERGED_CHANGED.lstrip("/")
    ldconfig.write_bytes(ldconfig.read_bytes() + b"\x00patched\x00")
    image = realsystem.ext4_image(tree, base / "img" / "merged.img")
    case = base / "merged-case"
    _scan(image, case)
    return Scanned(tree, image, case, {})


def merged_usr_scan(factory: pytest.TempPathFactory) -> Scanned:
    return _merged(factory.getbasetemp() / "knownsystem")


@cache
def _split_var(base: Path) -> Scanned:
    """The clean system on two partitions, / and /var, as many servers are installed: the dpkg
    database is on the second, the files it describes on the first."""
    from tests import imaging

    root = base / "split-root"
    shutil.copytree(_clean_tree(base), root, symlinks=True)
    var = base / "split-var"
    shutil.move(root / "var", var)
    (root / "var").mkdir()
    root_img = realsystem.ext4_image(root, base / "img" / "split-root.ext4", label="root")
    var_img = realsystem.ext4_image(var, base / "img" / "split-var.ext4", label="var")
    image = imaging.partitioned_disk(base / "img" / "split.img", [root_img, var_img], label="gpt")
    case = base / "split-case"
    _scan(image, case)
    return Scanned(root, image, case, {})


def split_var_scan(factory: pytest.TempPathFactory) -> Scanned:
    return _split_var(factory.getbasetemp() / "knownsystem")
