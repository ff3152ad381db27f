"""Problems in three tiers: not this format is silent, damaged or bounded evidence is an
`errors` row with a fixed stage, and an extractor's own exception is stage `internal`."""
from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

from caseformat import schema
from caseformat.problems import Problem, Stage
from caseformat.tables import errors_table
from extractors.base import LimitReached
from extractors.registry import EXTRACTORS
from ingest import containers
from seized.scanning import NO_MAP, ObjectContext, Rows, Window, scan_window

REPO = Path(__file__).resolve().parents[1]
EMAILS = next(e for e in EXTRACTORS if e.name == "emails")


def _scan(extractor, data: bytes = b"no address here\n") -> Rows:
    rows = Rows()
    ctx = ObjectContext("v1", 12, None, "/srv/list.txt", None, "list.txt", len(data), NO_MAP)
    scan_window(Window(data, 0, 0, len(data), True, 0), ctx, (extractor,), rows)
    return rows


def test_not_this_format_is_silent() -> None:
    rows = _scan(EMAILS, b"\x00\x01 binary, no e-mail address \xff" * 10)
    assert rows.errors == [] and not any(rows.batches.values())


def test_an_extractors_exception_is_internal_and_names_it() -> None:
    def broken(data, source):
        yield from ()
        raise ZeroDivisionError("a bug")

    rows = _scan(replace(EMAILS, name="broken", extract=broken))
    assert [(e.stage, e.error) for e in rows.errors] == [
        ("internal", "extractor broken: ZeroDivisionError: a bug")]


def test_a_bound_is_the_extractors_stage() -> None:
    def bounded(data, source):
        yield LimitReached(0, "things per window", 3)

    rows = _scan(replace(EMAILS, name="bounded", extract=bounded))
    assert [(e.stage, e.error) for e in rows.errors] == [
        (Stage.EXTRACTOR.of("bounded"), "limit reached: things per window = 3")]


def test_no_free_text_stage_is_left_in_the_producers() -> None:
    """Every `stage=` and Problem / rows.error stage is a Stage member, never a literal."""
    literals = []
    for package in ("ingest", "seized", "known"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                args = []
                if name == "Problem" and len(node.args) >= 5:
                    args.append(node.args[4])
                if name == "error" and len(node.args) >= 2:
                    args.append(node.args[1])
                args += [k.value for k in node.keywords if k.arg == "stage"]
                literals += [f"{path.relative_to(REPO)}:{a.lineno}" for a in args
                             if isinstance(a, (ast.Constant, ast.JoinedStr))]
    assert not literals, literals


def test_one_problem_type() -> None:
    """Every producer says a problem as caseformat.problems.Problem; no other problem shape is left."""
    others = []
    for package in ("ingest", "seized", "known", "caseformat", "extractors", "reports", "exports"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and node.name.endswith("Problem"):
                    others.append(f"{path.relative_to(REPO)}:{node.name}")
    assert others == ["caseformat/problems.py:Problem"]


def test_an_archives_problem_is_placed_at_the_archive() -> None:
    (problem,) = containers.expand(b"\x1f\x8b\x08\x00" + b"\x00" * 20, "x.gz", 0, containers.Budget())
    assert isinstance(problem, Problem) and problem.stage == Stage.CONTAINER and problem.volume is None
    rows = Rows()
    ctx = ObjectContext("v1", 12, None, "/srv/a.zip", "inner.tar", "inner.tar", 10, NO_MAP, "member")
    rows.problem(ctx, problem)
    assert rows.errors == [replace(problem, volume="v1", path="/srv/a.zip", inode=12, member="inner.tar")]


def test_problems_are_errors_rows() -> None:
    problems = [Problem("v1", "/a", 3, None, Stage.READ, "short read"), Problem(None, None, None, None, Stage.IMAGE, "x")]
    assert errors_table(problems).schema == schema.WORKER_ERRORS
    table = errors_table(problems, "ev1")
    assert table.schema == schema.ERRORS
    assert table.to_pylist()[0] == dict(evidence_id="ev1", volume="v1", path="/a", inode=3, member=None,
                                        stage="read", error="short read")
