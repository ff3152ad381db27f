"""Linux md RAID members (superblocks 0.90 and 1.x): a RAID1 member's data area is a nested
volume; other levels are recognised and described, not reconstructed."""
from __future__ import annotations

import struct

from caseformat.problems import Problem, Stage
from ingest.images import ImageReader
from ingest.storage.layer import SECTOR, Layer, cstr
from ingest.volumes import Extent, VolumeSpec, nested, read_volume

MD_MAGIC = 0xA92B4EFC
_MD_LEVELS = {-4: "multipath", -1: "linear", 0: "raid0", 1: "raid1", 4: "raid4", 5: "raid5", 6: "raid6", 10: "raid10"}


def md_sb1_checksum(sb: bytes) -> int:
    """The 1.x superblock checksum: 32-bit words summed with sb_csum as zero, folded once."""
    max_dev = struct.unpack_from("<I", sb, 220)[0]
    size = min(256 + 2 * max_dev, len(sb))
    data = sb[:216] + b"\0\0\0\0" + sb[220:size]
    if len(data) % 4:  # an odd number of 16-bit roles: the last two bytes count as a short
        tail = struct.unpack_from("<H", data, len(data) - 2)[0]
        data = data[:-2]
    else:
        tail = 0
    total = sum(struct.unpack(f"<{len(data) // 4}I", data)) + tail
    return ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF


def md_sb0_checksum(sb: bytes) -> int:
    """The 0.90 superblock checksum: all 1024 words with sb_csum (word 38) as zero, folded."""
    words = list(struct.unpack("<1024I", sb[:4096]))
    words[38] = 0
    total = sum(words)
    return ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF


def md_layer(reader: ImageReader, volume: VolumeSpec, head: bytes) -> Layer | None:
    size = volume.length
    candidates = [(4096, "1.2"), (0, "1.1")]
    if size >= 8192:
        candidates.append((((size - 8192) & ~4095), "1.0"))
    if size >= 128 * 1024:
        candidates.append((((size & ~0xFFFF) - 0x10000), "0.90"))
    for offset, version in candidates:
        sb = head[offset:offset + 4096] if offset + 4096 <= len(head) else read_volume(reader, volume, offset, 4096)
        if len(sb) < 256 or struct.unpack_from("<I", sb, 0)[0] != MD_MAGIC:
            continue
        major = struct.unpack_from("<I", sb, 4)[0]
        if version == "0.90" and major == 0 and len(sb) >= 4096:
            return _md0(volume, sb)
        if version != "0.90" and major == 1:
            return _md1(volume, sb, offset, version)
    return None


def _array_layer(volume: VolumeSpec, name: str, level: int, disks: int, chunk: int, layout: int, version: str,
              data_offset: int, data_length: int, uuid: str, problems: list[Problem]) -> Layer:
    level_name = _MD_LEVELS.get(level, f"level {level}")
    fields = (("version", version), ("level", level_name), ("raid_disks", disks), ("chunk", chunk),
              ("layout", layout), ("uuid", uuid), ("name", name), ("data_offset", data_offset))
    label = f"md:{name or uuid}"
    if level != 1:
        problems.append(Problem(volume.id, None, None, None, Stage.LAYER,
                                    f"md: {level_name} member of array {name or uuid} not reconstructed "
                                    f"(only RAID1 members are read): metadata {version}, {disks} disks, "
                                    f"chunk {chunk} bytes, layout {layout}, data offset {data_offset}"))
        return Layer("md", f"{label} ({level_name})", f"Linux md {level_name} member", fields=fields,
                     problems=tuple(problems))
    length = max(0, min(data_length, volume.length - data_offset))
    if length < data_length:
        problems.append(Problem(volume.id, None, None, None, Stage.LAYER,
                                    f"md: array {name or uuid} data area is cut short by the end of {volume.id}"))
    inner = nested(volume, label, (Extent(0, data_offset, length),), length, "raid1")
    desc = f"Linux md RAID1 array {name or uuid} (metadata {version}, {disks} disks)"
    inner = VolumeSpec(inner.id, inner.extents, inner.length, desc, True, "raid1")
    return Layer("md", label, f"Linux md RAID1 member (metadata {version})", volumes=(inner,), fields=fields,
                 problems=tuple(problems))


def _md1(volume: VolumeSpec, sb: bytes, offset: int, version: str) -> Layer:
    problems: list[Problem] = []
    uuid = ":".join(sb[16 + i:20 + i].hex() for i in range(0, 16, 4))
    name = cstr(sb[32:64])
    level, layout = struct.unpack_from("<iI", sb, 72)
    comp_size, chunk, disks = struct.unpack_from("<QII", sb, 80)
    data_offset, data_size = struct.unpack_from("<QQ", sb, 128)
    if md_sb1_checksum(sb) != struct.unpack_from("<I", sb, 216)[0]:
        problems.append(Problem(volume.id, None, None, None, Stage.LAYER,
                                    f"md: superblock checksum mismatch at {offset} (read anyway)"))
    length = (comp_size or data_size) * SECTOR
    return _array_layer(volume, name, level, disks, chunk * SECTOR, layout, version, data_offset * SECTOR,
                     length, uuid, problems)


def _md0(volume: VolumeSpec, sb: bytes) -> Layer:
    problems: list[Problem] = []
    w = struct.unpack_from("<16I", sb, 0)
    minor = w[2]
    uuid = ":".join(f"{x:08x}" for x in (w[5], w[13], w[14], w[15]))
    level = struct.unpack_from("<i", sb, 28)[0]
    size_kib, disks = w[8], w[10]
    layout, chunk = struct.unpack_from("<II", sb, 256)
    if md_sb0_checksum(sb) != struct.unpack_from("<I", sb, 38 * 4)[0]:
        problems.append(Problem(volume.id, None, None, None, Stage.LAYER, "md: 0.90 superblock checksum mismatch (read anyway)"))
    return _array_layer(volume, "", level, disks, chunk, layout, f"0.{minor}", 0, size_kib * 1024, uuid, problems)
