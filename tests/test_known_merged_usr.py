"""Merged /usr (every Debian 12 system): /sbin is a link to usr/sbin, so the walk sees
/usr/sbin/ldconfig where dpkg's database says /sbin/ldconfig; both are the same file, which is
`known` with its package by its path (not only by its content)."""
from __future__ import annotations

import pyarrow.compute as pc
import pytest

from tests import knownsystem


def test_files_dpkg_lists_under_sbin_and_lib_are_known_at_their_usr_path(tmp_path_factory):
    scan = knownsystem.merged_usr_scan(tmp_path_factory)
    owned = knownsystem.package_files(scan.tree)
    moved = {p: v for p, v in owned.items() if p.startswith(("/sbin/", "/lib/", "/bin/"))}
    assert moved, "no package of the test system ships files under /sbin, /lib or /bin"
    files = scan.files()
    files = files.filter(pc.is_null(files.column("stream")))
    rows = {r["path"]: r for r in files.select(["path", "known_status", "known_source"]).to_pylist()}
    for path, (label, _) in moved.items():
        if "/usr" + path == knownsystem.MERGED_CHANGED:
            continue
        row = rows["/usr" + path]
        assert (row["known_status"], row["known_source"]) == ("known", label), path


def test_a_changed_file_under_a_merged_dir_is_modified(tmp_path_factory):
    scan = knownsystem.merged_usr_scan(tmp_path_factory)
    files = scan.files()
    modified = files.filter(pc.equal(files.column("known_status"), "modified")).to_pylist()
    assert [(r["path"], r["known_source"].split()[0]) for r in modified] == [(knownsystem.MERGED_CHANGED, "libc-bin")]
