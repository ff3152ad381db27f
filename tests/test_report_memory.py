"""The report's memory does not grow with the number of findings (issue 17).

A case is written here with a wide emails table (150,000 rows of about 3 KB each: about
450 MB in Arrow) and a credentials table, on two evidence items so that every part
of the report runs (counts, distinct counts, categories, correlations, appendix listings).
`seized report` runs in a subprocess under a wrapper that reports the peak RSS of its child:
reading the emails table whole, as the report once did, would take more than the bound.
Real tools only: the tables are Parquet written by caseformat, the report is the CLI's.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from caseformat.tables import final_schema

ROWS = 150_000
CHUNK = 25_000
RAW_BYTES = 3_000  # per emails row: 150,000 rows hold about 450 MB of raw text in Arrow
BOUND_MIB = 600  # the report's peak here: 337 MiB; when it read the tables whole, 1,363 MiB
EVIDENCE = ("a" * 16, "b" * 16)
ADDRESSES = 30_000  # distinct; the first 20,000 are on both evidence items


def _mod(a: pa.Array, m: int) -> pa.Array:
    return pc.subtract(a, pc.multiply(pc.divide(a, m), m))


def _column(field: pa.Field, n: int, start: int) -> pa.Array:
    i = pa.array(range(start, start + n), pa.int64())
    name = field.name
    if name == "finding_id":
        return pc.binary_join_element_wise(pa.scalar("f"), pc.cast(i, pa.string()), "")
    if name == "evidence_id":
        return pc.if_else(pc.less(i, ROWS // 2), pa.scalar(EVIDENCE[0]), pa.scalar(EVIDENCE[1]))
    if name == "path":
        return pc.binary_join_element_wise(pa.scalar("/home/spam/list"), pc.cast(pc.divide(i, 5000), pa.string()),
                                           ".txt", "")
    if name in ("offset", "image_offset", "inode"):
        return i
    k = _mod(pc.divide(i, 3), ADDRESSES)  # the address of row i
    domain = pc.binary_join_element_wise(pa.scalar("d"), pc.cast(_mod(k, 300), pa.string()),
                                         pa.scalar(".example.com"), "")
    if name == "address":
        return pc.binary_join_element_wise(pa.scalar("user"), pc.cast(k, pa.string()), pa.scalar("@"), domain, "")
    if name == "domain":
        return domain
    if name == "raw":
        return pc.binary_join_element_wise(pc.cast(i, pa.string()), pa.scalar("x" * RAW_BYTES), "")
    if name in ("username", "secret"):
        return pc.binary_join_element_wise(pa.scalar(name[:4]), pc.cast(pc.divide(i, 7), pa.string()), "")
    if name in ("extractor", "encoding", "kind"):
        return pa.array(["plain"] * n, pa.string())
    return pa.nulls(n, field.type)


def _write(case: Path, name: str, rows: int) -> dict:
    sch = final_schema(name)
    path = case / "tables" / name / "part-0.parquet"
    path.parent.mkdir(parents=True)
    with pq.ParquetWriter(path, sch, compression="zstd") as writer:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            writer.write_table(pa.Table.from_arrays([_column(f, n, start) for f in sch], schema=sch),
                               row_group_size=256 * 1024)
    return {"path": str(path.relative_to(case)), "rows": rows}


@pytest.fixture(scope="module")
def wide_case(tmp_path_factory) -> Path:
    case = tmp_path_factory.mktemp("wide") / "case"
    tables = {"emails": _write(case, "emails", ROWS), "credentials": _write(case, "credentials", ROWS // 3)}
    for name in ("evidence", "volumes", "files", "errors"):
        path = case / "tables" / name / "part-0.parquet"
        path.parent.mkdir(parents=True)
        sch = final_schema(name)
        rows = [{"evidence_id": e, "path": f"/images/{e}.img", "size": 1 << 30} for e in EVIDENCE] \
            if name == "evidence" else []
        pq.write_table(pa.Table.from_pylist(rows, schema=sch), path)
        tables[name] = {"path": str(path.relative_to(case)), "rows": len(rows)}
    manifest = {"evidence": [{"evidence_id": e, "path": f"/images/{e}.img", "format": "raw", "size": 1 << 30}
                             for e in EVIDENCE],
                "tables": tables, "accounting": {}, "case": {"name": "wide", "examiner": "test"}}
    (case / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return case


PEAK = """import resource, subprocess, sys
done = subprocess.run(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def test_report_on_many_findings_does_not_read_the_big_tables_whole(wide_case):
    got = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "seized", "report", str(wide_case)],
                         capture_output=True, text=True, timeout=900)
    assert got.returncode == 0, got.stderr
    peak_mib = int(got.stdout.strip().splitlines()[-1]) / 1024
    assert peak_mib < BOUND_MIB, f"seized report peaked at {peak_mib:.0f} MiB"
    summary = json.loads((wide_case / "report" / "summary.json").read_text(encoding="utf-8"))
    emails = summary["totals"]["findings"]["emails"]
    assert emails["total"]["value"] == ROWS and emails["distinct_address"]["value"] == ADDRESSES
    text = (wide_case / "report" / "declaration.md").read_text(encoding="utf-8")
    assert "emails: 50 of 150,000 findings" in text
    assert summary["correlations"]["value"] >= 20_000
    assert not list(wide_case.glob(".report-tmp-*")), "the DuckDB scratch folder is left behind"


def test_the_big_finding_tables_are_never_read_whole(wide_case):
    from reports.case import BIG_TABLES, load_case

    data = load_case(wide_case)
    with data.tables as tables:
        assert {"emails", "credentials", "files"} <= BIG_TABLES
        for name in ("emails", "credentials", "files"):
            with pytest.raises(ValueError):
                tables.read(name, ["evidence_id"])
        assert tables.num_rows("emails") == ROWS and tables.read("evidence").num_rows == len(EVIDENCE)
        listed = tables.take("emails", [ROWS - 1, 0], ["finding_id", "raw"])
        assert listed.column("finding_id").to_pylist() == [f"f{ROWS - 1}", "f0"]
