"""The tests' CLI server (tests/cli_server.py) gives what a fresh `python -m seized` gives.

Most tests run the CLI as a child forked from a server that imported seized once; these check,
on the same inputs, that such a child and a fresh interpreter agree on the exit status, stdout
and stderr (refusals, usage errors, a scan and its case bytes), that a timeout kills the run
as subprocess.run does, and that a changed environment starts the server again under it.
"""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests import cli_server, imaging
from tests.conftest import run_seized


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-server")
    imaging.add_file(root / "tree", b"home/user/list.txt", b"alice.server@example.org\n" * 10)
    return imaging.ext4_from_tree(root / "tree", root / "ev" / "disk.ext4", 4)


def _both(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    served = run_seized(*args)
    fresh = run_seized(*args, fresh=True)
    return served, fresh


def _same(served: subprocess.CompletedProcess[str], fresh: subprocess.CompletedProcess[str]) -> None:
    assert (served.returncode, served.stdout, served.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)


@pytest.mark.parametrize("args", [("--version",), ("scan", "--help"), ("scan",), ("frobnicate",),
                                  ("scan", "/no/such.img", "-o", "/no/such-case", "--workers", "-1"),
                                  ("report", "/no/such-case")], ids=" ".join)
def test_usage_and_refusals_are_the_same(args: tuple[str, ...]) -> None:
    _same(*_both(*args))


def test_refused_case_directory_is_the_same(image: Path) -> None:
    served, fresh = _both("scan", image, "-o", image.parent, "--workers", "0", "--no-report")
    assert served.returncode == 2 and served.stderr.startswith("seized: error:"), served.stderr
    _same(served, fresh)


def test_scan_gives_the_same_exit_output_and_tables(image: Path, tmp_path: Path) -> None:
    runs = {}
    for how, fresh in (("served", False), ("fresh", True)):
        case = tmp_path / how
        proc = run_seized("scan", image, "-o", case, "--workers", "0", "--no-report", "--no-default-rules",
                          fresh=fresh)
        assert proc.returncode == 0, proc.stderr[-2000:]
        tables = {str(p.relative_to(case)): hashlib.sha256(p.read_bytes()).hexdigest()
                  for p in sorted((case / "tables").rglob("*.parquet"))}
        runs[how] = (proc.stdout.replace(str(case), "CASE"), proc.stderr, tables, oct(case.stat().st_mode & 0o777))
    assert runs["served"] == runs["fresh"]
    assert runs["served"][2], "no table written"


def test_timeout_kills_the_run(image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_seized("scan", image, "-o", tmp_path / "case", "--workers", "0", timeout=0.01)
    # the server is ready for the next run
    assert run_seized("--version").returncode == 0


def test_a_changed_environment_restarts_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server = cli_server.CliServer()  # not the session's, which would start again twice
    try:
        args = ["scan", "--help"]
        assert server.run(args, 60, tmp_path, tmp_path / "out-1", tmp_path / "err-1") == 0
        first = server.started_with()
        monkeypatch.setenv("SEIZED_TEST_SOMETHING", "1")
        assert server.run(args, 60, tmp_path, tmp_path / "out-2", tmp_path / "err-2") == 0
        assert "SEIZED_TEST_SOMETHING" not in first and server.started_with()["SEIZED_TEST_SOMETHING"] == "1"
        assert (tmp_path / "out-1").read_bytes() == (tmp_path / "out-2").read_bytes() != b""
    finally:
        server.stop()
