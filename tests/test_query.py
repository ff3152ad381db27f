"""`seized query CASE "SQL"`: DuckDB over the case's tables, read-only; README's first queries."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pyarrow.compute as pc
import pytest

from tests.conftest import REPO, read_table, run_seized

README_QUERY = re.compile(r'seized query \S+ "\n(.*?)"', re.S)  # the multi-line ones


def readme_queries() -> list[str]:
    return README_QUERY.findall((REPO / "README.md").read_text(encoding="utf-8"))


def _tables_used(sql: str) -> set[str]:
    return set(re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", sql, re.I))


def test_readme_gives_five_first_queries_and_they_run(demo_case):
    queries = readme_queries()
    assert len(queries) >= 5, queries
    present = {p.name for p in (demo_case / "tables").iterdir()} | {"findings"}
    ran = 0
    for sql in queries:
        if not _tables_used(sql) <= present:  # e.g. `logins` before that branch is merged
            continue
        # needs columns a newer scan writes (files.known_status)? skip until they exist
        if "known_status" in sql and "known_status" not in read_table(demo_case, "files").column_names:
            continue
        proc = run_seized("query", demo_case, sql, "--csv")  # the header even when no row matches
        assert proc.returncode == 0, (sql, proc.stderr)
        assert proc.stdout.startswith('"'), sql
        ran += 1
    assert ran == len(queries)  # every table they name (logins, files.known_status) is in a scan now


def test_counts_match_pyarrow_in_every_output_form(demo_case):
    emails = read_table(demo_case, "emails")
    sql = "SELECT domain, count(*) AS n FROM emails GROUP BY domain ORDER BY n DESC, domain"
    want = {d["values"]: d["counts"] for d in pc.value_counts(emails.column("domain")).to_pylist()}
    proc = run_seized("query", demo_case, sql, "--csv")
    assert proc.returncode == 0, proc.stderr
    got = {row["domain"]: int(row["n"]) for row in csv.DictReader(io.StringIO(proc.stdout))}
    assert got == want
    proc = run_seized("query", demo_case, sql, "--json")
    assert {json.loads(l)["domain"]: json.loads(l)["n"] for l in proc.stdout.splitlines()} == want
    proc = run_seized("query", demo_case, sql)
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["domain", "n"] and set(lines[1]) <= {"-", " "}
    top = max(want.values())
    assert lines[2].split()[1] == str(top)
    assert lines[-1] == f"({len(want)} rows)" if len(want) <= 1000 else "first 1000" in lines[-1]


def test_findings_view_is_the_union_of_finding_tables(demo_case):
    proc = run_seized("query", demo_case, "SELECT table_name, count(*) AS n FROM findings GROUP BY 1", "--json")
    assert proc.returncode == 0, proc.stderr
    got = {json.loads(l)["table_name"]: json.loads(l)["n"] for l in proc.stdout.splitlines()}
    for name in ("emails", "credentials", "indicators", "tor", "yara"):
        assert got[name] == read_table(demo_case, name).num_rows
    assert "files" not in got and "evidence" not in got


def _snapshot(case: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(case)): (p.stat().st_size, p.stat().st_mtime_ns) for p in case.rglob("*")}


def test_read_only_and_bad_queries_are_one_line_exit_2(demo_case, tmp_path):
    before = _snapshot(demo_case)
    target = tmp_path / "out.csv"
    for sql in ("SELECT * FROM no_such_table", "SELEC 1", f"COPY emails TO '{target}'",
                f"COPY emails TO '{demo_case}/tables/emails/part-0.parquet'",
                "SELECT * FROM read_csv('/etc/passwd')", f"ATTACH '{tmp_path}/x.db'",
                "SET enable_external_access = true"):
        proc = run_seized("query", demo_case, sql)
        assert proc.returncode == 2, (sql, proc.stdout, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "query:" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert not target.exists()
    assert _snapshot(demo_case) == before


def test_a_query_larger_than_memory_spills_outside_the_case(demo_case, tmp_path):
    """The connection keeps the report's memory limit and spills into the folder it is given
    (seized query and export give a fresh temporary one, removed afterwards), so a GROUP BY
    over tens of millions of addresses cannot take the machine's memory, and the case is untouched."""
    from caseformat.duckcase import MEMORY_LIMIT, scratch_dir
    from exports.sql import connect

    before = _snapshot(demo_case)
    with scratch_dir(None, ".seized-query-tmp-") as scratch:
        assert not scratch.is_relative_to(demo_case)
        con = connect(demo_case, None, scratch)
        limit, temp = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
        assert temp == str(scratch)
        import duckdb

        reference = duckdb.connect(":memory:")
        reference.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        assert limit == reference.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        # the views still answer as pyarrow does
        (n,) = con.execute("SELECT count(DISTINCT address || domain) FROM emails").fetchone()
        assert n == len(set(zip(*[read_table(demo_case, "emails").column(c).to_pylist() for c in ("address", "domain")])))
        con.close()
    assert not scratch.exists()
    assert _snapshot(demo_case) == before
