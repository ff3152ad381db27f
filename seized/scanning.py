"""Scanning one object: run every extractor and the YARA rules over its bytes, make rows.

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
from operator import attrgetter
from typing import Callable, Iterable, Iterator

import pyarrow as pa

from extractors.base import Extractor, Finding, LimitReached, Source
from extractors.harvest import AddressTally
from seized.tables import worker_schema

OVERLAP = 64 * 1024


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


NO_MAP = OffsetMap(())


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


@dataclass(slots=True)
class Rows:
    """What a unit produces: findings as column batches per table, and error rows.

    Columns, not row dicts: a harvest list yields hundreds of thousands of findings, and
    building one dict per finding cost more than finding them.
    """

    batches: dict[str, list[pa.Table]] = field(default_factory=lambda: defaultdict(list))
    errors: list[dict] = field(default_factory=list)

    def add(self, table: str, columns: dict[str, list]) -> None:
        """Columns become Arrow at once: a unit's findings held as Python strings cost twice as much."""
        self.batches[table].append(pa.Table.from_pydict(columns, schema=worker_schema(table)))

    def error(self, ctx: ObjectContext | None, stage: str, error: str, volume: str | None = None) -> None:
        self.errors.append(
            dict(
                volume=ctx.volume if ctx else volume,
                path=ctx.path if ctx else None,
                inode=ctx.inode if ctx else None,
                member=ctx.member if ctx else None,
                stage=stage,
                error=error,
            )
        )


def _owned(findings: list, window: Window, rows: Rows, ctx: ObjectContext, stage: str) -> list:
    """The findings this window owns; limits become error rows."""
    kept = []
    for f in findings:
        if isinstance(f, LimitReached):  # a bound hit in this window is recorded whatever its offset
            rows.error(ctx, stage, f"limit reached: {f.limit} = {f.value}")
            continue
        offset = getattr(f, "offset", None)  # whole-object verdicts have none
        if offset is not None and not window.whole:
            absolute = window.data_start + offset
            if not (window.own_start <= absolute < window.own_end):
                continue
        kept.append(f)
    return kept


def _columns(kept: list, cls: type, ctx: ObjectContext, window: Window, extractor: str, version: str) -> dict:
    n = len(kept)
    if any(f.name == "offset" for f in dataclasses.fields(cls)):
        offsets = [None if f.offset is None else window.data_start + f.offset for f in kept]
    else:  # a whole-object verdict
        offsets = [None] * n
    cols = dict(
        volume=[ctx.volume] * n, inode=[ctx.inode] * n, stream=[ctx.stream] * n, path=[ctx.path] * n,
        member=[ctx.member] * n, offset=offsets,
        image_offset=[None if o is None else ctx.image_offset(o) for o in offsets],
        extractor=[extractor] * n, extractor_version=[version] * n,
    )
    for name in _field_names(cls):
        cols[name] = list(map(attrgetter(name), kept))
    if "line_no" in cols and window.lines_before:
        cols["line_no"] = [None if x is None else x + window.lines_before for x in cols["line_no"]]
    return cols


def scan_window(
    window: Window,
    ctx: ObjectContext,
    extractors: tuple[Extractor, ...],
    rows: Rows,
    addresses: AddressTally,
) -> None:
    """Run each extractor over one window and keep the findings this window owns."""
    source = Source(None, ctx.path, ctx.member, ctx.name, ctx.size, window.data_start, ctx.mtime,
                    window.own_start - window.data_start, window.own_end - window.data_start)
    for ext in extractors:
        if ext.whole_object and not window.whole:
            continue
        try:
            findings = list(ext.extract(window.data, source))
        except Exception as exc:  # an extractor bug must not stop the case; it is recorded
            rows.error(ctx, f"extractor:{ext.name}", f"{type(exc).__name__}: {exc}"[:300])
            continue
        kept = _owned(findings, window, rows, ctx, f"extractor:{ext.name}")
        if not kept:
            continue
        cols = _columns(kept, ext.finding, ctx, window, ext.name, ext.version)
        rows.add(ext.table, cols)
        if ext.table == "emails":
            addresses.add(window.data, kept)


def add_findings(rows: Rows, table: str, ctx: ObjectContext, findings: Iterable, cls: type,
                 window: Window, extractor: str, version: str) -> None:
    """Rows for findings made outside the registry (YARA, harvest verdicts), same ownership rule."""
    kept = _owned(list(findings), window, rows, ctx, extractor)
    if kept:
        rows.add(table, _columns(kept, cls, ctx, window, extractor, version))
