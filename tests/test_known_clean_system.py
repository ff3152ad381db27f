"""Known files on a clean server built from real Debian packages with their real dpkg database:
the package-owned files are `known` with their package and version, nothing is `modified`,
and the declaration says so in its own section."""
from __future__ import annotations

import pyarrow.compute as pc
import pytest

from tests import knownsystem


def test_package_files_are_known_with_their_package(tmp_path_factory):
    scan = knownsystem.clean_scan(tmp_path_factory)
    owned = knownsystem.package_files(scan.tree)
    files = scan.files()
    files = files.filter(pc.is_null(files.column("stream")))
    rows = {r["path"]: r for r in files.select(["path", "known_status", "known_source", "md5"]).to_pylist()}
    present = [p for p in owned if p in rows and rows[p]["md5"] is not None]
    assert len(present) > 300, f"only {len(present)} package files in the image"
    right = [p for p in present if rows[p]["known_status"] == "known" and rows[p]["known_source"] == owned[p][0]]
    share = len(right) / len(present)
    wrong = [(p, rows[p]["known_status"], rows[p]["known_source"]) for p in present if p not in set(right)][:10]
    assert share >= 0.95, f"{share:.1%} known with their package; e.g. {wrong}"
    print(f"package-owned files known with their package: {len(right)}/{len(present)} = {share:.2%}")


def test_nothing_is_modified_or_notable_on_a_clean_system(tmp_path_factory):
    scan = knownsystem.clean_scan(tmp_path_factory)
    counts = dict(zip(*[c.to_pylist() for c in pc.value_counts(scan.files().column("known_status")).flatten()]))
    assert counts.get("modified", 0) == 0 and counts.get("modified-config", 0) == 0 and counts.get("notable", 0) == 0
    assert counts["known"] > counts.get("unknown", 0)
    # the accounts, dpkg's own database and the like are unknown: nothing vouches for them
    unknown = scan.files().filter(pc.equal(scan.files().column("known_status"), "unknown"))
    assert "/etc/passwd" in unknown.column("path").to_pylist()


def test_manifest_names_the_package_database_and_no_sets(tmp_path_factory):
    m = knownsystem.clean_scan(tmp_path_factory).manifest()
    (ev,) = m["known_files"]["evidence"].values()
    assert ev["package_databases"] == {"whole dpkg": len(knownsystem.PACKAGES)}
    assert m["known_files"]["hash_sets"] == []


def test_declaration_has_the_known_files_section(tmp_path_factory):
    scan = knownsystem.clean_scan(tmp_path_factory)
    text = (scan.case / "report" / "declaration.md").read_text()
    assert text.index("Known files, changed files and notable files") < text.index("## Findings")
    assert "No file on Exhibit E1 is modified from its package" in text
    import json

    summary = json.loads((scan.case / "report" / "summary.json").read_text())
    (ev,) = summary["known_files"]["evidence"].values()
    assert ev["by_status"]["modified"]["value"] == 0 and ev["by_status"]["known"]["value"] > 300
