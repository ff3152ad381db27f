"""Damaged media: find file systems that no partition table describes, the way testdisk and gpart do.

Suspects wipe partition tables, and disks fail; a refused volume must never mean unsearched
bytes. When neither a volume system nor a file system is recognised on an image (or on a
volume), this module looks for file-system headers at the offsets where partitions start:

- every 1 MiB (2048 sectors: every partitioning tool since about 2008), and
- sector 63 and every cylinder of 255 heads x 63 sectors (DOS-era partitioning).

Checking every 512-byte sector, as testdisk's deeper search does, is ~2 billion reads on a
1 TB disk; these alignments are a few million at most, and a file system found is skipped
whole, so the search does not read inside it. At each offset the known headers are tried:
ext2/3/4 (superblock magic 0xEF53 at +1080; a backup superblock of group g, found at an
aligned offset, gives the file system's start as `offset - (g * blocks_per_group +
first_data_block) * block_size`), NTFS (`NTFS    ` at +3 and 0x55AA), FAT12/16/32 and exFAT
boot sectors, XFS (`XFSB`), LVM2 (`LABELONE` in the first four sectors) and LUKS. A header is
only a candidate: it counts once The Sleuth Kit (or the XFS/LVM/LUKS readers of
ingest.layers) opens a file system or layer at that offset.

An ext file system whose primary superblock is damaged is opened through a backup: the
volume then carries a read-time overlay (`VolumeSpec.patches`) that shows TSK the backup's
bytes where the primary should be. The image is never written; its own bytes there are
still searched as unallocated.

The signature tests are pure functions of the bytes read; `search` takes the reader and a
`verify` callback, so the search order and skipping are testable without TSK.
"""
from __future__ import annotations

import heapq
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

from caseformat.problems import Problem, Stage

if TYPE_CHECKING:
    from ingest.images import ImageReader
    from ingest.volumes import VolumeSpec

SECTOR = 512
MIB = 1 << 20
CYLINDER = 255 * 63 * SECTOR  # one cylinder in the DOS-era geometry
LEGACY_FIRST = 63 * SECTOR
PROBE_BYTES = 4096
EXT_MAGIC = 0xEF53


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file-system or layer header seen at `start` (offset in the searched volume)."""

    start: int
    kind: str  # "ext", "ntfs", "fat", "exfat", "xfs", "lvm", "luks"
    length: int | None  # bytes its header claims (None: not stated)
    how: str  # what was seen, for the errors row: "ext superblock magic at +1080"
    superblock_at: int | None = None  # ext: where the superblock used was read (a backup when != start + 1024)


def probe_offsets(size: int) -> Iterator[int]:
    """Candidate partition starts in ascending order, each once: every 1 MiB, sector 63, and each
    cylinder boundary and the sector 63 after it (where DOS tools put primary and logical partitions)."""
    legacy = heapq.merge([LEGACY_FIRST], range(CYLINDER, size, CYLINDER), range(CYLINDER + LEGACY_FIRST, size, CYLINDER))
    last = -1
    for offset in heapq.merge(range(0, size, MIB), legacy):
        if offset != last and offset < size:
            yield offset
        last = offset


def _u16(b: bytes, o: int) -> int:
    return struct.unpack_from("<H", b, o)[0]


def _u32(b: bytes, o: int) -> int:
    return struct.unpack_from("<I", b, o)[0]


def _u64(b: bytes, o: int) -> int:
    return struct.unpack_from("<Q", b, o)[0]


def ext_superblock(sb: bytes) -> dict | None:
    """The fields of an ext2/3/4 superblock (1024 bytes), or None when it is not one."""
    if len(sb) < 0x160 or _u16(sb, 56) != EXT_MAGIC:
        return None
    log_bs = _u32(sb, 24)
    if log_bs > 6:
        return None
    bs = 1024 << log_bs
    blocks = _u32(sb, 4)
    if _u32(sb, 0x60) & 0x80:  # INCOMPAT_64BIT
        blocks |= _u32(sb, 0x150) << 32
    bpg = _u32(sb, 32)
    fdb = _u32(sb, 20)
    if not blocks or not bpg or fdb > 1:
        return None
    return {"block_size": bs, "blocks": blocks, "blocks_per_group": bpg, "first_data_block": fdb,
            "group": _u16(sb, 0x5A)}


def _ext_at(offset: int, head: bytes) -> Candidate | None:
    """An ext superblock in the probe: the primary at +1024 (group 0), or a backup of a later group
    at +1024 (1 KiB blocks) or at +0 (larger blocks), which places the file system earlier."""
    for sb_off in (1024, 0):
        info = ext_superblock(head[sb_off:sb_off + 1024])
        if info is None:
            continue
        length = info["blocks"] * info["block_size"]
        at = offset + sb_off
        if info["group"] == 0:
            if sb_off != 1024:
                continue
            return Candidate(offset, "ext", length, "ext superblock magic at +1080", at)
        start = at - (info["group"] * info["blocks_per_group"] + info["first_data_block"]) * info["block_size"]
        if start >= 0 and start % SECTOR == 0:
            return Candidate(start, "ext", length,
                             f"ext backup superblock of group {info['group']} at offset {at}", at)
    return None


def _fat_at(offset: int, head: bytes) -> Candidate | None:
    if head[510:512] != b"\x55\xaa" or head[0] not in (0xEB, 0xE9):
        return None
    bps, spc, reserved, nfats = _u16(head, 11), head[13], _u16(head, 14), head[16]
    if bps not in (512, 1024, 2048, 4096) or spc == 0 or spc & (spc - 1) or reserved == 0 or nfats not in (1, 2):
        return None
    if head[54:57] != b"FAT" and head[82:87] != b"FAT32":
        return None
    sectors = _u16(head, 19) or _u32(head, 32)
    return Candidate(offset, "fat", sectors * bps or None, "FAT boot sector (0x55AA) at +0")


def signature_at(offset: int, head: bytes) -> Candidate | None:
    """What the PROBE_BYTES read at `offset` announce, or None."""
    if len(head) < 2048:
        head = head + bytes(2048 - len(head))
    if head[:6] == b"LUKS\xba\xbe":
        return Candidate(offset, "luks", None, "LUKS header magic at +0")
    if head[:4] == b"XFSB":
        bs, dblocks = struct.unpack_from(">IQ", head, 4)
        return Candidate(offset, "xfs", bs * dblocks or None, "XFS superblock magic XFSB at +0")
    for s in range(4):
        label = head[s * SECTOR:(s + 1) * SECTOR]
        if label[:8] == b"LABELONE" and label[24:32] == b"LVM2 001":
            pv = _u32(label, 20)
            size = _u64(label, pv + 32) if pv + 40 <= len(label) else 0
            return Candidate(offset, "lvm", size or None, f"LVM2 label LABELONE in sector {s}")
    if head[3:11] == b"NTFS    " and head[510:512] == b"\x55\xaa":
        return Candidate(offset, "ntfs", (_u64(head, 40) + 1) * _u16(head, 11) or None,
                         "NTFS boot sector (NTFS at +3, 0x55AA)")
    if head[3:11] == b"EXFAT   ":
        return Candidate(offset, "exfat", _u64(head, 72) << head[108] if head[108] < 16 else None,
                         "exFAT boot sector (EXFAT at +3)")
    ext = _ext_at(offset, head)
    if ext is not None:
        return ext
    return _fat_at(offset, head)


def volume_probe_offsets(size: int, origin: int = 0) -> Iterator[int]:
    """Probe offsets inside a volume that starts at image offset `origin`: aligned both in the
    volume's own terms and in the image's (a partition entry that starts at sector 1, as a
    protective MBR's does, holds file systems aligned to the disk, not to itself)."""
    own = probe_offsets(size)
    if not origin:
        yield from own
        return
    disk = (o - origin for o in probe_offsets(size + origin) if o >= origin)
    last = -1
    for offset in heapq.merge(own, disk):
        if offset != last:
            yield offset
        last = offset


def search(read: Callable[[int, int], bytes], size: int, verify: Callable[[Candidate], int | None],
           max_found: int = 64, origin: int = 0) -> list[Candidate]:
    """Candidates that `verify` accepts, in order. `verify` returns the bytes the accepted file
    system covers (the search resumes after them), or None to keep looking past the header.
    `origin`: the searched volume's image offset (see volume_probe_offsets)."""
    found: list[Candidate] = []
    resume = 0
    tried: set[int] = set()
    for offset in volume_probe_offsets(size, origin):
        if offset < resume:
            continue
        cand = signature_at(offset, read(offset, PROBE_BYTES))
        if cand is None or cand.start < resume or cand.start in tried:
            continue
        tried.add(cand.start)
        covered = verify(cand)
        if covered is None:
            continue
        found.append(cand)
        if len(found) >= max_found:
            break
        resume = cand.start + max(covered, SECTOR)
    return found


def ext_primary_patch(read: Callable[[int, int], bytes], cand: Candidate) -> tuple[int, bytes] | None:
    """For an ext file system found through a backup superblock: (offset 1024, the backup's bytes
    with its group number set to 0), to be shown to TSK in place of the damaged primary."""
    if cand.kind != "ext" or cand.superblock_at is None or cand.superblock_at == cand.start + 1024:
        return None
    sb = bytearray(read(cand.superblock_at, 1024))
    if len(sb) < 1024:
        return None
    struct.pack_into("<H", sb, 0x5A, 0)
    return (1024, bytes(sb))


# ---------------------------------------------------------------- walking what is found
# (I/O from here on: the reader, TSK and the layer readers of ingest.layers)

ACCEPTED = ("walked", "container", "encrypted", "unsupported")


@dataclass(slots=True)
class Recovered:
    """File systems found in a volume that showed none: their rows, names and problems."""

    walked: list = field(default_factory=list)  # ingest.layers.WalkedVolume, recovered ones and their layers
    records: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    found: int = 0


def _candidate_volume(volume: "VolumeSpec", cand: Candidate, number: int, length: int) -> "VolumeSpec":
    from ingest.volumes import Extent, VolumeSpec, nested

    label = f"recovered:{number}"
    desc = f"recovered {cand.kind} file system ({cand.how})"
    if volume.kind == "whole":
        return VolumeSpec(label, (Extent(0, cand.start, length),), length, desc, True, "recovered")
    inner = nested(volume, label, (Extent(0, cand.start, length),), length, "recovered")
    return VolumeSpec(inner.id, inner.extents, inner.length, desc, True, "recovered")


def recover(reader: "ImageReader", volume: "VolumeSpec") -> Recovered:
    """Search `volume` (the whole image, or a partition with no file system) for file systems at
    aligned offsets and walk every one that opens; see the module's docstring."""
    from dataclasses import replace

    from ingest.layers import WalkedVolume, walk_stack
    from ingest.volumes import read_volume

    out = Recovered()

    def read(offset: int, n: int) -> bytes:
        return read_volume(reader, volume, offset, n)

    def verify(cand: Candidate) -> int | None:
        available = volume.length - cand.start
        if available <= 0:
            return None
        length = min(cand.length or available, available)
        vol = _candidate_volume(volume, cand, out.found + 1, length)
        patch = ext_primary_patch(read, cand)
        if patch is not None:
            vol = replace(vol, patches=(patch,))
        stack = walk_stack(reader, vol)
        if stack.status not in ACCEPTED:
            return None
        out.found += 1
        image_at = vol.start
        row = dict(volume=vol.id, start=image_at, length=vol.length, description=vol.description, allocated=True,
                   kind="recovered", fs_type=stack.fs_type, layers=stack.layers, status="recovered")
        out.walked.append(WalkedVolume(vol, row, stack.fs_kind))
        out.walked.extend(stack.nested)
        out.records.extend(stack.records)
        what = stack.fs_type or stack.layers.rsplit(" > ", 1)[-1]
        where = "not described by any partition table" if volume.kind == "whole" else \
            f"inside {volume.id}, where no file system was recognised"
        out.problems.append(Problem(vol.id, None, None, None, Stage.RECOVERY,
                                        f"{vol.id}: {what} found at image offset {image_at} ({cand.how}), "
                                        f"{where}; walked as status 'recovered'"))
        if patch is not None:
            out.problems.append(Problem(vol.id, None, None, None, Stage.RECOVERY,
                                            f"{vol.id}: the primary ext superblock at image offset "
                                            f"{vol.image_offset(1024)} is damaged; opened through the backup at "
                                            f"volume offset {cand.superblock_at} (its own bytes are searched as "
                                            "unallocated)"))
        if cand.length and cand.length > available:
            out.problems.append(Problem(vol.id, None, None, None, Stage.RECOVERY,
                                            f"{vol.id}: its header claims {cand.length} bytes but "
                                            f"{'the image' if volume.kind == 'whole' else volume.id} ends after "
                                            f"{available} (truncated?); only the bytes present are read"))
        out.problems.extend(stack.problems)
        return length

    search(read, volume.length, verify, origin=volume.start if len(volume.extents) == 1 else 0)
    return out
