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
from typing import Callable, Iterable, Iterator

from extractors.base import Extractor, Finding, LimitReached, Source

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


@dataclass(slots=True)
class Rows:
    """Rows per table produced by a unit; plain dicts until the unit ends."""

    tables: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))

    def error(self, ctx: ObjectContext | None, stage: str, error: str, volume: str | None = None) -> None:
        self.tables["errors"].append(
            dict(
                volume=ctx.volume if ctx else volume,
                path=ctx.path if ctx else None,
                inode=ctx.inode if ctx else None,
                member=ctx.member if ctx else None,
                stage=stage,
                error=error,
            )
        )


def _provenance(ctx: ObjectContext, offset: int | None, extractor: str, version: str) -> dict:
    return dict(
        volume=ctx.volume,
        inode=ctx.inode,
        stream=ctx.stream,
        path=ctx.path,
        member=ctx.member,
        offset=offset,
        image_offset=ctx.image_offset(offset) if offset is not None else None,
        extractor=extractor,
        extractor_version=version,
    )


def scan_window(
    window: Window,
    ctx: ObjectContext,
    extractors: tuple[Extractor, ...],
    rows: Rows,
    addresses: list[str],
) -> None:
    """Run each extractor over one window and keep the findings this window owns."""
    source = Source(None, ctx.path, ctx.member, ctx.name, ctx.size, window.data_start)
    for ext in extractors:
        if ext.whole_object and not window.whole:
            continue
        try:
            findings = list(ext.extract(window.data, source))
        except Exception as exc:  # an extractor bug must not stop the case; it is recorded
            rows.error(ctx, f"extractor:{ext.name}", f"{type(exc).__name__}: {exc}"[:300])
            continue
        table = rows.tables[ext.table]
        for finding in findings:
            absolute = window.data_start + finding.offset
            if not window.whole and not (window.own_start <= absolute < window.own_end):
                continue
            if isinstance(finding, LimitReached):
                rows.error(ctx, f"extractor:{ext.name}", f"limit reached: {finding.limit} = {finding.value}")
                continue
            row = _provenance(ctx, absolute, ext.name, ext.version)
            for name in _field_names(type(finding)):
                row[name] = getattr(finding, name)
            if "line_no" in row and row["line_no"] is not None:
                row["line_no"] += window.lines_before
            table.append(row)
            if ext.table == "emails":
                addresses.append(row["address"])


def add_findings(rows: Rows, table: str, ctx: ObjectContext, findings: Iterable[Finding],
                 window: Window, extractor: str, version: str) -> None:
    """Rows for findings made outside the registry (YARA), with the same ownership rule."""
    out = rows.tables[table]
    for finding in findings:
        if isinstance(finding, LimitReached):
            rows.error(ctx, extractor, f"limit reached: {finding.limit} = {finding.value}")
            continue
        offset = getattr(finding, "offset", None)  # whole-object verdicts have none
        if offset is None:
            absolute = None
        else:
            absolute = window.data_start + offset
            if not window.whole and not (window.own_start <= absolute < window.own_end):
                continue
        row = _provenance(ctx, absolute, extractor, version)
        for name in _field_names(type(finding)):
            row[name] = getattr(finding, name)
        out.append(row)
