"""Evidence planning: an image's volumes, file systems and unallocated bytes, as work units.

Walks every volume and file system of an image (metadata only: TSK, or the storage layers of
`ingest.layers` and the search of `ingest.recovery`), then cuts the work into units whose ids
depend on the evidence alone: the files (ingest.units.plan_file_units) and every byte no
walked file owns (the owned/unowned range arithmetic below), which is scanned as
unallocated space in overlapping windows.
"""
from __future__ import annotations

from dataclasses import dataclass

from caseformat.problems import Problem, Stage
from ingest.filesystems import FileRecord, fs_type_name, open_tsk, walk_tsk
from ingest.images import ImageError, ImageSpec, open_image
from ingest.layers import walk_stack
from ingest.problems import one_line
from ingest.recovery import recover
from ingest.units import OVERLAP, FileTask, Unit, hash_unit, plan_file_units, plan_region_units
from ingest.volumes import VolumeLayout, VolumeSpec, discover_volumes


@dataclass
class EvidencePlan:
    spec: ImageSpec
    size: int
    layout: VolumeLayout
    volume_rows: list[dict]
    records: list[FileRecord]
    problems: list[Problem]
    hash_unit: Unit
    units: list[Unit]
    owned_bytes: int
    region_bytes: int



RAW_IMAGE = ("no partition table or file system recognised, and none found at 1 MiB or 63-sector alignments "
             "(damaged, wiped or not a disk image): the whole image is scanned as raw bytes")


def plan_evidence(spec: ImageSpec, unallocated: bool) -> EvidencePlan:
    reader = open_image(spec)
    try:
        size = reader.size
        if size < 512:
            raise ImageError(f"media too small to hold a disk ({size} bytes)")
        layout = discover_volumes(reader)
        records: list[FileRecord] = []
        problems: list[Problem] = list(layout.problems)
        volume_rows: list[dict] = []
        walked: list[VolumeSpec] = []
        nested_volumes: list[VolumeSpec] = []  # LVM logical volumes, RAID1 data areas (ingest.layers)
        fs_kinds: dict[str, str] = {}  # volume id -> "tsk" or "xfs"

        def add_inner(inners) -> None:
            """Volumes found inside a slot (a storage layer's, or recovered ones): listed and walked."""
            for inner in inners:
                volume_rows.append(inner.row)
                nested_volumes.append(inner.volume)
                fs_kinds[inner.volume.id] = inner.fs_kind or "tsk"

        for slot in layout.slots:
            row = dict(volume=slot.id, start=slot.start, length=slot.length, description=slot.description,
                       allocated=slot.allocated, kind=slot.kind, fs_type=None, layers=slot.id, status=slot.kind)
            volume_rows.append(row)
            if slot.kind in ("meta", "unallocated") or slot.length == 0:
                continue
            try:
                fs = open_tsk(reader, slot)
            except OSError as exc:
                # No TSK file system: XFS, or a storage layer (LVM2, md RAID, LUKS...) with volumes inside.
                stack = walk_stack(reader, slot, tsk_error=one_line(exc))
                row.update(status=stack.status, fs_type=stack.fs_type, layers=stack.layers)
                records.extend(stack.records)
                problems.extend(stack.problems)
                add_inner(stack.nested)
                fs_kinds[slot.id] = stack.fs_kind or "tsk"
                if stack.status != "no file system":
                    walked.append(slot)
                    continue
                # Nothing recognised: search for file systems no table describes (ingest.recovery);
                # whatever is found or not, every byte no walked file owns is scanned as unallocated.
                found = recover(reader, slot)
                records.extend(found.records)
                problems.extend(found.problems)
                add_inner(found.walked)
                if found.found:
                    walked.append(slot)
                elif slot.kind == "whole":
                    row["status"] = "raw"
                    problems.append(Problem(None, None, None, None, Stage.VOLUMES, RAW_IMAGE))
                continue
            row["fs_type"] = fs_type_name(fs)
            row["layers"] = f"{slot.id} > {row['fs_type']}"
            row["status"] = "walked"
            walked.append(slot)
            for item in walk_tsk(fs, slot):
                (problems if isinstance(item, Problem) else records).append(item)
        layout = VolumeLayout(layout.volume_system, layout.slots + tuple(nested_volumes), layout.problems)
        tasks = []
        slots = {s.id: s for s in layout.slots}
        for index, rec in enumerate(records):
            if rec.content is not None:
                slot = slots[rec.volume]
                tasks.append(FileTask(index, slot, fs_kinds.get(rec.volume, "tsk"), rec.content, rec.path, rec.name,
                                      rec.stream, None if rec.mtime is None else rec.mtime // 1_000_000))
        units = plan_file_units(spec, tasks)
        owned = owned_image_ranges(records, layout, size)
        owned_bytes = sum(n for _, n in owned)
        regions = unowned_regions(owned, layout, size) if unallocated else []
        units += plan_region_units(spec, regions, OVERLAP)
        return EvidencePlan(spec, size, layout, volume_rows, records, problems, hash_unit(spec, size), units,
                            owned_bytes, sum(e - s for _, s, e in regions))
    finally:
        reader.close()


def owned_image_ranges(records: list[FileRecord], layout: VolumeLayout, size: int) -> list[tuple[int, int]]:
    by_id = {s.id: s for s in layout.slots}
    spans = []
    for rec in records:
        if not rec.owned:
            continue
        vol = by_id[rec.volume]
        for vol_off, length in rec.owned:
            spans.extend(vol.image_ranges(vol_off, length))
    spans.sort()
    merged: list[list[int]] = []
    for start, length in spans:
        end = min(start + length, size)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e - s) for s, e in merged]


def unowned_regions(owned: list[tuple[int, int]], layout: VolumeLayout, size: int) -> list[tuple[str, int, int]]:
    """Gaps between owned ranges, split at volume boundaries and labelled with their volume."""
    gaps = []
    pos = 0
    for start, length in owned:
        if start > pos:
            gaps.append((pos, start))
        pos = max(pos, start + length)
    if pos < size:
        gaps.append((pos, size))
    # every image extent of every volume, innermost layer (LVM LV, RAID data area) first
    pieces = sorted(
        ((-s.id.count(">") - (s.kind != "whole"), ext.image_offset, ext.image_offset + ext.length, s.id)
         for s in layout.slots if s.kind not in ("meta", "unallocated") for ext in s.extents if ext.length),
    )
    cuts = sorted({b for _, lo, hi, _ in pieces for b in (lo, hi)})
    out = []
    for start, end in gaps:
        points = [start] + [c for c in cuts if start < c < end] + [end]
        for lo, hi in zip(points, points[1:]):
            label = next((vid for _, s, e, vid in pieces if s <= lo < e), "outside volumes")
            out.append((label, lo, hi))
    return out
