"""A package's file whose content differs from what dpkg recorded is `modified` (a trojaned
sshd: the first thing the declaration lists); a changed conffile is `modified-config`."""
from __future__ import annotations

import json

import pyarrow.compute as pc

from tests import knownsystem


def _row(scan, path: str) -> dict:
    files = scan.files()
    hit = files.filter(pc.and_(pc.equal(files.column("path"), path), pc.is_null(files.column("stream"))))
    assert hit.num_rows == 1, path
    return hit.to_pylist()[0]


def _version(tree, package: str) -> str:
    stanza = (tree / "var/lib/dpkg/status").read_text().split(f"Package: {package}\n", 1)[1]
    return next(line.split(": ", 1)[1] for line in stanza.splitlines() if line.startswith("Version: "))


def test_trojaned_sshd_is_modified_with_its_package(tmp_path_factory):
    scan = knownsystem.tampered_scan(tmp_path_factory)
    row = _row(scan, knownsystem.SSHD)
    assert row["known_status"] == "modified"
    assert row["known_source"] == f"openssh-server {_version(scan.tree, 'openssh-server')}"


def test_changed_conffile_is_modified_config_not_an_alarm(tmp_path_factory):
    scan = knownsystem.tampered_scan(tmp_path_factory)
    row = _row(scan, knownsystem.CONFFILE)
    assert row["known_status"] == "modified-config"
    assert row["known_source"].startswith("logrotate ")
    summary = json.loads((scan.case / "report" / "summary.json").read_text())
    (ev,) = summary["known_files"]["evidence"].values()
    listed = [r["path"] for r in ev["listed"]]
    assert knownsystem.CONFFILE not in listed  # counted, not listed among the alarms
    assert ev["by_status"]["modified-config"]["value"] == 1


def test_unchanged_files_of_the_same_package_stay_known(tmp_path_factory):
    scan = knownsystem.tampered_scan(tmp_path_factory)
    files = scan.files()
    modified = files.filter(pc.equal(files.column("known_status"), "modified")).column("path").to_pylist()
    assert modified == [knownsystem.SSHD]
    assert _row(scan, "/usr/bin/ssh")["known_status"] == "known"


def test_sshd_is_listed_first_in_the_declaration(tmp_path_factory):
    scan = knownsystem.tampered_scan(tmp_path_factory)
    text = (scan.case / "report" / "declaration.md").read_text()
    section = text.index("Known files, changed files and notable files")
    assert section < text.index("## Findings")
    first_row = next(line for line in text[section:].splitlines() if line.startswith("| modified"))
    assert knownsystem.SSHD in first_row and "openssh-server" in first_row
    # it is the first file the declaration names in any table
    assert text.index(knownsystem.SSHD) == text.index("| modified") + first_row.index(knownsystem.SSHD)
