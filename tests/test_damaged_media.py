"""Damaged media (issue 21): a wiped partition table, a zeroed MBR, a zeroed ext4 superblock, a
truncated image and bytes with nothing recognisable are all scanned, exit 0, with the damage in
`errors` and the layout found recorded in `volumes` (`recovered`, `raw`).

Images are built with real tools (bench/demo_image.py, tests/imaging.py: mkfs.ext4 -d, mkfs.fat,
mkntfs, sfdisk) and then damaged with plain byte writes to a copy.
"""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from ingest import recovery
from tests import imaging
from tests.conftest import run_seized

MIB = imaging.MIB


def _rows(case: Path, name: str) -> list[dict]:
    return ds.dataset(case / "tables" / name, format="parquet").to_table().to_pylist()


def _scan(image: Path, case: Path) -> Path:
    proc = run_seized("scan", image, "-o", case, "--workers", "0", "--no-report", "--no-default-rules", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return case


def _zero(image: Path, offset: int, length: int) -> None:
    with open(image, "r+b") as fh:
        fh.seek(offset)
        fh.write(bytes(length))


def _found_at_offsets(case: Path, image: Path) -> set[tuple[str, int]]:
    """(raw text, image offset) of every plain-text address whose image bytes really are the address."""
    data = image.read_bytes()
    out = set()
    for r in _rows(case, "emails"):
        off = r["image_offset"]
        if off is None or r["encoding"] not in ("ascii", "utf-8", None):
            continue
        raw = r["raw"].encode("utf-8")
        if data[off:off + len(raw)] == raw:
            out.add((r["raw"], off))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_image: Path, demo_case: Path):
    """The demo image (bench.demo_image, the session's: only read and copied here), its planted
    truth and the addresses the session's scan of it intact (tests/democase.py) found at their
    image offsets."""
    root = tmp_path_factory.mktemp("damaged-demo")
    planted = json.loads((demo_image.parent / "planted.json").read_text())
    return root, demo_image, planted, _found_at_offsets(demo_case, demo_image)


def test_gpt_and_its_backup_zeroed(demo) -> None:
    root, intact, planted, intact_found = demo
    image = root / "wiped" / "demo.img"
    image.parent.mkdir()
    shutil.copyfile(intact, image)
    size = image.stat().st_size
    _zero(image, 0, MIB)
    _zero(image, size - MIB, MIB)
    case = _scan(image, root / "case-wiped")
    volumes = {v["volume"]: v for v in _rows(case, "volumes")}
    recovered = {v["fs_type"]: v for v in volumes.values() if v["status"] == "recovered"}
    assert set(recovered) == {"ext4", "fat32"}, volumes
    by_label = {p["label"]: p for p in planted["partitions"]}
    assert recovered["ext4"]["start"] == by_label["ext4"]["start"]
    assert recovered["fat32"]["start"] == by_label["fat"]["start"]
    found = _found_at_offsets(case, image)
    addresses = {a for a, _ in found}
    missing = set(planted["emails"]["plain"]) - addresses
    assert not missing, f"{len(missing)} planted plain-text addresses not found at their image offsets"
    assert found == intact_found, "the wiped image's addresses differ from the intact scan's"
    errors = _rows(case, "errors")
    assert sum(e["stage"] == "recovery" for e in errors) == 2, errors


def test_nothing_recognised_is_scanned_as_raw_bytes(tmp_path: Path) -> None:
    rng = random.Random(5)
    data = bytearray(rng.randbytes(3 * MIB))
    needle = b" carved.raw@example.org "
    at = 1_234_567
    data[at:at + len(needle)] = needle
    image = tmp_path / "ev" / "noise.img"
    image.parent.mkdir()
    image.write_bytes(bytes(data))
    case = _scan(image, tmp_path / "case")
    (vol,) = _rows(case, "volumes")
    assert vol["volume"] == "whole" and vol["status"] == "raw"
    assert ("carved.raw@example.org", at + 1) in _found_at_offsets(case, image)
    assert any(e["stage"] == "volumes" and "raw bytes" in e["error"] for e in _rows(case, "errors"))
    acc = json.loads((case / "manifest.json").read_text())["accounting"]
    (one,) = acc.values()
    assert one["unallocated_scanned_bytes"] == 3 * MIB


def _fs_with(tmp: Path, name: str, address: str, builder, size_mib: int, **kw) -> Path:
    tree = tmp / f"tree-{name}"
    imaging.add_file(tree, f"{name}.txt".encode(), f"list\n{address}\n".encode() * 3)  # top level: ntfscp
    return builder(tree, tmp / f"{name}.img", size_mib, **kw)


def test_mbr_zeroed_primary_and_logical_partitions_recovered(tmp_path: Path) -> None:
    ext4 = _fs_with(tmp_path, "ext4", "in.ext4@example.org", imaging.ext4_from_tree, 8)
    fat = _fs_with(tmp_path, "fat16", "in.fat16@example.org", imaging.fat_from_tree, 8, fat_bits=16)
    ntfs = _fs_with(tmp_path, "ntfs", "in.ntfs@example.org", imaging.ntfs_from_tree, 8)
    image = imaging.partitioned_disk(tmp_path / "ev" / "mbr.img", [ext4], label="dos", logical=[fat, ntfs])
    _zero(image, 0, 512)
    case = _scan(image, tmp_path / "case")
    recovered = sorted((v["start"], v["fs_type"]) for v in _rows(case, "volumes") if v["status"] == "recovered")
    assert [fs for _, fs in recovered] == ["ext4", "fat16", "ntfs"], recovered
    found = {a for a, _ in _found_at_offsets(case, image)}
    assert {"in.ext4@example.org", "in.fat16@example.org", "in.ntfs@example.org"} <= found
    paths = {r["path"] for r in _rows(case, "files")}
    assert {"/ext4.txt", "/fat16.txt", "/ntfs.txt"} <= paths


def test_ext4_primary_superblock_zeroed_opened_through_its_backup(tmp_path: Path) -> None:
    ext4 = _fs_with(tmp_path, "ext4", "behind.sb@example.org", imaging.ext4_from_tree, 16)
    image = imaging.partitioned_disk(tmp_path / "ev" / "disk.img", [ext4])
    _zero(image, MIB + 1024, 1024)  # the primary superblock of the partition at 1 MiB
    case = _scan(image, tmp_path / "case")
    volumes = {v["volume"]: v for v in _rows(case, "volumes")}
    damaged = [v for v in volumes.values() if v["status"] == "no file system" and v["kind"] == "partition"]
    assert len(damaged) == 1, volumes
    errors = _rows(case, "errors")
    assert any(e["volume"] == damaged[0]["volume"] and e["stage"] == "filesystem" for e in errors)
    # at least: its bytes are searched, the address found at its image offset
    assert "behind.sb@example.org" in {a for a, _ in _found_at_offsets(case, image)}
    # and (the bonus) the file system is opened with a backup superblock, names and all
    rec = [v for v in volumes.values() if v["status"] == "recovered"]
    assert len(rec) == 1 and rec[0]["fs_type"] == "ext4" and rec[0]["start"] == MIB, volumes
    assert any("primary ext superblock" in e["error"] and "backup" in e["error"] for e in errors)
    assert "/ext4.txt" in {r["path"] for r in _rows(case, "files")}
    assert imaging.sniff_fs(ext4) == "ext"  # the source was never touched; the copy was damaged


def test_truncated_in_the_middle(demo) -> None:
    root, intact, planted, intact_found = demo
    cut = 20 * MIB  # inside the ext4 partition (1 MiB .. 25 MiB); the FAT32 partition is gone
    (root / "trunc").mkdir()
    image = imaging.truncated_copy(intact, root / "trunc" / "demo.img", cut)
    case = _scan(image, root / "case-trunc")
    errors = _rows(case, "errors")
    assert any("past the end of the image" in e["error"] or "truncated" in e["error"] for e in errors), errors
    expected = {(a, off) for a, off in intact_found if off + len(a) <= cut}
    got = _found_at_offsets(case, image)
    assert expected - got == set(), f"{len(expected - got)} addresses before the cut not found"


def test_probe_offsets_are_aligned_ascending_and_unique() -> None:
    offs = list(recovery.probe_offsets(40 * MIB))
    assert offs == sorted(set(offs))
    assert {0, 63 * 512, MIB, 16065 * 512, (16065 + 63) * 512} <= set(offs)
    assert all(o % MIB == 0 or o % 512 == 0 and (o // 512) % 63 == 0 for o in offs)
    assert sum(1 for _ in recovery.probe_offsets(1 << 40)) < 1_500_000  # a 1 TB image: bounded


def test_signatures_of_real_boot_sectors(tmp_path: Path) -> None:
    ext4 = _fs_with(tmp_path, "e", "x@example.org", imaging.ext4_from_tree, 8)
    fat = _fs_with(tmp_path, "f", "x@example.org", imaging.fat_from_tree, 8, fat_bits=16)
    ntfs = _fs_with(tmp_path, "n", "x@example.org", imaging.ntfs_from_tree, 8)
    for img, kind in ((ext4, "ext"), (fat, "fat"), (ntfs, "ntfs")):
        cand = recovery.signature_at(0, img.read_bytes()[:recovery.PROBE_BYTES])
        assert cand is not None and cand.kind == kind, (img, cand)
        assert abs(cand.length - img.stat().st_size) <= 512, (kind, cand.length, img.stat().st_size)
    assert recovery.signature_at(0, bytes(4096)) is None
    assert recovery.signature_at(0, random.Random(1).randbytes(4096)) is None


def test_search_skips_what_a_verified_file_system_covers() -> None:
    """A found file system is not searched inside; a rejected header does not stop the search."""
    disk = bytearray(8 * MIB)
    sb = bytearray(1024)
    sb[4:8] = (2048).to_bytes(4, "little")  # blocks (1 KiB each): 2 MiB
    sb[20:24] = (1).to_bytes(4, "little")
    sb[32:36] = (8192).to_bytes(4, "little")
    sb[56:58] = (0xEF53).to_bytes(2, "little")
    for at in (MIB, 2 * MIB, 5 * MIB):  # 2 MiB lies inside the first one: never probed
        disk[at + 1024:at + 2048] = sb
    seen = []

    def verify(c: recovery.Candidate) -> int | None:
        seen.append(c.start)
        return c.length

    found = recovery.search(lambda o, n: bytes(disk[o:o + n]), len(disk), verify)
    assert [c.start for c in found] == [MIB, 5 * MIB] and seen == [MIB, 5 * MIB]
    rejected = recovery.search(lambda o, n: bytes(disk[o:o + n]), len(disk), lambda c: None)
    assert rejected == []


def test_wiped_gpt_over_lvm_xfs_and_luks(tmp_path: Path) -> None:
    """LVM2 (an XFS and an ext4 logical volume) and LUKS2 partitions, the GPT and its backup zeroed:
    the PV is found by its LABELONE label and its volumes walked, the LUKS header recognised."""
    from tests.stackgen import gpt_disk, luks_container, lvm_pv, xfs_from_tree

    tree = tmp_path / "tree"
    imaging.add_file(tree, b"spam/list.txt", b"in.lvm@example.org\n" * 10)
    xfs = xfs_from_tree(tree, tmp_path / "root.xfs", size_mib=16)
    ext4 = imaging.ext4_from_tree(tree, tmp_path / "home.ext4", 8)
    pv = tmp_path / "pv.img"
    lvm_pv(pv, "vg0", [("root", xfs), ("home", ext4)])
    luks = luks_container(tmp_path / "luks.img", payload=b"sealed")
    image = tmp_path / "ev" / "disk.img"
    image.parent.mkdir()
    starts = gpt_disk(image, [("lvm", pv), ("luks", luks)])
    size = image.stat().st_size
    _zero(image, 0, MIB)
    _zero(image, size - MIB, MIB)
    case = _scan(image, tmp_path / "case")
    volumes = _rows(case, "volumes")
    recovered = {v["start"]: v for v in volumes if v["status"] == "recovered"}
    assert sorted(recovered) == sorted(starts), volumes
    assert "lvm:vg0" in recovered[starts[0]]["layers"] and "luks" in recovered[starts[1]]["layers"], recovered
    walked = {v["fs_type"] for v in volumes if " > lvm:vg0/" in v["volume"] and v["status"] == "walked"}
    assert walked == {"xfs", "ext4"}, volumes
    offsets = {off for a, off in _found_at_offsets(case, image) if a == "in.lvm@example.org"}
    assert len(offsets) >= 20  # ten in each logical volume's file
