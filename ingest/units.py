"""Work units: what a worker needs to reopen an image and do one slice of the scan.

Units carry paths, volume extents, inodes and byte ranges only (pytsk3 objects do not
pickle), and their ids come from their content, so a rerun plans the very same units and
a journal of finished ids is enough to resume.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, TypeVar

from ingest.filesystems import ContentRef
from ingest.images import ImageSpec
from ingest.volumes import VolumeSpec

FILE_BATCH_BYTES = 32 * 1024 * 1024  # tens of MB: balanced tails, bounded worker memory
FILE_BATCH_COUNT = 2000
REGION_CHUNK = 32 * 1024 * 1024
REGION_BATCH_COUNT = 100_000
# Bytes a window (seized.scanning.windows) and an unallocated region read beyond their own on
# both sides, so a finding shorter than this is never cut at a seam.
OVERLAP = 64 * 1024

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FileTask:
    index: int  # position of the stream in the evidence's walk; joins results back to `files`
    volume: VolumeSpec
    fs_kind: str  # the reader of its volume: "tsk" or "xfs" (ingest.fsreaders)
    ref: ContentRef
    path: str
    name: str
    stream: str | None
    mtime: int | None = None  # seconds since the epoch (UTC): lets log parsers place lines that carry no year


@dataclass(frozen=True, slots=True)
class RegionTask:
    """Bytes no allocated file owns: [start, end) owned, read with overlap inside [lo, hi)."""

    volume: str  # the volume the region lies in, or "outside volumes"
    start: int  # image offsets
    end: int
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    image: ImageSpec
    kind: str  # "hash", "files", "regions"
    files: tuple[FileTask, ...] = ()
    regions: tuple[RegionTask, ...] = ()
    nbytes: int = 0


def unit_order(unit: Unit) -> tuple:
    """A unit's place in the sorted tables: file units by their first stream, then the
    volume's unallocated regions (path null sorts last) by image offset."""
    if unit.kind == "files":
        volume, *rest = table_order(unit.files[0])
        return (volume, 0, *rest, 0)
    if unit.kind == "regions":
        return (unit.regions[0].volume, 1, "", 0, False, "", unit.regions[0].start)
    return ("", -1, "", 0, False, "", 0)


PER_FILE_COST = 64 * 1024  # what one small file costs beyond its bytes (open, walk, per-object setup), in bytes


def unit_cost(unit: Unit) -> int:
    """A guess at a unit's run time, in bytes: a batch of two thousand small text files (logins,
    lists, pages) takes longer than its byte count says."""
    return unit.nbytes + PER_FILE_COST * len(unit.files)


def _unit_id(image: ImageSpec, kind: str, key: str) -> str:
    h = hashlib.sha256(f"{image.path}\0{kind}\0{key}".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:24]


def hash_unit(image: ImageSpec, size: int) -> Unit:
    return Unit(_unit_id(image, "hash", str(size)), image, "hash", nbytes=size)


def _batched(items: Iterable[T], size_of: Callable[[T], int], max_bytes: int, max_count: int,
             group_of: Callable[[T], str]) -> Iterator[tuple[list[T], int]]:
    """Consecutive items of one group, grouped until the next would pass either bound (one item always fits)."""
    batch: list[T] = []
    size = 0
    for item in items:
        n = size_of(item)
        if batch and (size + n > max_bytes or len(batch) >= max_count or group_of(item) != group_of(batch[0])):
            yield batch, size
            batch, size = [], 0
        batch.append(item)
        size += n
    if batch:
        yield batch, size


def table_order(task: FileTask) -> tuple:
    """Where a stream's findings sit in the sorted evidence tables (volume, path, inode, stream).

    Python compares str by code point, which is the UTF-8 byte order Arrow sorts by; a
    missing stream sorts last, as Arrow places nulls.
    """
    return (task.volume.id, task.path, task.ref.inode, task.stream is None, task.stream or "")


def plan_file_units(image: ImageSpec, tasks: list[FileTask]) -> list[Unit]:
    """Batches of streams in table order, balanced by bytes; a large stream is a unit alone.

    A stream is never split across units: its MD5/SHA-1/SHA-256 need one sequential pass,
    and splitting would read its bytes twice. Batching in table order, one volume per
    unit, makes each unit's findings a contiguous run of the final tables, so the
    conductor writes them unit by unit instead of holding a whole table in memory.
    """
    units = []
    ordered = sorted(tasks, key=table_order)
    for batch, size in _batched(ordered, lambda t: t.ref.size, FILE_BATCH_BYTES, FILE_BATCH_COUNT,
                                lambda t: t.volume.id):
        key = ",".join(f"{t.index}:{t.ref.inode}:{t.ref.attr_id}" for t in batch)
        units.append(Unit(_unit_id(image, "files", key), image, "files", files=tuple(batch), nbytes=size))
    return units


def _region_tasks(regions: list[tuple[str, int, int]], overlap: int) -> Iterator[RegionTask]:
    for volume, start, end in regions:
        for pos in range(start, end, REGION_CHUNK):
            stop = min(end, pos + REGION_CHUNK)
            yield RegionTask(volume, pos, stop, max(start, pos - overlap), min(end, stop + overlap))


def plan_region_units(image: ImageSpec, regions: list[tuple[str, int, int]], overlap: int) -> list[Unit]:
    """Unowned image ranges cut into chunks; small neighbouring ranges of one volume share a unit."""
    units = []
    tasks = _region_tasks(regions, overlap)
    for batch, size in _batched(tasks, lambda t: t.end - t.start, REGION_CHUNK, REGION_BATCH_COUNT,
                                lambda t: t.volume):
        key = ",".join(f"{t.start}-{t.end}" for t in batch)
        units.append(Unit(_unit_id(image, "regions", key), image, "regions", regions=tuple(batch), nbytes=size))
    return units
