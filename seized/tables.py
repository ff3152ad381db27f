"""Assembling the evidence tables: schemas per table, finding ids, sort order, Parquet files.

Determinism lives here: rows from any number of workers, in any order, become the same
sorted table with the same finding ids, and the same bytes on disk.
"""
from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extractors.registry import EXTRACTORS
from reports import schema

FINDING_ID_HEX = 20
SORT_KEYS = ("evidence_id", "volume", "path", "inode", "stream", "member", "offset", "finding_id")


@cache
def finding_classes() -> dict[str, type]:
    from extractors.harvest import HarvestList
    from extractors.yara_scan import YaraFinding

    classes = {ext.table: ext.finding for ext in EXTRACTORS}
    classes["yara"] = YaraFinding
    classes["harvest_lists"] = HarvestList
    return classes


def worker_schema(name: str) -> pa.Schema:
    if name == "errors":
        return schema.WORKER_ERRORS
    if name == "file_results":
        return schema.FILE_RESULTS
    return schema.finding_schema(finding_classes()[name], worker=True)


def final_schema(name: str) -> pa.Schema:
    fixed = {"evidence": schema.EVIDENCE, "volumes": schema.VOLUMES, "files": schema.FILES, "errors": schema.ERRORS}
    if name in fixed:
        return fixed[name]
    return schema.finding_schema(finding_classes()[name])


def finding_table_names() -> list[str]:
    return sorted(finding_classes())


_NULL = "\x00"  # stands for a missing value in the id key; no text value contains it
_SEP = "\x1e"  # between columns
_ITEM = "\x1f"  # between the items of a list column


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """One canonical text per value, so the id key is the same however the rows were made."""
    if pa.types.is_list(column.type):
        column = pc.binary_join(pc.cast(column, pa.list_(pa.string())), _ITEM)
    elif not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.fill_null(column, _NULL)


def add_finding_ids(name: str, table: pa.Table) -> pa.Table:
    """finding_id = hash of where the finding is and what it says (never of secrets or time).

    The key is built column-wise in Arrow; only the digest is per row.
    """
    cls = finding_classes()[name]
    secret = schema.secret_columns(cls)
    value_cols = [f.name for f in schema.finding_fields(cls) if f.name not in secret]
    loc_cols = ["evidence_id", "volume", "inode", "stream", "path", "member", "offset", "image_offset", "extractor"]
    if table.num_rows == 0:
        return table
    parts = [pa.array([name] * table.num_rows, pa.string())] + [_as_text(table.column(c)) for c in loc_cols + value_cols]
    keys = pc.binary_join_element_wise(*parts, _SEP).to_pylist()
    sha = hashlib.sha256
    ids = [sha(k.encode("utf-8", "surrogatepass")).hexdigest()[:FINDING_ID_HEX] for k in keys]
    return table.set_column(table.schema.get_field_index("finding_id"), "finding_id", pa.array(ids, pa.string()))


def with_evidence_id(table: pa.Table, evidence_id: str, final: pa.Schema) -> pa.Table:
    """Reorder a worker table into the final schema, filling evidence_id (and a null finding_id)."""
    n = table.num_rows
    arrays = []
    for field in final:
        if field.name == "evidence_id":
            arrays.append(pa.array([evidence_id] * n, pa.string()))
        elif field.name in table.column_names:
            arrays.append(table.column(field.name).cast(field.type))
        else:
            arrays.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(arrays, schema=final)


def sort_table(table: pa.Table) -> pa.Table:
    names = [k for k in SORT_KEYS if k in table.column_names]
    names += [c for c in table.column_names
              if c not in names and not pa.types.is_list(table.schema.field(c).type)]
    if not names:
        return table
    indices = pc.sort_indices(table, sort_keys=[(n, "ascending") for n in names])
    return table.take(indices)


def write_table(case: Path, name: str, table: pa.Table) -> Path:
    """Write atomically: a half-written table never sits under its final name."""
    folder = case / "tables" / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = folder / "part-0.parquet"
    tmp = folder / ".part-0.parquet.tmp"
    pq.write_table(table, tmp, compression="zstd", row_group_size=256 * 1024, write_statistics=True)
    os.chmod(tmp, 0o600)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def read_table(case: Path, name: str) -> pa.Table:
    path = case / "tables" / name / "part-0.parquet"
    return pq.read_table(path)
