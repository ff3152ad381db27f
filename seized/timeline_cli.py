"""`seized timeline CASE`: the sorted timeline, filtered, printed or written as CSV.

The logic behind the command (seized/cli.py only parses options): check the filters, map an
exhibit label to its evidence id, stream the rows from reports.timeline and print one line per
row, or write CSV with Arrow's writer. Returns an error line, or None.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

_ISO_PREFIX = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2}(?:[T ]\d{2}(?::\d{2}(?::\d{2})?)?)?)?)?Z?$")


def _exhibits(case: Path) -> dict[str, str]:
    manifest = json.loads((case / "manifest.json").read_text(encoding="utf-8"))
    ids = sorted(e["evidence_id"] for e in manifest.get("evidence", []))
    return {f"E{i + 1}": eid for i, eid in enumerate(ids)}


def _time(value: str | None, what: str) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if not _ISO_PREFIX.match(value):
        return None, f"{what} {value!r}: give a UTC time or date as YYYY[-MM[-DD[THH[:MM[:SS]]]]]"
    return value.rstrip("Z").replace(" ", "T"), None


def run_timeline(case: Path, start: str | None, end: str | None, evidence: str | None, user: str | None,
                 csv_path: Path | None, echo: Callable[[str], None]) -> str | None:
    from reports.timeline import Filters, query_timeline

    start, problem = _time(start, "--from")
    if problem:
        return problem
    end, problem = _time(end, "--to")
    if problem:
        return problem
    exhibits = _exhibits(case)
    if evidence is not None:
        evidence = exhibits.get(evidence.upper(), evidence.lower())
        if not re.fullmatch(r"[0-9a-f]{1,64}", evidence):
            return f"--evidence {evidence!r}: give an evidence id (hex digits) or an exhibit label E1, E2, ..."
    label = {eid: ex for ex, eid in exhibits.items()}
    batches = query_timeline(case, Filters(start, end, evidence, user))
    if csv_path is not None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        from caseformat.schema import TIMELINE

        rows = 0
        with pacsv.CSVWriter(str(csv_path), TIMELINE) as writer:
            for batch in batches:
                writer.write_table(pa.Table.from_batches([batch]).cast(TIMELINE))
                rows += batch.num_rows
        echo(f"seized: {rows} timeline rows written to {csv_path}")
        return None
    try:
        for batch in batches:
            for r in batch.to_pylist():
                flag = "~" if r["time_inferred"] else " "
                echo(f"{r['time']}{flag} {label.get(r['evidence_id'], r['evidence_id'])}  {r['source_table']:<15} "
                     f"{r['kind']:<28} {r['user'] or '-':<10} {r['description']}  [{r['finding_id']}]")
    except BrokenPipeError:  # `seized timeline CASE | head`: the reader has all it wanted
        batches.close()
    return None
