"""The summary's Counter must give exactly what each Query gives on its own.

Counter drops conditions that keep every row and reuses counts across questions; a wrong
reuse would put a number in a sworn declaration that its printed query does not give.
"""
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from reports.query import Cond, Counter, Query, eq

EVIDENCE = ("e1", "e2")
WORDS = ("alpha", "beta", None)

rows = st.lists(st.fixed_dictionaries({
    "evidence_id": st.sampled_from(EVIDENCE),
    "kind": st.sampled_from(WORDS),
    "value": st.sampled_from(("x", "y", "z", None)),
    "valid": st.booleans(),
    "brands": st.lists(st.sampled_from(("pfizer", "microsoft")), max_size=2),
}), max_size=30)

conds = st.lists(st.one_of(
    st.builds(eq, st.just("evidence_id"), st.sampled_from(EVIDENCE)),
    st.builds(eq, st.just("kind"), st.sampled_from(("alpha", "beta"))),
    st.builds(eq, st.just("valid"), st.booleans()),
    st.builds(Cond, st.just("value"), st.sampled_from(("is null", "is not null"))),
    st.builds(Cond, st.just("kind"), st.just("contains"), st.just("ALP")),
    st.builds(Cond, st.just("brands"), st.just("has"), st.sampled_from(("pfizer", "microsoft"))),
), max_size=3)

distinct = st.sampled_from(((), ("value",), ("kind", "value"), ("evidence_id",)))

SCHEMA = pa.schema([("evidence_id", pa.string()), ("kind", pa.string()), ("value", pa.string()),
                    ("valid", pa.bool_()), ("brands", pa.list_(pa.string()))])


@settings(max_examples=150, deadline=None)
@given(rows=rows, questions=st.lists(st.tuples(conds, distinct), min_size=1, max_size=8))
def test_counter_answers_as_each_query_does(rows, questions):
    tables = {"t": pa.Table.from_pylist(rows, schema=SCHEMA)}
    counter = Counter(tables)
    for where, cols in questions:  # one counter for all: its reuse across questions is what is tested
        query = Query("t", tuple(where), cols)
        assert counter.run(query) == query.run(tables), query.text()
        got, want = counter.rows(query, ["kind"]), query.rows(tables, ["kind"])
        assert got.equals(want), query.text()


@settings(max_examples=60, deadline=None)
@given(rows=rows, questions=st.lists(st.tuples(conds, distinct), min_size=1, max_size=6),
       column=st.sampled_from(("kind", "valid", "brands")))
def test_counter_over_parquet_answers_as_each_query_does(tmp_path_factory, rows, questions, column):
    """The report's Counter runs in DuckDB over the Parquet file: same numbers, rows and tallies."""
    import pyarrow.parquet as pq

    from reports.case import Tables

    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    path = tmp_path_factory.mktemp("t") / "part-0.parquet"
    pq.write_table(table, path, row_group_size=7)  # several row groups: positions cross them
    tables = {"t": table}
    with Tables.from_files({"t": path}) as on_disk:
        counter = Counter(on_disk)
        for where, cols in questions:
            query = Query("t", tuple(where), cols)
            assert counter.run(query) == query.run(tables), query.text()
            got, want = counter.rows(query, ["kind", "brands"]), query.rows(tables, ["kind", "brands"])
            assert got.equals(want), query.text()
            is_list = column == "brands"
            values = sorted({v for r in want.to_pylist() for v in (r[column] or [])} if is_list else
                            {r for r in query.rows(tables, [column]).column(0).to_pylist() if r is not None})
            expect = [(v, Query("t", query.where + (Cond(column, "has", v) if is_list else eq(column, v),)).run(tables))
                      for v in values]
            assert counter.tally(query, column, 200) == expect, query.text()
        if table.num_rows:
            picked = [table.num_rows - 1, 0, table.num_rows // 2]
            assert on_disk.take("t", picked).to_pylist() == table.take(picked).to_pylist()


def test_a_missing_table_or_column_counts_zero():
    tables = {"t": pa.Table.from_pylist([{"a": "x"}]), "gone": None}
    counter = Counter(tables)
    assert counter.run(Query("gone")) == 0
    assert counter.run(Query("t", (eq("b", "x"),))) == 0
    assert counter.run(Query("t", (), ("b",))) == 0
    assert counter.rows(Query("t"), ["b"]) is None
