"""LVM2 physical volumes: the label, PV header, metadata area and its text metadata
(`ingest.storage.lvm2_config`), read into the logical volumes whose linear segments lie on this
physical volume, each a nested `VolumeSpec` of image extents."""
from __future__ import annotations

import struct
import zlib

from caseformat.problems import Problem, Stage
from ingest.images import ImageReader
from ingest.storage.layer import SECTOR, Layer
from ingest.storage.lvm2_config import parse_lvm_config
from ingest.volumes import Extent, VolumeSpec, nested, read_volume

LABEL_MAGIC = b"LABELONE"  # in one of the first four sectors, with LABEL_TYPE at byte 24
LABEL_TYPE = b"LVM2 001"
LVM_MDA_MAGIC = b"\x20LVM2 x[5A%r0N*>"
LVM_INITIAL_CRC = 0xF597A6CF


def lvm_crc(data: bytes, initial: int = LVM_INITIAL_CRC) -> int:
    """LVM2's CRC-32: the reflected 0xEDB88320 polynomial, seeded, without final inversion."""
    return zlib.crc32(data, initial ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def _locations(buf: bytes, pos: int) -> tuple[list[tuple[int, int]], int]:
    out = []
    while pos + 16 <= len(buf):
        offset, size = struct.unpack_from("<QQ", buf, pos)
        pos += 16
        if offset == 0 and size == 0:
            break
        out.append((offset, size))
    return out, pos


def lvm_layer(reader: ImageReader, volume: VolumeSpec, sector: int, label: bytes) -> Layer:
    problems: list[Problem] = []

    def problem(text: str) -> None:
        problems.append(Problem(volume.id, None, None, None, Stage.LAYER, f"lvm: {text}"))

    crc = struct.unpack_from("<I", label, 16)[0]
    if lvm_crc(label[20:SECTOR]) != crc:
        problem(f"label checksum mismatch in sector {sector} (read anyway)")
    pv_off = struct.unpack_from("<I", label, 20)[0]
    pvh = read_volume(reader, volume, sector * SECTOR + pv_off, SECTOR * 2)
    pv_uuid = pvh[:32].decode("ascii", "replace")
    _data_areas, pos = _locations(pvh, 40)
    meta_areas, _ = _locations(pvh, pos)
    text = None
    for mda_off, mda_size in meta_areas:
        text = _lvm_metadata_text(reader, volume, mda_off, mda_size, problem)
        if text is not None:
            break
    if text is None:
        problem("physical volume label found but no readable metadata area")
        return Layer("lvm", "lvm:?", "LVM2 physical volume (metadata unreadable)", problems=tuple(problems))
    try:
        config = parse_lvm_config(text)
    except ValueError as exc:
        problem(f"metadata text does not parse: {exc}")
        return Layer("lvm", "lvm:?", "LVM2 physical volume (metadata unparsable)", problems=tuple(problems))
    vg_name, vg = next(((k, v) for k, v in config.items() if isinstance(v, dict)), (None, None))
    if vg is None:
        problem("metadata holds no volume group")
        return Layer("lvm", "lvm:?", "LVM2 physical volume (no volume group)", problems=tuple(problems))
    volumes = _lvm_volumes(volume, vg_name, vg, pv_uuid, problem)
    desc = f"LVM2 physical volume of volume group {vg_name}"
    return Layer("lvm", f"lvm:{vg_name}", desc, volumes=tuple(volumes), problems=tuple(problems),
                 fields=(("vg", vg_name), ("pv_uuid", pv_uuid)))


def _lvm_metadata_text(reader: ImageReader, volume: VolumeSpec, mda_off: int, mda_size: int, problem) -> str | None:
    header = read_volume(reader, volume, mda_off, SECTOR)
    if len(header) < SECTOR or header[4:20] != LVM_MDA_MAGIC:
        problem(f"metadata area at {mda_off} has no LVM2 magic")
        return None
    if lvm_crc(header[4:SECTOR]) != struct.unpack_from("<I", header, 0)[0]:
        problem(f"metadata area header checksum mismatch at {mda_off} (read anyway)")
    locns, _ = _raw_locations(header, 40)
    if not locns:
        problem(f"metadata area at {mda_off} holds no metadata")
        return None
    offset, size, checksum = locns[0]
    if size > 64 * 1024 * 1024 or offset >= mda_size:
        problem(f"metadata location {offset}+{size} out of range")
        return None
    first = min(size, mda_size - offset)  # the area is a ring buffer after its 512-byte header
    raw = read_volume(reader, volume, mda_off + offset, first)
    if first < size:
        raw += read_volume(reader, volume, mda_off + SECTOR, size - first)
    if lvm_crc(raw) != checksum:
        problem("metadata text checksum mismatch (read anyway)")
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _raw_locations(buf: bytes, pos: int) -> tuple[list[tuple[int, int, int]], int]:
    out = []
    while pos + 24 <= len(buf):
        offset, size, checksum, _flags = struct.unpack_from("<QQII", buf, pos)
        pos += 24
        if offset == 0 and size == 0:
            break
        out.append((offset, size, checksum))
    return out, pos


def _lvm_volumes(volume: VolumeSpec, vg_name: str, vg: dict, pv_uuid: str, problem) -> list[VolumeSpec]:
    extent_bytes = int(vg.get("extent_size", 0)) * SECTOR
    pvs = vg.get("physical_volumes", {}) or {}
    ours = None
    for key, pv in pvs.items():
        if isinstance(pv, dict) and str(pv.get("id", "")).replace("-", "") == pv_uuid:
            ours = (key, int(pv.get("pe_start", 0)) * SECTOR, int(pv.get("pe_count", 0)))
    if ours is None or extent_bytes <= 0:
        problem(f"volume group {vg_name}: this physical volume ({pv_uuid}) is not in its metadata")
        return []
    pv_key, pe_start, pe_count = ours
    out = []
    for lv_name, lv in (vg.get("logical_volumes", {}) or {}).items():
        if not isinstance(lv, dict):
            continue
        segments = sorted((v for k, v in lv.items() if k.startswith("segment") and isinstance(v, dict)),
                          key=lambda s: int(s.get("start_extent", 0)))
        extents = []
        why = None
        for seg in segments:
            seg_type = seg.get("type")
            stripes = seg.get("stripes") or []
            if seg_type != "striped" or int(seg.get("stripe_count", 0)) != 1 or len(stripes) != 2:
                why = (f"segment type {seg_type!r} with {seg.get('stripe_count')} stripes is not linear; "
                       "only linear segments are read")
                break
            if stripes[0] != pv_key:
                why = (f"a segment lies on physical volume {stripes[0]} which is not this one "
                       "(multi-PV volume groups are not assembled)")
                break
            first_pe, count = int(stripes[1]), int(seg.get("extent_count", 0))
            if first_pe + count > pe_count:
                why = "a segment lies past the end of the physical volume"
                break
            extents.append(Extent(int(seg.get("start_extent", 0)) * extent_bytes,
                                  pe_start + first_pe * extent_bytes, count * extent_bytes))
        length = sum(e.length for e in extents)
        if why is None and (not extents or any(a.volume_offset + a.length != b.volume_offset
                                               for a, b in zip(extents, extents[1:]))
                            or extents[0].volume_offset != 0):
            why = "its segments do not cover it contiguously from extent 0"
        if why:
            problem(f"logical volume {vg_name}/{lv_name} not read: {why}")
            continue
        if max(e.image_offset + e.length for e in extents) > volume.length:
            problem(f"logical volume {vg_name}/{lv_name} extends past the end of {volume.id}; read as far as present")
        inner = nested(volume, f"lvm:{vg_name}/{lv_name}", tuple(extents), length, "lvm")
        desc = f"LVM2 logical volume {vg_name}/{lv_name} ({len(segments)} linear segment(s))"
        out.append(VolumeSpec(inner.id, inner.extents, inner.length, desc, True, "lvm"))
    return out
