"""Every producer of findings is listed in extractors/registry.py, and the pipeline runs what is
listed there: the worker and the scanning code name no extractor, rule scanner or judgement."""
from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from caseformat.problems import Problem, Stage
from caseformat.tables import finding_classes
from extractors import yara_scan
from extractors.registry import EXTRACTORS, JUDGEMENTS, RULE_SCANNERS
from extractors.yara_scan import YaraScanError
from seized.scanning import NO_MAP, ObjectContext, Rows, Window, scan_rules

REPO = Path(__file__).resolve().parents[1]
PIPELINE = ("seized/worker.py", "seized/scanning.py")


def test_every_producer_is_listed_once() -> None:
    producers = EXTRACTORS + RULE_SCANNERS + JUDGEMENTS
    names = [p.name for p in producers]
    assert len(names) == len(set(names))
    assert [p.name for p in RULE_SCANNERS] == ["yara"]
    assert [(j.name, j.consumes, j.table) for j in JUDGEMENTS] == [("harvest_lists", "emails", "harvest_lists")]
    # every table a producer writes has its finding class, and nothing else has
    assert finding_classes() == {p.table: p.finding for p in producers}


def test_judgements_consume_a_listed_table() -> None:
    tables = {p.table for p in EXTRACTORS + RULE_SCANNERS}
    assert all(j.consumes in tables for j in JUDGEMENTS)


def test_rule_scanners_name_a_stage() -> None:
    # a rule scanner's failures and bounds are errors rows with its name as the stage
    assert all(Stage(s.name) for s in RULE_SCANNERS)


def test_the_pipeline_names_no_producer() -> None:
    for rel in PIPELINE:
        tree = ast.parse((REPO / rel).read_text(), rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("extractors"):
                assert node.module in {"extractors.registry", "extractors.base"}, f"{rel} imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("extractors") for a in node.names), rel
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named = {p.name for p in EXTRACTORS + RULE_SCANNERS + JUDGEMENTS} | {"emails", "harvest_lists", "yara"}
                assert node.value not in named, f"{rel} names {node.value!r}"


def _yara_rules(source: str):
    import yara

    return yara.compile(source=source)


def _ctx() -> ObjectContext:
    return ObjectContext("v1", 12, None, "/srv/a.txt", None, "a.txt", None, NO_MAP)


def test_rule_scanner_rows_limits_and_condition_only_matches() -> None:
    rules = _yara_rules('rule many { strings: $x = "zz" condition: $x } rule always { condition: true }')
    data = b"zz " * 1500
    rows = Rows()
    half = len(data) // 2
    for window in (Window(data, 0, 0, half, False, 0), Window(data, 0, half, len(data), False, 0)):
        scan_rules(window, _ctx(), RULE_SCANNERS, rules, rows)
    table = pa.concat_tables(rows.batches["yara"])
    assert table.column("rule").to_pylist().count("always") == 1  # once per object, from its first window
    assert set(table.column("extractor").to_pylist()) == {"yara"}
    # 1,500 matches, owned by two windows: each window's cap of 1,000 is a bound in errors
    assert [(e.stage, e.error) for e in rows.errors] == [("yara", "limit reached: yara matches per rule = 1000")] * 2


def test_rule_scanner_failure_is_an_errors_row_and_no_rules_run_nothing() -> None:
    def fails(data, source, rules):
        raise YaraScanError("yara scan timed out after 120 s")
        yield  # a generator, as scan_yara is

    rows = Rows()
    window = Window(b"data", 0, 0, 4, True, 0)
    scan_rules(window, _ctx(), (replace(yara_scan.SCANNER, scan=fails),), object(), rows)
    assert rows.errors == [Problem("v1", "/srv/a.txt", 12, None, "yara", "yara scan timed out after 120 s")]
    rows = Rows()
    scan_rules(window, _ctx(), (replace(yara_scan.SCANNER, scan=fails),), None, rows)
    assert rows.errors == [] and not rows.batches
