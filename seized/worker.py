"""What runs inside a Dask worker: reopen the image, read a unit's bytes once, scan them.

Images, file systems and compiled rules are opened once per worker process and kept in
module-level caches (a worker runs many units); every byte read is hashed, windowed and
handed to the registry's producers (extractors.registry) from the same buffer.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc

from caseformat import schema
from caseformat.journal import PIECE_ROWS, read_batches
from caseformat.problems import Problem, Stage
from caseformat.tables import errors_table, finding_keys, runs_in_order, sort_worker_table, worker_sort_keys
from extractors.registry import EXTRACTORS, JUDGEMENTS, RULE_SCANNERS
from ingest.problems import one_line
from ingest import containers
from ingest.images import ImageReader, ImageSpec, acquisition_json, hash_image, open_image
from ingest.fsreaders import reader_for
from ingest.units import FileTask, RegionTask, Unit
from ingest.volumes import VolumeSpec, read_volume
from seized.scanning import (MERGE_BATCH, NO_MAP, Judging, ObjectContext, OffsetMap, Rows, Window,
                             scan_rules, scan_window, windows, write_ipc)
from seized.scanning import SAME_OFFSET, release_memory

READ_BLOCK = 16 * 1024 * 1024
MERGE_TOTAL = 1 << 16  # rows of all runs loaded in one round of a merge (`merge_piece_rows`)
MERGE_FLOOR = 1 << 10  # but at least this many of each run: fewer would make rounds cost more than rows
UNIT_BATCH = PIECE_ROWS  # rows per batch of a unit's rows held to the end (the conductor reads that many at a time)

_images: dict[tuple, ImageReader] = {}
_filesystems: dict[tuple[ImageSpec, str, str], object] = {}


@dataclass(frozen=True, slots=True)
class ScanOptions:
    rules: bytes | None  # compiled YARA rules (yara.Rules.save), None when YARA is off
    rules_sha256: str | None
    containers: bool = True


@dataclass(slots=True)
class UnitResult:
    """A finished unit: its tables as Arrow IPC file bytes, ready for the journal as they are.

    Bytes, not tables: one contiguous buffer per table crosses from worker to conductor
    without pickling thousands of small column chunks, and the conductor writes it to the
    journal without decoding it (it reads tables back only when it assembles the case).
    """
    unit_id: str
    tables: dict[str, bytes] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    journalled: bool = False  # the worker wrote it to the journal itself (seized.journal.run_and_journal)
    folder: str | None = None  # the tables are `<name>.arrow` files in this folder, not in `tables`


def ipc_bytes(table: pa.Table) -> bytes:
    table = table.combine_chunks()  # one batch, not one per window and extractor: assembly sorts it fast
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _image_identity(spec: ImageSpec) -> tuple:
    """The image as it is now on disk: a long-lived worker must not keep reading a replaced file."""
    st = os.stat(spec.segments[0])
    return (spec, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _reader(spec: ImageSpec) -> ImageReader:
    key = _image_identity(spec)
    reader = _images.get(key)
    if reader is None:
        for stale in [k for k in _images if k[0] == spec]:
            _images.pop(stale).close()
            for fs_key in [k for k in _filesystems if k[0] == stale]:
                del _filesystems[fs_key]
        reader = _images[key] = open_image(spec)
    return reader


def _filesystem(spec: ImageSpec, volume: VolumeSpec, fs_kind: str = "tsk"):
    reader = _reader(spec)
    key = (_image_identity(spec), volume.id, fs_kind)
    fs = _filesystems.get(key)
    if fs is None:
        fs = _filesystems[key] = reader_for(fs_kind).open(reader, volume)
    return fs


def _read_stream(fs_kind: str):
    return reader_for(fs_kind).read_stream


def _rules(options: ScanOptions):
    if options.rules is None:
        return None
    from seized.ruleset import load_compiled

    return load_compiled(options.rules)


def run_unit(unit: Unit, options: ScanOptions, folder: Path | None = None) -> UnitResult:
    """Scan one unit. With `folder` (an empty folder the caller owns), the finding tables never
    sit whole in memory: rows beyond `scanning.SPILL_ROWS` or SPILL_BYTES per table are spilled there as sorted
    runs, and every table is written there as `<name>.arrow` (the result's `folder` says so);
    without it, the tables come back as IPC bytes in `tables`."""
    if unit.kind == "hash":
        return _run_hash(unit)
    rows = Rows(spill_dir=folder)
    stats = {"bytes_read": 0, "bytes_unreadable": 0}
    rules = _rules(options)
    if unit.kind == "files":
        results = [_scan_file(unit.image, task, options, rules, rows, stats) for task in unit.files]
        tables = {"file_results": pa.Table.from_pylist(results, schema=schema.FILE_RESULTS)}
    else:
        for task in unit.regions:
            _scan_region(unit.image, task, rules, rows, stats)
        tables = {}
    if folder is not None:
        for name in rows.tables():
            _write_runs(folder / f"{name}.arrow", name, rows)
            rows.batches.pop(name, None)  # written: nothing of the table need stay in memory
        release_memory()
        if rows.errors:
            tables["errors"] = errors_table(rows.errors)
        for name, t in tables.items():
            write_ipc(folder / f"{name}.arrow", [t.combine_chunks()])
        return UnitResult(unit.id, {}, stats, folder=str(folder))
    tables.update(_to_arrow(rows))
    return UnitResult(unit.id, {name: ipc_bytes(t) for name, t in tables.items()}, stats)


def _run_hash(unit: Unit) -> UnitResult:
    reader = _reader(unit.image)
    hashes = hash_image(reader)
    stored = reader.stored_hashes()
    stats = {
        "size": hashes.size, "md5": hashes.md5, "sha1": hashes.sha1, "sha256": hashes.sha256,
        "unreadable": [list(r) for r in hashes.unreadable],
        "stored_md5": stored.get("md5"), "stored_sha1": stored.get("sha1"),
        "acquisition": acquisition_json(reader), "segments": list(reader.spec.segments),
    }
    return UnitResult(unit.id, {}, stats)


def _file_offset_map(task: FileTask) -> OffsetMap:
    runs = []
    for file_off, vol_off, length in task.ref.runs:
        pos = file_off
        for img_off, n in task.volume.image_ranges(vol_off, length):
            runs.append((pos, img_off, n))
            pos += n
    return OffsetMap(runs) if runs else NO_MAP


def _scan_file(image: ImageSpec, task: FileTask, options: ScanOptions, rules, rows: Rows, stats: dict) -> dict:
    ref = task.ref
    ctx = ObjectContext(task.volume.id, ref.inode, task.stream, task.path, None, task.name, ref.size,
                        _file_offset_map(task), mtime=task.mtime)
    digests = (hashlib.md5(), hashlib.sha1(), hashlib.sha256())
    keep_for_containers: list[bytes] | None = [] if options.containers else None
    judging = Judging(JUDGEMENTS)
    result = {"index": task.index, "md5": None, "sha1": None, "sha256": None, "status": "scanned", "skip_reason": None}

    if ref.size > task.volume.length:
        return _scan_oversized(image, task, ctx, rules, rows, stats, result)
    stats_read = [0]

    def hashed_blocks():
        nonlocal keep_for_containers
        for block in _read_stream(task.fs_kind)(_filesystem(image, task.volume, task.fs_kind), ref, READ_BLOCK):
            stats["bytes_read"] += len(block)
            stats_read[0] += len(block)
            for d in digests:
                d.update(block)
            if keep_for_containers is not None:
                if containers.worth_keeping(keep_for_containers, block, ref.size):
                    keep_for_containers.append(block)
                else:
                    keep_for_containers = None
            yield block

    try:
        for window in windows(hashed_blocks()):
            _scan_window(window, ctx, rules, rows, judging)
    except OSError as exc:
        rows.error(ctx, Stage.READ, one_line(exc))
        result["status"] = "error"
        return result
    if stats_read[0] < ref.size:
        rows.error(ctx, Stage.READ, f"TSK returned {stats_read[0]} of {ref.size} bytes (sparse, uninitialised or "
                                "damaged); the hashes cover the bytes returned, as icat gives them")
    result["md5"], result["sha1"], result["sha256"] = (d.hexdigest() for d in digests)
    judging.finish(ctx, rows)
    if keep_for_containers:
        data = b"".join(keep_for_containers)  # a lone block is itself, not a copy
        keep_for_containers = None  # else the blocks stay alive beside their join while members are scanned
        _scan_members(data, ctx, rules, rows, 0, containers.Budget())
    return result


def _scan_oversized(image: ImageSpec, task: FileTask, ctx: ObjectContext, rules, rows: Rows, stats: dict,
                    result: dict) -> dict:
    """A stream claiming more bytes than its volume holds (damage, or a planted trap).

    Reading it through TSK would hash a terabyte of zeros; instead its mapped blocks are
    scanned where they lie, it is not hashed, and the row says why.
    """
    reader = _reader(image)
    mapped = 0
    judging = Judging()  # not read whole, so not judged
    for file_off, vol_off, length in task.ref.runs:
        length = max(0, min(length, task.volume.length - vol_off))
        if not length:
            continue
        blocks = (read_volume(reader, task.volume, vol_off + pos, min(READ_BLOCK, length - pos))
                  for pos in range(0, length, READ_BLOCK))
        for w in windows(blocks):
            mapped += w.own_end - w.own_start
            shifted = Window(w.data, w.data_start + file_off, w.own_start + file_off, w.own_end + file_off,
                             False, 0)
            _scan_window(shifted, ctx, rules, rows, judging)
    stats["bytes_read"] += mapped
    rows.error(ctx, Stage.READ, f"claims {task.ref.size} bytes, more than its volume holds ({task.volume.length}): "
                            f"not hashed; its {mapped} mapped bytes were scanned")
    result["status"] = "error"
    return result


def _scan_window(window: Window, ctx: ObjectContext, rules, rows: Rows, judging: Judging) -> None:
    scan_window(window, ctx, EXTRACTORS, rows, judging)
    scan_rules(window, ctx, RULE_SCANNERS, rules, rows)


def _scan_members(data: bytes, parent: ObjectContext, rules, rows: Rows, depth: int,
                  budget: containers.Budget) -> None:
    # one budget for the object and every nested level: stops 42-style bombs (containers.Budget)
    for item in containers.expand(data, parent.name or "", depth, budget):
        if isinstance(item, Problem):
            rows.problem(parent, item)
            continue
        member = f"{parent.member}!{item.name}" if parent.member else item.name
        ctx = ObjectContext(parent.volume, parent.inode, parent.stream, parent.path, member,
                            item.name.rsplit("/", 1)[-1], len(item.data), NO_MAP, "member", parent.mtime)
        # A decompressed tar is nothing but its members (plus headers): scanning both would
        # count every finding twice. A tar file on disk is still scanned as bytes, for image offsets.
        if not (item.nested and containers.kind_of(item.data) == "tar"):
            judging = Judging(JUDGEMENTS)
            blocks = (item.data[i:i + READ_BLOCK] for i in range(0, len(item.data), READ_BLOCK))
            for window in windows(blocks):
                _scan_window(window, ctx, rules, rows, judging)
            judging.finish(ctx, rows)
        if item.nested:
            _scan_members(item.data, ctx, rules, rows, depth + 1, budget)


def _scan_region(image: ImageSpec, task: RegionTask, rules, rows: Rows, stats: dict) -> None:
    """Unowned bytes: the object is the image itself, so offset and image_offset are equal."""
    ctx = ObjectContext(task.volume, None, None, None, None, None, None, _same_offset, "unallocated")
    try:
        data = _reader(image).read(task.lo, task.hi - task.lo)
    except OSError as exc:  # a damaged EWF chunk: the whole region is unreadable, and said so
        stats["bytes_unreadable"] += task.end - task.start
        rows.error(ctx, Stage.UNALLOCATED, f"could not read image bytes {task.start}..{task.end}: {one_line(exc)}")
        return
    read_end = task.lo + len(data)
    missing = max(0, task.end - max(task.start, read_end))
    stats["bytes_read"] += (task.end - task.start) - missing
    stats["bytes_unreadable"] += missing
    if read_end < task.hi:
        rows.error(ctx, Stage.UNALLOCATED, f"could not read image bytes {read_end}..{task.hi}")
    # line numbers mean nothing in unallocated space
    # not an object: no judgement
    _scan_window(Window(data, task.lo, task.start, task.end, False, 0), ctx, rules, rows, Judging())


_same_offset = SAME_OFFSET  # offset -> offset, with an array form for the columnar path (seized.scanning)


def _write_runs(path: Path, name: str, rows: Rows) -> None:
    """One table's sorted runs as one IPC file at `path`, the same rows in the same order as
    `_to_arrow` gives, laid out in record batches as if only the cuts (`Rows.cuts`: every
    SPILL_ROWS rows) had been spilled and never for bytes: the Parquet writer's pages follow
    the pieces the conductor reads, so the case's bytes would otherwise change with SPILL_BYTES.

    The runs between two cuts are a group: what one run was before spilling by bytes. A group
    whose runs are in order is their rows one after another; otherwise they are merged, about
    MERGE_TOTAL rows of them all in memory. Groups in order are written one after another; if
    one starts before the previous ends (an archive's members sort before the file's own rows,
    and may follow a spill of them), the groups are merged as runs of MERGE_BATCH pieces were."""
    runs = rows.runs(name)
    spilled = [r for r in runs if isinstance(r, Path)]
    bounds = [0, *rows.cuts.get(name, ()), len(runs)]
    groups = [runs[lo:hi] for lo, hi in zip(bounds, bounds[1:]) if hi > lo]
    held_last = bounds[-2] < len(runs)  # rows came after the last cut: they were held, not spilled
    write_ipc(path, _unspilled(name, groups, held_last))
    for r in spilled:
        r.unlink()


def _unspilled(name: str, groups: list[list], held_last: bool):
    """The rows of the groups in final order, as the record batches they were written in before
    bytes were spilled (see `_write_runs`): a group spilled at a cut in MERGE_BATCH rows, the
    rows held at the end as one batch, here UNIT_BATCH rows a batch (the conductor reads it in
    pieces of that many rows, seized.assembly.ASSEMBLY_PIECE_ROWS, and sees the same pieces)."""
    sizes = [MERGE_BATCH] * (len(groups) - 1) + [UNIT_BATCH if held_last else MERGE_BATCH]
    if len(groups) > 1 and not _groups_in_order(name, groups):
        yield from _merged(name, [_rechunked(_group_rows(name, g), MERGE_BATCH) for g in groups])
        return
    for group, size in zip(groups, sizes):
        yield from _rechunked(_group_rows(name, group), size)


def _group_rows(name: str, group: list):
    """The rows of one group of runs in sort order, as pieces of any size."""
    if len(group) == 1 or _in_order(name, group):
        for run in group:
            if isinstance(run, Path):
                yield from _pieces(run, MERGE_BATCH)
            else:  # rows held to the end: one chunk (`sorted_run`), sliced by `_rechunked`, not copied
                yield run
        return
    size = merge_piece_rows(len(group))
    yield from _merged(name, [_pieces(r, size) for r in group])


def _rechunked(pieces, size: int):
    """The pieces' rows as tables of exactly `size` rows (the last: what is left), one chunk each."""
    buf: list[pa.Table] = []
    n = 0
    for piece in pieces:
        if not buf and piece.num_rows >= size:  # whole tables of a large piece: slices, no copy
            whole = piece.num_rows // size * size
            for start in range(0, whole, size):
                yield piece.slice(start, size).combine_chunks()
            piece = piece.slice(whole)
            if not piece.num_rows:
                continue
        buf.append(piece)
        n += piece.num_rows
        while n >= size:
            joined = pa.concat_tables(buf)
            yield joined.slice(0, size).combine_chunks()
            rest = joined.slice(size)
            buf, n = ([rest] if rest.num_rows else []), rest.num_rows
    if n:
        yield pa.concat_tables(buf).combine_chunks()


def _pieces(run: pa.Table | Path, size: int):
    """A run's rows `size` rows at a time (a spilled run read one stored batch at a time)."""
    batches = read_batches(run) if isinstance(run, Path) else run.to_batches(MERGE_BATCH)
    for batch in batches:
        for start in range(0, batch.num_rows, size):
            yield pa.Table.from_batches([batch.slice(start, size)])
        del batch


def merge_piece_rows(runs: int) -> int:
    """Rows loaded per run in a round of a merge of runs of one group: MERGE_TOTAL over all runs
    together, so a merge of many runs holds no more than one of few (but never under MERGE_FLOOR)."""
    return max(MERGE_FLOOR, MERGE_TOTAL // max(runs, 1))


def _merged(name: str, sources: list):
    """The rows of sorted runs (`sources`: each an iterator of its pieces) in sort order, holding
    about one piece per run: each round sorts what is loaded and gives out every row up to the
    smallest last loaded row of the runs not yet read to their end (no row still unread can
    sort before it). Rows equal in every sort key may come out in another order than one sort
    of all rows would give them; such rows differ at most in list columns, which are not sort
    keys (none in practice)."""
    bufs: list[pa.Table | None] = [None] * len(sources)
    more = [True] * len(sources)
    while True:
        for i, src in enumerate(sources):
            while more[i] and (bufs[i] is None or bufs[i].num_rows == 0):
                piece = next(src, None)
                if piece is None:
                    more[i] = False
                else:
                    bufs[i] = piece
        live = [i for i in range(len(sources)) if bufs[i] is not None and bufs[i].num_rows]
        if not live:
            return
        sizes = [bufs[i].num_rows for i in live]
        loaded = pa.concat_tables([bufs[i] for i in live])
        order = pc.sort_indices(loaded, sort_keys=worker_sort_keys(name, loaded.column_names)).to_numpy().astype(np.int64)
        open_runs = [j for j, i in enumerate(live) if more[i]]
        if not open_runs:
            yield loaded.take(order)
            return
        ends = np.cumsum(sizes) - 1  # index in `loaded` of each live run's last loaded row
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        cut = min(rank[ends[j]] for j in open_runs)  # the smallest last row of an unfinished run
        yield loaded.take(order[:cut + 1])
        rest = np.sort(order[cut + 1:])  # what stays, in run order
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        for j, i in enumerate(live):
            lo, hi = np.searchsorted(rest, [starts[j], starts[j + 1]])
            bufs[i] = bufs[i].take(rest[lo:hi] - starts[j]) if hi > lo else None


def _edge(run: pa.Table | Path, last: bool) -> pa.Table:
    """The first or last row of a run (of a spilled run, one stored batch is read)."""
    if isinstance(run, Path):
        with pa.OSFile(str(run)) as source:
            reader = pa.ipc.open_file(source)
            batch = reader.get_batch(reader.num_record_batches - 1 if last else 0)
            return pa.Table.from_batches([batch.slice(batch.num_rows - 1 if last else 0, 1)])
    return run.slice(run.num_rows - 1 if last else 0, 1)


def _in_order(name: str, runs: list) -> bool:
    """Whether every run starts at or after the end of the one before, in the worker sort order
    (stable: equal rows keep the order they were made in, as one sort of all the rows would)."""
    return all(runs_in_order(name, _edge(before, True), _edge(after, False)) for before, after in zip(runs, runs[1:]))


def _group_edges(name: str, group: list) -> tuple[pa.Table, pa.Table]:
    """The first and last row of a group's rows in sort order (ties: the earlier run first)."""
    if len(group) == 1:
        return _edge(group[0], False), _edge(group[0], True)
    firsts = sort_worker_table(name, pa.concat_tables([_edge(r, False) for r in group]))
    lasts = sort_worker_table(name, pa.concat_tables([_edge(r, True) for r in group]))
    return firsts.slice(0, 1), lasts.slice(lasts.num_rows - 1, 1)


def _groups_in_order(name: str, groups: list[list]) -> bool:
    edges = [_group_edges(name, g) for g in groups]
    return all(runs_in_order(name, before[1], after[0]) for before, after in zip(edges, edges[1:]))


def _to_arrow(rows: Rows) -> dict[str, pa.Table]:
    out = {}
    for name, batches in rows.batches.items():
        table = sort_worker_table(name, pa.concat_tables(batches))
        out[name] = table.append_column("finding_key", finding_keys(name, table))
    if rows.errors:
        out["errors"] = errors_table(rows.errors)
    return out


