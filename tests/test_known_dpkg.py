"""dpkg's database parsed from real data: this machine's own /var/lib/dpkg (Debian), whose
md5sums must agree with the files on this machine's disk, and multiarch info file names."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from known import dpkg

DPKG = Path("/var/lib/dpkg")
pytestmark = pytest.mark.skipif(not (DPKG / "status").is_file(), reason="not a Debian machine: no /var/lib/dpkg/status")


def test_status_every_stanza_with_version_and_conffiles():
    data = (DPKG / "status").read_bytes()
    packages = dpkg.parse_status(data)
    assert len(packages) == len(re.findall(rb"(?m)^Package: ", data))
    by_name = {p.name: p for p in packages}
    coreutils = by_name["coreutils"]
    assert coreutils.installed and coreutils.version and coreutils.label == f"coreutils {coreutils.version}"
    with_conf = [p for p in packages if p.conffiles]
    assert with_conf, "a Debian system has conffiles"
    for p in with_conf[:20]:
        for path, md5 in p.conffiles:
            assert path.startswith("/") and re.fullmatch(r"[0-9a-f]{32}", md5)
    # the conffiles dpkg lists are in the .list of their package
    pkg = with_conf[0]
    listing = next(DPKG.glob(f"info/{pkg.name}.list"), None) or next(DPKG.glob(f"info/{pkg.name}:*.list"))
    assert {c for c, _ in pkg.conffiles} <= set(dpkg.parse_list(listing.read_bytes()))


def test_md5sums_agree_with_this_machines_files():
    entries = dpkg.parse_md5sums((DPKG / "info" / "coreutils.md5sums").read_bytes())
    assert len(entries) > 50 and all(p.startswith("/") for p, _ in entries)
    checked = 0
    for path, md5 in entries[:40]:
        f = Path(path)
        if f.is_file():
            assert hashlib.md5(f.read_bytes()).hexdigest() == md5, path
            checked += 1
    assert checked >= 20


def test_multiarch_info_names():
    names = [p.name for p in (DPKG / "info").iterdir()]
    multi = [n for n in names if ":" in n and n.endswith(".md5sums")]
    if not multi:
        pytest.skip("no Multi-Arch: same package installed here")
    name, arch, kind = dpkg.info_package(multi[0])
    assert ":" not in name and arch and kind == "md5sums"
    status = {(p.name, p.architecture) for p in dpkg.parse_status((DPKG / "status").read_bytes())}
    assert (name, arch) in status
    assert dpkg.info_package("openssh-server.list") == ("openssh-server", None, "list")
    assert dpkg.info_package("openssh-server.postinst") is None


def test_damaged_lines_are_skipped_not_fatal():
    data = b"d41d8cd98f00b204e9800998ecf8427e  usr/share/empty\nnot a line\n\nzz  usr/x\n"
    assert dpkg.parse_md5sums(data) == [("/usr/share/empty", "d41d8cd98f00b204e9800998ecf8427e")]
    assert dpkg.parse_status(b"Package: x\nStatus: install ok installed\nConffiles:\n /etc/x newconffile\n")[0].conffiles == ()
