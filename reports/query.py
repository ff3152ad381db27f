"""Reproducible counts: every number in a report is a `Query` over one Parquet table.

Why a tiny query form instead of free prose: a reader of the declaration must be able to
recompute each number from the tables alone (pyarrow, DuckDB, pandas, by hand). The text
form, e.g. `emails where evidence_id='abc' | count distinct address`, is printed next to the
number in summary.json and in the report; `run` is the one place that evaluates it.

Grammar: TABLE [where COND (and COND)*] | count [distinct COL(, COL)*]
         TABLE [where COND (and COND)*] | sum COL   (the total of an integer column, nulls as 0)
COND: COL = 'text' | COL = true|false | COL is null | COL is not null | COL contains 'text' |
      COL has 'text' (a list column with that element) | COL lacks 'text' (without it)
(`contains` is case-insensitive; `count distinct COL` skips nulls like SQL;
`count distinct A, B` counts distinct (A, B) tuples, null being a value).
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True, slots=True)
class Cond:
    column: str
    op: str  # "=", "is null", "is not null", "contains", "has", "lacks"
    value: str | bool | None = None

    def text(self) -> str:
        if self.op in ("is null", "is not null"):
            return f"{self.column} {self.op}"
        if isinstance(self.value, bool):
            return f"{self.column} = {'true' if self.value else 'false'}"
        quoted = "'" + str(self.value).replace("'", "''") + "'"
        return f"{self.column} {self.op} {quoted}"

    def mask(self, table: pa.Table) -> pa.ChunkedArray:
        col = table.column(self.column)
        if self.op == "is null":
            return pc.is_null(col)
        if self.op == "is not null":
            return pc.is_valid(col)
        if self.op in ("has", "lacks"):  # a list column holding (or not holding) the value
            flat = pc.list_flatten(col)
            parents = pc.list_parent_indices(col)
            hit = pc.unique(pc.filter(parents, pc.fill_null(pc.equal(flat, pa.scalar(self.value, flat.type)), False)))
            has = pc.is_in(pa.array(range(len(col)), pa.int64()), value_set=hit.cast(pa.int64()))
            return has if self.op == "has" else pc.invert(has)
        if self.op == "contains":
            return pc.fill_null(pc.match_substring(col, str(self.value), ignore_case=True), False)
        return pc.fill_null(pc.equal(col, pa.scalar(self.value, col.type)), False)


def eq(column: str, value: str | bool) -> Cond:
    return Cond(column, "=", value)


@dataclass(frozen=True, slots=True)
class Query:
    table: str
    where: tuple[Cond, ...] = ()
    distinct: tuple[str, ...] = ()  # empty: count rows
    total: str | None = None  # a column to sum instead of counting rows

    def text(self) -> str:
        out = self.table
        if self.where:
            out += " where " + " and ".join(c.text() for c in self.where)
        if self.total:
            return out + f" | sum {self.total}"
        out += " | count"
        if self.distinct:
            out += " distinct " + ", ".join(self.distinct)
        return out

    def and_(self, *conds: Cond) -> "Query":
        return Query(self.table, self.where + conds, self.distinct, self.total)

    def _table(self, tables: dict[str, pa.Table | None]) -> pa.Table | None:
        table = tables.get(self.table)
        if table is None or any(c.column not in table.column_names for c in self.where):
            return None
        return table

    def _mask(self, table: pa.Table):
        """Rows the where clause keeps, as a boolean column (None: every row)."""
        if not self.where or table.num_rows == 0:
            return None
        keep = self.where[0].mask(table)
        for cond in self.where[1:]:
            keep = pc.and_(keep, cond.mask(table))
        return keep

    def rows(self, tables: dict[str, pa.Table | None], columns: list[str] | None = None) -> pa.Table | None:
        """The rows the where clause keeps, only `columns` of them when given (None: table
        missing or a named column absent). Selecting first keeps a filtered copy small."""
        table = self._selectable(tables, columns)
        return None if table is None else _kept(table, self._mask(table), columns)

    def _selectable(self, tables: dict[str, pa.Table | None], columns: list[str] | None) -> pa.Table | None:
        table = self._table(tables)
        if table is None or (columns and any(c not in table.column_names for c in columns)):
            return None
        return table

    def _countable(self, tables: dict[str, pa.Table | None]) -> pa.Table | None:
        """The table to count in; None when the answer is 0 (missing, empty, or a distinct
        column absent)."""
        table = self._table(tables)
        if table is None or table.num_rows == 0 or any(c not in table.column_names for c in self.distinct):
            return None
        if self.total and self.total not in table.column_names:
            return None
        return table

    def run(self, tables: dict[str, pa.Table | None]) -> int:
        table = self._countable(tables)
        return 0 if table is None else _count(table, self._mask(table), self.distinct, self.total)


def _kept(table: pa.Table, keep: pa.ChunkedArray | None, columns: list[str] | None) -> pa.Table:
    """`columns` (None: all) of the rows `keep` keeps; selecting first keeps the copy small."""
    if columns is not None:
        table = table.select(columns)
    return table if keep is None else table.filter(keep)


def _count(table: pa.Table, keep: pa.ChunkedArray | None, distinct: tuple[str, ...], total: str | None = None) -> int:
    """Rows of `table` that `keep` keeps (None: all), or their distinct `distinct` values, or
    the sum of their `total` column."""
    if total:
        column = _kept(table, keep, [total]).column(0)
        return int(pc.sum(column).as_py() or 0)
    if not distinct:
        return table.num_rows if keep is None else int(pc.sum(keep).as_py() or 0)
    # One column: like SQL COUNT(DISTINCT col), nulls are not counted. Several columns:
    # distinct tuples, null being a value (a file's path with no archive member counts).
    picked = _kept(table, keep, list(distinct))
    if picked.num_rows == 0:
        return 0
    if len(distinct) == 1:  # unique() hashes a million strings ~3x faster than count_distinct()
        column = picked.column(0)
        return len(pc.unique(column)) - (1 if column.null_count else 0)
    return picked.group_by(list(distinct), use_threads=False).aggregate([]).num_rows


def counted(query: Query, tables: dict[str, pa.Table | None]) -> dict:
    """The summary.json form of a number: value, query text, table."""
    return {"value": query.run(tables), "query": query.text(), "table": query.table}


class Counter:
    """Runs many queries over one case's tables (reports.case.Tables, or a dict of pyarrow
    tables), giving what `Query.run` gives, each count worked out once, in DuckDB over the
    Parquet files: no finding table is ever held in memory.

    Why one object: a summary asks the same questions of every evidence item and of the
    whole case. A condition `evidence_id = X` that every row meets (the only evidence item of
    a one-drive case) selects nothing, so such a question is the case-wide one and is
    answered from it: hashing millions of addresses once instead of twice.
    """

    def __init__(self, tables) -> None:
        from reports.case import Tables

        self.tables = tables if isinstance(tables, Tables) else Tables.from_arrow(tables)
        self._per_evidence: dict[str, dict[str, int]] = {}
        self._counts: dict[tuple, int] = {}

    # -- which table, which conditions ------------------------------------------------------

    def _table(self, query: Query) -> bool:
        return self.tables.has(query.table, *(c.column for c in query.where))

    def _selectable(self, query: Query, columns: list[str] | None) -> bool:
        return self._table(query) and (not columns or self.tables.has(query.table, *columns))

    def _countable(self, query: Query) -> bool:
        """False when the answer is 0 (table missing or empty, a column absent)."""
        t = self.tables
        return self._table(query) and t.num_rows(query.table) > 0 and t.has(query.table, *query.distinct) and \
            (not query.total or t.has(query.table, query.total))

    def _keeps_all(self, table: str, cond: Cond) -> bool:
        """Whether `cond` keeps every row (only asked of `evidence_id = X`: one tally per table)."""
        if cond.column != "evidence_id" or cond.op != "=" or isinstance(cond.value, bool):
            return False
        if table not in self._per_evidence:
            rows = self.tables.fetch(f"SELECT evidence_id, count(*) FROM {self.tables.ref(table)} GROUP BY 1")
            self._per_evidence[table] = {e: n for e, n in rows if e is not None}
        return self._per_evidence[table].get(cond.value, 0) == self.tables.num_rows(table)

    def _selective(self, query: Query) -> tuple[Cond, ...]:
        if self.tables.num_rows(query.table) == 0:
            return ()
        return tuple(c for c in query.where if not self._keeps_all(query.table, c))

    def _where(self, query: Query, conds: tuple[Cond, ...]) -> tuple[str, list]:
        sch = self.tables.schema(query.table)
        parts, params = [], []
        for cond in conds:
            text, values = cond_sql(cond, sch.field(cond.column).type)
            parts.append(text)
            params += values
        return (" WHERE " + " AND ".join(parts) if parts else ""), params

    # -- answers ----------------------------------------------------------------------------

    def rows(self, query: Query, columns: list[str] | None = None) -> pa.Table | None:
        """As `Query.rows`: the rows the where clause keeps, in table order, `columns` of them
        (None: table missing or a named column absent). For small tables and filters that
        keep few rows: the result is held in memory."""
        if not self._selectable(query, columns):
            return None
        sch = self.tables.schema(query.table)
        cols = list(sch.names) if columns is None else list(columns)
        target = pa.schema([sch.field(c) for c in cols])
        if self.tables.num_rows(query.table) == 0:
            return target.empty_table()
        where, params = self._where(query, self._selective(query))
        got = self.tables.sql(f"SELECT {', '.join(_quote(c) for c in cols)} FROM "
                              f"{self.tables.ref(query.table, positions=True)}{where} ORDER BY file_row_number",
                              params)
        return _typed(got, target)

    def run(self, query: Query) -> int:
        """As `Query.run`."""
        if not self._countable(query):
            return 0
        conds = self._selective(query)
        key = (query.table, frozenset(conds), query.distinct, query.total)
        if key not in self._counts:
            self._counts[key] = self._count(query, conds)
        return self._counts[key]

    def _count(self, query: Query, conds: tuple[Cond, ...]) -> int:
        ref = self.tables.ref(query.table)
        if not conds and not query.distinct and not query.total:
            return self.tables.num_rows(query.table)  # from the footer
        where, params = self._where(query, conds)
        if query.total:
            sql = f"SELECT coalesce(sum({_quote(query.total)}), 0) FROM {ref}{where}"
        elif not query.distinct:
            sql = f"SELECT count(*) FROM {ref}{where}"
        elif len(query.distinct) == 1:  # like SQL COUNT(DISTINCT col): nulls are not counted
            col = _quote(query.distinct[0])
            sql = f"SELECT count({col}) FROM (SELECT DISTINCT {col} FROM {ref}{where})"
        else:  # distinct tuples, null being a value
            sql = f"SELECT count(*) FROM (SELECT DISTINCT {', '.join(_quote(c) for c in query.distinct)} FROM {ref}{where})"
        return int(self.tables.fetch(sql, params)[0][0] or 0)

    def tally(self, query: Query, column: str, limit: int) -> list[tuple]:
        """(value, `run` of the query with `column` = value (or `has` value, for a list
        column)) for the first `limit` non-null values in sorted order, of the rows the query
        keeps; [] when the column is not text or boolean (or a list of text)."""
        if not self._selectable(query, [column]) or self.tables.num_rows(query.table) == 0:
            return []
        typ = self.tables.schema(query.table).field(column).type
        is_list = pa.types.is_list(typ) and pa.types.is_string(typ.value_type)
        if not (is_list or pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_boolean(typ)):
            return []
        where, params = self._where(query, self._selective(query))
        col, ref = _quote(column), self.tables.ref(query.table)
        source = (f"(SELECT unnest(list_distinct({col})) AS v FROM {ref}{where})" if is_list else
                  f"(SELECT {col} AS v FROM {ref}{where})")
        return [(v, int(k)) for v, k in self.tables.fetch(
            f"SELECT v, count(*) FROM {source} WHERE v IS NOT NULL GROUP BY v ORDER BY v LIMIT {int(limit)}", params)]

    def counted(self, query: Query) -> dict:
        """As `counted`."""
        return {"value": self.run(query), "query": query.text(), "table": query.table}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cond_sql(cond: Cond, typ: pa.DataType) -> tuple[str, list]:
    """The SQL of a condition (as `Cond.mask` keeps rows: a null never matches), and its parameters."""
    col = _quote(cond.column)
    if cond.op == "is null":
        return f"{col} IS NULL", []
    if cond.op == "is not null":
        return f"{col} IS NOT NULL", []
    if cond.op in ("has", "lacks"):
        has = f"coalesce(list_contains({col}, ?), false)"
        return (has if cond.op == "has" else f"NOT {has}"), [cond.value]
    if cond.op == "contains":
        return f"coalesce(contains(lower({col}), lower(?)), false)", [str(cond.value)]
    if isinstance(cond.value, bool):
        return f"coalesce({col} = ?, false)", [cond.value]
    return f"coalesce({col} = CAST(? AS VARCHAR), false)", [cond.value]


def _typed(got: pa.Table, target: pa.Schema) -> pa.Table:
    """DuckDB's answer with the table's own column types (what pyarrow would have read)."""
    return pa.Table.from_arrays([got.column(i).cast(f.type) for i, f in enumerate(target)], schema=target)
