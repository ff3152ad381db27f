"""A server whose /var is a file system of its own: dpkg's database is on the /var partition
(`/lib/dpkg/status` at its root) and describes the files of the root partition."""
from __future__ import annotations

import pyarrow.compute as pc
import pytest

from tests import knownsystem


def test_root_partition_files_are_known_from_the_var_partitions_database(tmp_path_factory):
    scan = knownsystem.split_var_scan(tmp_path_factory)
    owned = knownsystem.package_files(scan.tree.with_name("tree"))  # the unsplit clean tree
    files = scan.files()
    files = files.filter(pc.is_null(files.column("stream")))
    volumes = sorted(set(files.column("volume").to_pylist()))
    assert len(volumes) == 2
    rows = {(r["volume"], r["path"]): r for r in files.select(["volume", "path", "known_status", "known_source"]).to_pylist()}
    root_volume = next(v for v in volumes if (v, knownsystem.SSHD) in rows)
    present = [p for p in owned if (root_volume, p) in rows]
    assert len(present) > 300
    right = [p for p in present if (rows[(root_volume, p)]["known_status"], rows[(root_volume, p)]["known_source"])
             == ("known", owned[p][0])]
    assert len(right) / len(present) >= 0.95, (len(right), len(present))


def test_manifest_says_the_database_is_on_a_var_file_system(tmp_path_factory):
    m = knownsystem.split_var_scan(tmp_path_factory).manifest()
    (ev,) = m["known_files"]["evidence"].values()
    (key,) = ev["package_databases"]
    assert key.endswith("dpkg (a /var file system)") and ev["package_databases"][key] == len(knownsystem.PACKAGES)
    files = knownsystem.split_var_scan(tmp_path_factory).files()
    assert "modified" not in set(files.column("known_status").drop_null().to_pylist())
