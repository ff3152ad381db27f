"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) and SIGTERM stop a real
2-worker scan with one line and exit 130 / 143; no worker traceback or Dask log reaches the
terminal; running the same command again resumes and gives the very same tables (issue 21)."""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import imaging
from tests.conftest import REPO
from tests.pipeline_support import address_lines, assert_same_case, kill_group, seized_argv, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("seized_cli")]  # slow: signals a running scan and resumes it

LINE = re.compile(r"^seized: error: interrupted after (\d+) of (\d+) units; run the same command again to resume$")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("interrupt")
    rng = random.Random(21)
    tree = root / "tree"
    for i in range(6):
        imaging.add_file(tree, f"srv/bin/blob-{i}.bin".encode(), rng.randbytes(16 * imaging.MIB))
    imaging.add_file(tree, b"srv/lists/list.txt", address_lines("sig", 300))
    return imaging.ext4_from_tree(tree, root / "evidence" / "disk.ext4", 6 * 16 + 24)


def _args(image: Path, case: Path, workers: str = "2") -> list[str]:
    return seized_argv("scan", image, "-o", case, "--workers", workers, "--no-report", "--no-default-rules")


@pytest.fixture(scope="module")
def clean(image: Path, tmp_path_factory: pytest.TempPathFactory):
    case = tmp_path_factory.mktemp("interrupt-clean") / "case"
    proc = subprocess.run(_args(image, case), capture_output=True, text=True, timeout=600, cwd=REPO,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return snapshot(case)


def _finished(case: Path) -> int:
    return sum(1 for p in case.glob(".journal/*/*/stats.json") if not p.parent.name.startswith(".tmp-"))


def _interrupt(image: Path, case: Path, sig: int, to_group: bool,
               workers: str) -> tuple[subprocess.CompletedProcess, int]:
    proc = subprocess.Popen(_args(image, case, workers), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while _finished(case) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the scan ended before it could be interrupted"
        (os.killpg if to_group else os.kill)(proc.pid, sig)
        out, err = proc.communicate(timeout=120)
    finally:
        kill_group(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), _finished(case)


@pytest.mark.parametrize("sig,to_group,code,workers", [(signal.SIGINT, True, 130, "2"), (signal.SIGTERM, False, 143, "2"),
                                                       (signal.SIGTERM, True, 143, "2"), (signal.SIGINT, True, 130, "0")],
                         ids=["ctrl-c", "sigterm", "sigterm-group", "ctrl-c-in-process"])
def test_signal_gives_one_line_and_resume_gives_the_same_tables(image: Path, clean, tmp_path: Path, sig: int,
                                                                to_group: bool, code: int, workers: str) -> None:
    case = tmp_path / "case"
    stopped, journalled = _interrupt(image, case, sig, to_group, workers)
    assert stopped.returncode == code, stopped.stderr[-3000:]
    lines = [ln for ln in stopped.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stopped.stderr[-3000:]
    m = LINE.match(lines[0])
    assert m, lines[0]
    done, total = int(m.group(1)), int(m.group(2))
    assert 1 <= done <= total and done <= journalled
    assert "Traceback" not in stopped.stdout and "distributed" not in stopped.stdout
    again = subprocess.run(_args(image, case), capture_output=True, text=True, timeout=600, cwd=REPO,
                           stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming: " in again.stdout
    assert_same_case(snapshot(case), clean, f"resumed after signal {sig}")
