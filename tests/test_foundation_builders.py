"""The image builders and the TSK oracle, checked against each other without the scan.

If these fail, the oracle tests of the scan mean nothing, so they run first and stand alone.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests import imaging, oracle
from tests.conftest import (ADS_CONTENT, ADS_FILE, ADS_NAME, DELETED_BY_RM, DELETED_WIPED, NON_UTF8_CONTENT,
                            NON_UTF8_NAME, TREES, Built)


def _by_path(entries: list[oracle.FlsEntry]) -> dict[str, oracle.FlsEntry]:
    return {e.path + (f":{e.stream}" if e.stream else ""): e for e in entries}


def test_ext4_tree_deletions_and_raw_name(ext4_image: Path) -> None:
    entries = _by_path(oracle.fls_entries(ext4_image))
    plain = entries["/etc/tor/torrc"]
    assert plain.kind == "file" and not plain.deleted
    assert oracle.icat_bytes(ext4_image, plain.inode) == (TREES / "server/etc/tor/torrc").read_bytes()
    assert entries["/home/spammer/latest"].kind == "symlink"
    assert "/home/spammer/notes with space.txt" in entries
    raw = entries["/" + NON_UTF8_NAME.decode("utf-8", "surrogateescape")]
    assert oracle.icat_bytes(ext4_image, raw.inode) == NON_UTF8_CONTENT

    by_rm = entries[DELETED_BY_RM]
    assert by_rm.deleted and by_rm.inode > 0
    assert oracle.icat_bytes(ext4_image, by_rm.inode) == (TREES / "server" / DELETED_BY_RM.lstrip("/")).read_bytes()

    wiped = entries[DELETED_WIPED]
    assert wiped.deleted and wiped.inode > 0
    assert oracle.icat_bytes(ext4_image, wiped.inode) == b""  # inode truncated ...
    content = (TREES / "server" / DELETED_WIPED.lstrip("/")).read_bytes()
    assert content in ext4_image.read_bytes()  # ... content still in unallocated blocks


def test_ext4_build_is_reproducible(tmp_path: Path, server_tree: Path) -> None:
    one = imaging.ext4_from_tree(server_tree, tmp_path / "a.raw", 16)
    time.sleep(1.1)  # a clock leaking into the image would show
    two = imaging.ext4_from_tree(server_tree, tmp_path / "b.raw", 16)
    assert oracle.sha256_file(one) == oracle.sha256_file(two)


def test_fat32_and_deleted_name(fat32_image: Path) -> None:
    assert oracle.mmls_type(fat32_image) is None
    entries = oracle.fls_entries(fat32_image)
    deleted = [e for e in entries if e.deleted and e.path.endswith("raft.txt")]
    assert len(deleted) == 1 and deleted[0].path == "/home/spammer/_raft.txt"
    virtual = {e.path for e in entries if e.kind == "virtual"}
    assert virtual == {"/$MBR", "/$FAT1", "/$FAT2", "/$OrphanFiles"}
    harvest = _by_path(entries)["/home/spammer/lists/harvest.txt"]
    assert oracle.icat_bytes(fat32_image, harvest.inode) == (TREES / "server/home/spammer/lists/harvest.txt").read_bytes()


def test_ntfs_alternate_data_stream(ntfs_image: Path) -> None:
    entries = _by_path(oracle.fls_entries(ntfs_image))
    ads = entries[f"{ADS_FILE}:{ADS_NAME}"]
    assert ads.stream == ADS_NAME and ads.attr_type == 128
    assert oracle.icat_bytes(ntfs_image, ads.meta) == ADS_CONTENT
    default = entries[ADS_FILE]
    assert default.inode == ads.inode and default.stream is None
    assert oracle.icat_bytes(ntfs_image, default.meta) == (TREES / "flat" / ADS_FILE.lstrip("/")).read_bytes()
    assert "/spam template.eml" in entries


def test_gpt_layout(gpt_disk: Path, ext4_image: Path) -> None:
    assert oracle.mmls_type(gpt_disk) == "GUID Partition Table (EFI)"
    parts = [p for p in oracle.mmls_entries(gpt_disk) if p.allocated]
    assert [p.start for p in parts] == [2048, 2048 + 16 * 2048]
    first = oracle.fls_entries(gpt_disk, parts[0].start)
    assert first == oracle.fls_entries(ext4_image)


def test_mbr_extended_chain(mbr_disk: Path, ntfs_image: Path) -> None:
    assert oracle.mmls_type(mbr_disk) == "DOS Partition Table"
    entries = oracle.mmls_entries(mbr_disk)
    parts = [p for p in entries if p.allocated]
    assert [p.slot for p in parts] == ["000:000", "001:000", "002:000"]
    assert sum("Extended Table" in p.description for p in entries) == 2
    assert oracle.fls_entries(mbr_disk, parts[2].start) == oracle.fls_entries(ntfs_image)


def test_split_styles_reassemble(split_images: dict[str, Built], ext4_image: Path) -> None:
    raw_sha = oracle.sha256_file(ext4_image)
    names = {style: [p.name for p in built.segments] for style, built in split_images.items()}
    assert names["000"][:2] == ["server.000", "server.001"]
    assert names["001"][:2] == ["server.001", "server.002"]
    assert names["aa"][:2] == ["server.aa", "server.ab"]
    for built in split_images.values():
        assert len(built.segments) == 4
        assert oracle.sha256_file(list(built.segments)) == raw_sha


def test_e01_holds_the_raw_image(e01_image: Built, ext4_image: Path) -> None:
    assert oracle.fls_entries(e01_image.scan_paths[0]) == oracle.fls_entries(ext4_image)
    assert e01_image.segments == (e01_image.scan_paths[0],)


def test_missing_tool_is_a_clear_error() -> None:
    with pytest.raises(imaging.ImagingError, match="not installed"):
        imaging.tool("no-such-imaging-tool")


def test_ntfs_builder_refuses_directories(tmp_path: Path) -> None:
    with pytest.raises(imaging.ImagingError, match="not a regular file"):
        imaging.ntfs_from_tree(TREES / "server", tmp_path / "x.raw")


def test_parse_fls_forms() -> None:
    sample = (b"r/r * 15(realloc):\tdir/old name.txt\n"
              b"r/r 64-128-4:\treadme.txt:Zone.Identifier\n"
              b"r/- * 0:\tpasswords.txt~\n"
              b"-/r * 16:\t$OrphanFiles/OrphanFile-16\n"
              b"r/r 13:\tcaf\xe9.txt\n"
              b"r/r 14:\tnot:a stream\n")
    realloc, ads, nometa, orphan, raw, colon = oracle.parse_fls(sample)
    assert realloc.realloc and realloc.deleted and realloc.inode == 15 and realloc.path == "/dir/old name.txt"
    assert (ads.inode, ads.attr_type, ads.attr_id, ads.path, ads.stream) == (64, 128, 4, "/readme.txt", "Zone.Identifier")
    assert nometa.inode == 0 and nometa.meta_type == "-" and nometa.deleted
    assert orphan.kind == "file" and orphan.path == "/$OrphanFiles/OrphanFile-16"
    assert raw.path.encode("utf-8", "surrogateescape") == b"/caf\xe9.txt"
    assert colon.stream is None and colon.path == "/not:a stream"  # ':' splits streams on NTFS only
    assert hashlib.sha256(b"").hexdigest() == oracle.sha256_file([])
