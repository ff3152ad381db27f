"""Helpers for the pipeline tests (test_pipeline_*.py); no tests here.

Evidence is built with real tools: e2fsprogs/sfdisk through `tests.imaging`, archives with
the `zip`, `tar` and `gzip` commands. The external Dask cluster is the real `dask scheduler`
and `dask worker` commands. Images are built once per session (cached by the session's
base temp dir) because several test files scan the same disk.
"""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest

from ingest import containers
from ingest.units import REGION_CHUNK
from tests import imaging
from tests.conftest import REPO, TREES, run_seized  # run_seized: a child of tests/cli_server.py

MIB = imaging.MIB
DASK = Path(sys.executable).with_name("dask")
DOMAINS = ("mail-example.ru", "yahoo.com", "hotmail.com", "gmx.de", "example.org")

# Where things are planted in the pipeline disk (paths inside the ext4 partition).
PLAIN_LIST = "/home/spammer/lists/plain.txt"
WIPED_LIST = "/home/spammer/lists/old_list.txt"  # deleted kernel-style
ARCHIVES = "/home/spammer/archive"
BOUNDARY_ADDRESS = "straddle.boundary@mail-example.ru"
DEEP_OK_LEVELS = containers.MAX_DEPTH  # innermost list is expanded
DEEP_TOO_LEVELS = containers.MAX_DEPTH + 2  # innermost list is beyond the limit
BOMB_FANOUT = 16
BOMB_LEVELS = 3
BOMB_LEAF_BYTES = 64 * MIB  # under MAX_MEMBER: only the ratio limit stops it


def address_lines(tag: str, n: int) -> bytes:
    """`n` distinct addresses, one a line, each local part starting with `tag.`."""
    return "".join(f"{tag}.{i:04d}@{DOMAINS[i % len(DOMAINS)]}\n" for i in range(n)).encode()


def tagged(rows: list[dict], tag: str) -> list[dict]:
    return [r for r in rows if r["address"].startswith(tag + ".")]


def _tool(argv: list[str], cwd: Path) -> None:
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC", "GZIP": "-n"}
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, env=env, timeout=300)
    if proc.returncode != 0:
        raise imaging.ImagingError(f"{' '.join(argv)} failed: {proc.stderr.decode(errors='replace').strip()}")


def _pinned(path: Path) -> Path:
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (imaging.FIXED_EPOCH, imaging.FIXED_EPOCH))
    return path


def zip_of(dest: Path, workdir: Path, names: list[str]) -> Path:
    """`zip -X -r dest names...` run in `workdir` (times pinned first, so bytes are reproducible).

    `-n :` makes zip deflate members named *.zip too (by default it stores them), as the
    makers of 42.zip did: that is what lets each level of a bomb stay small.
    """
    for n in names:
        _pinned(workdir / n)
    _tool(["zip", "-q", "-X", "-n", ":", "-r", str(dest), *names], workdir)
    return dest


def tar_gz_of(dest: Path, workdir: Path, names: list[str]) -> Path:
    _tool(["tar", "--sort=name", f"--mtime=@{imaging.FIXED_EPOCH}", "--owner=0", "--group=0", "--numeric-owner",
           "-czf", str(dest), *names], workdir)
    return dest


def build_archives(out: Path, work: Path) -> None:
    """Archives holding address lists, a 42-style bomb and two deep nests, written into `out`."""
    work.mkdir(parents=True)
    # outer.zip: a list at the top level
    (work / "z").mkdir()
    (work / "z" / "list.txt").write_bytes(address_lines("inzip", 30))
    zip_of(out / "outer.zip", work / "z", ["list.txt"])
    # lists.tar.gz: a list in a folder inside a gzipped tar
    (work / "t" / "lists").mkdir(parents=True)
    (work / "t" / "lists" / "targz.txt").write_bytes(address_lines("intargz", 30))
    tar_gz_of(out / "lists.tar.gz", work / "t", ["lists"])
    # nested.zip: inner.tar.gz inside a zip
    (work / "n" / "inner").mkdir(parents=True)
    (work / "n" / "inner" / "list.txt").write_bytes(address_lines("nested", 30))
    (work / "n2").mkdir()
    tar_gz_of(work / "n2" / "inner.tar.gz", work / "n", ["inner"])
    zip_of(out / "nested.zip", work / "n2", ["inner.tar.gz"])
    # double.zip: nested.zip inside a zip (a gzip member two levels down)
    (work / "n3").mkdir()
    shutil.copy(out / "nested.zip", work / "n3" / "nested.zip")
    zip_of(out / "double.zip", work / "n3", ["nested.zip"])
    # deep nests: zip in zip in zip ... with a list at the bottom
    for levels, tag in ((DEEP_OK_LEVELS, "deepok"), (DEEP_TOO_LEVELS, "deeptoo")):
        d = work / tag
        d.mkdir()
        (d / "list.txt").write_bytes(address_lines(tag, 20))
        inner = "list.txt"
        for level in range(levels, 0, -1):
            name = f"{tag}{level}.zip"
            zip_of(d / name, d, [inner])
            inner = name
        os.replace(d / inner, out / f"{tag}.zip")
    # 42-style bomb: a zip of BOMB_FANOUT copies of a zip of ... of one large all-zero file
    b = work / "bomb"
    b.mkdir()
    with open(b / "zeros.bin", "wb") as fh:
        fh.truncate(BOMB_LEAF_BYTES)
    zip_of(b / "leaf.zip", b, ["zeros.bin"])
    current = b / "leaf.zip"
    for level in range(BOMB_LEVELS):
        lvl = b / f"l{level}"
        lvl.mkdir()
        names = [f"{i:x}.zip" for i in range(BOMB_FANOUT)]
        for n in names:
            os.link(current, lvl / n)
        zip_of(b / f"level{level}.zip", lvl, names)
        current = b / f"level{level}.zip"
    os.replace(current, out / "bomb.zip")


@dataclass(frozen=True)
class PipelineDisk:
    path: Path  # GPT disk: ext4 (server tree, lists, archives), FAT16, then old data outside volumes
    ext4_start: int  # image offset of the ext4 partition
    boundary: int  # image offset of a region-chunk boundary in the trailing free space
    planted_at: int  # image offset of BOUNDARY_ADDRESS (straddles `boundary`)


_DISKS: dict[Path, PipelineDisk] = {}


def pipeline_disk(factory: pytest.TempPathFactory) -> PipelineDisk:
    """The shared test disk (built once per session)."""
    key = factory.getbasetemp()
    if key not in _DISKS:
        _DISKS[key] = _build_disk(factory.mktemp("pipeline-disk"))
    return _DISKS[key]


def _build_disk(root: Path) -> PipelineDisk:
    tree = imaging.stage_tree(TREES / "server", root / "tree")
    imaging.add_file(tree, PLAIN_LIST.lstrip("/").encode(), address_lines("plain", 50))
    imaging.add_file(tree, WIPED_LIST.lstrip("/").encode(), address_lines("wiped", 40))
    (tree / ARCHIVES.lstrip("/")).mkdir(parents=True)
    build_archives(tree / ARCHIVES.lstrip("/"), root / "archive-work")
    ext4 = imaging.ext4_from_tree(tree, root / "part1.ext4", 12)
    imaging.delete_in_ext4(ext4, WIPED_LIST, wipe_extents=True)
    fat = imaging.fat_from_tree(TREES / "flat", root / "part2.fat16", 8, fat_bits=16)
    disk_dir = root / "evidence"
    disk = imaging.partitioned_disk(disk_dir / "disk.raw", [ext4, fat], label="gpt")
    # Old data after the partitions (a bigger drive re-partitioned): pseudo-random bytes with one
    # address planted across the first region-chunk boundary of that trailing free space.
    part_end = (1 + 12 + 8) * MIB  # partitioned_disk: 1 MiB aligned, ext4 then FAT16
    boundary = part_end + REGION_CHUNK
    size = boundary + 8 * MIB
    rng = random.Random(5)
    addr = BOUNDARY_ADDRESS.encode()
    planted_at = boundary - len(addr) // 2
    with open(disk, "r+b") as fh:
        fh.seek(part_end + MIB)  # past the backup GPT sfdisk put at the old end
        pos = part_end + MIB
        while pos < size:
            n = min(4 * MIB, size - pos)
            fh.write(rng.randbytes(n))
            pos += n
        fh.seek(planted_at - 1)
        fh.write(b"\n" + addr + b"\n")
    os.chmod(disk, 0o444)
    return PipelineDisk(disk, MIB, boundary, planted_at)


# ---------------------------------------------------------------------------------------------
# Case snapshots


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, list[dict]]  # table -> rows
    sha256: dict[str, str]  # "table/part-0.parquet" -> sha256 of the file

    def finding_ids(self) -> dict[str, list[str]]:
        return {name: [r["finding_id"] for r in rows] for name, rows in self.rows.items()
                if rows and "finding_id" in rows[0]}


def snapshot(case: Path) -> Snapshot:
    rows, digests = {}, {}
    for table_dir in sorted(p for p in (case / "tables").iterdir() if p.is_dir()):
        files = sorted(table_dir.glob("*.parquet"))
        assert files, f"{table_dir} holds no Parquet file"
        rows[table_dir.name] = [r for f in files for r in pq.read_table(f).to_pylist()]
        for f in files:
            digests[f"{table_dir.name}/{f.name}"] = hashlib.sha256(f.read_bytes()).hexdigest()
    return Snapshot(rows, digests)


def assert_same_case(got: Snapshot, want: Snapshot, label: str) -> None:
    assert sorted(got.rows) == sorted(want.rows), label
    for name in want.rows:
        assert got.rows[name] == want.rows[name], f"{label}: table {name} differs"
    assert got.sha256 == want.sha256, f"{label}: Parquet bytes differ"
    assert got.finding_ids() == want.finding_ids(), label


# ---------------------------------------------------------------------------------------------
# Processes


def seized_argv(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "seized", *map(os.fspath, args)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group `proc` leads (it was started with start_new_session=True)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


@contextmanager
def dask_cluster(workdir: Path, workers: int = 2, hidden: Path | None = None,
                 worker_env: dict[str, str] | None = None) -> Iterator[str]:
    """`dask scheduler` + `dask worker` processes on 127.0.0.1; yields the scheduler address.

    With `hidden`, the workers run in their own mount namespace with an empty tmpfs over that
    folder: like workers on another machine that do not see the evidence share. `worker_env`
    is added to the workers' environment (e.g. a PYTHONPATH with another checkout first).
    """
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}

    def start(argv: list[str], name: str, extra: dict[str, str] | None = None) -> None:
        log = open(workdir / f"{name}.log", "wb")
        procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      cwd=workdir, env={**env, **(extra or {})}, start_new_session=True))
        log.close()

    try:
        start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], "scheduler")
        for i in range(workers):
            argv = [str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                    "--local-directory", str(workdir / f"w{i}")]
            if hidden is not None:
                mount = f"mount -t tmpfs -o size=1m seized-test {hidden} && exec \"$@\""
                argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount, "sh", *argv]
            start(argv, f"worker{i}", worker_env)
        _wait_for_workers(address, workers, procs, workdir)
        yield address
    finally:
        for proc in reversed(procs):
            kill_group(proc)


def _wait_for_workers(address: str, n: int, procs: list[subprocess.Popen], workdir: Path) -> None:
    from distributed import Client

    deadline = time.monotonic() + 60
    while True:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            logs = "\n".join(f.read_text(errors="replace")[-1500:] for f in sorted(workdir.glob("*.log")))
            raise AssertionError(f"a Dask process exited early ({dead[0].args[:3]}):\n{logs}")
        try:
            with Client(address, timeout="5s") as client:
                client.wait_for_workers(n, timeout=max(1.0, deadline - time.monotonic()))
                return
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# ---------------------------------------------------------------------------------------------
# Scans


@dataclass(frozen=True)
class Scan:
    case: Path
    returncode: int
    out: str  # stdout + stderr
    err: str
    seconds: float


def run_scan(case: Path, *args: str | os.PathLike[str], timeout: float = 300) -> Scan:
    start = time.monotonic()
    proc = run_seized("scan", *args, "-o", case, "--no-report", timeout=timeout, cwd=REPO)
    return Scan(case, proc.returncode, proc.stdout + proc.stderr, proc.stderr, time.monotonic() - start)


def scan_ok(case: Path, *args: str | os.PathLike[str]) -> Scan:
    result = run_scan(case, *args)
    if result.returncode != 0:
        pytest.fail(f"seized scan {' '.join(map(str, args))} exited {result.returncode}:\n{result.out[-4000:]}")
    return result


_REFERENCE: dict[Path, Scan] = {}


def reference_scan(factory: pytest.TempPathFactory) -> Scan:
    """The pipeline disk scanned in-process (--workers 0), once per session."""
    key = factory.getbasetemp()
    if key not in _REFERENCE:
        disk = pipeline_disk(factory)
        _REFERENCE[key] = scan_ok(factory.mktemp("case-w0") / "case", disk.path, "--workers", "0")
    return _REFERENCE[key]
