"""Same input, same output: in-process, 1 and 2 local Dask workers, an external cluster, a rerun.

Every table is compared row by row (finding ids included) and the Parquet files byte for byte
(sha256), against the in-process scan of the shared pipeline disk (tests/pipeline_support.py).
The external cluster is the real `dask scheduler` / `dask worker` commands on 127.0.0.1.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from seized.cluster import _missing_paths
from tests.pipeline_support import (PipelineDisk, Scan, assert_same_case, dask_cluster, pipeline_disk,
                                         reference_scan, run_scan, scan_ok, snapshot)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("seized_cli")]  # slow: external Dask clusters, unreachable schedulers


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> PipelineDisk:
    return pipeline_disk(tmp_path_factory)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    return reference_scan(tmp_path_factory)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("determinism")


def test_reference_scan_is_complete(reference: Scan) -> None:
    snap = snapshot(reference.case)
    for table in ("evidence", "volumes", "files", "errors", "emails", "harvest_lists"):
        assert table in snap.rows, f"table {table} missing"
    assert len(snap.rows["evidence"]) == 1
    ids = [r["finding_id"] for r in snap.rows["emails"]]
    assert len(ids) == len(set(ids)), "finding ids are not unique"
    manifest = json.loads((reference.case / "manifest.json").read_text())
    assert manifest["tables_sorted_in_memory"] == [], "unit runs overlapped: a table was sorted whole in memory"


@pytest.fixture(scope="module")
def two_workers(disk: PipelineDisk, cases: Path) -> Scan:
    return scan_ok(cases / "w2", disk.path, "--workers", "2")


def test_one_worker_matches_in_process(disk: PipelineDisk, reference: Scan, cases: Path) -> None:
    got = scan_ok(cases / "w1", disk.path, "--workers", "1")
    assert_same_case(snapshot(got.case), snapshot(reference.case), "--workers 1")


def test_two_workers_match_in_process(two_workers: Scan, reference: Scan) -> None:
    assert_same_case(snapshot(two_workers.case), snapshot(reference.case), "--workers 2")
    assert json.loads((two_workers.case / "manifest.json").read_text())["unit_results"] == "written by the workers"


def test_rerun_into_the_same_case_is_identical(disk: PipelineDisk, two_workers: Scan) -> None:
    before = snapshot(two_workers.case)
    again = scan_ok(two_workers.case, disk.path, "--workers", "2")
    assert re.search(r"resuming: (\d+) of \1 units already done", again.out), again.out
    assert_same_case(snapshot(two_workers.case), before, "rerun")


def test_external_cluster_matches_local(disk: PipelineDisk, reference: Scan, cases: Path) -> None:
    with dask_cluster(cases / "dask-external", workers=2) as address:
        got = scan_ok(cases / "external", disk.path, "--scheduler", address)
    assert_same_case(snapshot(got.case), snapshot(reference.case), "external cluster")
    manifest = json.loads((got.case / "manifest.json").read_text())
    assert manifest["tables"] == json.loads((reference.case / "manifest.json").read_text())["tables"]
    assert manifest["unit_results"] == "written by the workers"


def test_missing_paths_check(disk: PipelineDisk, tmp_path: Path) -> None:
    assert _missing_paths([str(disk.path), str(tmp_path / "gone.raw")]) == [str(tmp_path / "gone.raw")]
    assert _missing_paths([str(disk.path)]) == []


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           "mount -t tmpfs -o size=1m t /mnt"], capture_output=True)
    return proc.returncode == 0


def test_workers_that_cannot_see_the_image_give_one_line(disk: PipelineDisk, cases: Path) -> None:
    """Workers on 'another machine': their mount namespace hides the evidence folder."""
    if not _can_unshare():
        pytest.skip("needs unshare --mount and tmpfs mounts (root / CAP_SYS_ADMIN) to hide the evidence")
    with dask_cluster(cases / "dask-hidden", workers=1, hidden=disk.path.parent) as address:
        got = run_scan(cases / "hidden", disk.path, "--scheduler", address, timeout=120)
    assert got.returncode == 2, got.out
    lines = [ln for ln in got.err.splitlines() if ln.strip()]
    assert len(lines) == 1, got.err
    assert lines[0].startswith("seized: error: worker tcp://127.0.0.1:"), lines[0]
    assert f"cannot read {disk.path}" in lines[0]
    assert "same path" in lines[0]
    assert not (cases / "hidden" / "tables").exists()


def test_workers_that_cannot_see_the_case_send_their_results(disk: PipelineDisk, reference: Scan,
                                                             cases: Path) -> None:
    """Workers that see the evidence share but not the case directory (another machine): the
    probe token is not found there, so they hand their tables back and the conductor writes them."""
    if not _can_unshare():
        pytest.skip("needs unshare --mount and tmpfs mounts (root / CAP_SYS_ADMIN) to hide the case directory")
    unshared = cases / "case-not-shared"
    unshared.mkdir()
    with dask_cluster(cases / "dask-no-case", workers=2, hidden=unshared) as address:
        got = scan_ok(unshared / "case", disk.path, "--scheduler", address)
    assert_same_case(snapshot(got.case), snapshot(reference.case), "workers without the case directory")
    manifest = json.loads((got.case / "manifest.json").read_text())
    assert manifest["unit_results"] == "sent to the conductor"
    assert not list((got.case / ".journal").rglob(".probe-*")), "probe token left behind"


def test_unreachable_scheduler_is_one_line(disk: PipelineDisk, cases: Path) -> None:
    from tests.pipeline_support import free_port

    got = run_scan(cases / "nowhere", disk.path, "--scheduler", f"tcp://127.0.0.1:{free_port()}", timeout=120)
    assert got.returncode == 2, got.out
    lines = [ln for ln in got.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("seized: error: cannot reach the Dask scheduler"), got.err


def test_plain_accounting_lines_without_a_terminal(reference: Scan) -> None:
    out = reference.out
    assert "\x1b[" not in out, "terminal escapes in non-TTY output"
    assert "Traceback" not in out and "Warning" not in out, out
    assert re.search(r"^seized:\s+files seen (\d+) = scanned (\d+) \+ skipped (\d+) \+ errored (\d+);", out, re.M), out
    assert re.search(r"bytes (\d+) = allocated (\d+) \+ unallocated scanned (\d+) \+ unreadable (\d+)", out), out
    assert re.search(r"^seized: tables: .*emails \d+", out, re.M), out
    m = re.search(r"files seen (\d+) = scanned (\d+) \+ skipped (\d+) \+ errored (\d+)", out)
    seen, scanned, skipped, errored = map(int, m.groups())
    assert seen == scanned + skipped + errored
    m = re.search(r"bytes (\d+) = allocated (\d+) \+ unallocated scanned (\d+) \+ unreadable (\d+)", out)
    total, allocated, unallocated, unreadable = map(int, m.groups())
    assert total == allocated + unallocated + unreadable
