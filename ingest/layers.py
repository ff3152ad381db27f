"""Storage layers under the file systems: LVM2, Linux md RAID, LUKS and BitLocker.

Seized servers rarely put a file system straight on a partition: installers lay LVM on
RAID1, and some volumes are encrypted. The Sleuth Kit reads none of these, so a slot
where TSK finds no file system is probed here. Readable layers (an LVM2 logical volume's
linear segments, a RAID1 member's data area) become nested `VolumeSpec`s, i.e. lists of
image extents (`ingest.volumes.nested`), so every offset inside them still maps to the
image exactly; they are then walked like any other volume (TSK, else XFS). Encrypted
containers and RAID levels that one member cannot reconstruct are recognised and
reported with their header fields, never read as if they were data; their bytes are still
scanned as unallocated, and the volume row says why.

This module is the dispatcher: `probe` recognises a layer by its magic and hands it to its
reader, one module each under `ingest/storage/` (`luks`, `bitlocker`, `lvm2` with its metadata
parser `lvm2_config`, `md`), which read the documented on-disk structures with `struct`;
`walk_stack` walks what a layer holds. Nothing here decrypts or writes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from caseformat.problems import Problem, Stage
from ingest.problems import one_line
from ingest.filesystems import FileRecord, fs_type_name, open_tsk, walk_tsk
from ingest.images import ImageReader
from ingest.storage import bitlocker, luks, lvm2, md
from ingest.storage.layer import SECTOR, Layer
from ingest.volumes import VolumeSpec, read_volume

MAX_DEPTH = 4  # partition > md > lvm > luks is already deep; stops loops in crafted metadata

# ---------------------------------------------------------------- results


@dataclass(slots=True)
class WalkedVolume:
    """A nested volume found under a slot, with its `volumes` row and how to read its files."""

    volume: VolumeSpec
    row: dict
    fs_kind: str | None  # "tsk", "xfs", or None when no file system was walked


@dataclass(slots=True)
class StackWalk:
    """The outcome for one volume: its own row fields, deeper volumes, names and problems."""

    status: str  # "walked", "container", "encrypted", "unsupported", "no file system", "error"
    fs_type: str | None
    layers: str
    fs_kind: str | None
    nested: list[WalkedVolume] = field(default_factory=list)
    records: list[FileRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# ---------------------------------------------------------------- walking a stack


def walk_stack(reader: ImageReader, volume: VolumeSpec, tsk_error: str | None = None,
               depth: int = 0) -> StackWalk:
    """Walk `volume` whatever it holds: a TSK file system, XFS, or a layer with volumes inside.

    `tsk_error` is TSK's refusal when the caller already tried TSK on this volume.
    """
    from ingest.xfs import is_xfs, open_xfs, walk_xfs

    out = StackWalk("no file system", None, volume.id, None)
    if tsk_error is None:
        try:
            fs = open_tsk(reader, volume)
        except OSError as exc:
            tsk_error = one_line(exc)
        else:
            out.status, out.fs_type, out.fs_kind = "walked", fs_type_name(fs), "tsk"
            out.layers = f"{volume.id} > {out.fs_type}"
            _collect(out, walk_tsk(fs, volume))
            return out
    if is_xfs(reader, volume):
        out.fs_type, out.layers = "xfs", f"{volume.id} > xfs"
        try:
            handle = open_xfs(reader, volume)
        except OSError as exc:
            out.status = "error"
            out.problems.append(Problem(volume.id, None, None, None, Stage.FILESYSTEM,
                                            f"XFS superblock found but the file system cannot be opened: "
                                            f"{one_line(exc)}"))
            return out
        out.status, out.fs_kind = "walked", "xfs"
        _collect(out, walk_xfs(handle, volume))
        return out
    layer = probe(reader, volume) if depth < MAX_DEPTH else None
    if layer is None:
        out.problems.append(Problem(volume.id, None, None, None, Stage.FILESYSTEM,
                                        f"no file system recognised in {volume.description}: {tsk_error}"))
        return out
    out.layers = f"{volume.id} > {layer.label}"
    out.problems.extend(layer.problems)
    if layer.encrypted:
        out.status = "encrypted"
        fields = json.dumps(dict(layer.fields), sort_keys=True)
        out.problems.append(Problem(volume.id, None, None, None, Stage.ENCRYPTED,
                                        f"{layer.description}; not decrypted, its bytes are scanned as "
                                        f"unallocated only: {fields}"))
        return out
    out.status = "container" if layer.volumes else "unsupported"
    for inner in layer.volumes:
        sub = walk_stack(reader, inner, depth=depth + 1)
        row = dict(volume=inner.id, start=inner.start, length=inner.length, description=inner.description,
                   allocated=True, kind=inner.kind, fs_type=sub.fs_type, layers=sub.layers, status=sub.status)
        out.nested.append(WalkedVolume(inner, row, sub.fs_kind))
        out.nested.extend(sub.nested)
        out.records.extend(sub.records)
        out.problems.extend(sub.problems)
    return out


def _collect(out: StackWalk, items) -> None:
    for item in items:
        (out.problems if isinstance(item, Problem) else out.records).append(item)


def probe(reader: ImageReader, volume: VolumeSpec) -> Layer | None:
    """The storage layer on `volume`, or None when none of the known ones is there."""
    head = read_volume(reader, volume, 0, 8192)
    if head[:6] == luks.MAGIC:
        return luks.luks_layer(reader, volume, head)
    if head[3:11] == bitlocker.SIGNATURE:
        return bitlocker.bitlocker_layer(reader, volume, head)
    for sector in range(4):
        label = head[sector * SECTOR:(sector + 1) * SECTOR]
        if label[:8] == lvm2.LABEL_MAGIC and label[24:32] == lvm2.LABEL_TYPE:
            return lvm2.lvm_layer(reader, volume, sector, label)
    return md.md_layer(reader, volume, head)
