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

The on-disk formats are read from the documented structures with `struct` (LVM2 label,
PV header, metadata area and its text metadata; md superblocks 0.90 and 1.x; LUKS1/LUKS2
headers; the BitLocker volume header). Nothing here decrypts or writes.
"""
from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass, field

from caseformat.problems import Stage
from ingest.problems import one_line
from ingest.filesystems import FileRecord, WalkProblem, fs_type_name, open_tsk, walk_tsk
from ingest.images import ImageReader
from ingest.volumes import Extent, VolumeSpec, nested, read_volume

SECTOR = 512
MAX_DEPTH = 4  # partition > md > lvm > luks is already deep; stops loops in crafted metadata

# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Layer:
    """What a probe recognised on a volume."""

    kind: str  # "lvm", "md", "luks", "bitlocker"
    label: str  # the step in `volumes.layers`: "lvm:vg0", "md:host:0", "luks2", "bitlocker"
    description: str
    volumes: tuple[VolumeSpec, ...] = ()  # readable volumes inside (nested extents)
    encrypted: bool = False
    fields: tuple[tuple[str, object], ...] = ()  # header fields (cipher, mode, hash, uuid, version, ...)
    problems: tuple[WalkProblem, ...] = ()  # unsupported parts, checksum mismatches


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
    problems: list[WalkProblem] = field(default_factory=list)


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
            out.problems.append(WalkProblem(volume.id, None, None, Stage.FILESYSTEM,
                                            f"XFS superblock found but the file system cannot be opened: "
                                            f"{one_line(exc)}"))
            return out
        out.status, out.fs_kind = "walked", "xfs"
        _collect(out, walk_xfs(handle, volume))
        return out
    layer = probe(reader, volume) if depth < MAX_DEPTH else None
    if layer is None:
        out.problems.append(WalkProblem(volume.id, None, None, Stage.FILESYSTEM,
                                        f"no file system recognised in {volume.description}: {tsk_error}"))
        return out
    out.layers = f"{volume.id} > {layer.label}"
    out.problems.extend(layer.problems)
    if layer.encrypted:
        out.status = "encrypted"
        fields = json.dumps(dict(layer.fields), sort_keys=True)
        out.problems.append(WalkProblem(volume.id, None, None, Stage.ENCRYPTED,
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
        (out.problems if isinstance(item, WalkProblem) else out.records).append(item)


def probe(reader: ImageReader, volume: VolumeSpec) -> Layer | None:
    """The storage layer on `volume`, or None when none of the known ones is there."""
    head = read_volume(reader, volume, 0, 8192)
    if head[:6] == b"LUKS\xba\xbe":
        return _luks(reader, volume, head)
    if head[3:11] == b"-FVE-FS-":
        return _bitlocker(reader, volume, head)
    for sector in range(4):
        label = head[sector * SECTOR:(sector + 1) * SECTOR]
        if label[:8] == b"LABELONE" and label[24:32] == b"LVM2 001":
            return _lvm(reader, volume, sector, label)
    return _md(reader, volume, head)


# ---------------------------------------------------------------- LUKS / BitLocker


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def _luks(reader: ImageReader, volume: VolumeSpec, head: bytes) -> Layer:
    version = struct.unpack_from(">H", head, 6)[0]
    fields: dict[str, object] = {"format": "LUKS", "version": version}
    if version == 1:
        fields.update(cipher=_cstr(head[8:40]), mode=_cstr(head[40:72]), hash=_cstr(head[72:104]),
                      payload_offset=struct.unpack_from(">I", head, 104)[0] * SECTOR,
                      key_bytes=struct.unpack_from(">I", head, 108)[0], uuid=_cstr(head[168:208]))
    elif version == 2:
        hdr_size = struct.unpack_from(">Q", head, 8)[0]
        fields.update(uuid=_cstr(head[168:208]), label=_cstr(head[24:72]) or None,
                      checksum=_cstr(head[72:104]))
        area = read_volume(reader, volume, 4096, max(0, min(hdr_size, 4 * 1024 * 1024) - 4096))
        try:
            meta = json.loads(area.split(b"\0", 1)[0].decode("utf-8"))
            segment = next(iter(meta.get("segments", {}).values()), {})
            spec = str(segment.get("encryption", ""))
            cipher, _, mode = spec.partition("-")
            fields.update(cipher=cipher or None, mode=mode or None,
                          hash=next((d.get("hash") for d in meta.get("digests", {}).values()), None),
                          payload_offset=int(segment.get("offset", 0) or 0),
                          keyslots=len(meta.get("keyslots", {})))
        except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
            fields["header_error"] = f"LUKS2 JSON area unreadable: {exc.__class__.__name__}"
    desc = f"LUKS{version} encrypted container" if version in (1, 2) else f"LUKS header (version {version})"
    return Layer("luks", f"luks{version}", desc, encrypted=True, fields=tuple(fields.items()))


_FVE_METHODS = {
    0x8000: "AES-128-CBC with diffuser", 0x8001: "AES-256-CBC with diffuser", 0x8002: "AES-128-CBC",
    0x8003: "AES-256-CBC", 0x8004: "AES-128-XTS", 0x8005: "AES-256-XTS",
}


def _bitlocker(reader: ImageReader, volume: VolumeSpec, head: bytes) -> Layer:
    fields: dict[str, object] = {"format": "BitLocker"}
    offsets = struct.unpack_from("<3Q", head, 0xB0)
    for off in offsets:
        if not off or off >= volume.length:
            continue
        block = read_volume(reader, volume, off, 128)
        if block[:8] != b"-FVE-FS-":
            continue
        fields["version"] = struct.unpack_from("<H", block, 10)[0]
        guid = block[64 + 16:64 + 32]
        if len(guid) == 16:
            fields["uuid"] = _guid(guid)
        method = struct.unpack_from("<H", block, 64 + 36)[0] if len(block) >= 102 else None
        if method is not None:
            fields["cipher"] = _FVE_METHODS.get(method, f"0x{method:04x}")
        break
    return Layer("bitlocker", "bitlocker", "BitLocker encrypted volume", encrypted=True,
                 fields=tuple(fields.items()))


def _guid(raw: bytes) -> str:
    a, b, c = struct.unpack_from("<IHH", raw)
    return f"{a:08x}-{b:04x}-{c:04x}-{raw[8:10].hex()}-{raw[10:16].hex()}"


# ---------------------------------------------------------------- LVM2

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


def _lvm(reader: ImageReader, volume: VolumeSpec, sector: int, label: bytes) -> Layer:
    problems: list[WalkProblem] = []

    def problem(text: str) -> None:
        problems.append(WalkProblem(volume.id, None, None, Stage.LAYER, f"lvm: {text}"))

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


_TOKEN = re.compile(rb'\s*(?:#[^\n]*\n?\s*)*("(?:[^"\\]|\\.)*"|-?\d+|[A-Za-z_][A-Za-z0-9_.+:-]*|[{}\[\]=,])')


def parse_lvm_config(text: str) -> dict:
    """LVM2's text metadata format (sections, `key = value`, strings, integers, lists)."""
    tokens = [m.group(1).decode("utf-8", "replace") for m in _TOKEN.finditer(text.encode("utf-8"))]
    pos = 0

    def value():
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError("unexpected end of metadata")
        tok = tokens[pos]
        pos += 1
        if tok == "[":
            items = []
            while pos < len(tokens) and tokens[pos] != "]":
                if tokens[pos] == ",":
                    pos += 1
                    continue
                items.append(value())
            pos += 1
            return items
        if tok.startswith('"'):
            return tok[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if re.fullmatch(r"-?\d+", tok):
            return int(tok)
        return tok

    def section(until_brace: bool) -> dict:
        nonlocal pos
        out: dict = {}
        while pos < len(tokens):
            tok = tokens[pos]
            if tok == "}":
                if not until_brace:
                    raise ValueError("unbalanced '}'")
                pos += 1
                return out
            pos += 1
            if pos < len(tokens) and tokens[pos] == "{":
                pos += 1
                out[tok] = section(True)
            elif pos < len(tokens) and tokens[pos] == "=":
                pos += 1
                out[tok] = value()
            else:
                raise ValueError(f"unexpected token {tok!r}")
        if until_brace:
            raise ValueError("unterminated section")
        return out

    return section(False)


# ---------------------------------------------------------------- Linux md RAID

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


def _md(reader: ImageReader, volume: VolumeSpec, head: bytes) -> Layer | None:
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


def _md_layer(volume: VolumeSpec, name: str, level: int, disks: int, chunk: int, layout: int, version: str,
              data_offset: int, data_length: int, uuid: str, problems: list[WalkProblem]) -> Layer:
    level_name = _MD_LEVELS.get(level, f"level {level}")
    fields = (("version", version), ("level", level_name), ("raid_disks", disks), ("chunk", chunk),
              ("layout", layout), ("uuid", uuid), ("name", name), ("data_offset", data_offset))
    label = f"md:{name or uuid}"
    if level != 1:
        problems.append(WalkProblem(volume.id, None, None, Stage.LAYER,
                                    f"md: {level_name} member of array {name or uuid} not reconstructed "
                                    f"(only RAID1 members are read): metadata {version}, {disks} disks, "
                                    f"chunk {chunk} bytes, layout {layout}, data offset {data_offset}"))
        return Layer("md", f"{label} ({level_name})", f"Linux md {level_name} member", fields=fields,
                     problems=tuple(problems))
    length = max(0, min(data_length, volume.length - data_offset))
    if length < data_length:
        problems.append(WalkProblem(volume.id, None, None, Stage.LAYER,
                                    f"md: array {name or uuid} data area is cut short by the end of {volume.id}"))
    inner = nested(volume, label, (Extent(0, data_offset, length),), length, "raid1")
    desc = f"Linux md RAID1 array {name or uuid} (metadata {version}, {disks} disks)"
    inner = VolumeSpec(inner.id, inner.extents, inner.length, desc, True, "raid1")
    return Layer("md", label, f"Linux md RAID1 member (metadata {version})", volumes=(inner,), fields=fields,
                 problems=tuple(problems))


def _md1(volume: VolumeSpec, sb: bytes, offset: int, version: str) -> Layer:
    problems: list[WalkProblem] = []
    uuid = ":".join(sb[16 + i:20 + i].hex() for i in range(0, 16, 4))
    name = _cstr(sb[32:64])
    level, layout = struct.unpack_from("<iI", sb, 72)
    comp_size, chunk, disks = struct.unpack_from("<QII", sb, 80)
    data_offset, data_size = struct.unpack_from("<QQ", sb, 128)
    if md_sb1_checksum(sb) != struct.unpack_from("<I", sb, 216)[0]:
        problems.append(WalkProblem(volume.id, None, None, Stage.LAYER,
                                    f"md: superblock checksum mismatch at {offset} (read anyway)"))
    length = (comp_size or data_size) * SECTOR
    return _md_layer(volume, name, level, disks, chunk * SECTOR, layout, version, data_offset * SECTOR,
                     length, uuid, problems)


def _md0(volume: VolumeSpec, sb: bytes) -> Layer:
    problems: list[WalkProblem] = []
    w = struct.unpack_from("<16I", sb, 0)
    minor = w[2]
    uuid = ":".join(f"{x:08x}" for x in (w[5], w[13], w[14], w[15]))
    level = struct.unpack_from("<i", sb, 28)[0]
    size_kib, disks = w[8], w[10]
    layout, chunk = struct.unpack_from("<II", sb, 256)
    if md_sb0_checksum(sb) != struct.unpack_from("<I", sb, 38 * 4)[0]:
        problems.append(WalkProblem(volume.id, None, None, Stage.LAYER, "md: 0.90 superblock checksum mismatch (read anyway)"))
    return _md_layer(volume, "", level, disks, chunk, layout, f"0.{minor}", 0, size_kib * 1024, uuid, problems)
