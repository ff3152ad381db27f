"""DFXML 2.0 (the schema of dfxml-working-group/dfxml_schema): one `fileobject` per `files` row.

Why: DFXML is what fiwalk writes and what DFXML consumers (dfxml's Python objects, idifference,
IPED importers) read. Layout: the creator (seized and every library version in the
manifest), the source image names, then one `diskimageobject` per evidence item whose
`byte_runs` holds the image's MD5/SHA-1/SHA-256, with one `volume` per walked volume and
its `fileobject`s: filename, partition number, filesize, alloc, inode, mode, uid, gid,
MACB times, the first `byte_run` (`img_offset`, where the file's first bytes map to the
image; seized keeps only the first run, so `len` is not given) and the hashes.
Written row by row from record batches; the `files` table is never loaded whole.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import re
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape as _escape, quoteattr

from caseformat.atomic import atomic_file
from exports.batches import table_batches

NAMESPACE = "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML"
VERSION = "2.0.0"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

if TYPE_CHECKING:
    from exports.context import ExportContext


def text(value) -> str:
    """XML character data; characters XML 1.0 cannot carry are written as \\xHH / \\uHHHH."""
    s = str(value)
    if _NOT_XML.search(s):
        s = _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", s)
    return _escape(s)


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _partition(volume: str) -> int | None:
    """The partition number DFXML wants (positive integer), from `gpt:4` / `mbr:6`."""
    m = re.fullmatch(r"(?:gpt|mbr|dos|bsd|sun|mac):(\d+)", volume or "")
    return int(m.group(1)) + 1 if m else None


def fileobject(row: dict) -> str:
    out = ["      <fileobject>\n", f"        <filename>{text((row['path'] or '').lstrip('/'))}</filename>\n"]
    part = _partition(row["volume"])
    if part is not None:
        out.append(f"        <partition>{part}</partition>\n")
    if row["size"] is not None:
        out.append(f"        <filesize>{row['size']}</filesize>\n")
    if row["allocated"] is not None:
        out.append(f"        <alloc>{1 if row['allocated'] else 0}</alloc>\n")
    for name in ("inode", "mode", "uid", "gid"):
        if row[name] is not None and row[name] >= 0:
            out.append(f"        <{name}>{row[name]}</{name}>\n")
    for name in ("mtime", "ctime", "atime", "crtime"):
        t = _time(row[name])
        if t:
            out.append(f"        <{name}>{t}</{name}>\n")
    if row["image_offset"] is not None:
        out.append(f'        <byte_runs>\n          <byte_run file_offset="0" img_offset="{row["image_offset"]}"/>\n'
                   "        </byte_runs>\n")
    for algo, name in (("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
        if row[name]:
            out.append(f'        <hashdigest type="{algo}">{row[name]}</hashdigest>\n')
    out.append("      </fileobject>\n")
    return "".join(out)


def write(ctx: "ExportContext") -> list[Path]:
    con, manifest, version = ctx.con, ctx.manifest, ctx.version
    path = ctx.out / "seized.dfxml"
    volumes = {}
    for row in con.sql("SELECT evidence_id, volume, start, fs_type, status FROM volumes ORDER BY ALL").fetchall():
        volumes.setdefault(row[0], []).append(row[1:])
    with atomic_file(path, text=True, errors="surrogateescape") as fh:
        fh.write("<?xml version='1.0' encoding='UTF-8'?>\n"
                 f"<dfxml xmlns='{NAMESPACE}' xmlns:dc='http://purl.org/dc/elements/1.1/' version='{VERSION}'>\n"
                 "  <metadata>\n    <dc:type>File system metadata and hashes</dc:type>\n  </metadata>\n"
                 "  <creator version='1.0'>\n    <program>seized</program>\n"
                 f"    <version>{text(version)}</version>\n"
                 "    <execution_environment>\n"
                 f"      <command_line>{text(' '.join(manifest.get('command_line') or []))}</command_line>\n"
                 f"      <start_time>{text(manifest.get('started_utc') or '')}</start_time>\n"
                 "    </execution_environment>\n")
        for name, ver in sorted((manifest.get("dependencies") or {}).items()):
            fh.write(f"    <library name={quoteattr(str(name))} version={quoteattr(str(ver))}/>\n")
        fh.write("  </creator>\n  <source>\n")
        evidence = sorted(manifest.get("evidence", []), key=lambda e: e["evidence_id"])
        for ev in evidence:
            fh.write(f"    <image_filename>{text(ev.get('path') or '')}</image_filename>\n")
        fh.write("  </source>\n")
        pending = _Rows(table_batches(ctx.table_paths["files"]))
        for ev in evidence:
            eid = ev["evidence_id"]
            fh.write("  <diskimageobject>\n    <byte_runs>\n"
                     f'      <byte_run img_offset="0" len="{int(ev.get("size") or 0)}">\n')
            for algo, name in (("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
                if ev.get(name):
                    fh.write(f'        <hashdigest type="{algo}">{ev[name]}</hashdigest>\n')
            fh.write("      </byte_run>\n    </byte_runs>\n")
            starts = {v[0]: v for v in volumes.get(eid, [])}
            current = None
            for row in pending.take(lambda r: r["evidence_id"] == eid):
                if row["name"] in (".", ".."):
                    continue
                if row["volume"] != current:
                    if current is not None:
                        fh.write("    </volume>\n")
                    current = row["volume"]
                    vol = starts.get(current)
                    fh.write(f'    <volume offset="{vol[1] if vol and vol[1] is not None else 0}">\n')
                    if vol and vol[2]:
                        fh.write(f"      <ftype_str>{text(vol[2])}</ftype_str>\n")
                fh.write(fileobject(row))
            if current is not None:
                fh.write("    </volume>\n")
            fh.write("  </diskimageobject>\n")
        fh.write("</dfxml>\n")
    return [path]


class _Rows:
    """Rows of a sorted table consumed group by group (evidence_id order), one batch held at a time."""

    def __init__(self, batches) -> None:
        self._batches = iter(batches)
        self._buffer: list[dict] = []

    def take(self, belongs):
        while True:
            if not self._buffer:
                batch = next(self._batches, None)
                if batch is None:
                    return
                self._buffer = batch.to_pylist()
                self._buffer.reverse()
            if not belongs(self._buffer[-1]):
                return
            yield self._buffer.pop()
