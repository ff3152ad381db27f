"""Volumes: where the file systems sit in an image, as extents of image bytes.

A volume is described by its extents (volume offset -> image offset, length), not by a
handle, so a worker can reopen it anywhere and every offset inside it maps back to the
image exactly. A plain partition is one extent; an LVM logical volume or a RAID1 member's
data area is just another list of extents, so layers stack without new machinery.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytsk3

from caseformat.problems import Problem, Stage
from ingest.images import ImageReader


@dataclass(frozen=True, slots=True)
class Extent:
    volume_offset: int
    image_offset: int
    length: int


@dataclass(frozen=True, slots=True)
class VolumeSpec:
    """One volume of an image: a partition, the whole disk, or a deeper layer."""

    id: str  # "gpt:1", "mbr:6", "whole", "gpt:2 > lvm:vg0/root"
    extents: tuple[Extent, ...]
    length: int
    description: str
    allocated: bool  # False for unallocated/meta slots of the partition table
    kind: str = "partition"  # "partition", "whole", "lvm", "raid1", "meta", "unallocated", "recovered"
    # (volume offset, bytes) shown in place of the image's bytes when the volume is read through
    # TSK: a backup ext superblock standing in for a damaged primary (ingest.recovery). The
    # image itself is never changed, and unallocated scanning reads the image's own bytes.
    patches: tuple[tuple[int, bytes], ...] = ()

    @property
    def start(self) -> int:
        return self.extents[0].image_offset if self.extents else 0

    def image_offset(self, volume_offset: int) -> int | None:
        for ext in self.extents:
            if ext.volume_offset <= volume_offset < ext.volume_offset + ext.length:
                return ext.image_offset + volume_offset - ext.volume_offset
        return None

    def image_ranges(self, volume_offset: int, length: int) -> list[tuple[int, int]]:
        """Image (offset, length) pieces covering [volume_offset, volume_offset + length)."""
        out = []
        end = volume_offset + length
        for ext in self.extents:
            lo = max(volume_offset, ext.volume_offset)
            hi = min(end, ext.volume_offset + ext.length)
            if lo < hi:
                out.append((ext.image_offset + lo - ext.volume_offset, hi - lo))
        return out


def whole_image_volume(size: int) -> VolumeSpec:
    return VolumeSpec("whole", (Extent(0, 0, size),), size, "whole image", True, "whole")


def read_volume(reader: ImageReader, volume: VolumeSpec, offset: int, length: int) -> bytes:
    """Bytes of a volume, gathered from its image extents (short at the image's end)."""
    pieces = [reader.read(img_off, n) for img_off, n in volume.image_ranges(offset, length)]
    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    if volume.patches:
        data = _patched(data, offset, volume.patches)
    return data


def _patched(data: bytes, offset: int, patches: tuple[tuple[int, bytes], ...]) -> bytes:
    out = None
    for at, blob in patches:
        lo, hi = max(offset, at), min(offset + len(data), at + len(blob))
        if lo < hi:
            out = out if out is not None else bytearray(data)
            out[lo - offset:hi - offset] = blob[lo - at:hi - at]
    return data if out is None else bytes(out)


class VolumeImage(pytsk3.Img_Info):
    """A volume presented to TSK as an image of its own, read through our read-only reader.

    A read that the image cannot satisfy comes back short, so TSK reports it and the file
    becomes an `errors` row: bytes past the end of a truncated image are never invented.
    Only for finding a partition table may the image pretend to be larger (`pretend_size`),
    because TSK refuses a whole table when one entry runs past the end of the disk.
    """

    def __init__(self, reader: ImageReader, volume: VolumeSpec, pretend_size: int | None = None) -> None:
        self._reader = reader
        self._volume = volume
        self._pretend = pretend_size
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def read(self, offset: int, size: int) -> bytes:  # called by TSK
        data = read_volume(self._reader, self._volume, offset, size)
        if self._pretend and len(data) < size:
            data = data + bytes(size - len(data))
        return data

    def get_size(self) -> int:  # called by TSK
        return self._pretend or self._volume.length

    def close(self) -> None:  # the reader belongs to the caller
        pass


PRETEND_DISK_SIZE = 1 << 50


@dataclass(frozen=True, slots=True)
class VolumeLayout:
    volume_system: str  # "gpt", "mbr", "none", ...
    slots: tuple[VolumeSpec, ...]  # every slot TSK reports, including meta and unallocated
    problems: tuple[Problem, ...] = ()  # what is wrong with the table (stage volumes)


_VS_NAMES = {
    int(pytsk3.TSK_VS_TYPE_DOS): "mbr",
    int(pytsk3.TSK_VS_TYPE_GPT): "gpt",
    int(pytsk3.TSK_VS_TYPE_BSD): "bsd",
    int(pytsk3.TSK_VS_TYPE_SUN): "sun",
    int(pytsk3.TSK_VS_TYPE_MAC): "mac",
}


def discover_volumes(reader: ImageReader) -> VolumeLayout:
    """The image's partition table as TSK reads it; no table means one whole-image volume."""
    whole = whole_image_volume(reader.size)
    problems: list[Problem] = []
    try:
        vs = pytsk3.Volume_Info(VolumeImage(reader, whole))
    except OSError:
        try:  # a table whose entries run past the end of a truncated disk: read what is there
            vs = pytsk3.Volume_Info(VolumeImage(reader, whole, pretend_size=PRETEND_DISK_SIZE))
        except OSError:
            return VolumeLayout("none", (whole,))
        problems.append(_table_problem(None, "the partition table describes space past the end of the image "
                                             "(truncated image?)"))
    vs_name = _VS_NAMES.get(int(vs.info.vstype), str(vs.info.vstype).removeprefix("TSK_VS_TYPE_").lower())
    block = vs.info.block_size
    slots = []
    for part in vs:
        start = part.start * block
        length = part.len * block
        flags = int(part.flags)
        allocated = bool(flags & int(pytsk3.TSK_VS_PART_FLAG_ALLOC))
        if flags & int(pytsk3.TSK_VS_PART_FLAG_META):
            kind = "meta"
        elif allocated:
            kind = "partition"
        else:
            kind = "unallocated"
        desc = part.desc.decode("utf-8", "replace") if isinstance(part.desc, bytes) else str(part.desc)
        vid = f"{vs_name}:{part.addr}"
        if start >= reader.size:
            if kind == "partition":
                problems.append(_table_problem(vid, f"{vid} ({desc}) starts at byte {start}, past the end of the image ({reader.size})"))
            continue
        if start + length > reader.size:
            if kind == "partition":
                problems.append(_table_problem(vid, f"{vid} ({desc}) runs {start + length - reader.size} bytes past "
                                                    "the end of the image; only the bytes present are read"))
            length = reader.size - start
        slots.append(VolumeSpec(vid, (Extent(0, start, length),), length, desc, allocated, kind))
    return VolumeLayout(vs_name, tuple(slots), tuple(problems))


def nested(volume: VolumeSpec, layer: str, extents: tuple[Extent, ...], length: int, kind: str) -> VolumeSpec:
    """A volume inside `volume` (e.g. an LVM logical volume), with extents mapped to the image."""
    mapped = []
    for ext in extents:
        pos = ext.image_offset  # offset inside the parent volume
        vol_pos = ext.volume_offset
        for img_off, n in volume.image_ranges(pos, ext.length):
            mapped.append(Extent(vol_pos, img_off, n))
            vol_pos += n
    return replace(volume, id=f"{volume.id} > {layer}", extents=tuple(mapped), length=length, kind=kind, patches=())


def _table_problem(volume: str | None, error: str) -> Problem:
    return Problem(volume, None, None, None, Stage.VOLUMES, error)
