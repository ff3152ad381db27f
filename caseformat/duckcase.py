"""DuckDB over a case's Parquet tables: one connection, bounded memory, scratch the tool owns.

Why one place: the report counts and correlates findings over tables of tens of millions of
rows, and the exports read the same tables. DuckDB reads Parquet where it lies (column and
row-group push-down) and spills past `memory_limit` to `temp_directory`; without both set it
would take most of the machine's memory and spill beside the working directory, which may be
the evidence's. Extensions are never fetched (no network, ever): parquet is built into the
pinned wheel.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

MEMORY_LIMIT = os.environ.get("SEIZED_DUCKDB_MEMORY", "512MB")
ROW_NUMBER = "file_row_number"  # the row's position in its Parquet file, in the `<table>#rows` views


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def rows_view(name: str) -> str:
    """The view of table `name` with its rows' positions (column ROW_NUMBER)."""
    return quote(name + "#rows")


def connect(temp_directory: Path | None = None, memory_limit: str = MEMORY_LIMIT):
    """An in-memory DuckDB that never fetches an extension, reads times as UTC, keeps the
    order of its input where SQL leaves it open, stays under `memory_limit` and spills to
    `temp_directory` (a folder the caller made and removes; None: no spilling)."""
    import duckdb

    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    con.execute("SET enable_progress_bar = false")  # stdout is the examiner's, not DuckDB's
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = {literal(memory_limit)}")
    con.execute("SET preserve_insertion_order = true")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = {literal(str(temp_directory))}")
    return con


def add_parquet_views(con, tables: dict[str, Path]) -> None:
    """Views `<name>` (the table) and `<name>#rows` (with each row's position) over each file."""
    for name, path in sorted(tables.items()):
        src = literal(str(path))
        con.execute(f"CREATE VIEW {quote(name)} AS SELECT * FROM read_parquet({src})")
        con.execute(f"CREATE VIEW {rows_view(name)} AS SELECT * FROM read_parquet({src}, file_row_number = true)")


def add_arrow_tables(con, tables: dict) -> None:
    """The same two names for tables held in memory (pyarrow), copied into DuckDB: small
    tables only (tests, derived tables); every cursor of the connection sees them."""
    import pyarrow as pa

    for name, table in sorted(tables.items()):
        numbered = table.append_column(ROW_NUMBER, pa.array(range(table.num_rows), pa.int64()))
        con.register("__arrow_in", numbered)
        try:
            con.execute(f"CREATE TABLE {rows_view(name)} AS SELECT * FROM __arrow_in")
        finally:
            con.unregister("__arrow_in")
        con.execute(f"CREATE VIEW {quote(name)} AS SELECT * EXCLUDE ({ROW_NUMBER}) FROM {rows_view(name)}")


@contextmanager
def scratch_dir(case: Path | None, prefix: str) -> Iterator[Path]:
    """A folder of our own for DuckDB to spill into, removed afterwards: inside the case
    directory when there is one (never beside the evidence), else a fresh temporary folder."""
    if case is not None and Path(case).is_dir() and os.access(case, os.W_OK):
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=case))
    else:
        path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
