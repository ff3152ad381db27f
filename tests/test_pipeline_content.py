"""What the parallel pipeline finds where: unallocated space, region-chunk edges, archives.

All against the in-process scan of the shared pipeline disk (tests/pipeline_support.py):
an ext4 partition holding lists, archives (zip, tar.gz, nested, a 42-style bomb, deep nests)
and a list deleted kernel-style, a FAT16 partition, and old data after the partitions with an
address planted across a region-chunk boundary.
"""
from __future__ import annotations

from collections import Counter

import pytest

from ingest import containers
from ingest.images import identify_image
from ingest.units import REGION_CHUNK
from ingest.plan import plan_evidence
from tests.pipeline_support import (ARCHIVES, BOUNDARY_ADDRESS, DEEP_OK_LEVELS, DEEP_TOO_LEVELS, PLAIN_LIST,
                                         WIPED_LIST, PipelineDisk, Scan, pipeline_disk, reference_scan, snapshot,
                                         tagged)

pytestmark = pytest.mark.usefixtures("seized_cli")


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> PipelineDisk:
    return pipeline_disk(tmp_path_factory)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    scan: Scan = reference_scan(tmp_path_factory)
    return snapshot(scan.case).rows


def _image_bytes(disk: PipelineDisk, offset: int, n: int) -> bytes:
    with open(disk.path, "rb") as fh:
        fh.seek(offset)
        return fh.read(n)


def _ext4_volume(tables: dict[str, list[dict]]) -> dict:
    (vol,) = [v for v in tables["volumes"] if (v["fs_type"] or "").startswith("ext")]
    return vol


# ------------------------------------------------------------------ unallocated


def test_kernel_deleted_list_is_found_only_in_unallocated(disk: PipelineDisk, tables) -> None:
    vol = _ext4_volume(tables)
    rows = tagged(tables["emails"], "wiped")
    counts = Counter(r["address"] for r in rows)
    assert len(counts) == 40 and set(counts.values()) == {1}, counts
    for r in rows:
        assert r["path"] is None and r["inode"] is None and r["member"] is None, r
        assert r["volume"] == vol["volume"], r
        assert vol["start"] <= r["image_offset"] < vol["start"] + vol["length"]
        assert r["offset"] == r["image_offset"]
        assert _image_bytes(disk, r["image_offset"], 64).startswith(r["address"].encode()), r
    (name,) = [f for f in tables["files"] if f["path"] == WIPED_LIST]
    assert name["allocated"] is False and name["size"] == 0, name
    # the control: an allocated list is attributed to its file
    plain = tagged(tables["emails"], "plain")
    assert len(plain) == 50 and {r["path"] for r in plain} == {PLAIN_LIST}
    (hl,) = [h for h in tables["harvest_lists"] if h["path"] == PLAIN_LIST]
    assert hl["unique"] == 50


def test_address_across_a_region_chunk_boundary_is_found_once(disk: PipelineDisk, tables) -> None:
    # the planted bytes really straddle a boundary between two region units
    plan = plan_evidence(identify_image(str(disk.path)), True)
    tasks = [t for u in plan.units if u.kind == "regions" for t in u.regions]
    assert any(t.end == disk.boundary for t in tasks) and any(t.start == disk.boundary for t in tasks)
    assert any(t.start == disk.boundary - REGION_CHUNK for t in tasks)
    assert disk.planted_at < disk.boundary < disk.planted_at + len(BOUNDARY_ADDRESS)

    rows = [r for r in tables["emails"] if r["address"] == BOUNDARY_ADDRESS]
    assert len(rows) == 1, rows
    (r,) = rows
    assert r["image_offset"] == disk.planted_at and r["offset"] == disk.planted_at
    assert r["path"] is None and r["volume"] is not None
    assert r["volume"] not in {v["volume"] for v in tables["volumes"] if v["fs_type"]}
    assert _image_bytes(disk, r["image_offset"], len(BOUNDARY_ADDRESS)) == BOUNDARY_ADDRESS.encode()


# ------------------------------------------------------------------ containers


def _members(tables, tag: str, path: str) -> Counter:
    return Counter(r["member"] for r in tagged(tables["emails"], tag) if r["path"] == path)


@pytest.mark.parametrize("tag, archive, member", [
    ("inzip", "outer.zip", "list.txt"),
    ("intargz", "lists.tar.gz", "lists.tar!lists/targz.txt"),
    ("nested", "nested.zip", "inner.tar.gz!inner.tar!inner/list.txt"),
    ("nested", "double.zip", "nested.zip!inner.tar.gz!inner.tar!inner/list.txt"),
    ("deepok", "deepok.zip",
     "!".join(f"deepok{i}.zip" for i in range(2, DEEP_OK_LEVELS + 1)) + "!list.txt"),
])
def test_lists_inside_archives_carry_their_member_path(tables, tag: str, archive: str, member: str) -> None:
    path = f"{ARCHIVES}/{archive}"
    members = _members(tables, tag, path)
    assert members[member] in (20, 30), members
    rows = [r for r in tagged(tables["emails"], tag) if r["path"] == path and r["member"] == member]
    assert all(r["image_offset"] is None and r["offset"] is not None for r in rows)
    assert all(r["inode"] is not None for r in rows)
    # a tar is also scanned as bytes (its members' text is in it); no other member holds them
    assert set(members) <= {member, member.rsplit("!", 1)[0]}, members
    verdicts = [h for h in tables["harvest_lists"] if h["path"] == path and h["member"] == member]
    assert len(verdicts) == 1 and verdicts[0]["unique"] == members[member]


def test_archive_nested_too_deep_stops_with_an_error_row(tables) -> None:
    path = f"{ARCHIVES}/deeptoo.zip"
    assert not tagged(tables["emails"], "deeptoo")
    errors = [e for e in tables["errors"] if e["path"] == path]
    assert len(errors) == 1, errors
    assert f"nested deeper than {containers.MAX_DEPTH} levels" in errors[0]["error"]
    assert errors[0]["stage"] == "container"
    assert errors[0]["member"] == "!".join(f"deeptoo{i}.zip" for i in range(2, containers.MAX_DEPTH + 2))
    assert DEEP_TOO_LEVELS > containers.MAX_DEPTH


def test_42_style_bomb_stops_at_the_limits(tables) -> None:
    path = f"{ARCHIVES}/bomb.zip"
    errors = [e for e in tables["errors"] if e["path"] == path]
    assert errors, "the bomb left no errors row"
    assert all(e["stage"] == "container" for e in errors)
    texts = Counter("ratio" if "compression ratio" in e["error"] else
                    "budget" if "expansion limit of this object" in e["error"] else e["error"] for e in errors)
    assert texts["budget"] == 1, texts
    assert set(texts) <= {"ratio", "budget"}, texts
    # bounded work: the budget stops it long before the 4096 leaves
    assert texts["ratio"] <= containers.MAX_TOTAL // (containers.MAX_RATIO * 60_000) + 2, texts
    (row,) = [f for f in tables["files"] if f["path"] == path]
    assert row["status"] == "scanned"
