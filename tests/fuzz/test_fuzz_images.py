"""Property: whatever bytes an image holds, the scan ends with a result, never a traceback.

Small real images (a FAT12 and an MBR disk built by mkfs.fat/sfdisk, the pytsk project's
ext2 image from the shared corpus, an EWF file written by ewfacquire) have a few byte runs
overwritten by hypothesis, mostly in the first 64 KiB where the partition table, boot
sector, superblock, FATs, group descriptors and EWF section headers live. Each mutant is
scanned in this process (seized.conductor.scan, `--workers 0` equivalent) and must:
  * not raise (the CLI would turn an escaping exception into exit 3 or a traceback);
  * end with exit code 0, 1 or 2 (2 = nothing scanned, e.g. no file system left);
  * when a case was written, keep the accounting identities (tests/accounting.py).

Run length: HYPOTHESIS_PROFILE=nightly (or SEIZED_FUZZ_EXAMPLES=N) for the long run, see
docs/FUZZING.md; by default each seed gets a few derandomized examples (~25 in all) so
`make test` stays reproducible and under a minute.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests import hostile, imaging
from tests.accounting import assert_accounting

CORPUS_EXT2 = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "disk_images" / "pytsk" / "image.raw"
NIGHTLY = os.environ.get("HYPOTHESIS_PROFILE") == "nightly"
EXAMPLES = int(os.environ.get("SEIZED_FUZZ_EXAMPLES") or (500 if NIGHTLY else 6))
FOCUS = 64 * 1024  # most edits land in the metadata at the start of the image

FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not NIGHTLY, database=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                HealthCheck.data_too_large])


def edits(size: int) -> st.SearchStrategy[list[tuple[int, bytes]]]:
    """1-8 overwrites of 1-16 bytes; 3 in 4 land in the first 64 KiB."""
    focus = min(size, FOCUS)
    offset = st.one_of(st.integers(0, focus - 1), st.integers(0, focus - 1), st.integers(0, focus - 1),
                       st.integers(0, size - 1))
    value = st.one_of(st.binary(min_size=1, max_size=16),
                      st.sampled_from([b"\x00" * 4, b"\xff" * 4, b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80",
                                       b"\x01\x00\x00\x00"]))
    return st.lists(st.tuples(offset, value), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds(work: Path) -> dict[str, Path]:
    flat = Path(__file__).resolve().parents[1] / "data" / "trees" / "flat"
    fat = imaging.fat_from_tree(flat, work / "seed" / "flat.fat12.raw", 1, fat_bits=12)
    mbr = imaging.partitioned_disk(work / "seed" / "disk.mbr.raw", [fat], label="dos")
    e01 = imaging.ewf_from_raw(fat, work / "seed-ewf" / "flat.E01")
    out = {"fat": fat, "mbr": mbr, "ewf": e01}
    if CORPUS_EXT2.is_file():
        out["ext2"] = CORPUS_EXT2
    return out


@pytest.fixture(scope="module")
def rules(work: Path) -> Path:
    return hostile.marker_rules(work / "marker.yar")


def _scan_mutant(seed: Path, changes: list[tuple[int, bytes]], work: Path, rules: Path) -> None:
    from seized.conductor import ScanRequest, scan

    # A fresh name per example: worker caches are keyed by image path (see docs/FUZZING.md).
    folder = work / "m" / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True)
    mutant = folder / (seed.name if seed.suffix.upper() != ".E01" else "m.E01")
    data = bytearray(seed.read_bytes())
    for offset, value in changes:
        data[offset:offset + len(value)] = value[: max(0, len(data) - offset)]
    mutant.write_bytes(bytes(data))
    case = folder.with_name(folder.name + "-case")  # a case may not lie in the evidence's folder
    lines: list[str] = []
    try:
        outcome = scan(ScanRequest(images=[str(mutant)], case=case, workers=0, scheduler=None, rule_paths=[rules],
                                   default_rules=False, force=False, command_line=["fuzz"]),
                       lines.append, lines.append)
        assert outcome.exit_code in (0, 1, 2), (outcome.exit_code, lines)
        for line in lines:
            assert "\n" not in line.strip(), f"multi-line message: {line!r}"
        if outcome.manifest is not None:
            assert_accounting(case)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _forget_cached_readers()


def _forget_cached_readers() -> None:
    """Close the in-process worker's cached image readers (one set per mutant otherwise piles up)."""
    from seized import worker

    for reader in list(worker._images.values()):
        reader.close()
    worker._images.clear()
    worker._filesystems.clear()


def _seed(seeds: dict[str, Path], name: str) -> Path:
    if name not in seeds:
        pytest.skip(f"seed {name} not available (corpus image missing: {CORPUS_EXT2})")
    return seeds[name]


@pytest.mark.parametrize("name", ["fat", "mbr", "ext2", "ewf"])
def test_mutated_image_never_crashes_the_scan(seeds, rules: Path, work: Path, name: str) -> None:
    seed = _seed(seeds, name)
    size = seed.stat().st_size

    @FUZZ_SETTINGS
    @given(changes=edits(size))
    def run(changes: list[tuple[int, bytes]]) -> None:
        _scan_mutant(seed, changes, work, rules)

    run()
