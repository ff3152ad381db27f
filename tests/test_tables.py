"""The table contract: every finding class maps to Arrow and keeps clear of provenance columns."""
import dataclasses

import pyarrow as pa

from caseformat import schema
from caseformat.tables import final_schema, finding_classes
from caseformat import tables as tbl
from extractors.base import Finding
from extractors.registry import EXTRACTORS


def test_each_registry_entry_names_a_finding_dataclass():
    for ext in EXTRACTORS:
        assert dataclasses.is_dataclass(ext.finding) and issubclass(ext.finding, Finding), ext.name


def test_every_finding_table_has_a_schema_with_provenance_first():
    provenance = [f.name for f in schema.PROVENANCE]
    for name, cls in finding_classes().items():
        sch = final_schema(name)
        assert isinstance(sch, pa.Schema)
        assert sch.names[: len(provenance)] == provenance, name
        own = [f.name for f in dataclasses.fields(cls) if f.name != "offset"]
        assert not set(own) & set(provenance), (name, set(own) & set(provenance))
        assert len(sch.names) == len(provenance) + len(own), name


# ---- streamed assembly: sorted runs written unit by unit equal the table sorted whole

from hypothesis import given, settings, strategies as st  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pytest  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402


def _sorted_emails(n: int) -> pa.Table:
    rows = [dict(evidence_id="e1", volume=f"mbr:{i % 3}", inode=i % 7, stream=None, path=f"/p/{i % 11}",
                 member=None if i % 5 else "a.zip!x", offset=i, image_offset=i + 512, extractor="emails",
                 extractor_version="1", address=f"u{i}@example.com", raw=f"u{i}@example.com",
                 domain="example.com", encoding="ascii") for i in range(n)]
    table = pa.Table.from_pylist(rows, schema=final_schema("emails"))
    return tbl.sort_table(tbl.add_finding_ids("emails", table))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 3000), cuts=st.lists(st.integers(0, 3000), max_size=8), group=st.sampled_from([7, 100, 1000]))
def test_runs_in_order_give_the_bytes_of_the_whole_table(n, cuts, group):
    whole = _sorted_emails(n)
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp, "whole"), Path(tmp, "runs")
        (a / "tables/emails").mkdir(parents=True)  # the table written in one call, as pyarrow cuts it
        pq.write_table(whole, a / "tables/emails/part-0.parquet", compression="zstd", row_group_size=group,
                       write_statistics=True, use_dictionary=tbl.dictionary_columns(whole.slice(0, group)))
        writer = tbl.SortedTableWriter(b, "emails", whole.schema, group)
        bounds = sorted({0, n, *(c for c in cuts if c <= n)})
        for lo, hi in zip(bounds, bounds[1:]):
            writer.append(whole.slice(lo, hi - lo))
        writer.close()
        first = (a / "tables/emails/part-0.parquet").read_bytes()
        assert first == (b / "tables/emails/part-0.parquet").read_bytes()
        assert pq.read_table(b / "tables/emails/part-0.parquet").equals(whole)


def test_a_run_out_of_order_is_refused_and_leaves_no_table(tmp_path):
    whole = _sorted_emails(100)
    writer = tbl.SortedTableWriter(tmp_path, "emails", whole.schema)
    writer.append(whole.slice(50))
    with pytest.raises(tbl.OutOfOrder):
        writer.append(whole.slice(0, 50))
    writer.abort()
    assert not any((tmp_path / "tables/emails").iterdir())


def test_finding_ids_do_not_depend_on_how_rows_are_sliced(monkeypatch):
    table = _sorted_emails(500)
    monkeypatch.setattr(tbl, "_ID_SLICE", 7)
    assert tbl.add_finding_ids("emails", table).column("finding_id").to_pylist() == \
        table.column("finding_id").to_pylist()


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 4), st.sampled_from("abc")),
                     max_size=60))
def test_a_run_the_worker_sorted_is_in_the_final_order(rows):
    """Workers sort their rows without knowing evidence_id or finding_id; with both filled in,
    the run must be what sorting the whole final table gives (ties on location included)."""
    worker_rows = [dict(volume=f"mbr:{v}", inode=i, stream=None, path=f"/p/{i}", member=None, offset=off,
                        image_offset=None, extractor="emails", extractor_version="1", address=f"{a}@x.org",
                        raw=f"{a}@x.org", domain="x.org", encoding="ascii") for v, i, off, a in rows]
    table = pa.Table.from_pylist(worker_rows, schema=tbl.worker_schema("emails"))
    keyed = lambda t: t.append_column("finding_key", tbl.finding_keys("emails", t))  # noqa: E731
    final = tbl.final_schema("emails")
    by_worker = tbl.with_evidence_id(keyed(tbl.sort_worker_table("emails", table)), "e1", final)
    assert by_worker.equals(tbl.sort_table(tbl.with_evidence_id(keyed(table), "e1", final)))
