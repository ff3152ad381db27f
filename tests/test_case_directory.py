"""report / verify / export / query on a missing, foreign or damaged case directory: one line, exit 2."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_seized

COMMANDS = {
    "report": lambda case, out: ("report", case),
    "verify": lambda case, out: ("verify", case, "--no-images"),
    "export": lambda case, out: ("export", case, "--format", "csv", "--table", "emails", "-o", out),
    "query": lambda case, out: ("query", case, "SELECT count(*) FROM emails"),
}


def _bad_cases(root: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """name -> (case directory, a word the error line must contain)"""
    out = {}
    out["missing"] = (root / "no-such-case", "no such case directory")
    (root / "a-file").write_text("hello\n")
    out["a file"] = (root / "a-file", "not a directory")
    foreign = root / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my notes\n")
    out["foreign"] = (foreign, "not a seized case directory")
    unfinished = root / "unfinished"
    unfinished.mkdir()
    (unfinished / ".seized-case.json").write_text("{}")
    out["unfinished scan"] = (unfinished, "did not finish")
    for name, damage, word in (
        ("truncated manifest", lambda c: (c / "manifest.json").write_text('{"tables": {'), "not valid JSON"),
        ("manifest not an object", lambda c: (c / "manifest.json").write_text("[]"), "not a seized manifest"),
        ("missing table", lambda c: shutil.rmtree(c / "tables" / "emails"), "table emails is missing"),
        ("truncated table", lambda c: _truncate(c / "tables" / "files" / "part-0.parquet"), "damaged table files"),
    ):
        case = root / name.replace(" ", "-")
        shutil.copytree(good, case)
        damage(case)
        out[name] = (case, word)
    return out


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture(scope="module")
def bad_cases(demo_case, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    return _bad_cases(tmp_path_factory.mktemp("bad-cases"), demo_case)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_case_directory_is_one_line_and_exit_2(command, bad_cases, tmp_path):
    for name, (case, word) in sorted(bad_cases.items()):
        if command == "verify" and name in ("missing table", "truncated table"):
            continue  # verify reports changed and missing tables itself (exit 1): below
        proc = run_seized(*COMMANDS[command](case, tmp_path / f"out-{name}"))
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (command, name, proc.returncode, proc.stderr)
        assert len(lines) == 1 and word in lines[0], (command, name, proc.stderr)
        assert "internal error" not in lines[0] and "Traceback" not in proc.stderr


def test_verify_names_a_damaged_table(bad_cases):
    for name in ("missing table", "truncated table"):
        case, _ = bad_cases[name]
        proc = run_seized("verify", case, "--no-images")
        assert proc.returncode == 1, proc.stderr
        assert "table tables/" in proc.stderr and "Traceback" not in proc.stderr
