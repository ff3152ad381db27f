"""Hostile file systems and volume systems: each scan finishes, records, keeps, stays bounded.

For every damaged image (tests/hostile.py says how each is made) the scan must:
  * finish with exit 0 or 1 (2 only when nothing at all was readable), never 3, never a
    traceback, and every stderr line is one `seized: ...` line;
  * record the damage as an `errors` row (or a failed-image line when the whole image is
    unusable);
  * keep everything it could read: the undamaged files of the same file system are hashed
    with their true SHA-256;
  * stay within RSS_BOUND of memory (peak RSS of the scan process, from wait4) and
    TIME_BOUND seconds;
  * keep the accounting identities (tests/accounting.py).

Bugs found here in code this suite does not own are strict xfails naming the bug; each
becomes a pass when fixed (and then strict xfail fails, so the marker must go).
"""
from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests import hostile, imaging
from tests.accounting import assert_accounting

RSS_BOUND = 400 * 1024 * 1024  # peak RSS of one --workers 0 scan of a few-MiB hostile image (baseline ~130 MB)
TIME_BOUND = 60  # seconds per scan (a clean scan of these images takes 1-5 s on 2 busy cores)

FILES = {f"a/f{i}.txt": random.Random(i).randbytes(20000 + i) for i in range(1, 6)}
FILES["a/b/c/keep.txt"] = b"keep me: SEIZED-HOSTILE-MARKER\n"
FILES["victim.txt"] = b"victim content\n"
SHA = {"/" + k: hashlib.sha256(v).hexdigest() for k, v in FILES.items()}
BIG = random.Random(99).randbytes(6_000_000)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-fs")


@pytest.fixture(scope="module")
def rules(work: Path) -> Path:
    return hostile.marker_rules(work / "marker.yar")


@pytest.fixture(scope="module")
def base(work: Path) -> Path:
    """8 MiB ext4 holding FILES (mkfs.ext4 -d), the starting point of each damaged variant."""
    return hostile.ext4_with_files(work / "base" / "base.ext4.raw", FILES, 8)


@pytest.fixture(scope="module")
def big(work: Path) -> Path:
    """8 MiB ext4 whose 6 MB file crosses the 4 MiB mark (for truncation)."""
    return hostile.ext4_with_files(work / "big" / "big.ext4.raw", {"big.bin": BIG, "small.txt": b"small\n"}, 8)


def _scan(images: list[Path], case: Path, rules: Path) -> hostile.Measured:
    m = hostile.run_measured(*hostile.scan_args(images, case, rules), timeout=TIME_BOUND)
    assert not m.timed_out, f"scan did not finish within {TIME_BOUND} s"
    assert m.returncode in (0, 1), f"exit {m.returncode}: {m.stderr[-2000:]}"
    _one_line_errors(m)
    assert m.max_rss < RSS_BOUND, f"peak RSS {m.max_rss / 2**20:.0f} MiB over {RSS_BOUND / 2**20:.0f} MiB"
    assert_accounting(case)
    return m


def _one_line_errors(m: hostile.Measured) -> None:
    assert "Traceback" not in m.stderr, m.stderr[-3000:]
    for line in m.stderr.splitlines():
        assert line.startswith("seized:") or line.startswith("  ") or not line.strip(), f"stray stderr: {line!r}"


def _rows(case: Path, name: str) -> list[dict]:
    return ds.dataset(case / "tables" / name, format="parquet").to_table().to_pylist()


def _assert_hashed(case: Path, paths: list[str], volume: str | None = None) -> None:
    files = {r["path"]: r for r in _rows(case, "files") if volume is None or r["volume"] == volume}
    for path in paths:
        row = files.get(path)
        assert row is not None, f"{path} missing from files"
        assert row["status"] == "scanned" and row["sha256"] == SHA[path], row


# ---------------------------------------------------------------------------------------------


def test_clean_base_is_fully_hashed(base: Path, rules: Path, work: Path) -> None:
    case = work / "case-base"
    m = _scan([base], case, rules)
    assert m.returncode == 0
    _assert_hashed(case, list(SHA))
    assert _rows(case, "errors") == []


def test_directory_loop_terminates_and_keeps_every_file(base: Path, rules: Path, work: Path) -> None:
    image = hostile.directory_loop(base, work / "loop" / "loop.raw", "/a/b/c")
    case = work / "case-loop"
    _scan([image], case, rules)
    _assert_hashed(case, list(SHA))
    paths = [r["path"] for r in _rows(case, "files")]
    assert "/a/b/c/loop" in paths
    assert not any(p.startswith("/a/b/c/loop/") for p in paths), "the loop was descended into"


def test_directory_loop_is_recorded(base: Path, rules: Path, work: Path) -> None:
    image = hostile.directory_loop(base, work / "loop2" / "loop.raw", "/a/b/c")
    case = work / "case-loop2"
    _scan([image], case, rules)
    assert any(e["path"] and e["path"].startswith("/a/b/c/loop") for e in _rows(case, "errors"))


def test_extent_past_image_end_is_an_error_row(base: Path, rules: Path, work: Path) -> None:
    image = hostile.extent_past_end(base, work / "extent" / "extent.raw", "/a/f3.txt")
    case = work / "case-extent"
    _scan([image], case, rules)
    others = [p for p in SHA if p != "/a/f3.txt"]
    _assert_hashed(case, others)
    f3 = next(r for r in _rows(case, "files") if r["path"] == "/a/f3.txt")
    assert f3["status"] == "error" and f3["sha256"] is None
    assert any(e["path"] == "/a/f3.txt" and e["stage"] == "read" for e in _rows(case, "errors"))


def test_superblock_corrupt_in_one_partition_keeps_the_other(base: Path, rules: Path, work: Path) -> None:
    bad = hostile.corrupt_superblock(base, work / "sb" / "bad.ext4.raw")
    disk = hostile.mbr_disk(work / "sb" / "disk.raw", [(2048, 16384, "83"), (18432, 16384, "83")],
                            [(2048, bad), (18432, base)], (18432 + 16384 + 2048) * 512)
    case = work / "case-sb"
    m = _scan([disk], case, rules)
    assert m.returncode == 0
    volumes = {v["volume"]: v for v in _rows(case, "volumes")}
    assert volumes["mbr:2"]["status"] == "no file system"
    assert volumes["mbr:3"]["status"] == "walked"
    assert any(e["volume"] == "mbr:2" and e["stage"] == "filesystem" for e in _rows(case, "errors"))
    _assert_hashed(case, list(SHA), volume="mbr:3")


def test_unusable_images_fail_alone_and_the_good_one_is_scanned(base: Path, rules: Path, work: Path) -> None:
    """A zero-length image: one line, exit 1, the others kept. Whole-image superblock damage is no
    longer a failure (issue 21): the image is searched as raw bytes, status `raw`, and recorded."""
    sb = hostile.corrupt_superblock(base, work / "whole-sb" / "sb.raw")
    empty = hostile.zero_length(work / "empty" / "empty.raw")
    case = work / "case-unusable"
    m = _scan([sb, empty, base], case, rules)
    assert m.returncode == 1
    failed = [ln for ln in m.stderr.splitlines() if ln.startswith("seized: error:")]
    assert not any(str(sb) in ln for ln in failed), failed
    assert any(str(empty) in ln and "too small" in ln for ln in failed), failed
    _assert_hashed(case, list(SHA))
    assert "raw" in {v["status"] for v in _rows(case, "volumes")}
    assert any(e["stage"] == "volumes" and "raw bytes" in e["error"] for e in _rows(case, "errors"))


def test_zero_length_image_alone_is_a_one_line_usage_error(work: Path, rules: Path) -> None:
    empty = hostile.zero_length(work / "empty-alone" / "empty.raw")
    m = hostile.run_measured(*hostile.scan_args([empty], work / "case-empty", rules), timeout=TIME_BOUND)
    assert m.returncode == 2
    _one_line_errors(m)
    assert "too small" in m.stderr


def test_truncated_image_files_inside_still_hashed(big: Path, rules: Path, work: Path) -> None:
    image = hostile.truncated(big, work / "trunc" / "half.raw", 4 * imaging.MIB)
    case = work / "case-trunc"
    _scan([image], case, rules)
    assert any(e["path"] == "/small.txt" for e in _rows(case, "errors"))  # its block is past the cut


def test_truncated_image_file_crossing_the_end_is_not_silently_zero_filled(big: Path, rules: Path,
                                                                           work: Path) -> None:
    image = hostile.truncated(big, work / "trunc2" / "half.raw", 4 * imaging.MIB)
    case = work / "case-trunc2"
    _scan([image], case, rules)
    row = next(r for r in _rows(case, "files") if r["path"] == "/big.bin")
    assert row["sha256"] != hashlib.sha256(BIG).hexdigest()  # the true hash cannot be known
    assert row["status"] == "error" and row["sha256"] is None, row
    assert any(e["path"] == "/big.bin" for e in _rows(case, "errors"))


def test_mbr_partition_running_past_the_end_is_recorded(base: Path, rules: Path, work: Path) -> None:
    disk = hostile.mbr_disk(work / "mbrpast" / "disk.raw", [(2048, 16384, "83"), (18432, 100000, "83")],
                            [(2048, base), (18432, base)], 20 * imaging.MIB)
    case = work / "case-mbrpast"
    _scan([disk], case, rules)
    _assert_hashed(case, list(SHA), volume="mbr:2")
    assert any(e["volume"] == "mbr:3" for e in _rows(case, "errors")), "clipped partition not recorded"


def test_mbr_partition_starting_past_the_end_keeps_the_others(base: Path, rules: Path, work: Path) -> None:
    disk = hostile.mbr_disk(work / "mbrbeyond" / "disk.raw", [(2048, 16384, "83"), (100000, 100000, "83")],
                            [(2048, base)], 20 * imaging.MIB)
    case = work / "case-mbrbeyond"
    _scan([disk], case, rules)
    _assert_hashed(case, list(SHA), volume="mbr:2")


HUGE_TIME_BOUND = 15


def test_inode_claiming_a_terabyte_is_bounded(base: Path, rules: Path, work: Path) -> None:
    image = hostile.claim_size(base, work / "huge" / "huge.raw", "/victim.txt", 1 << 40)
    case = work / "case-huge"
    m = hostile.run_measured(*hostile.scan_args([image], case, rules), timeout=HUGE_TIME_BOUND)
    assert not m.timed_out, f"scan of a 1 TiB-claiming inode did not finish in {HUGE_TIME_BOUND} s " \
                            f"(peak RSS {m.max_rss / 2**20:.0f} MiB)"
    assert m.returncode in (0, 1)
    assert m.max_rss < RSS_BOUND
    assert_accounting(case)
    _assert_hashed(case, [p for p in SHA if p != "/victim.txt"])
    assert any(e["path"] == "/victim.txt" for e in _rows(case, "errors"))
