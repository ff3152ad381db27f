"""`seized show FINDING_ID CASE`: a finding's bytes, read again from the evidence, with where they lie.

Why: Appendix A gives a shell command per cited finding; where no chain of standard tools
reaches the bytes (a volume inside LVM or RAID, XFS, an NTFS alternate stream, an archive
whose levels the names do not tell) the check is this command. It re-reads the evidence
read-only the way the scan did: the image is opened with the same readers, the volumes and
file systems are walked again (as the scan planned them), the file's stream is read through
The Sleuth Kit or libfsxfs, and archive members are expanded in memory with the scan's own
container code. It then prints the provenance chain (image, volume, file system, inode, path,
members, offsets) and the bytes. Nothing is written anywhere.
"""
from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from reports.checks import SECTOR, finding_length, member_kind

READ_BLOCK = 16 * 1024 * 1024


class ShowError(Exception):
    """A finding that cannot be shown; `str()` is one line."""


@dataclass
class Shown:
    finding_id: str
    table: str
    row: dict
    chain: list[tuple[str, str]] = field(default_factory=list)  # (label, value) provenance lines
    data: bytes = b""


def _finding(case: Path, finding_id: str) -> tuple[str, dict]:
    tables = case / "tables"
    if not tables.is_dir():
        raise ShowError(f"{case}: not a seized case directory (no tables/)")
    for folder in sorted(p for p in tables.iterdir() if p.is_dir()):
        path = folder / "part-0.parquet"
        if not path.is_file():
            continue
        schema = pq.read_schema(path)
        if "finding_id" not in schema.names:
            continue
        t = pq.read_table(path, filters=[("finding_id", "=", finding_id)])
        if t.num_rows:
            return folder.name, t.slice(0, 1).to_pylist()[0]
    raise ShowError(f"no finding {finding_id} in {case}/tables")


def _evidence(case: Path, evidence_id: str) -> dict:
    try:
        manifest = json.loads((case / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ShowError(f"{case}/manifest.json: cannot be read ({exc})") from None
    for ev in manifest.get("evidence", []):
        if ev.get("evidence_id") == evidence_id:
            ev = dict(ev)
            ids = sorted(e["evidence_id"] for e in manifest.get("evidence", []))
            ev["exhibit"] = f"E{ids.index(evidence_id) + 1}"
            return ev
    raise ShowError(f"evidence {evidence_id} is not in {case}/manifest.json")


def _volume_row(case: Path, evidence_id: str, volume: str | None) -> dict | None:
    path = case / "tables" / "volumes" / "part-0.parquet"
    if volume is None or not path.is_file():
        return None
    t = pq.read_table(path)
    t = t.filter(pc.and_(pc.equal(t.column("evidence_id"), evidence_id), pc.equal(t.column("volume"), volume)))
    return t.to_pylist()[0] if t.num_rows else None


def _file_bytes(spec, row: dict, want: int) -> tuple[bytes, str]:
    """The first `want` bytes of the finding's file stream (want < 0: all), as the scan read them."""
    from ingest.fsreaders import reader_for
    from ingest.images import open_image
    from ingest.plan import plan_evidence

    plan = plan_evidence(spec, unallocated=False)
    for unit in plan.units:
        for task in unit.files:
            if (task.volume.id == row.get("volume") and task.ref.inode == row.get("inode")
                    and task.stream == row.get("stream") and task.path == row.get("path")):
                reader = open_image(spec)
                try:
                    fs_reader = reader_for(task.fs_kind)
                    fs, read, how = fs_reader.open(reader, task.volume), fs_reader.read_stream, fs_reader.library
                    out = bytearray()
                    for block in read(fs, task.ref, READ_BLOCK):
                        out += block
                        if 0 <= want <= len(out):
                            break
                    return bytes(out if want < 0 else out[:want]), how
                finally:
                    reader.close()
    raise ShowError(f"the file {row.get('path')} (inode {row.get('inode')}) on volume {row.get('volume')} is not "
                    "in the file systems walked again from the image")


def _expand(data: bytes, path: str, member: str, chain: list[tuple[str, str]]) -> bytes:
    from ingest import containers

    parent = path
    budget = containers.Budget()
    for depth, name in enumerate(member.split("!")):
        found = None
        for item in containers.expand(data, parent, depth, budget):
            if isinstance(item, containers.Member) and item.name == name:
                found = item
                break
        if found is None:
            raise ShowError(f"archive member {name} not found in {parent}")
        kind = containers.kind_of(data) or member_kind(parent, name) or "?"
        chain.append(("member", f"{name} ({kind}, {len(found.data):,} bytes expanded)"))
        data, parent = found.data, name
    return data


def show_finding(case: Path, finding_id: str) -> Shown:
    from ingest.images import ImageError, identify_image, open_image

    case = Path(case)
    table, row = _finding(case, finding_id)
    ev = _evidence(case, row["evidence_id"])
    shown = Shown(finding_id, table, row)
    chain = shown.chain
    chain.append(("finding", f"{finding_id} in table {table} (extractor {row.get('extractor')} "
                             f"{row.get('extractor_version')})"))
    try:
        spec = identify_image(str(ev["path"]))
        reader = open_image(spec)
    except (ImageError, OSError) as exc:
        raise ShowError(f"{ev.get('path')}: cannot open the image read-only ({exc})") from None
    try:
        size = reader.size
    finally:
        reader.close()
    size_note = "size matches the manifest" if size == ev.get("size") else \
        f"SIZE DIFFERS from the manifest ({ev.get('size')})"
    chain.append(("image", f"{ev['path']} ({ev.get('format')}, {size:,} bytes, {size_note}; "
                           f"sha256 recorded {ev.get('sha256')}; `seized verify` re-hashes it)"))
    chain.append(("evidence", f"{row['evidence_id']} (Exhibit {ev['exhibit']})"))
    vol = _volume_row(case, row["evidence_id"], row.get("volume"))
    if vol is not None:
        start = vol.get("start")
        where = f", starts at image byte {start:,} (sector {start // SECTOR})" if start is not None else ""
        chain.append(("volume", f"{vol['volume']} ({vol.get('description')}{where}; layers {vol.get('layers')})"))
        chain.append(("file system", str(vol.get("fs_type") or "none")))
    elif row.get("volume"):
        chain.append(("volume", str(row["volume"])))
    length = finding_length(table, row)
    offset = int(row.get("offset") or 0)
    if row.get("path") is None:
        at = row.get("image_offset")
        if at is None:
            raise ShowError(f"finding {finding_id} has neither a path nor an image offset")
        chain.append(("object", "unallocated space (the object is the image: offset = image offset)"))
        chain.append(("offset", f"image offset {at:,}"))
        reader = open_image(spec)
        try:
            shown.data = reader.read(int(at), length)
        finally:
            reader.close()
        chain.append(("read", f"{len(shown.data)} bytes from the image at {at:,}"))
        return shown
    chain.append(("inode", str(row.get("inode"))))
    chain.append(("path", str(row.get("path"))))
    if row.get("stream"):
        chain.append(("stream", str(row["stream"])))
    member = row.get("member")
    want = -1 if member else offset + length
    try:
        data, how = _file_bytes(spec, row, want)
    except (ImageError, OSError) as exc:
        raise ShowError(f"{ev['path']}: the file system cannot be read again ({exc})") from None
    if member:
        data = _expand(data, str(row["path"]), str(member), chain)
    shown.data = data[offset:offset + length]
    image_at = row.get("image_offset")
    what = "member" if member else "file"
    if row.get("offset") is None:
        chain.append(("offset", f"none: the finding is about the whole {what}; its first {len(shown.data)} bytes "
                                "are shown"))
    else:
        chain.append(("offset", f"{offset:,} in the {what}; image offset "
                                + (f"{image_at:,}" if image_at is not None else "none (inside a compressed "
                                   "member or resident data)")))
    chain.append(("read", f"{len(shown.data)} bytes: the file through {how}"
                          + (", then its archive members in memory" if member else "")))
    return shown


_PRINTABLE = set(string.printable) - set("\t\n\r\x0b\x0c")


def as_text(data: bytes, encoding: str | None) -> str:
    """The bytes as one line of text: UTF-16 decoded when the finding says so, otherwise UTF-8,
    with anything unprintable written as an escape."""
    codec = "utf-16-le" if str(encoding or "").startswith("utf-16le") else \
        "utf-16-be" if str(encoding or "").startswith("utf-16be") else "utf-8"
    text = data.decode(codec, "backslashreplace")
    return "".join(c if c in _PRINTABLE or (c.isprintable() and ord(c) > 127) else f"\\x{ord(c):02x}"
                   if ord(c) < 256 else c for c in text)


def hexdump(data: bytes, width: int = 16) -> list[str]:
    out = []
    for i in range(0, len(data), width):
        chunk = data[i:i + width]
        ascii_part = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        out.append(f"{i:08x}  {chunk.hex(' '):<{width * 3 - 1}}  {ascii_part}")
    return out


def render(shown: Shown) -> str:
    lines = [f"{label:<12} {value}" for label, value in shown.chain]
    lines.append(f"{'text':<12} {as_text(shown.data, shown.row.get('encoding'))}")
    lines.append("bytes:")
    lines += hexdump(shown.data)
    return "\n".join(lines) + "\n"
