"""Assembling the evidence tables: schemas per table, finding ids, sort order, Parquet files.

Determinism lives here: rows from any number of workers, in any order, become the same
sorted table with the same finding ids, and the same bytes on disk.
"""
from __future__ import annotations

import binascii
import hashlib
from functools import cache
from pathlib import Path
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from caseformat import schema
from caseformat.atomic import commit, make_dir, temporary_name
from caseformat.problems import Problem
from extractors.registry import EXTRACTORS, JUDGEMENTS, RULE_SCANNERS

FINDING_ID_HEX = 20
# Row order of every table: these columns, then the table's other columns, then finding_id.
# finding_id is last because it is the only one a worker cannot know (it mixes in the image's
# hash): rows equal in every other column have equal ids, so workers sort their own rows
# into the final order and the conductor only checks the seams between them.
SORT_KEYS = ("evidence_id", "volume", "path", "inode", "stream", "member", "offset")
LATE_KEYS = ("evidence_id", "finding_id")  # columns a worker's table lacks


@cache
def finding_classes() -> dict[str, type]:
    return {producer.table: producer.finding for producer in EXTRACTORS + RULE_SCANNERS + JUDGEMENTS}


@cache  # asked for once per window and extractor on the worker's hot path
def worker_schema(name: str) -> pa.Schema:
    if name == "errors":
        return schema.WORKER_ERRORS
    if name == "file_results":
        return schema.FILE_RESULTS
    return schema.finding_schema(finding_classes()[name], worker=True)


@cache
def final_schema(name: str) -> pa.Schema:
    fixed = {"evidence": schema.EVIDENCE, "volumes": schema.VOLUMES, "files": schema.FILES, "errors": schema.ERRORS}
    if name in fixed:
        return fixed[name]
    return schema.finding_schema(finding_classes()[name])


def finding_table_names() -> list[str]:
    return sorted(finding_classes())


def errors_table(problems: Iterable[Problem], evidence_id: str | None = None) -> pa.Table:
    """`errors` rows: a worker's (no evidence id), or with `evidence_id` the case table's."""
    rows = [p.row() for p in problems]
    if evidence_id is None:
        return pa.Table.from_pylist(rows, schema=schema.WORKER_ERRORS)
    return pa.Table.from_pylist([dict(r, evidence_id=evidence_id) for r in rows], schema=schema.ERRORS)


_ID_SLICE = 65536
_NULL = "\x00"  # stands for a missing value in the id key; no text value contains it
_SEP = "\x1e"  # between columns
_ITEM = "\x1f"  # between the items of a list column
FINDING_KEY = pa.binary(FINDING_ID_HEX // 2)
_KEY_LOCATION = ("volume", "inode", "stream", "path", "member", "offset", "image_offset", "extractor")


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """One canonical text per value, so the id key is the same however the rows were made."""
    if pa.types.is_list(column.type):
        column = pc.binary_join(pc.cast(column, pa.list_(pa.string())), _ITEM)
    elif not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.fill_null(column, _NULL)


def finding_keys(name: str, table: pa.Table) -> pa.Array:
    """Per row, the first bytes of SHA-256 over the table name, where the finding is and what
    it says (never a secret, never time): the part of the finding id a worker can compute.

    The evidence id is left out because it is the image's hash, which a worker scanning files
    does not know yet; `finding_ids` mixes it in at assembly without hashing each row again.
    The key text is built column-wise in Arrow and each row's UTF-8 bytes are hashed straight
    from Arrow's buffer; only the digest call is per row.
    """
    cls = finding_classes()[name]
    secret = schema.secret_columns(cls)
    columns = list(_KEY_LOCATION) + [f.name for f in schema.finding_fields(cls) if f.name not in secret]
    width = FINDING_KEY.byte_width
    sha = hashlib.sha256
    digests = bytearray()
    for start in range(0, table.num_rows, _ID_SLICE):  # bounded: never the key text of a whole run
        part = table.slice(start, _ID_SLICE)
        cols = [pa.array([name] * part.num_rows, pa.string())] + [_as_text(part.column(c)) for c in columns]
        joined = pc.binary_join_element_wise(*cols, _SEP).combine_chunks()
        offsets = np.frombuffer(joined.buffers()[1], np.int32, joined.offset + len(joined) + 1)[joined.offset:]
        data = memoryview(joined.buffers()[2])
        bounds = offsets.tolist()
        for lo, hi in zip(bounds, bounds[1:]):
            digests += sha(data[lo:hi]).digest()[:width]
    return pa.FixedSizeBinaryArray.from_buffers(FINDING_KEY, table.num_rows, [None, pa.py_buffer(bytes(digests))])


def finding_ids(keys: pa.Array | pa.ChunkedArray, evidence_id: str) -> pa.Array:
    """finding_id = hex(finding key XOR the first bytes of SHA-256 of the evidence id).

    Distinct keys stay distinct within one evidence item (XOR with a constant is one-to-one),
    and the same finding on another image gets another id. Vectorised: no per-row Python.
    """
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks() if keys.num_chunks else pa.array([], FINDING_KEY)
    width = FINDING_KEY.byte_width
    n = len(keys)
    raw = np.frombuffer(keys.buffers()[1], np.uint8, (keys.offset + n) * width)[keys.offset * width:]
    mask = np.frombuffer(hashlib.sha256(f"evidence\x1e{evidence_id}".encode()).digest()[:width], np.uint8)
    mixed = (raw.reshape(n, width) ^ mask).tobytes()
    text = binascii.hexlify(mixed)
    offsets = np.arange(0, n * 2 * width + 1, 2 * width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text))


def add_finding_ids(name: str, table: pa.Table) -> pa.Table:
    """Fill finding_id of a table in the final schema (one or more evidence items) in one step."""
    if table.num_rows == 0:
        return table
    keys = finding_keys(name, table)
    evidence = table.column("evidence_id").to_pylist()
    parts = {ev: finding_ids(keys, ev).to_pylist() for ev in set(evidence)}
    ids = pa.array([parts[ev][i] for i, ev in enumerate(evidence)], pa.string())
    return table.set_column(table.schema.get_field_index("finding_id"), "finding_id", ids)


def with_evidence_id(table: pa.Table, evidence_id: str, final: pa.Schema) -> pa.Table:
    """Reorder a worker table into the final schema, filling evidence_id and, from the
    workers' `finding_key` column, finding_id."""
    n = table.num_rows
    arrays = []
    for field in final:
        if field.name == "evidence_id":
            arrays.append(pa.array([evidence_id] * n, pa.string()))
        elif field.name == "finding_id" and "finding_key" in table.column_names:
            arrays.append(finding_ids(table.column("finding_key"), evidence_id))
        elif field.name in table.column_names:
            arrays.append(table.column(field.name).cast(field.type))
        else:
            arrays.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(arrays, schema=final)


def _sort_keys(sch: pa.Schema) -> list[tuple[str, str]]:
    names = [k for k in SORT_KEYS if k in sch.names]
    names += [f.name for f in sch if f.name not in names and f.name != "finding_id" and not pa.types.is_list(f.type)]
    names += ["finding_id"] if "finding_id" in sch.names else []
    return [(n, "ascending") for n in names]


def _sorted(table: pa.Table, keys: list[tuple[str, str]]) -> pa.Table:
    if not keys or table.num_rows < 2:
        return table
    keys = _varying(table, keys)
    if not keys:  # every key one value: the (stable) sort keeps the rows as they are
        return table
    return table.take(pc.sort_indices(table, sort_keys=keys))


def _varying(table: pa.Table, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The sort keys from the first that is not one value over the whole table: a key that
    is (a worker's volume, path, inode ... within one object) orders nothing, and Arrow
    compared its strings on every comparison (the sort took 7x longer on a dense list)."""
    for i, (name, _) in enumerate(keys):
        column = table.column(name)
        nulls = column.null_count
        if nulls == len(column):
            continue
        if nulls or not pc.all(pc.equal(column, column[0])).as_py():
            return keys[i:]
    return []


def sort_table(table: pa.Table) -> pa.Table:
    return _sorted(table, _sort_keys(table.schema))


def sort_worker_table(name: str, table: pa.Table) -> pa.Table:
    """A worker's finding table in the order it takes in the final table (see SORT_KEYS):
    sorted on the workers, in parallel, instead of on the conductor after the last unit.
    Columns the worker lacks are one value for the whole run and do not change the order."""
    return _sorted(table, worker_sort_keys(name, table.column_names))


def worker_sort_keys(name: str, columns: list[str]) -> list[tuple[str, str]]:
    """The sort keys of `sort_worker_table` for a worker table with these columns."""
    present = set(columns)
    return [k for k in _sort_keys(final_schema(name)) if k[0] in present and k[0] not in LATE_KEYS]


def runs_in_order(name: str, before: pa.Table, after: pa.Table) -> bool:
    """Whether a worker run whose last row is `before` may be followed by one starting with
    `after` (each one row) in the order `sort_worker_table` gives; ties keep their order."""
    seam = pa.concat_tables([before, after])
    return pc.sort_indices(seam, sort_keys=worker_sort_keys(name, seam.column_names)).to_pylist() == [0, 1]


ROW_GROUP_ROWS = 256 * 1024
DICTIONARY_SAMPLE_ROWS = 4096


def dictionary_columns(first_group: pa.Table) -> list[str]:
    """Columns worth Parquet's dictionary encoding: those whose values repeat (paths,
    extractor names, domains), judged on the first rows of the first row group.

    Why not every column: for ids, offsets and addresses that are nearly all distinct the
    writer fills a dictionary page, gives up and writes them plain anyway, which was a third
    of the time spent writing the tables. The first row group is the same for any number of
    workers, so the choice (and the file's bytes) is too.
    """
    sample = first_group.slice(0, DICTIONARY_SAMPLE_ROWS)
    chosen = []
    for field, column in zip(sample.schema, sample.columns):
        if pa.types.is_list(field.type) or sample.num_rows == 0:
            chosen.append(field.name)  # Arrow's default for what it cannot judge cheaply
        elif len(pc.unique(column)) * 4 <= sample.num_rows:
            chosen.append(field.name)
    return chosen


class OutOfOrder(Exception):
    """A run handed to SortedTableWriter would not follow the rows already written."""


class SortedTableWriter:
    """A table written from sorted runs, in fixed row groups, never held whole in memory.

    Runs must arrive in the final order (the unit plan guarantees it; `append` checks
    each seam with Arrow's own sort and raises OutOfOrder otherwise). Row groups are cut
    every ROW_GROUP_ROWS rows whatever the runs' sizes, so the rows of each row group do not
    depend on how they were batched; the pages inside a row group do (a group is written as
    the chunks it was appended in), which is why the runs come from the journal in pieces of
    caseformat.journal.PIECE_ROWS rows and a worker lays its unit files out the same way
    however it spilled (seized.worker._write_runs). Written under a temporary name and renamed
    on `close` (caseformat.atomic.commit).
    """

    def __init__(self, case: Path, name: str, sch: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS,
                 check_order: bool = True) -> None:
        self.group = row_group_rows
        self.final = make_dir(case / "tables" / name) / "part-0.parquet"
        self.tmp = temporary_name(self.final)
        self.schema = sch
        self.rows = 0
        self._keys = _sort_keys(sch) if check_order else []
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._last: pa.Table | None = None
        self._writer: pq.ParquetWriter | None = None  # opened with the first row group

    def _write(self, group: pa.Table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd", write_statistics=True,
                                            use_dictionary=dictionary_columns(group))
        self._writer.write_table(group, row_group_size=self.group)

    def append(self, run: pa.Table) -> None:
        if run.num_rows == 0:
            return
        run = run.cast(self.schema) if run.schema != self.schema else run
        if self._last is not None and self._keys:
            seam = pa.concat_tables([self._last, run.slice(0, 1)])
            if pc.sort_indices(seam, sort_keys=self._keys).to_pylist() != [0, 1]:
                raise OutOfOrder(f"{self.final.parent.name}: a run starts before the rows already written")
        self._last = run.slice(run.num_rows - 1, 1)
        self._pending.append(run)
        self._pending_rows += run.num_rows
        self.rows += run.num_rows
        if self._pending_rows >= self.group:
            buffered = pa.concat_tables(self._pending)
            cut = (buffered.num_rows // self.group) * self.group
            for start in range(0, cut, self.group):
                self._write(buffered.slice(start, self.group))
            rest = buffered.slice(cut)
            self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows

    def close(self) -> Path:
        if self._pending_rows or self.rows == 0:  # an empty table gets its one empty row group, as pyarrow writes it
            self._write(pa.concat_tables(self._pending or [self.schema.empty_table()]))
        self._pending = []
        self._writer.close()
        return commit(self.tmp, self.final)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.tmp.unlink(missing_ok=True)


def write_table(case: Path, name: str, table: pa.Table, row_group_rows: int = ROW_GROUP_ROWS) -> Path:
    """Write a table held in memory (small tables, and the fallback for out-of-order runs)."""
    writer = SortedTableWriter(case, name, table.schema, row_group_rows, check_order=False)  # sorted whole already
    for batch in table.to_batches(row_group_rows):
        writer.append(pa.Table.from_batches([batch], table.schema))
    return writer.close()


def read_table(case: Path, name: str) -> pa.Table:
    path = case / "tables" / name / "part-0.parquet"
    return pq.read_table(path)
