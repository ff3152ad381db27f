"""Reading a case's tables a batch at a time (never a whole table in memory)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.dataset as ds

BATCH_ROWS = 65_536


def table_batches(path: Path, columns: list[str] | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The Parquet table at `path` as record batches, in its stored (sorted) order."""
    dataset = ds.dataset(path, format="parquet")
    if columns is not None:
        columns = [c for c in columns if c in dataset.schema.names]
    yield from dataset.to_batches(columns=columns, batch_size=batch_rows, use_threads=False)


def sql_batches(con, sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """A DuckDB query's rows as Arrow record batches, produced as they are read."""
    yield from con.sql(sql).to_arrow_reader(batch_rows)


def rows(batches: Iterator[pa.RecordBatch]) -> Iterator[dict]:
    """Row dicts, one batch converted at a time."""
    for batch in batches:
        yield from batch.to_pylist()
