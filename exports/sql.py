"""DuckDB over a case: one view per table, plus `findings`, with no file access at all.

Why views over registered Arrow datasets rather than read_parquet(): the tables are handed
to DuckDB as pyarrow datasets (scanned lazily, with column and filter push-down, batch by
batch), and then DuckDB's external access is switched off and the configuration locked.
A query can therefore read the case but never write, copy or attach a file, in the case
or anywhere else (`COPY ... TO`, `ATTACH`, `INSTALL` all fail).
"""
from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds

from caseformat.duckcase import MEMORY_LIMIT
from caseformat.schema import PROVENANCE
from reports.casedir import open_case, table_paths

PROVENANCE_COLUMNS = [f.name for f in PROVENANCE]
FINDINGS_VIEW = "findings"


class QueryError(Exception):
    """A query DuckDB refused; `str()` is one line."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(case: Path, manifest: dict | None = None, temp_directory: Path | None = None):
    """An in-memory DuckDB connection with the case's tables as views (read-only).

    It stays under the report's memory limit (caseformat.duckcase.MEMORY_LIMIT) and, given a
    `temp_directory` (a folder the caller made and removes: caseformat.duckcase.scratch_dir),
    spills a large GROUP BY or sort there instead of taking the machine's memory; both are set
    before the configuration is locked (DuckDB's own spill files are not external access)."""
    import duckdb

    case = Path(case)
    manifest = manifest if manifest is not None else open_case(case)
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    if temp_directory is not None:
        con.execute("SET temp_directory = '" + str(temp_directory).replace("'", "''") + "'")
    finding_tables = []
    for name, path in table_paths(case, manifest).items():
        dataset = ds.dataset(path, format="parquet")
        con.register(f"__arrow_{name}", dataset)
        con.execute(f"CREATE VIEW {_quote(name)} AS SELECT * FROM {_quote('__arrow_' + name)}")
        if all(c in dataset.schema.names for c in PROVENANCE_COLUMNS):
            finding_tables.append(name)
    cols = ", ".join(_quote(c) for c in PROVENANCE_COLUMNS)
    parts = [f"SELECT '{t}' AS table_name, {cols} FROM {_quote(t)}" for t in finding_tables]
    if not parts:  # a case without finding tables still has an (empty) findings view
        parts = ["SELECT NULL::VARCHAR AS table_name, " + ", ".join(
            f"NULL::{'BIGINT' if c in ('inode', 'offset', 'image_offset') else 'VARCHAR'} AS {_quote(c)}"
            for c in PROVENANCE_COLUMNS) + " WHERE false"]
    con.execute(f"CREATE VIEW {FINDINGS_VIEW} AS " + " UNION ALL ".join(parts))
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run_query(con, sql: str):
    """The result relation of `sql` (None for a statement without rows); QueryError (one
    line) when DuckDB refuses it. Rows are produced as they are fetched."""
    import duckdb

    try:
        return con.sql(sql)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise QueryError(f"query: {first}") from None
