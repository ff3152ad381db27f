"""An existing Dask cluster runs a case only when every worker has this machine's seized: the
same extractor versions, libraries and source files (same input, same output). A worker with
another checkout is refused with one line naming it, before anything is written.

The worker is a real `dask worker` whose PYTHONPATH puts a copy of the project first, with one
extractor's version changed: what a host left on an older install looks like.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from seized.cluster import WORKER_PACKAGES, software_mismatch, worker_software
from tests.pipeline_support import REPO, dask_cluster, run_scan


def test_same_software_matches() -> None:
    ours = worker_software()
    assert ours["source"] and ours["extractor emails"] and ours["python"]
    assert software_mismatch(ours, {"tcp://a:1": dict(ours), "tcp://b:2": dict(ours)}) is None


def test_a_different_version_names_the_worker_and_the_part() -> None:
    ours = {"python": "3.11.7", "extractor emails": "1.1.0", "source": "aa"}
    theirs = {**ours, "extractor emails": "1.0.0", "source": "bb"}
    line = software_mismatch(ours, {"tcp://a:1": dict(ours), "tcp://b:2": theirs})
    assert line == ("worker tcp://b:2 runs extractor emails 1.0.0, this machine 1.1.0: every worker needs the same "
                    "seized and packages (the same .venv)")
    line = software_mismatch(ours, {"tcp://a:1": {**ours, "source": "cc"}})
    assert line is not None and "seized's source files cc" in line
    line = software_mismatch(ours, {"tcp://a:1": {k: v for k, v in ours.items() if k != "python"}})
    assert line is not None and "python absent" in line


def test_a_worker_that_cannot_import_seized() -> None:
    line = software_mismatch({"source": "aa"}, {"tcp://a:1": ModuleNotFoundError("No module named 'seized'")})
    assert line == ("worker tcp://a:1 cannot run seized (ModuleNotFoundError: No module named 'seized'): "
                    "install the same seized on every worker")


@pytest.mark.slow  # a real dask scheduler and worker
def test_worker_with_another_checkout_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other-checkout"
    for package in {*WORKER_PACKAGES, "reports", "exports"}:
        shutil.copytree(REPO / package, other / package, ignore=shutil.ignore_patterns("__pycache__"))
    emails = other / "extractors" / "emails.py"
    text, n = re.subn(r'^VERSION = "[^"]+"', 'VERSION = "0.9.0"', emails.read_text(), count=1, flags=re.M)
    assert n == 1
    emails.write_text(text)
    (tmp_path / "evidence").mkdir()
    image = tmp_path / "evidence" / "disk.raw"
    image.write_bytes(b"\0" * (1 << 20))
    with dask_cluster(tmp_path / "dask", workers=1, worker_env={"PYTHONPATH": str(other)}) as address:
        got = run_scan(tmp_path / "case", image, "--scheduler", address, timeout=120)
    assert got.returncode == 2, got.out
    lines = [ln for ln in got.err.splitlines() if ln.strip()]
    assert len(lines) == 1, got.err
    assert re.fullmatch(r"seized: error: worker tcp://127\.0\.0\.1:\d+ runs extractor emails 0\.9\.0, this machine "
                        r"\d+\.\d+\.\d+: every worker needs the same seized and packages \(the same \.venv\)", lines[0])
    assert not (tmp_path / "case" / "tables").exists()
