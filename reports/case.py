"""What a report is made from: manifest.json and the Parquet tables, nothing else.

Why only these: a report must be reproducible by anyone holding the case directory, so it
never reopens the evidence, the journal, or the scan's memory.

Why the tables are not read whole: a dense drive gives tens of millions of finding rows
(17 million addresses on a 1 GiB image; the emails table alone is 4 GB in Arrow). `Tables`
answers what a report needs without holding a finding table: schemas and row counts from
the Parquet footers, counts, distinct counts and tallies from DuckDB over the files (under a
memory limit, spilling into a scratch folder of the case), and rows only for the findings a
report lists, by position, a row group at a time. Small tables (evidence, volumes, errors,
the operator tables) may still be read whole with the columns asked for (`read`).
"""
from __future__ import annotations

import json
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from caseformat import duckcase

CORE_TABLES = ("evidence", "volumes", "files", "errors")
# Tables that grow with the findings (tens of millions of rows on a dense drive): counted and
# listed through SQL and `take`, never read whole, not even a few columns of every row.
BIG_TABLES = frozenset({"emails", "credentials", "indicators", "files", "yara", "harvest_lists"})


class ReportError(Exception):
    """A case directory a report cannot be made from; `str()` is one line."""


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class Tables:
    """A case's tables, read on demand (see the module's docstring).

    Built over Parquet files (`from_files`, what `seized report` uses) or over pyarrow tables
    held in memory (`from_arrow`, for tests and derived tables); both answer the same way.
    `close` ends the DuckDB connection; a `Tables` is also a context manager.
    """

    def __init__(self, files: dict[str, Path | None], arrow: dict[str, pa.Table | None] | None = None,
                 scratch: Path | None = None) -> None:
        self._files = dict(files)
        self._arrow = dict(arrow or {})
        self._scratch = scratch
        self._schemas: dict[str, pa.Schema] = {}
        self._rows: dict[str, int] = {}
        self._con = None
        self._lock = threading.Lock()

    @classmethod
    def from_files(cls, files: dict[str, Path | None], scratch: Path | None = None) -> "Tables":
        for name, path in files.items():
            if path is None:
                continue
            try:
                meta = pq.read_metadata(path)
                meta.schema.to_arrow_schema()
            except (OSError, pa.ArrowException) as exc:
                raise ReportError(f"{path}: unreadable table ({_first_line(exc)})") from exc
        return cls(files, None, scratch)

    @classmethod
    def from_arrow(cls, tables: dict[str, pa.Table | None]) -> "Tables":
        return cls({name: None for name in tables}, tables)

    # -- what is there, from the footers ---------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self._files)

    def __contains__(self, name: str) -> bool:
        return self.present(name)

    def present(self, name: str) -> bool:
        return self._arrow.get(name) is not None or self._files.get(name) is not None

    def schema(self, name: str) -> pa.Schema | None:
        if not self.present(name):
            return None
        if name not in self._schemas:
            table = self._arrow.get(name)
            self._schemas[name] = table.schema if table is not None else pq.read_schema(self._files[name])
        return self._schemas[name]

    def columns(self, name: str) -> list[str]:
        sch = self.schema(name)
        return [] if sch is None else list(sch.names)

    def has(self, name: str, *columns: str) -> bool:
        """The table is present and has these columns."""
        sch = self.schema(name)
        return sch is not None and all(c in sch.names for c in columns)

    def num_rows(self, name: str) -> int:
        """Rows of the table (0 when absent)."""
        if not self.present(name):
            return 0
        if name not in self._rows:
            table = self._arrow.get(name)
            self._rows[name] = table.num_rows if table is not None else pq.read_metadata(self._files[name]).num_rows
        return self._rows[name]

    # -- rows --------------------------------------------------------------------------------

    def read(self, name: str, columns: list[str] | None = None) -> pa.Table | None:
        """The whole table, only `columns` of it when given (None: absent). For small tables:
        the finding tables are counted with `sql` and listed with `take`, never read whole."""
        if not self.present(name):
            return None
        table = self._arrow.get(name)
        if table is not None:
            return table if columns is None else table.select(columns)
        if name in BIG_TABLES:
            raise ValueError(f"{name}: a finding table is counted in SQL and listed with take(), never read whole")
        try:
            return pq.read_table(self._files[name], columns=columns)
        except (OSError, pa.ArrowException) as exc:
            raise ReportError(f"{self._files[name]}: unreadable table ({_first_line(exc)})") from exc

    def get(self, name: str) -> pa.Table | None:
        return self.read(name)

    def take(self, name: str, positions: list[int], columns: list[str] | None = None) -> pa.Table:
        """Rows at these positions (in the order given), typed as in the table. DuckDB reads
        only these rows' columns, vector by vector: a listing of 50 findings never holds the
        table, nor even one of its row groups (a row group of wide rows is hundreds of MB)."""
        sch = self.schema(name)
        cols = list(sch.names) if columns is None else list(columns)
        target = pa.schema([sch.field(c) for c in cols])
        if not positions:
            return target.empty_table()
        table = self._arrow.get(name)
        if table is not None:
            return table.select(cols).take(pa.array(positions, pa.int64()))
        wanted = sorted({int(p) for p in positions})
        got = self.sql(f"SELECT {', '.join(duckcase.quote(c) for c in cols + [duckcase.ROW_NUMBER])} "
                       f"FROM {self.ref(name, positions=True)} WHERE {duckcase.ROW_NUMBER} IN "
                       f"({', '.join(map(str, wanted))}) ORDER BY {duckcase.ROW_NUMBER}")
        at = {p: i for i, p in enumerate(got.column(duckcase.ROW_NUMBER).to_pylist())}
        typed = pa.Table.from_arrays([got.column(i).cast(f.type) for i, f in enumerate(target)], schema=target)
        return typed.take(pa.array([at[int(p)] for p in positions], pa.int64()))

    # -- SQL ---------------------------------------------------------------------------------

    def _connection(self):
        with self._lock:
            if self._con is None:
                con = duckcase.connect(self._scratch)
                files = {n: p for n, p in self._files.items() if p is not None and self._arrow.get(n) is None}
                duckcase.add_parquet_views(con, files)
                duckcase.add_arrow_tables(con, {n: t for n, t in self._arrow.items() if t is not None})
                self._con = con
            return self._con

    def ref(self, name: str, positions: bool = False) -> str:
        """The table's name in `sql` (with `positions`: the view with column file_row_number)."""
        return duckcase.rows_view(name) if positions else duckcase.quote(name)

    def sql(self, query: str, params: list | None = None, arrow: dict[str, pa.Table] | None = None) -> pa.Table:
        """The result of a query over the tables (named by `ref`), as Arrow; `arrow`: small
        pyarrow tables the query may also name."""
        import duckdb

        cur = self._connection().cursor()  # one per call: the charts are planned on another thread
        try:
            for name, table in (arrow or {}).items():
                cur.register(name, table)
            rel = cur.sql(query, params=params) if params else cur.sql(query)
            return rel.to_arrow_table() if rel is not None else pa.table({})
        except duckdb.Error as exc:  # a damaged page past a sound footer: one line, not a traceback
            raise ReportError(f"a case table could not be read ({_first_line(exc)})") from exc
        finally:
            cur.close()

    def fetch(self, query: str, params: list | None = None) -> list[tuple]:
        import duckdb

        cur = self._connection().cursor()
        try:
            return cur.execute(query, params or []).fetchall()
        except duckdb.Error as exc:
            raise ReportError(f"a case table could not be read ({_first_line(exc)})") from exc
        finally:
            cur.close()

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def __enter__(self) -> "Tables":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class CaseData:
    root: Path
    manifest: dict
    tables: Tables  # a dict of pyarrow tables is taken too (tests) and wrapped
    case_name: str
    examiner: str
    finding_tables: tuple[str, ...]  # finding tables present or expected, sorted

    def __post_init__(self) -> None:
        if isinstance(self.tables, dict):
            object.__setattr__(self, "tables", Tables.from_arrow(self.tables))

    @property
    def evidence_ids(self) -> list[str]:
        return sorted(e["evidence_id"] for e in self.manifest.get("evidence", []))

    def exhibit(self, evidence_id: str | None) -> str:
        """Exhibit label (E1, E2, ... in evidence_id order)."""
        ids = self.evidence_ids
        return f"E{ids.index(evidence_id) + 1}" if evidence_id in ids else "E?"

    def evidence(self, evidence_id: str) -> dict:
        return next(e for e in self.manifest.get("evidence", []) if e["evidence_id"] == evidence_id)


def _case_toml(root: Path) -> dict:
    path = root / "case.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not valid TOML ({exc})") from exc


def _finding_table_names(manifest: dict, root: Path) -> tuple[str, ...]:
    try:
        from caseformat.tables import finding_classes

        known = set(finding_classes())
    except Exception:  # a half-installed tree still reports what is on disk
        known = set()
    on_disk = {p.name for p in (root / "tables").iterdir() if p.is_dir()} if (root / "tables").is_dir() else set()
    listed = set(manifest.get("tables", {}))
    names = (known | on_disk | listed) - set(CORE_TABLES) - {"correlations", "timeline"}  # derived by the report
    return tuple(sorted(names))


def load_case(root: Path, case_name: str | None = None, examiner: str | None = None,
              scratch: Path | None = None) -> CaseData:
    """The case's manifest and its tables (footers read; rows when asked). `scratch`: where
    DuckDB may spill (a folder the caller made and removes)."""
    mpath = root / "manifest.json"
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{root}: not a seized case directory (no manifest.json)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{mpath}: not valid JSON ({exc})") from exc
    toml = _case_toml(root)
    recorded = manifest.get("case") or {}
    name = case_name or recorded.get("name") or toml.get("case_name") or "(case name not given)"
    who = examiner or recorded.get("examiner") or toml.get("examiner") or "(examiner not given)"
    finding = _finding_table_names(manifest, root)
    paths = {n: root / "tables" / n / "part-0.parquet" for n in CORE_TABLES + finding}
    tables = Tables.from_files({n: (p if p.is_file() else None) for n, p in paths.items()}, scratch)
    return CaseData(root, manifest, tables, str(name), str(who), finding)
