"""A scan killed with SIGKILL resumes from its journal; a worker killed mid-scan costs nothing.

The image is an ext4 file system holding ~160 MiB of pseudo-random "binaries" plus an address
list, big enough that a 2-worker scan takes several seconds and spans several units. Every
run's tables must equal those of an uninterrupted scan, byte for byte.
"""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests import imaging
from tests.conftest import REPO
from tests.pipeline_support import (Scan, address_lines, assert_same_case, kill_group, scan_ok, seized_argv,
                                         snapshot, tagged)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("seized_cli")]  # slow: kills scans and workers mid-run

BLOBS = 10
BLOB_BYTES = 16 * imaging.MIB


@dataclass(frozen=True)
class Clean:
    image: Path
    scan: Scan
    units: int


def _journal_units(case: Path) -> dict[str, tuple[int, int]]:
    """Finished units in the journal: id -> (inode, mtime_ns) of its stats.json."""
    out = {}
    for stats in case.glob(".journal/*/*/stats.json"):
        if not stats.parent.name.startswith(".tmp-"):
            st = stats.stat()
            out[stats.parent.name] = (st.st_ino, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Clean:
    root = tmp_path_factory.mktemp("resume")
    tree = root / "tree"
    rng = random.Random(11)
    for i in range(BLOBS):
        imaging.add_file(tree, f"srv/bin/blob-{i:02d}.bin".encode(), rng.randbytes(BLOB_BYTES))
    imaging.add_file(tree, b"srv/lists/big.txt", address_lines("resume", 200))
    image = imaging.ext4_from_tree(tree, root / "evidence" / "big.ext4.raw", BLOBS * 16 + 24)
    os.chmod(image, 0o444)
    scan = scan_ok(root / "clean", image, "--workers", "2")
    units = len(_journal_units(scan.case))
    assert units >= 4, f"only {units} units: the image is too small to interrupt a scan"
    return Clean(image, scan, units)


def _start(case: Path, image: Path) -> subprocess.Popen:
    return subprocess.Popen(seized_argv("scan", image, "-o", case, "--workers", "2", "--no-report"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=REPO, start_new_session=True)


def _wait_for_units(proc: subprocess.Popen, case: Path, at_least: int, timeout: float = 240) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = len(_journal_units(case))
        if done >= at_least:
            return done
        if proc.poll() is not None:
            return done
        time.sleep(0.02)
    raise AssertionError(f"no {at_least} finished units within {timeout} s")


def test_clean_scan_finds_the_list(clean: Clean) -> None:
    rows = snapshot(clean.scan.case).rows
    assert len(tagged(rows["emails"], "resume")) == 200
    assert {r["path"] for r in tagged(rows["emails"], "resume")} == {"/srv/lists/big.txt"}
    assert sum(1 for f in rows["files"] if f["path"].startswith("/srv/bin/") and f["status"] == "scanned") == BLOBS


def test_killed_scan_resumes_and_ends_identical(clean: Clean, tmp_path: Path) -> None:
    case = tmp_path / "killed"
    proc = _start(case, clean.image)
    try:
        done = _wait_for_units(proc, case, 1)
        assert proc.poll() is None, "the scan finished before it could be killed (image too small?)"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        kill_group(proc)
    before = _journal_units(case)
    assert 1 <= len(before) < clean.units, (len(before), clean.units)
    assert not (case / "tables").exists()

    again = scan_ok(case, clean.image, "--workers", "2")
    m = re.search(r"resuming: (\d+) of (\d+) units already done", again.out)
    assert m, again.out
    assert (int(m[1]), int(m[2])) == (len(before), clean.units)
    after = _journal_units(case)
    assert len(after) == clean.units
    assert {k: after[k] for k in before} == before, "a journalled unit was scanned again"
    assert_same_case(snapshot(case), snapshot(clean.scan.case), "resumed after SIGKILL")
    assert done >= 1


def test_killing_a_worker_mid_scan_loses_nothing(clean: Clean, tmp_path: Path) -> None:
    case = tmp_path / "worker-killed"
    proc = _start(case, clean.image)
    killed = None
    try:
        _wait_for_units(proc, case, 1)
        assert proc.poll() is None, "the scan finished before a worker could be killed"
        # local workers are forked by multiprocessing's fork server (a child of the scan), and
        # keep its command line
        workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                   if "forkserver" in " ".join(c.cmdline()) and c.ppid() != proc.pid]
        assert len(workers) == 2, [c.cmdline() for c in workers]
        killed = workers[0].pid
        os.kill(killed, signal.SIGKILL)
        out, _ = proc.communicate(timeout=280)
    finally:
        kill_group(proc)
    assert proc.returncode == 0, out.decode(errors="replace")[-3000:]
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == psutil.STATUS_ZOMBIE
    assert len(_journal_units(case)) == clean.units
    assert_same_case(snapshot(case), snapshot(clean.scan.case), "worker killed")
