"""Faults while writing the case: a full disk, and a case directory that holds another case.

A full disk is a real one: a 512 KiB tmpfs mounted for the test (we run as root), filled to
the brim with a filler file. Where mounting is not allowed the test falls back to
RLIMIT_FSIZE in the child with SIGXFSZ ignored, so writes fail with EFBIG instead.
Either way the scan must end with one `seized: error:` line, a non-zero exit, no traceback,
and no table that is half written under its final name (tables are written to
`.part-0.parquet.tmp` and renamed).
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest

from tests import hostile
from tests.accounting import assert_accounting
from tests.conftest import run_seized


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def rules(work: Path) -> Path:
    return hostile.marker_rules(work / "marker.yar")


@pytest.fixture(scope="module")
def images(work: Path) -> tuple[Path, Path]:
    a = hostile.ext4_with_files(work / "a" / "a.ext4.raw", {"a.txt": b"first case SEIZED-HOSTILE-MARKER\n"}, 4)
    b = hostile.ext4_with_files(work / "b" / "b.ext4.raw", {"b.txt": b"second case\n"}, 4)
    return a, b


@contextmanager
def tiny_tmpfs(where: Path, size: str = "512k") -> Iterator[Path | None]:
    """A mounted tmpfs of `size`, or None when mounting is not permitted."""
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
                          capture_output=True, timeout=30)
    if proc.returncode != 0:
        yield None
        return
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True, timeout=30)


def fill(folder: Path) -> None:
    """Write a filler file until the file system is full (ENOSPC)."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, bytes(size))
            except OSError:
                pass
    finally:
        os.close(fd)


def _assert_clean_failure(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode not in (0, 3), f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("seized: error:")]
    assert len(errors) == 1, proc.stderr
    assert "No space left on device" in errors[0] or "File too large" in errors[0], errors[0]


def _assert_no_half_tables(case: Path) -> None:
    for part in (case / "tables").glob("*/part-0.parquet") if (case / "tables").is_dir() else []:
        pq.read_table(part)  # a truncated parquet file fails here (no footer)
    manifest = case / "manifest.json"
    if manifest.exists():
        json.loads(manifest.read_text())


def _scan(args: list[str], limit_fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m seized ARGS`; a fresh interpreter under a file-size limit, else a child of the
    tests' CLI server (tests/cli_server.py)."""
    if limit_fsize is None:
        return run_seized(*args, timeout=180, cwd=hostile.REPO)

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_fsize, limit_fsize))

    return subprocess.run([sys.executable, "-m", "seized", *args], capture_output=True, text=True, timeout=180,
                          cwd=hostile.REPO, stdin=subprocess.DEVNULL,
                          preexec_fn=limit if limit_fsize is not None else None)


def test_full_disk_from_the_start(images, rules: Path, work: Path) -> None:
    with tiny_tmpfs(work / f"mnt-{uuid.uuid4().hex[:6]}") as mnt:
        if mnt is None:
            proc = _scan(hostile.scan_args([images[0]], work / "case-fsize", rules), limit_fsize=512)
            _assert_clean_failure(proc)
            _assert_no_half_tables(work / "case-fsize")
            return
        fill(mnt)
        case = mnt / "case"
        proc = _scan(hostile.scan_args([images[0]], case, rules))
        _assert_clean_failure(proc)
        _assert_no_half_tables(case)


def test_disk_fills_while_the_tables_are_written(images, rules: Path, work: Path) -> None:
    """The journal fits; the disk is then filled so the table writer meets ENOSPC."""
    with tiny_tmpfs(work / f"mnt-{uuid.uuid4().hex[:6]}", "2m") as mnt:
        if mnt is None:
            pytest.skip("cannot mount a tmpfs here (needs root); the RLIMIT_FSIZE variant covers the rest")
        case = mnt / "case"
        first = _scan(hostile.scan_args([images[0]], case, rules))
        assert first.returncode == 0, first.stderr[-2000:]
        good = {p.relative_to(case): p.read_bytes() for p in (case / "tables").glob("*/part-0.parquet")}
        for part in (case / "tables").glob("*/part-0.parquet"):
            part.unlink()
        (case / "manifest.json").unlink()
        fill(mnt)
        again = _scan(hostile.scan_args([images[0]], case, rules))  # resumes from the journal, then writes
        _assert_clean_failure(again)
        _assert_no_half_tables(case)
        for part in (case / "tables").glob("*/part-0.parquet"):
            assert part.read_bytes() == good[part.relative_to(case)], f"{part} differs from the good scan"
        assert not (case / "manifest.json").exists(), "a manifest was written for tables that were not"


def test_case_directory_holding_another_case_is_refused_unless_forced(images, rules: Path, work: Path) -> None:
    a, b = images
    case = work / "case-shared"
    first = _scan(hostile.scan_args([a], case, rules))
    assert first.returncode == 0, first.stderr[-2000:]
    before = (case / "manifest.json").read_bytes()
    refused = _scan(hostile.scan_args([b], case, rules))
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr
    (line,) = [ln for ln in refused.stderr.splitlines() if ln.startswith("seized: error:")]
    assert "different case" in line and "--force" in line, line
    assert (case / "manifest.json").read_bytes() == before, "the refused scan changed the case"
    forced = _scan(hostile.scan_args([b], case, rules, "--force"))
    assert forced.returncode == 0, forced.stderr[-2000:]
    manifest = json.loads((case / "manifest.json").read_text())
    assert [Path(e["path"]).name for e in manifest["evidence"]] == [b.name]
    assert_accounting(case)


def test_folder_of_other_files_is_refused_and_left_alone(images, rules: Path, work: Path) -> None:
    folder = work / "not-a-case"
    folder.mkdir()
    (folder / "notes.txt").write_text("examiner's own notes\n")
    proc = _scan(hostile.scan_args([images[0]], folder, rules))
    assert proc.returncode == 2 and "--force" in proc.stderr, proc.stderr
    assert sorted(os.listdir(folder)) == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "examiner's own notes\n"
