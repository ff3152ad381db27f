"""Build server storage stacks for tests: XFS (mkfs.xfs -p), LVM2 PVs, md RAID members, LUKS.

Why: installers put Linux servers on LVM over md RAID1, often with XFS and sometimes LUKS,
and the scanner must walk those stacks without device-mapper or loop devices. XFS and LUKS
come from the real tools (`mkfs.xfs -p protofile`, `cryptsetup luksFormat` on a plain
file). No tool writes an LVM2 PV or an md superblock into a plain file without device
mapper, so those two are written here from the documented on-disk formats, and the tests
check the LVM output with libvslvm (an independent reader) before relying on it.

Formats (all little-endian):
- LVM2: sector 1 holds the label (`LABELONE`, its sector, CRC of bytes 20..512, offset of the
  PV header, `LVM2 001`); the PV header holds the PV uuid (32 chars), device size, the data
  area list and the metadata area list (offset/size pairs, each closed by a zero pair), then
  the v2 extension. The metadata area (4 KiB on) starts with a 512-byte header (CRC, magic
  `\\x20LVM2 x[5A%r0N*>`, version 1, its start and size, raw locations: offset, size, CRC of
  the text, flags) followed by the text metadata. CRC: LVM's seeded CRC-32
  (`ingest.storage.lvm2.lvm_crc`).
- md 1.2: the `mdp_superblock_1` at 4 KiB (magic 0xa92b4efc, set uuid/name, level, layout,
  component size, chunk, raid disks, data offset/size, super offset, device roles, checksum).
- md 0.90: the `mdp_super_t` in the last 64 KiB-aligned 64 KiB of the member, data at 0.
"""
from __future__ import annotations

import os
import struct
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ingest.storage.lvm2 import LVM_MDA_MAGIC, lvm_crc
from ingest.storage.md import MD_MAGIC, md_sb0_checksum, md_sb1_checksum
from tests.imaging import FIXED_EPOCH, _run

SECTOR = 512
MIB = 1024 * 1024
CHUNK = 1 * MIB


# ---------------------------------------------------------------- helpers


def _copy(src: Path, dst: Path, src_off: int, dst_off: int, length: int) -> None:
    """Copy bytes without writing zero chunks, so sparse images stay sparse."""
    with open(src, "rb") as fin, open(dst, "r+b") as fout:
        pos = 0
        while pos < length:
            n = min(CHUNK, length - pos)
            fin.seek(src_off + pos)
            data = fin.read(n)
            if data.strip(b"\0"):
                fout.seek(dst_off + pos)
                fout.write(data)
            pos += n


def _blank(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.truncate(size)


def _round_up(n: int, unit: int) -> int:
    return -(-n // unit) * unit


# ---------------------------------------------------------------- XFS


def xfs_from_tree(tree: Path, dest: Path, size_mib: int = 32, label: str = "seized") -> Path:
    """mkfs.xfs -p PROTOFILE: an XFS image holding a copy of `tree` (names without ':' or spaces).

    fstests' TEST_DIR/TEST_DEV/QA_CHECK_FS variables lift mkfs.xfs's 300 MB minimum, so the
    test images stay small.
    """
    lines = ["seized-test", "0 0", "d--755 0 0"]

    def emit(directory: Path) -> None:
        for child in sorted(directory.iterdir(), key=lambda p: os.fsencode(p.name)):
            name = child.name
            if any(c in name for c in ": \t\n$"):
                raise ValueError(f"protofile names cannot hold {name!r}")
            st = child.lstat()
            perm = f"{st.st_mode & 0o777:03o}"
            if child.is_symlink():
                lines.append(f"{name} l--{perm} {st.st_uid} {st.st_gid} {os.readlink(child)}")
            elif child.is_dir():
                lines.append(f"{name} d--{perm} {st.st_uid} {st.st_gid}")
                emit(child)
                lines.append("$")
            elif child.is_file():
                lines.append(f"{name} ---{perm} {st.st_uid} {st.st_gid} {child.absolute()}")

    emit(tree)
    lines += ["$", "$"]
    proto = dest.with_suffix(".proto")
    dest.parent.mkdir(parents=True, exist_ok=True)
    proto.write_text("\n".join(lines) + "\n")
    _blank(dest, size_mib * MIB)
    env = {"TEST_DIR": "1", "TEST_DEV": "1", "QA_CHECK_FS": "1"}
    _run(["mkfs.xfs", "-q", "-f", "-L", label, "-m", f"uuid={uuidlib.UUID(int=0x5EED_0000_0000_4000_8000_0000_0000_0002)}",
          "-p", proto, dest], env=env)
    proto.unlink()
    return dest


# ---------------------------------------------------------------- LVM2


@dataclass(frozen=True)
class LvmLayout:
    """Where the generator put each logical volume: (lv offset, pv offset, length) per segment."""

    vg: str
    pv_uuid: str  # with dashes, as in the metadata
    pe_start: int
    extent_size: int
    lvs: dict[str, tuple[tuple[int, int, int], ...]]


def _lvm_uuid(seed: int) -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#"  # LVM's uuid characters
    chars = [alphabet[(seed * 7919 + i * 104729) % 62] for i in range(32)]
    s = "".join(chars)
    return "-".join([s[0:6], s[6:10], s[10:14], s[14:18], s[18:22], s[22:26], s[26:32]])


def lvm_pv(dest: Path, vg: str, lvs: Sequence[tuple[str, Path]], *, extent_mib: int = 1,
           pe_start_mib: int = 1, split_first: bool = True) -> LvmLayout:
    """A physical volume holding `lvs` (name, image) in one VG, like `lvcreate` + `lvextend`.

    With `split_first`, the first LV has two segments: its second half is placed before the
    other LVs and its first half after them, so a reader that ignores segment mapping reads
    the wrong bytes.
    """
    ext = extent_mib * MIB
    pe_start = pe_start_mib * MIB
    counts = [(name, img, _round_up(img.stat().st_size, ext) // ext) for name, img in lvs]
    first_name, first_img, first_n = counts[0]
    a = first_n - first_n // 2  # extents of segment 1 (LV start)
    b = first_n - a
    if not split_first:
        a, b = first_n, 0
    placement: dict[str, list[tuple[int, int, int]]] = {}  # lv -> (lv extent, pv extent, count)
    pe = 0
    placement[first_name] = [(a, pe, b)] if b else []
    pe += b
    for name, _img, n in counts[1:]:
        placement[name] = [(0, pe, n)]
        pe += n
    placement[first_name].insert(0, (0, pe, a))
    pe += a
    pe_count = pe
    size = pe_start + pe_count * ext + MIB
    _blank(dest, size)
    pv_uuid = _lvm_uuid(1)
    lv_text = []
    layout_lvs = {}
    for idx, (name, img, n) in enumerate(counts):
        segs = placement[name]
        seg_text = []
        for s_i, (lv_e, pv_e, cnt) in enumerate(segs, 1):
            seg_text.append(
                f"segment{s_i} {{\nstart_extent = {lv_e}\nextent_count = {cnt}\n\ntype = \"striped\"\n"
                f"stripe_count = 1\t# linear\n\nstripes = [\n\"pv0\", {pv_e}\n]\n}}\n")
            src_len = min(cnt * ext, img.stat().st_size - lv_e * ext)
            if src_len > 0:
                _copy(img, dest, lv_e * ext, pe_start + pv_e * ext, src_len)
        layout_lvs[name] = tuple((lv_e * ext, pe_start + pv_e * ext, cnt * ext) for lv_e, pv_e, cnt in segs)
        lv_text.append(
            f"{name} {{\nid = \"{_lvm_uuid(10 + idx)}\"\nstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\nflags = []\n"
            f"creation_time = {FIXED_EPOCH}\t# 2020-09-13 12:26:40 +0000\ncreation_host = \"seized-test\"\n"
            f"segment_count = {len(segs)}\n\n" + "\n".join(seg_text) + "}\n")
    text = (
        f"{vg} {{\nid = \"{_lvm_uuid(2)}\"\nseqno = 3\nformat = \"lvm2\"\n"
        f"status = [\"RESIZEABLE\", \"READ\", \"WRITE\"]\nflags = []\nextent_size = {ext // SECTOR}\n"
        f"max_lv = 0\nmax_pv = 0\nmetadata_copies = 0\n\nphysical_volumes {{\n\npv0 {{\n"
        f"id = \"{pv_uuid}\"\ndevice = \"/dev/sda2\"\n\nstatus = [\"ALLOCATABLE\"]\nflags = []\n"
        f"dev_size = {size // SECTOR}\npe_start = {pe_start // SECTOR}\npe_count = {pe_count}\n}}\n}}\n\n"
        f"logical_volumes {{\n\n" + "\n".join(lv_text) + "}\n}\n"
        f"# Generated by seized tests/stackgen.py\n\ncontents = \"Text Format Volume Group\"\nversion = 1\n\n"
        f"description = \"\"\n\ncreation_host = \"seized-test\"\ncreation_time = {FIXED_EPOCH}\n"
    ).encode() + b"\0"
    mda_off = 4096
    mda_size = pe_start - mda_off
    # label sector (sector 1) with the PV header at byte 32
    pvh = pv_uuid.replace("-", "").encode() + struct.pack("<Q", size)
    pvh += struct.pack("<QQ", pe_start, 0) + struct.pack("<QQ", 0, 0)  # data areas
    pvh += struct.pack("<QQ", mda_off, mda_size) + struct.pack("<QQ", 0, 0)  # metadata areas
    pvh += struct.pack("<II", 2, 1) + struct.pack("<QQ", 0, 0)  # extension v2 (PV in use), no bootloader area
    body = struct.pack("<I", 32) + b"LVM2 001" + pvh
    body = body.ljust(SECTOR - 20, b"\0")
    label = b"LABELONE" + struct.pack("<Q", 1) + struct.pack("<I", lvm_crc(body)) + body
    header = LVM_MDA_MAGIC + struct.pack("<IQQ", 1, mda_off, mda_size)
    header += struct.pack("<QQII", SECTOR, len(text), lvm_crc(text), 0) + bytes(24)
    header = header.ljust(SECTOR - 4, b"\0")
    mda = struct.pack("<I", lvm_crc(header)) + header
    with open(dest, "r+b") as fh:
        fh.seek(SECTOR)
        fh.write(label)
        fh.seek(mda_off)
        fh.write(mda)
        fh.write(text)
    return LvmLayout(vg, pv_uuid, pe_start, ext, layout_lvs)


# ---------------------------------------------------------------- md RAID

MD_UUID = bytes.fromhex("5eed00000000400080000000000000aa")


def md_member_12(dest: Path, data: Path, *, level: int = 1, raid_disks: int = 2, chunk_kib: int = 512,
                 layout: int = 0, name: str = "seized:0", role: int = 0, data_offset_mib: int = 1) -> Path:
    """An md member with a 1.2 superblock at 4 KiB and `data` copied at the data offset."""
    data_len = data.stat().st_size
    data_offset = data_offset_mib * MIB
    comp_sectors = _round_up(data_len, 64 * 1024) // SECTOR
    size = data_offset + comp_sectors * SECTOR
    _blank(dest, size)
    _copy(data, dest, 0, data_offset, data_len)
    max_dev = raid_disks
    sb = bytearray(256 + 2 * max_dev)
    struct.pack_into("<IIII", sb, 0, MD_MAGIC, 1, 0, 0)
    sb[16:32] = MD_UUID
    sb[32:64] = name.encode().ljust(32, b"\0")
    struct.pack_into("<QiIQII", sb, 64, FIXED_EPOCH, level, layout, comp_sectors,
                     chunk_kib * 2 if level != 1 else 0, raid_disks)
    struct.pack_into("<QQQ", sb, 128, data_offset // SECTOR, (size - data_offset) // SECTOR, 8)
    struct.pack_into("<I", sb, 160, role)
    sb[168:184] = bytes.fromhex("5eed0000000040008000000000000b00")[:15] + bytes([role])
    struct.pack_into("<QQQ", sb, 192, FIXED_EPOCH, 1, 0xFFFFFFFFFFFFFFFF)
    struct.pack_into("<I", sb, 220, max_dev)
    for i in range(raid_disks):
        struct.pack_into("<H", sb, 256 + 2 * i, i)
    struct.pack_into("<I", sb, 216, md_sb1_checksum(bytes(sb)))
    with open(dest, "r+b") as fh:
        fh.seek(4096)
        fh.write(bytes(sb))
    return dest


def md_member_090(dest: Path, data: Path, *, level: int = 1, raid_disks: int = 2, chunk_kib: int = 64,
                  layout: int = 0) -> Path:
    """An md member with a 0.90 superblock in its last 64 KiB-aligned 64 KiB, `data` at offset 0."""
    data_len = _round_up(data.stat().st_size, 64 * 1024)
    size = data_len + 128 * 1024
    _blank(dest, size)
    _copy(data, dest, 0, 0, data.stat().st_size)
    sb_off = (size & ~0xFFFF) - 0x10000
    words = [0] * 1024
    u = struct.unpack("<4I", MD_UUID)
    words[0:16] = [MD_MAGIC, 0, 90, 0, 0, u[0], FIXED_EPOCH, level & 0xFFFFFFFF, data_len // 1024,
                   raid_disks, raid_disks, 0, 0, u[1], u[2], u[3]]
    words[32] = FIXED_EPOCH  # utime
    words[34] = words[35] = raid_disks  # active, working
    words[40] = 1  # events_lo
    words[64], words[65] = layout, chunk_kib * 1024
    sb = struct.pack("<1024I", *words)
    words[38] = md_sb0_checksum(sb)
    with open(dest, "r+b") as fh:
        fh.seek(sb_off)
        fh.write(struct.pack("<1024I", *words))
    return dest


# ---------------------------------------------------------------- LUKS


def luks_container(dest: Path, *, version: int = 2, size_mib: int = 4, payload: bytes = b"") -> Path:
    """cryptsetup luksFormat on a plain file (no device mapper), then `payload` in the data area.

    luksFormat encrypts nothing; the payload stands for ciphertext that happens to look like
    text, so a test can see that its bytes are scanned as unallocated and never as a file.
    """
    _blank(dest, size_mib * MIB)
    key = dest.with_suffix(".key")
    key.write_bytes(bytes(range(32)))
    args = ["cryptsetup", "luksFormat", "-q", "--batch-mode", f"--type=luks{version}", "--key-file", key,
            "--uuid", "5eed0000-0000-4000-8000-00000000001c", "--pbkdf-force-iterations", "1000"]
    if version == 2:  # small areas so the data segment starts at 1 MiB, as LUKS1's does at 2 MiB
        args += ["--pbkdf", "pbkdf2", "--luks2-metadata-size", "16k", "--luks2-keyslots-size", "256k"]
    _run(args + [dest])
    key.unlink()
    if payload:
        with open(dest, "r+b") as fh:
            fh.seek(size_mib * MIB - 512 * 1024)
            fh.write(payload)
    return dest


# ---------------------------------------------------------------- the disk

GPT_TYPES = {  # partition type GUIDs an installer would set
    "lvm": "E6D6D379-F507-44C2-A23C-238F2A3DF928",
    "raid": "A19D880F-05FC-4D3B-A006-743F0F84911E",
    "luks": "CA7D7CCB-63ED-4C53-861C-1742536059CC",
    "linux": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
}


def gpt_disk(dest: Path, partitions: Sequence[tuple[str, Path]]) -> list[int]:
    """A GPT disk (sfdisk) with each (type, image) written at a 1 MiB aligned start; returns the starts in bytes."""
    align = MIB // SECTOR
    lines = []
    starts = []
    start = align
    for index, (kind, image) in enumerate(partitions, 1):
        size = _round_up(image.stat().st_size, MIB) // SECTOR
        lines.append(f"start={start}, size={size}, type={GPT_TYPES[kind]}, "
                     f"uuid=5EED0000-0000-4000-8000-{index:012X}, name=\"{kind}{index}\"")
        starts.append(start * SECTOR)
        start += size
    _blank(dest, (start + align) * SECTOR)
    script = "\n".join(["label: gpt", "label-id: 5EED0000-0000-4000-8000-000000000001", "unit: sectors", "",
                        *lines]) + "\n"
    _run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", dest], stdin=script.encode())
    for (_kind, image), offset in zip(partitions, starts):
        _copy(image, dest, 0, offset, image.stat().st_size)
    return starts
