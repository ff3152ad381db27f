"""The Sleuth Kit's body file (3.x): `MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime`.

Why: `mactime -b` turns it into the timeline examiners know. Each line is what
`fls -r -m MOUNT` prints for the same entry, with MOUNT = `EVIDENCE_ID/VOLUME` (e.g.
`004b1efbdd96dc6c/gpt:4`) so the entries of several images and volumes stay apart, plus
the MD5 seized computed (fls prints 0). Deleted names end in ` (deleted)` as fls writes
them; `.` and `..` are left out as fls -m leaves them out; times are whole seconds since
1970 (0 when unknown). Streamed a batch at a time from the `files` table.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from datetime import datetime
from pathlib import Path

from caseformat.atomic import atomic_file
from exports.batches import table_batches

_TYPE_LETTER = {"file": "r", "dir": "d", "symlink": "l", "link": "l", "virtual": "v", "virtual_dir": "V",
                "socket": "s", "fifo": "p", "block": "b", "char": "c", "shadow": "w"}
COLUMNS = ["evidence_id", "volume", "inode", "stream", "path", "name", "size", "allocated", "type", "mode", "uid",
           "gid", "mtime", "atime", "ctime", "crtime", "md5"]

if TYPE_CHECKING:
    from exports.context import ExportContext


def mode_string(kind: str | None, mode: int | None) -> str:
    """fls's `name-type/meta-type + permissions`, e.g. `r/rrw-r--r--`, `d/drwxr-xr-x`, `V/V---------`."""
    letter = _TYPE_LETTER.get(kind or "", "-")
    mode = mode or 0
    perms = []
    for shift, special, on, off in ((6, 0o4000, "s", "S"), (3, 0o2000, "s", "S"), (0, 0o1000, "t", "T")):
        bits = (mode >> shift) & 7
        perms.append("r" if bits & 4 else "-")
        perms.append("w" if bits & 2 else "-")
        if mode & special:
            perms.append(on if bits & 1 else off)
        else:
            perms.append("x" if bits & 1 else "-")
    return f"{letter}/{letter}{''.join(perms)}"


def _secs(value: datetime | None) -> int:
    return int(value.timestamp()) if value is not None else 0


def line(row: dict) -> str:
    name = f"{row['evidence_id']}/{row['volume']}{row['path'] or ''}"
    if row["stream"]:
        name += f":{row['stream']}"
    if row["allocated"] is False:
        name += " (deleted)"
    name = name.replace("|", "\\|").replace("\n", "\\n")
    return "|".join((row["md5"] or "0", name, str(row["inode"] if row["inode"] is not None else 0),
                     mode_string(row["type"], row["mode"]), str(row["uid"] or 0), str(row["gid"] or 0),
                     str(row["size"] or 0), str(_secs(row["atime"])), str(_secs(row["mtime"])),
                     str(_secs(row["ctime"])), str(_secs(row["crtime"])))) + "\n"


def write(ctx: "ExportContext") -> list[Path]:
    path = ctx.out / "seized.body"
    with atomic_file(path, text=True, errors="surrogateescape") as fh:
        for batch in table_batches(ctx.table_paths["files"], COLUMNS):
            fh.writelines(line(r) for r in batch.to_pylist() if r["name"] not in (".", ".."))
    return [path]
