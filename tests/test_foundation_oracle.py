"""Acceptance tests of the scan foundation: the `files` table must say what TSK's fls/icat say.

How the comparison is made (decided here, once):
* Paths are compared as bytes: fls output bytes vs the table's `path` (UTF-8) with the last
  component replaced by `name_raw` when the name is not valid UTF-8. Control characters are
  mapped to `^` on both sides, because fls prints them that way.
* `.` and `..` are left out on both sides (fls never prints them). Virtual entries ($MBR,
  $FAT1, $FAT2, $OrphanFiles and orphans under it) are compared like any other name: fls
  prints them and the contract has a `virtual` type for them.
* Names: the multiset of (path, inode, allocated) must be equal. On NTFS fls prints one line
  per attribute (`file:stream`, and `$Secure:$SDH`-style index attributes that are not data
  streams), so there the comparison is of the *set* of names, and data streams are compared
  on their own: fls lines for named $DATA attributes (type 128) <-> rows with a `stream`.
  Elsewhere only rows without a `stream` are compared with fls lines (fls does not print
  HFS+ resource forks, which the scan lists as stream `rsrc`).
* Content: every allocated regular file (and every NTFS data stream of one) must have the
  sha256 of `icat IMAGE META`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from tests import imaging, oracle
from tests.conftest import SECTOR
from tests.conftest import (ADS_CONTENT, ADS_FILE, ADS_NAME, DELETED_BY_RM, DELETED_WIPED, NON_UTF8_CONTENT,
                            NON_UTF8_NAME, Built, ScanCache, assert_files_match_fls, evidence_id, files_of,
                            one_evidence, read_table, row_path_bytes, run_seized, table_names, volumes_of,
                            walked_volumes)

EVIDENCE_LEVEL = {"evidence_id"}


# ---------------------------------------------------------------------------------------------
# comparison helpers: see tests/conftest.py (shared with tests/test_peer_images.py)


def _digests(paths: list[Path] | tuple[Path, ...]) -> dict[str, str]:
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    for part in paths:
        data = part.read_bytes()
        for h in (md5, sha1, sha256):
            h.update(data)
    return {"md5": md5.hexdigest(), "sha1": sha1.hexdigest(), "sha256": sha256.hexdigest()}


# ---------------------------------------------------------------------------------------------
# single file systems and partitioned disks: one in-process scan of all five images, each
# checked through its own evidence id.


@pytest.fixture(scope="session")
def foundation(scans: ScanCache, ext4_image: Path, fat32_image: Path, ntfs_image: Path, gpt_disk: Path,
               mbr_disk: Path) -> Path:
    return scans.case("foundation", ext4_image, fat32_image, ntfs_image, gpt_disk, mbr_disk)


def test_one_evidence_row_per_image(foundation: Path, ext4_image: Path, fat32_image: Path, ntfs_image: Path,
                                    gpt_disk: Path, mbr_disk: Path) -> None:
    rows = read_table(foundation, "evidence").to_pylist()
    assert sorted(r["evidence_id"] for r in rows) == sorted(
        evidence_id(p) for p in (ext4_image, fat32_image, ntfs_image, gpt_disk, mbr_disk))

FS_IMAGES = {"ext4_image": "ext4", "fat32_image": "fat32", "ntfs_image": "ntfs"}


@pytest.mark.parametrize("fixture", sorted(FS_IMAGES))
def test_file_system_image_equals_fls(fixture: str, request: pytest.FixtureRequest, foundation: Path) -> None:
    image: Path = request.getfixturevalue(fixture)
    eid = evidence_id(image)
    volumes = walked_volumes(foundation, eid)
    assert [(v["volume"], v["start"], v["fs_type"]) for v in volumes] == [("whole", 0, FS_IMAGES[fixture])]
    rows = files_of(foundation, evidence=eid)
    assert {(r["volume"], r["fs_type"]) for r in rows} == {("whole", FS_IMAGES[fixture])}
    assert assert_files_match_fls(rows, image, None) > 0
    ev = one_evidence(foundation, eid)
    assert ev["volume_system"] == "none" and ev["format"] == "raw"


@pytest.mark.parametrize("fixture,vs", [("gpt_disk", "gpt"), ("mbr_disk", "mbr")])
def test_partitioned_disk_equals_mmls_and_fls(fixture: str, vs: str, request: pytest.FixtureRequest,
                                              foundation: Path) -> None:
    disk: Path = request.getfixturevalue(fixture)
    eid = evidence_id(disk)
    assert one_evidence(foundation, eid)["volume_system"] == vs
    volumes = {v["volume"]: v for v in volumes_of(foundation, eid)}
    parts = oracle.mmls_entries(disk)
    for p in parts:
        vid = f"{vs}:{p.index}"
        if p.slot == "Meta" and vid not in volumes:
            continue  # table entries may be left out; partitions and unallocated runs may not
        assert vid in volumes, f"{vid} ({p.description}) missing from volumes: {sorted(volumes)}"
        v = volumes[vid]
        assert (v["start"], v["length"]) == (p.start * SECTOR, p.length * SECTOR), vid
        assert v["allocated"] == p.allocated, vid
        if p.allocated:
            assert v["status"] == "walked", v
        elif p.slot == "-------":
            assert v["status"] == "unallocated", v
    allocated = [p for p in parts if p.allocated]
    assert sorted(v["volume"] for v in walked_volumes(foundation, eid)) == sorted(f"{vs}:{p.index}" for p in allocated)
    for p in allocated:
        rows = files_of(foundation, f"{vs}:{p.index}", eid)
        assert {r["volume_offset"] for r in rows} == {p.start * SECTOR}
        assert assert_files_match_fls(rows, disk, p.start) > 0


def test_deleted_and_raw_named_files(ext4_image: Path, foundation: Path) -> None:
    rows = {row_path_bytes(r): r for r in files_of(foundation, evidence=evidence_id(ext4_image))}
    by_rm = rows[DELETED_BY_RM.encode()]
    assert not by_rm["allocated"] and by_rm["inode"] > 0
    assert by_rm["sha256"] == oracle.icat_sha256(ext4_image, by_rm["inode"])
    wiped = rows[DELETED_WIPED.encode()]
    assert not wiped["allocated"] and wiped["size"] == 0
    raw = rows[b"/" + NON_UTF8_NAME]
    # contract: `name_raw` holds the name's bytes; the scan (so far) writes `path_raw`, the path's
    assert raw.get("name_raw") == NON_UTF8_NAME.rsplit(b"/", 1)[1] or raw.get("path_raw") == b"/" + NON_UTF8_NAME
    assert raw["sha256"] == hashlib.sha256(NON_UTF8_CONTENT).hexdigest()
    assert raw["path"].isprintable()  # valid text, not raw bytes
    assert rows[b"/home/spammer/latest"]["type"] == "symlink"


def test_ntfs_ads_is_a_stream_row(ntfs_image: Path, foundation: Path) -> None:
    rows = [r for r in files_of(foundation, evidence=evidence_id(ntfs_image)) if r["path"] == ADS_FILE]
    streams = {r["stream"]: r for r in rows}
    assert set(streams) == {None, ADS_NAME}
    assert streams[ADS_NAME]["size"] == len(ADS_CONTENT)
    assert streams[ADS_NAME]["sha256"] == hashlib.sha256(ADS_CONTENT).hexdigest()
    assert streams[ADS_NAME]["inode"] == streams[None]["inode"]


# ---------------------------------------------------------------------------------------------
# evidence containers: raw, split raw, E01


def test_raw_evidence_hashes(ext4_image: Path, foundation: Path) -> None:
    ev = one_evidence(foundation, evidence_id(ext4_image))
    digests = _digests([ext4_image])
    assert {k: ev[k] for k in digests} == digests
    assert ev["evidence_id"] == digests["sha256"][:16]
    assert ev["size"] == ext4_image.stat().st_size
    assert ev["stored_md5"] is None and ev["verified"] is None


@pytest.mark.parametrize("style", ["000", "001", "aa"])
def test_split_raw_equals_raw(style: str, split_images: dict[str, Built], ext4_image: Path,
                              scans: ScanCache, foundation: Path) -> None:
    built = split_images[style]
    case = scans.case(built.name, *built.scan_paths)
    ev = one_evidence(case)
    assert ev["format"] == "split-raw"
    assert [Path(s).name for s in ev["segments"]] == [p.name for p in built.segments]
    assert ev["sha256"] == oracle.sha256_file(list(built.segments)) == oracle.sha256_file(ext4_image)
    assert ev["size"] == ext4_image.stat().st_size
    assert _without(files_of(case), EVIDENCE_LEVEL) == _without(files_of(foundation, evidence=evidence_id(ext4_image)),
                                                                EVIDENCE_LEVEL)


def test_e01_equals_raw_and_verifies(e01_image: Built, ext4_image: Path, scans: ScanCache,
                                     foundation: Path) -> None:
    case = scans.case("e01", *e01_image.scan_paths)
    ev = one_evidence(case)
    digests = _digests([ext4_image])
    assert ev["format"] == "ewf"
    assert {k: ev[k] for k in digests} == digests  # hashes of the media, not of the .E01 file
    assert ev["stored_md5"] == digests["md5"] and ev["stored_sha1"] == digests["sha1"]
    assert ev["verified"] is True
    assert ev["size"] == ext4_image.stat().st_size
    assert _without(files_of(case), EVIDENCE_LEVEL) == _without(files_of(foundation, evidence=evidence_id(ext4_image)),
                                                                EVIDENCE_LEVEL)


def _without(rows: list[dict], columns: set[str]) -> list[dict]:
    out = [{k: v for k, v in r.items() if k not in columns} for r in rows]
    return sorted(out, key=lambda r: (r["volume"], r["path"], r["stream"] or "", r["inode"]))


@pytest.mark.slow
def test_rescan_gives_identical_tables(foundation: Path, scans: ScanCache, ext4_image: Path, fat32_image: Path,
                                      ntfs_image: Path, gpt_disk: Path, mbr_disk: Path) -> None:
    first = foundation
    # again, on the default local Dask cluster: the same tables as the in-process scan
    second = scans.case("foundation-again", ext4_image, fat32_image, ntfs_image, gpt_disk, mbr_disk, workers=None)
    assert table_names(first) == table_names(second)
    for name in table_names(first):
        assert read_table(first, name).to_pylist() == read_table(second, name).to_pylist(), name


# ---------------------------------------------------------------------------------------------
# bad input and the evidence left untouched


def _bad_inputs(tmp: Path, e01: Built) -> dict[str, Path]:
    tmp.mkdir(parents=True, exist_ok=True)
    twelve = tmp / "twelve.raw"
    twelve.write_bytes(os.urandom(12))
    noise = tmp / "noise.raw"
    noise.write_bytes(os.urandom(1 << 20))
    truncated = imaging.truncated_copy(e01.scan_paths[0], tmp / "truncated.E01")
    directory = tmp / "a_directory"
    directory.mkdir()
    return {"12-byte file": twelve, "1 MiB of random bytes": noise, "truncated E01": truncated,
            "missing path": tmp / "no-such-image.raw", "directory": directory}


# "1 MiB of random bytes" is no longer bad input: it is scanned as raw bytes (issue 21, tests/test_damaged_media.py)
BAD_KINDS = ["12-byte file", "truncated E01", "missing path", "directory"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_input_is_one_line(kind: str, e01_image: Built, tmp_path: Path, seized_cli: None) -> None:
    bad = _bad_inputs(tmp_path / "in", e01_image)[kind]
    proc = run_seized("scan", bad, "-o", tmp_path / "case")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert bad.name in lines[0] and lines[0].startswith("seized: error:"), lines[0]


def test_good_and_bad_scans_the_good_one(ext4_image: Path, tmp_path: Path, seized_cli: None) -> None:
    bogus = tmp_path / "in" / "bogus.raw"  # the case directory may not lie in an evidence folder
    bogus.parent.mkdir()
    bogus.write_bytes(os.urandom(12))
    case = tmp_path / "case"
    proc = run_seized("scan", ext4_image, bogus, "-o", case, "--no-report")
    assert proc.returncode == 1, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("seized: error:")]
    assert len(errors) == 1 and "bogus.raw" in errors[0] and "Traceback" not in proc.stderr, proc.stderr
    ev = read_table(case, "evidence").to_pylist()
    assert [e["sha256"] for e in ev] == [oracle.sha256_file(ext4_image)]
    assert {r["evidence_id"] for r in files_of(case)} == {ev[0]["evidence_id"]}


def test_scan_leaves_evidence_untouched(ext4_image: Path, tmp_path: Path, seized_cli: None) -> None:
    home = tmp_path / "evidence"
    home.mkdir()
    image = home / "seized.raw"
    shutil.copy2(ext4_image, image)
    image.chmod(0o444)
    before = (oracle.sha256_file(image), image.stat().st_mtime_ns, sorted(os.listdir(home)))
    proc = run_seized("scan", image, "-o", tmp_path / "case", "--no-report")
    assert proc.returncode == 0, proc.stderr
    assert (oracle.sha256_file(image), image.stat().st_mtime_ns, sorted(os.listdir(home))) == before
