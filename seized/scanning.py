"""Scanning one object: run the registry's producers over its bytes, make rows.

No I/O here: bytes arrive as sequential blocks from the worker, leave as row dicts.
Large objects are cut into windows that overlap their neighbours on both sides; a finding
belongs to the window whose own range holds its first byte, so a value that spans a window
boundary is reported exactly once and a line-anchored pattern always sees its line start.
"""
from __future__ import annotations

import bisect
import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from operator import attrgetter
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc

from caseformat.journal import read_batches
from caseformat.problems import Problem, Stage
from caseformat.tables import finding_keys, sort_worker_table, worker_schema
from extractors.base import Columns, Extractor, Judgement, LimitReached, RuleScanner, Source, Tally, TextColumn
from ingest.units import OVERLAP


@dataclass(frozen=True, slots=True)
class Window:
    data: bytes
    data_start: int  # object offset of data[0]
    own_start: int  # findings starting in [own_start, own_end) belong to this window
    own_end: int
    whole: bool  # the window holds the entire object
    lines_before: int  # newlines in the object before data_start


def windows(blocks: Iterable[bytes], overlap: int = OVERLAP) -> Iterator[Window]:
    """Overlapping windows over sequential blocks; every byte is owned by exactly one window."""
    it = iter(blocks)
    cur = next(it, None)
    if cur is None:
        yield Window(b"", 0, 0, 0, True, 0)
        return
    pos = 0
    tail = b""
    newlines = 0  # in [0, pos)
    first = True
    while cur is not None:
        nxt = next(it, None)
        head = nxt[:overlap] if nxt is not None else b""
        data = tail + cur + head if (tail or head) else cur
        whole = first and nxt is None
        yield Window(data, pos - len(tail), pos, pos + len(cur), whole, newlines - tail.count(b"\n"))
        if nxt is not None:  # line numbers of later windows need the count; a lone window does not
            newlines += cur.count(b"\n")
        tail = (tail + cur)[-overlap:] if len(cur) < overlap else cur[-overlap:]
        pos += len(cur)
        cur = nxt
        first = False


class OffsetMap:
    """Object offset -> image offset, from (object offset, image offset, length) runs."""

    def __init__(self, runs: Iterable[tuple[int, int, int]]) -> None:
        self._runs = sorted(runs)
        self._starts = [r[0] for r in self._runs]

    def __call__(self, offset: int) -> int | None:
        i = bisect.bisect_right(self._starts, offset) - 1
        if i < 0:
            return None
        start, image, length = self._runs[i]
        return image + offset - start if offset < start + length else None


    def many(self, offsets: list) -> list:
        """`[self(o) for o in offsets]` (None stays None), vectorised: one call per window."""
        if not self._runs:
            return [None] * len(offsets)
        known = [o for o in offsets if o is not None]
        if not known:
            return [None] * len(offsets)
        image, ok = self._lookup(np.array(known, dtype=np.int64))
        mapped = [m if v else None for m, v in zip(image.tolist(), ok.tolist())]
        if len(known) == len(offsets):
            return mapped
        it = iter(mapped)
        return [None if o is None else next(it) for o in offsets]

    def array(self, offsets: np.ndarray) -> pa.Array:
        """`many` for an int64 array of offsets (none missing), as an Arrow int64 array with nulls."""
        if not self._runs:
            return pa.nulls(len(offsets), pa.int64())
        image, ok = self._lookup(offsets)
        return pa.array(image, pa.int64(), mask=None if ok.all() else ~ok)

    def _lookup(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image offsets of int64 object `offsets` (runs not empty), and which of them a run maps."""
        runs = np.array(self._runs, dtype=np.int64).reshape(-1, 3)
        i = np.searchsorted(runs[:, 0], offsets, side="right") - 1
        ok = i >= 0
        j = np.where(ok, i, 0)
        start, image, length = runs[j, 0], runs[j, 1], runs[j, 2]
        ok &= offsets < start + length
        return image + offsets - start, ok


class SameOffset:
    """The image offset of bytes that are the image itself (unallocated space): the offset."""

    def __call__(self, offset: int) -> int:
        return offset

    def array(self, offsets: np.ndarray) -> pa.Array:
        return pa.array(offsets, pa.int64())


NO_MAP = OffsetMap(())
SAME_OFFSET = SameOffset()


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.name != "offset")


@dataclass(slots=True)
class ObjectContext:
    """Provenance shared by every row from one object."""

    volume: str | None
    inode: int | None
    stream: str | None
    path: str | None
    member: str | None
    name: str | None
    size: int | None
    image_offset: Callable[[int], int | None]
    filetype: str = "file"  # "file", "member", "unallocated"
    mtime: int | None = None  # the file's (for members: the containing file's) mtime, seconds since the epoch


SPILL_ROWS = 1 << 18  # rows of one table a unit holds before they are sorted and spilled as a run
SPILL_BYTES = 32 << 20  # or Arrow bytes of all tables together: dense rows are wide, 2^18 e-mail rows ~45 MiB
FINDING_CHUNK = 1 << 15  # findings of one extractor on one window made into rows at a time
MERGE_BATCH = 1 << 14  # most rows per batch of a spilled run
RUN_BATCH_BYTES = 1 << 20  # about the Arrow bytes per batch of a spilled run (never under MIN_RUN_BATCH rows)
MIN_RUN_BATCH = 1 << 10


@dataclass(slots=True)
class Rows:
    """What a unit produces: findings as column batches per table, and error rows.

    Columns, not row dicts: a harvest list yields hundreds of thousands of findings, and
    building one dict per finding cost more than finding them. Memory is bounded whatever
    the unit's finding count when `spill_dir` is given: once a table holds `spill_rows`
    rows they are sorted into a run (with their finding keys, as the journal wants them)
    and written there as an Arrow IPC file; so is the largest table whenever the tables
    together hold `spill_bytes` (dense rows are wide: a row count alone let a worker hold
    hundreds of MiB). The worker joins the runs (worker._write_runs, see `runs`).
    """

    batches: dict[str, list[pa.Table]] = field(default_factory=lambda: defaultdict(list))
    errors: list[Problem] = field(default_factory=list)  # `errors` rows (caseformat.tables.errors_table)
    spill_dir: Path | None = None
    spill_rows: int | None = None  # None: the module's SPILL_ROWS
    spill_bytes: int | None = None  # None: the module's SPILL_BYTES
    held: dict[str, int] = field(default_factory=dict)  # rows in `batches` per table
    held_bytes: dict[str, int] = field(default_factory=dict)  # Arrow bytes in `batches` per table
    since_cut: dict[str, int] = field(default_factory=dict)  # rows per table since its last cut
    # Per table, how many runs were spilled at each cut: a spill because `spill_rows` rows came
    # since the last cut. Spills for bytes fall between cuts; the unit's file is laid out as if
    # only the cuts had been spilled (worker._write_runs), so its bytes do not depend on them.
    cuts: dict[str, list[int]] = field(default_factory=dict)
    spilled: dict[str, list[Path]] = field(default_factory=dict)  # sorted runs on disk, in order

    def add(self, table: str, columns: dict[str, list] | pa.Table) -> pa.Table:
        """Columns become Arrow at once: a unit's findings held as Python strings cost twice as much."""
        if isinstance(columns, pa.Table):  # made by the columnar path, in the worker schema already
            batch = columns
        else:
            batch = pa.Table.from_pydict(columns, schema=worker_schema(table))
        self.batches[table].append(batch)
        if self.spill_dir is not None:
            self.held[table] = self.held.get(table, 0) + batch.num_rows
            self.held_bytes[table] = self.held_bytes.get(table, 0) + batch.nbytes
            since = self.since_cut[table] = self.since_cut.get(table, 0) + batch.num_rows
            if since >= (self.spill_rows or SPILL_ROWS):
                self.spill(table)
                self.cuts.setdefault(table, []).append(len(self.spilled[table]))
                self.since_cut[table] = 0
            # bytes are bounded over all tables: a dense window fills e-mails and credentials at once
            while sum(self.held_bytes.values()) >= (self.spill_bytes or SPILL_BYTES):
                self.spill(max(self.held_bytes, key=self.held_bytes.__getitem__))
        return batch

    def spill(self, table: str) -> None:
        """Sort what `table` holds into a run and write it to `spill_dir`, holding nothing.

        The run is written in batches of about RUN_BATCH_BYTES: a merge holds one stored
        batch of every run at once, so a batch's size, not its row count, is what it costs."""
        run = sorted_run(table, self.batches.pop(table))
        runs = self.spilled.setdefault(table, [])
        path = self.spill_dir / f"{table}.run-{len(runs):06d}.arrow"
        write_ipc(path, [run], run_batch_rows(run))
        runs.append(path)
        self.held[table] = 0
        self.held_bytes[table] = 0
        del run
        release_memory()

    def runs(self, table: str) -> list[pa.Table | Path]:
        """The table's sorted runs in the order they were made: spilled files, then what is held."""
        out: list[pa.Table | Path] = list(self.spilled.get(table, ()))
        if self.batches.get(table):
            out.append(sorted_run(table, self.batches[table]))
        return out

    def tables(self) -> list[str]:
        return sorted(set(self.spilled) | {t for t, b in self.batches.items() if b})

    def error(self, ctx: ObjectContext | None, stage: str, error: str, volume: str | None = None) -> None:
        """A problem with the object `ctx` (None: with `volume`, or the image)."""
        if ctx is None:
            self.errors.append(Problem(volume, None, None, None, stage, error))
        else:
            self.errors.append(Problem(ctx.volume, ctx.path, ctx.inode, ctx.member, stage, error))

    def problem(self, ctx: ObjectContext, problem: Problem) -> None:
        """A problem a reader found in the object `ctx` (an archive's), placed there."""
        self.errors.append(problem.at(ctx.volume, ctx.path, ctx.inode, ctx.member))


def sorted_run(table: str, batches: list[pa.Table]) -> pa.Table:
    """Batches of one table sorted in final order, with their finding keys (one Arrow chunk)."""
    t = sort_worker_table(table, pa.concat_tables(batches)).combine_chunks()
    return t.append_column("finding_key", finding_keys(table, t))


def release_memory() -> None:
    """Give freed memory back to the system: Arrow's allocator and glibc's heap both keep freed
    pages for reuse, and after a dense window's rows (numpy and Python objects, many MiB) are
    gone the heap stays fragmented at its high-water mark (malloc_trim: a few ms). Not by
    MALLOC_TRIM_THRESHOLD_, which costs system CPU on every read (seized.cluster.WORKER_ENV)."""
    pa.default_memory_pool().release_unused()
    if _malloc_trim is not None:
        _malloc_trim(0)


def _libc_malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_malloc_trim = _libc_malloc_trim()


def run_batch_rows(run: pa.Table) -> int:
    """Rows per stored batch of a spilled run: about RUN_BATCH_BYTES, within [MIN_RUN_BATCH, MERGE_BATCH]."""
    if not run.num_rows or not run.nbytes:
        return MERGE_BATCH
    return max(MIN_RUN_BATCH, min(MERGE_BATCH, run.num_rows * RUN_BATCH_BYTES // run.nbytes))


def write_ipc(path: Path, tables: Iterable[pa.Table | Path], max_chunksize: int | None = None) -> None:
    """An Arrow IPC file of the tables' rows in order; a Path is a run already on disk (read
    one batch at a time, so a run is never copied whole into memory)."""
    writer = None
    try:
        for t in tables:
            if isinstance(t, Path):
                for batch in read_batches(t):
                    if writer is None:
                        writer = pa.ipc.new_file(str(path), batch.schema)
                    writer.write_batch(batch)
            else:
                if writer is None:
                    writer = pa.ipc.new_file(str(path), t.schema)
                writer.write_table(t, max_chunksize=max_chunksize)
    finally:
        if writer is not None:
            writer.close()


def _owned(findings: list, window: Window, rows: Rows, ctx: ObjectContext, stage: str) -> list:
    """The findings this window owns; limits become error rows."""
    if LimitReached in map(type, findings):  # rare: the general loop
        kept = []
        for f in findings:
            if isinstance(f, LimitReached):  # a bound hit in this window is recorded whatever its offset
                rows.error(ctx, stage, limit_error(f))
                continue
            offset = getattr(f, "offset", None)  # whole-object verdicts have none
            if offset is not None and not window.whole:
                absolute = window.data_start + offset
                if not (window.own_start <= absolute < window.own_end):
                    continue
            kept.append(f)
        return kept
    if window.whole:
        return findings
    # own_start <= data_start + offset < own_end, with the window's bounds made relative once
    lo, hi = window.own_start - window.data_start, window.own_end - window.data_start
    return [f for f, o in zip(findings, map(_offset_of, findings)) if o is None or lo <= o < hi]


def limit_error(limit: LimitReached) -> str:
    """The one place an extractor's bound becomes a problem's text (reports.bounds reads it back)."""
    return f"limit reached: {limit.limit} = {limit.value}"


def _offset_of(f) -> int | None:
    return getattr(f, "offset", None)  # whole-object verdicts have none


def _columns(kept: list, cls: type, ctx: ObjectContext, window: Window, extractor: str, version: str) -> dict:
    n = len(kept)
    if any(f.name == "offset" for f in dataclasses.fields(cls)):
        offsets = [None if f.offset is None else window.data_start + f.offset for f in kept]
    else:  # a whole-object verdict
        offsets = [None] * n
    cols = dict(
        volume=[ctx.volume] * n, inode=[ctx.inode] * n, stream=[ctx.stream] * n, path=[ctx.path] * n,
        member=[ctx.member] * n, offset=offsets,
        image_offset=_image_offsets(ctx.image_offset, offsets),
        extractor=[extractor] * n, extractor_version=[version] * n,
    )
    for name in _field_names(cls):
        cols[name] = list(map(attrgetter(name), kept))
    if "line_no" in cols and window.lines_before:
        cols["line_no"] = [None if x is None else x + window.lines_before for x in cols["line_no"]]
    return cols


def _image_offsets(image_offset: Callable[[int], int | None], offsets: list) -> list:
    if isinstance(image_offset, OffsetMap):
        return image_offset.many(offsets)
    return [None if o is None else image_offset(o) for o in offsets]


def scan_window(
    window: Window,
    ctx: ObjectContext,
    extractors: tuple[Extractor, ...],
    rows: Rows,
    judging: Judging | None = None,
) -> None:
    """Run each extractor over one window and keep the findings this window owns; the object's
    judgements (`judging`) are fed the kept findings of the tables they consume."""
    if is_blank(window.data):
        return  # no extractor finds anything in zeros (tests/test_scanning_blank.py); YARA still runs
    source = _source(window, ctx)
    for ext in extractors:
        if ext.whole_object and not window.whole:
            continue
        blocks = None
        if ext.columns is not None:
            try:
                blocks = ext.columns(window.data, source)
            except Exception as exc:  # as below
                rows.error(ctx, Stage.INTERNAL, f"extractor {ext.name}: {type(exc).__name__}: {exc}"[:300])
                continue
        if blocks is not None:
            _scan_columns(blocks, window, ctx, ext, rows, judging)
            continue
        # In chunks: a dense window (a 16 MiB harvest list holds 600,000 addresses) never has all
        # its findings alive as Python objects at once; rows come out in the same order.
        found = iter(ext.extract(window.data, source))
        while True:
            try:
                findings = list(islice(found, FINDING_CHUNK))
            except Exception as exc:  # an extractor bug must not stop the case; recorded as the tool's own
                rows.error(ctx, Stage.INTERNAL, f"extractor {ext.name}: {type(exc).__name__}: {exc}"[:300])
                break
            kept = _owned(findings, window, rows, ctx, _extractor_stage(ext.name))
            if kept:
                rows.add(ext.table, _columns(kept, ext.finding, ctx, window, ext.name, ext.version))
                if judging is not None:
                    judging.feed(ext.table, window.data, kept)
            if len(findings) < FINDING_CHUNK:
                break


def is_blank(data: bytes) -> bool:
    """Whether `data` is nothing but NUL bytes (or empty): never-written sectors, sparse files, the
    free space of a new file system. Every extractor is silent on such bytes (a test holds each
    registered one to it), so a window of them skips the extractors; on a real root file system
    the unallocated space is thousands of small NUL runs between files, each otherwise a full
    pass of every extractor. The ends are looked at first (almost every other window fails
    there); then one `memcmp` against fresh zeros (calloc'd pages: about 5 ms per 16 MiB)."""
    return not data or (data[0] == 0 and data[-1] == 0 and data == bytes(len(data)))


@cache
def _extractor_stage(name: str) -> str:
    """`extractor:NAME`, made once per extractor rather than once per window."""
    return Stage.EXTRACTOR.of(name)


def _source(window: Window, ctx: ObjectContext) -> Source:
    return Source(None, ctx.path, ctx.member, ctx.name, ctx.size, window.data_start, ctx.mtime,
                  window.own_start - window.data_start, window.own_end - window.data_start, ctx.filetype)


def scan_rules(window: Window, ctx: ObjectContext, scanners: tuple[RuleScanner, ...], rules, rows: Rows) -> None:
    """Run each rule scanner over one window with the scan's compiled `rules` (None: no rules,
    nothing runs). A scanner that could not complete is an `errors` row with its stage; a
    finding without an offset (a rule matched on its condition alone) is kept once per object,
    from its first window."""
    if rules is None:
        return
    source = _source(window, ctx)
    for scanner in scanners:
        stage = Stage(scanner.name)
        try:
            findings = list(scanner.scan(window.data, source, rules))
        except scanner.failure as exc:
            rows.error(ctx, stage, str(exc))
            continue
        if not window.whole and window.own_start > 0:
            findings = [f for f in findings if f.offset is not None]
        add_findings(rows, scanner.table, ctx, findings, scanner.finding, window, scanner.name, scanner.version)


_NO_WINDOW = Window(b"", 0, 0, 0, True, 0)  # where a verdict on a whole object belongs: it has no offset


class Judging:
    """The registry's per-object judgements on one object: a fresh tally each, fed the findings
    of the table it consumes window by window, asked for its verdicts after the last window."""

    __slots__ = ("_started", "_by_table")

    def __init__(self, judgements: Iterable[Judgement] = ()) -> None:
        self._started: list[tuple[Judgement, Tally]] = [(j, j.tally()) for j in judgements]
        self._by_table: dict[str, list[Tally]] = {}
        for judgement, tally in self._started:
            self._by_table.setdefault(judgement.consumes, []).append(tally)

    def feed(self, table: str, data: bytes, findings: list) -> None:
        for tally in self._by_table.get(table, ()):
            tally.add(data, findings)

    def feed_columns(self, table: str, data: bytes, rel: np.ndarray, batch: pa.Table) -> None:
        """`feed` for a block of rows made by the columnar path (`rel`: offsets in `data`)."""
        for tally in self._by_table.get(table, ()):
            tally_columns(tally, data, rel, batch)

    def finish(self, ctx: ObjectContext, rows: Rows) -> None:
        """Every judgement's verdicts on the object, as rows of its table."""
        for judgement, tally in self._started:
            add_findings(rows, judgement.table, ctx, tally.verdicts(ctx.size or 0), judgement.finding, _NO_WINDOW,
                         judgement.name, judgement.version)


def add_findings(rows: Rows, table: str, ctx: ObjectContext, findings: Iterable, cls: type,
                 window: Window, extractor: str, version: str) -> None:
    """Rows for findings of a rule scanner or a judgement: the extractors' ownership rule, and a
    bound (`LimitReached`) is an `errors` row whose stage is the producer's name."""
    kept = _owned(list(findings), window, rows, ctx, extractor)
    if kept:
        rows.add(table, _columns(kept, cls, ctx, window, extractor, version))


# --- The columnar path (issue 17) ---------------------------------------------------------------
# An extractor with `columns` hands a window's findings over as column blocks (numpy arrays and
# `TextColumn`s, offsets relative to the window); ownership, offsets in the object and the image,
# line numbers and the provenance columns are made here per block, with no object per finding.


def _scan_columns(blocks, window: Window, ctx: ObjectContext, ext: Extractor, rows: Rows,
                  judging: Judging | None) -> None:
    it = iter(blocks)
    while True:
        try:
            cols = next(it, None)
        except Exception as exc:  # an extractor bug must not stop the case; recorded as the tool's own
            rows.error(ctx, Stage.INTERNAL, f"extractor {ext.name}: {type(exc).__name__}: {exc}"[:300])
            return
        if cols is None:
            return
        made = column_table(cols, window, ctx, ext)
        if made is None:
            continue
        batch, rel = made
        rows.add(ext.table, batch)
        if judging is not None:
            judging.feed_columns(ext.table, window.data, rel, batch)


def column_table(cols: Columns, window: Window, ctx: ObjectContext,
                 ext: Extractor) -> tuple[pa.Table, np.ndarray] | None:
    """A block's rows in the worker schema, only those the window owns, and their offsets in
    the window; None when it owns none."""
    rel = np.asarray(cols["offset"], np.int64)
    keep = None
    if not window.whole:
        lo, hi = window.own_start - window.data_start, window.own_end - window.data_start
        owned = (rel >= lo) & (rel < hi)
        if not owned.all():
            keep = owned
            rel = rel[owned]
    n = len(rel)
    if n == 0:
        return None
    sch = worker_schema(ext.table)
    offsets = rel + window.data_start
    arrays = []
    for f in sch:
        name = f.name
        if name == "offset":
            arrays.append(pa.array(offsets, pa.int64()))
        elif name == "image_offset":
            arrays.append(_image_offset_array(ctx.image_offset, offsets))
        elif name in ("volume", "inode", "stream", "path", "member"):
            arrays.append(pa.repeat(pa.scalar(getattr(ctx, name), f.type), n))
        elif name == "extractor":
            arrays.append(pa.repeat(pa.scalar(ext.name, f.type), n))
        elif name == "extractor_version":
            arrays.append(pa.repeat(pa.scalar(ext.version, f.type), n))
        else:
            column = _arrow(cols[name], f.type)
            if keep is not None:
                column = column.filter(pa.array(keep))
            if name == "line_no" and window.lines_before:
                column = pc.add(column, window.lines_before)
            arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=sch), rel


def _arrow(value, typ: pa.DataType) -> pa.Array:
    if isinstance(value, TextColumn):
        n = len(value)
        offsets = np.ascontiguousarray(value.offsets, np.int32)
        data = np.ascontiguousarray(value.data, np.uint8)
        arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
        return arr if typ == pa.string() else arr.cast(typ)
    return pa.array(value, typ)


def _image_offset_array(image_offset: Callable[[int], int | None], offsets: np.ndarray) -> pa.Array:
    mapped = getattr(image_offset, "array", None)
    if mapped is not None:
        return mapped(offsets)
    return pa.array([image_offset(o) for o in offsets.tolist()], pa.int64())


def tally_columns(tally: Tally, data: bytes, rel: np.ndarray, batch: pa.Table) -> None:
    """Feed a tally a block of rows made by the columnar path, as `Tally.add` would be fed findings.

    A tally that offers `add_spans(data, offsets, lengths, values)` (the harvest judgement's
    `AddressTally`) is given, for the rows whose `raw` bytes stand in `data` as UTF-8, where
    each starts, its length in bytes and its `address`, with no object per row; every other
    row (UTF-16 views, or a tally without `add_spans`) reaches `add` as a row object with the
    block's columns as attributes and its offset in `data`.
    """
    add_spans = getattr(tally, "add_spans", None)
    names = [n for n in batch.column_names if n != "offset"]
    if add_spans is not None and {"raw", "encoding", "address"} <= set(names):
        narrow = ~pc.starts_with(batch.column("encoding"), "utf-16").to_numpy(zero_copy_only=False)
        if narrow.any():
            lengths = pc.binary_length(batch.column("raw")).to_numpy(zero_copy_only=False).astype(np.int64)
            address = batch.column("address")
            if narrow.all():
                add_spans(data, rel, lengths, address.to_pylist())
                return
            add_spans(data, rel[narrow], lengths[narrow], address.filter(pa.array(narrow)).to_pylist())
        rest = ~narrow
        batch, rel = batch.filter(pa.array(rest)), rel[rest]
    if batch.num_rows:
        columns = [batch.column(n).to_pylist() for n in names]
        tally.add(data, [SimpleNamespace(offset=o, **dict(zip(names, values)))
                         for o, *values in zip(rel.tolist(), *columns)])
