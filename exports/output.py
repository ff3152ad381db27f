"""Printing a query's result: an aligned table for people, CSV or JSON Lines for programs.

CSV and JSON Lines stream in Arrow record batches (memory stays flat however many rows);
the aligned table holds at most `limit` rows, and says so when there were more.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import IO

BATCH_ROWS = 65_536
TABLE_LIMIT = 1000


def _batches(result):
    reader = result.to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        yield batch


def write_csv(result, out: IO[bytes]) -> int:
    import pyarrow.csv as pcsv

    rows = 0
    reader = result.to_arrow_reader(BATCH_ROWS)
    writer = pcsv.CSVWriter(out, reader.schema)
    for batch in reader:
        writer.write_batch(batch)
        rows += batch.num_rows
    writer.close()
    return rows


def json_default(value):
    """JSON for what Arrow hands back: ISO times with Z, bytes as backslash-escaped text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def write_jsonl(result, out: IO[str]) -> int:
    rows = 0
    for batch in _batches(result):
        for row in batch.to_pylist():
            out.write(json.dumps(row, ensure_ascii=False, default=json_default, sort_keys=False) + "\n")
        rows += batch.num_rows
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=json_default)
    return str(value).replace("\n", "\\n").replace("\t", "\\t")


def write_table(result, out: IO[str], limit: int = TABLE_LIMIT) -> int:
    names = list(result.columns)
    rows = result.limit(limit + 1).fetchall()
    more = len(rows) > limit
    cells = [[_cell(v) for v in row] for row in rows[:limit]]
    numeric = [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool) for row in rows[:limit]
                   if row[i] is not None) for i in range(len(names))]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out.write(line(names) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in cells:
        out.write(line(r) + "\n")
    if more:
        out.write(f"(first {limit} rows shown; more rows follow: use --csv or --json for all)\n")
    else:
        out.write(f"({len(cells)} row{'s' if len(cells) != 1 else ''})\n")
    return len(cells)
