"""Shared fixtures: real images built once per session, the peer corpus, and scan helpers.

Every image is built by real tools (tests/imaging.py) into its own directory under the
session's tmp dir, so a test can check that a scan leaves that directory untouched.
"""
from __future__ import annotations

import json
from collections import Counter
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from tests import cli_server, imaging, oracle

pytest_plugins = ("tests.democase",)  # the demo case fixtures, built once per session

REPO = Path(__file__).resolve().parents[1]
TREES = REPO / "tests" / "data" / "trees"
# The public peer corpus: $SEIZED_CORPUS, else ../shared/corpus beside the checkout (a relative
# value is taken from the repository root). Every corpus-using test goes through `corpus`.
CORPUS = (REPO / os.environ.get("SEIZED_CORPUS", "../shared/corpus")).resolve()
SCAN_TIMEOUT = 300
SECTOR = 512

# A name git cannot carry portably: Latin-1 "é", not valid UTF-8.
NON_UTF8_NAME = b"home/spammer/caf\xe9.txt"
NON_UTF8_CONTENT = b"written under a Latin-1 file name\n"
# Deleted from the ext4 image with plain `rm`: content still reachable through the inode.
DELETED_BY_RM = "/home/spammer/draft.txt"
# Deleted kernel-style (inode truncated): content only in unallocated blocks.
DELETED_WIPED = "/home/spammer/lists/old_combo.txt"
# The alternate data stream planted on the NTFS image.
ADS_FILE, ADS_NAME = "/readme.txt", "Zone.Identifier"
ADS_CONTENT = b"[ZoneTransfer]\r\nZoneId=3\r\nHostUrl=http://soft.example.com/\r\n"

os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


# ---------------------------------------------------------------------------------------------
# Which pytest-xdist worker runs what (`make test-fast`: -n 2 --dist loadfile)

# Test files that share a costly session build run on the same worker, so that it is built
# once, not once per worker; every other file is a unit of its own, as --dist loadfile makes it.
# (Through the scheduler: the xdist_group marks of --dist loadgroup are silently ignored with
# pytest 9.2, pytest-xdist issue 1386.)
SHARED_BUILDS = {
    "knownsystem": ("test_known_clean_system.py", "test_known_hashsets.py", "test_known_merged_usr.py",
                    "test_known_modified.py", "test_known_var_partition.py"),  # tests/knownsystem.py
    "democase": ("test_case_directory.py", "test_exports.py", "test_query.py", "test_declaration.py",
                 "test_damaged_media.py", "test_progress.py", "test_locked_down.py"),  # tests/democase.py
}
_GROUP_OF = {name: group for group, names in SHARED_BUILDS.items() for name in names}
# The units with the most CPU seconds (measured), handed out first so that neither worker is left
# alone with one at the end; the rest follow in collection order.
HEAVY_FIRST = ("democase", "knownsystem", "tests/test_reliability_filesystems.py", "tests/test_foundation_oracle.py",
               "tests/test_operator_robustness.py", "tests/test_reports.py", "tests/test_reliability_faults.py",
               "tests/test_pipeline_content.py", "tests/test_integrity.py")


def _unit(nodeid: str) -> str:
    file = nodeid.split("::", 1)[0]
    return _GROUP_OF.get(file.rsplit("/", 1)[-1], file)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedBuildScheduling(LoadFileScheduling):
        def __init__(self, config: pytest.Config, log=None) -> None:
            super().__init__(config, log)
            config.option.loadscopereorder = False  # the order is the workers' collection order (below)

        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    return SharedBuildScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker: the HEAVY_FIRST units first (a stable sort: a file's tests keep their order)."""
    if hasattr(config, "workerinput"):
        rank = {unit: i for i, unit in enumerate(HEAVY_FIRST)}
        items.sort(key=lambda item: rank.get(_unit(item.nodeid), len(rank)))


# ---------------------------------------------------------------------------------------------
# Helpers (importable: `from tests.conftest import run_seized, read_table`)


def run_seized(*args: str | os.PathLike[str], timeout: float = SCAN_TIMEOUT,
               cwd: Path | None = None, fresh: bool = False) -> subprocess.CompletedProcess[str]:
    """`python -m seized ARGS...` in a child process, output captured as text.

    The child is forked from a server that has imported seized once (tests/cli_server.py): a
    process of its own with its own exit status, stdout and stderr, without a CPU second of
    imports per run. A fresh interpreter instead with `fresh`, or for every run with
    SEIZED_TEST_FRESH_CLI=1."""
    argv = [os.fspath(a) for a in args]
    if fresh or not cli_server.SERVER.usable():
        return subprocess.run([sys.executable, "-m", "seized", *argv], capture_output=True,
                              text=True, errors="replace", timeout=timeout, cwd=cwd or REPO,
                              stdin=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="seized-cli-") as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        code = cli_server.SERVER.run(argv, timeout, cwd or REPO, out, err)
        return subprocess.CompletedProcess([sys.executable, "-m", "seized", *argv], code, _text(out), _text(err))


def _text(path: Path) -> str:
    """A child's output as subprocess.run(text=True) gives it (universal newlines)."""
    return path.read_bytes().decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n")


def read_table(case: Path, name: str) -> pa.Table:
    """A case table as one pyarrow Table (CASE/tables/NAME/part-*.parquet)."""
    return ds.dataset(case / "tables" / name, format="parquet").to_table()


def table_names(case: Path) -> list[str]:
    return sorted(p.name for p in (case / "tables").iterdir() if p.is_dir())


def scan_ok(case: Path, *images: Path, extra: tuple[str, ...] = ()) -> Path:
    """Scan `images` into `case`; fail the test with seized's stderr unless it exits 0."""
    proc = run_seized("scan", *images, "-o", case, "--no-report", *extra)
    if proc.returncode != 0:
        pytest.fail(f"seized scan exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return case


def manifest(case: Path) -> dict:
    return json.loads((case / "manifest.json").read_text())


# ---------------------------------------------------------------------------------------------
# Comparing a scan with the TSK oracle (the rules are in tests/test_foundation_oracle.py)


def _sanitize(raw: bytes) -> bytes:
    return bytes(0x5E if b < 0x20 else b for b in raw)


def row_path_bytes(row: dict) -> bytes:
    """The row's path as bytes, from `path_raw` / `name_raw` when the name is not UTF-8.

    The contract names a `name_raw` column (the name's bytes); the scan writes `path_raw`
    (the whole path's bytes). Either is accepted here; the test of the non-UTF-8 name
    reports which one is present.
    """
    path = row["path"]
    if row.get("path_raw") is not None:
        return _sanitize(row["path_raw"])
    if row.get("name_raw") is not None:
        parent = path.rsplit("/", 1)[0]
        return _sanitize(parent.encode("utf-8") + b"/" + row["name_raw"])
    return _sanitize(path.encode("utf-8"))


def fls_path_bytes(entry: oracle.FlsEntry) -> bytes:
    return _sanitize(entry.path.encode("utf-8", "surrogateescape"))


_IDS: dict[Path, str] = {}


def evidence_id(*segments: Path) -> str:
    """The contract's evidence id of a medium: the first 16 hex of its sha256."""
    key = segments[0]
    if key not in _IDS:
        _IDS[key] = oracle.sha256_file(list(segments))[:16]
    return _IDS[key]


def files_of(case: Path, volume: str | None = None, evidence: str | None = None) -> list[dict]:
    """`files` rows (without `.`/`..`), optionally of one volume and one evidence id."""
    rows = read_table(case, "files").to_pylist()
    return [r for r in rows if r["name"] not in (".", "..") and (volume is None or r["volume"] == volume)
            and (evidence is None or r["evidence_id"] == evidence)]


def assert_files_match_fls(rows: list[dict], image: Path | list[Path], offset_sectors: int | None) -> int:
    """Rows of one file system vs fls/icat (rules: tests/test_foundation_oracle.py docstring).

    Returns how many allocated regular files had their sha256 checked against icat.
    """
    entries = oracle.fls_entries(image, offset_sectors)
    is_ntfs = any(e.attr_type is not None for e in entries)
    fls_names = Counter((fls_path_bytes(e), e.inode, not e.deleted) for e in entries)
    # Off NTFS fls prints one line per name; extra stream rows (HFS+ resource forks) are extra.
    named = rows if is_ntfs else [r for r in rows if r["stream"] is None]
    table_names = Counter((row_path_bytes(r), r["inode"], r["allocated"]) for r in named)
    if is_ntfs:
        fls_names, table_names = Counter(set(fls_names)), Counter(set(table_names))
    missing = fls_names - table_names
    extra = table_names - fls_names
    assert not missing and not extra, f"names fls has but the table lacks: {sorted(missing)[:20]}\n" \
                                      f"rows fls does not print: {sorted(extra)[:20]}"
    if is_ntfs:
        fls_streams = {(fls_path_bytes(e), e.stream) for e in entries if e.stream and e.attr_type == 128}
        table_streams = {(row_path_bytes(r), r["stream"]) for r in rows if r["stream"] is not None}
        assert fls_streams == table_streams

    by_key = {(row_path_bytes(r), r["stream"]): r for r in rows}
    checked = 0
    for e in entries:
        if e.deleted or e.name_type != "r" or e.meta_type != "r":
            continue
        if is_ntfs and e.attr_type != 128:
            continue  # index attributes ($Secure:$SDH ...) are not content
        row = by_key[(fls_path_bytes(e), e.stream)]
        assert row["type"] == "file", row
        assert row["sha256"] == oracle.icat_sha256(image, e.meta, offset_sectors), (e.path, e.stream)
        checked += 1
    return checked


def volumes_of(case: Path, evidence: str | None = None) -> list[dict]:
    return [v for v in read_table(case, "volumes").to_pylist() if evidence is None or v["evidence_id"] == evidence]


def walked_volumes(case: Path, evidence: str | None = None) -> list[dict]:
    return [v for v in volumes_of(case, evidence) if v["status"] == "walked"]


def one_evidence(case: Path, evidence: str | None = None) -> dict:
    rows = [r for r in read_table(case, "evidence").to_pylist() if evidence is None or r["evidence_id"] == evidence]
    assert len(rows) == 1, rows
    return rows[0]


@dataclass(frozen=True)
class Built:
    """A built evidence item: what to hand to `seized scan`, and the raw medium behind it."""

    name: str
    scan_paths: tuple[Path, ...]  # what the examiner names on the command line (first segment)
    segments: tuple[Path, ...]  # every file of the evidence
    raw: Path  # the raw medium (same as segments[0] for a raw image)


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared peer corpus ($SEIZED_CORPUS, default ../shared/corpus); skip when absent."""
    if not (CORPUS / "SOURCES.md").is_file():
        pytest.skip(f"public corpus not found at {CORPUS}: set SEIZED_CORPUS to its folder (the one holding "
                    "SOURCES.md)")
    return CORPUS


@pytest.fixture(scope="session", autouse=True)
def hash_set_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every scan's hash-set cache in the session's tmp dir, not the user's ~/.cache. Set once,
    before the first CLI run, so the tests' CLI server starts under it (and stays up)."""
    os.environ["SEIZED_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "hashset-cache")
    return Path(os.environ["SEIZED_CACHE_DIR"])


@pytest.fixture(scope="session")
def images_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="session")
def server_tree(images_root: Path) -> Path:
    tree = imaging.stage_tree(TREES / "server", images_root / "trees" / "server")
    imaging.add_file(tree, NON_UTF8_NAME, NON_UTF8_CONTENT)
    return tree


def _own_dir(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def ext4_image(images_root: Path, server_tree: Path) -> Path:
    """16 MiB ext4 of the server tree, one file deleted by rm, one deleted kernel-style."""
    image = imaging.ext4_from_tree(server_tree, _own_dir(images_root, "ext4") / "server.ext4.raw", 16)
    imaging.delete_in_ext4(image, DELETED_BY_RM)
    imaging.delete_in_ext4(image, DELETED_WIPED, wipe_extents=True)
    return image


@pytest.fixture(scope="session")
def fat32_image(images_root: Path, server_tree: Path) -> Path:
    """34 MiB FAT32 of the server tree (the smallest FAT32 TSK accepts), one file deleted."""
    image = imaging.fat_from_tree(server_tree, _own_dir(images_root, "fat32") / "server.fat32.raw", 34)
    imaging.delete_in_fat(image, DELETED_BY_RM)
    return image


@pytest.fixture(scope="session")
def fat16_image(images_root: Path) -> Path:
    return imaging.fat_from_tree(TREES / "flat", _own_dir(images_root, "fat16") / "flat.fat16.raw", 8, fat_bits=16)


@pytest.fixture(scope="session")
def ntfs_image(images_root: Path) -> Path:
    """8 MiB NTFS of the flat tree with an alternate data stream on readme.txt."""
    image = imaging.ntfs_from_tree(TREES / "flat", _own_dir(images_root, "ntfs") / "flat.ntfs.raw", 8)
    imaging.add_ntfs_stream(image, ADS_FILE, ADS_NAME, ADS_CONTENT)
    return image


@pytest.fixture(scope="session")
def gpt_disk(images_root: Path, ext4_image: Path, fat16_image: Path) -> Path:
    """GPT disk: ext4 at 1 MiB, FAT16 after it."""
    return imaging.partitioned_disk(_own_dir(images_root, "gpt") / "disk.gpt.raw", [ext4_image, fat16_image])


@pytest.fixture(scope="session")
def mbr_disk(images_root: Path, ext4_image: Path, fat16_image: Path, ntfs_image: Path) -> Path:
    """MBR disk: primary ext4, then an extended partition holding logical FAT16 and NTFS."""
    return imaging.partitioned_disk(_own_dir(images_root, "mbr") / "disk.mbr.raw", [ext4_image],
                                    label="dos", logical=[fat16_image, ntfs_image])


@pytest.fixture(scope="session")
def split_images(images_root: Path, ext4_image: Path) -> dict[str, Built]:
    """The ext4 image split into 5 MiB segments in each naming style (.000, .001, .aa)."""
    out = {}
    for style in ("000", "001", "aa"):
        segments = imaging.split_raw(ext4_image, _own_dir(images_root, f"split-{style}") / "server", 5 * imaging.MIB, style)
        out[style] = Built(f"split-{style}", (segments[0],), tuple(segments), ext4_image)
    return out


@pytest.fixture(scope="session")
def e01_image(images_root: Path, ext4_image: Path) -> Built:
    """The ext4 image as an EnCase 6 E01 (ewfacquire), stored MD5 + SHA-1."""
    first = imaging.ewf_from_raw(ext4_image, _own_dir(images_root, "e01") / "server.E01")
    return Built("e01", (first,), tuple(imaging.ewf_segments(first)), ext4_image)


class ScanCache:
    """Each (name -> images) scanned once per session into its own case directory.

    In process (--workers 0) unless `workers` says otherwise: these cases are compared with
    fls/icat and the builders' truth, which Dask does not change (that its output equals the
    in-process one is tests/test_pipeline_determinism.py's); the large images keep the
    default local cluster."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._cases: dict[str, Path] = {}
        self._failed: dict[str, str] = {}

    def case(self, name: str, *images: Path, workers: str | None = "0") -> Path:
        if name not in self._cases:
            self._cases[name] = self._root / name
            try:
                scan_ok(self._root / name, *images, extra=("--workers", workers) if workers is not None else ())
            except BaseException as exc:  # do not rerun a failing scan for every test using it
                self._failed[name] = str(exc)
                raise
        if name in self._failed:
            pytest.fail(f"(scan failed earlier) {self._failed[name]}")
        return self._cases[name]


@pytest.fixture(scope="session")
def seized_cli() -> None:
    """Fail (never skip) when `seized scan` cannot even print its help: a broken import must
    turn the run red, not quietly skip every scan test."""
    proc = run_seized("scan", "--help", timeout=120, fresh=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.fail(f"`python -m seized scan --help` fails: {last}")


@pytest.fixture(scope="session")
def scans(tmp_path_factory: pytest.TempPathFactory, seized_cli: None) -> ScanCache:
    return ScanCache(tmp_path_factory.mktemp("cases"))
