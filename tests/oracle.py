"""The Sleuth Kit's own command-line tools (fls, icat, mmls) as the oracle for the scan.

Why: the scan walks images through pytsk3; the independent answer a court would accept is
what TSK's reference tools print for the same image. These helpers run the tools and parse
their output into small frozen records. Output is read as bytes and decoded as UTF-8 with
surrogate escapes, the same convention the `files` table uses for names that are not UTF-8.

fls quirks that matter when comparing (TSK 4.11):
* `fls -r -p` prints paths without a leading `/`, never prints `.` and `..`, and prints the
  virtual entries ($MBR, $FAT1, $FAT2, $OrphanFiles and the orphans under it).
* control characters in names (< 0x20) are printed as `^` (`sanitize_like_fls` does the same
  to a table path so the two can be compared).
* NTFS meta addresses are `inode-type-id`; a named attribute is printed as `path:name`
  (only on NTFS, where `:` cannot occur in a file name).
* a deleted name is marked `*`; `(realloc)` marks a deleted name whose meta entry is in use again.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tests.imaging import tool

_FLS_LINE = re.compile(
    rb"^(?P<ntype>\S)/(?P<mtype>\S)\s+(?P<deleted>\*\s+)?(?P<meta>\d+)(?:-(?P<atype>\d+)-(?P<aid>\d+))?"
    rb"(?P<realloc>\(realloc\))?:\t(?P<path>.*)$")
_MMLS_LINE = re.compile(r"^(?P<index>\d+):\s+(?P<slot>\S+)\s+(?P<start>\d+)\s+(?P<end>\d+)\s+(?P<length>\d+)\s+(?P<desc>.*)$")

TYPE_NAMES = {"r": "file", "d": "dir", "l": "symlink", "v": "virtual", "V": "virtual"}


class OracleError(RuntimeError):
    """A TSK tool failed on an image; the message carries its stderr."""


@dataclass(frozen=True)
class FlsEntry:
    """One line of `fls -r -p`."""

    name_type: str  # letter before the slash: r d l v V - ...
    meta_type: str  # letter after the slash
    deleted: bool
    realloc: bool
    inode: int  # meta address (first number of NTFS inode-type-id)
    attr_type: int | None  # NTFS attribute type (128 = $DATA, 144 = $INDEX_ROOT), else None
    attr_id: int | None
    path: str  # with a leading "/", without the NTFS stream suffix
    stream: str | None  # NTFS attribute name printed after ":", else None

    @property
    def meta(self) -> str:
        """The address icat takes: `15` or `64-128-4`."""
        if self.attr_type is None:
            return str(self.inode)
        return f"{self.inode}-{self.attr_type}-{self.attr_id}"

    @property
    def kind(self) -> str:
        """Table-style type from the meta type letter (falls back to the name type letter)."""
        letter = self.meta_type if self.meta_type != "-" else self.name_type
        return TYPE_NAMES.get(letter, "other")

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class MmlsEntry:
    """One row of `mmls`: sectors, as TSK's volume system reports them."""

    index: int  # the row number mmls prints (== pytsk3 part.addr)
    slot: str  # "000:000", "000", "Meta" or "-------"
    start: int
    end: int
    length: int
    description: str

    @property
    def allocated(self) -> bool:
        return self.slot not in ("Meta", "-------")


def _tsk(argv: Sequence[str | os.PathLike[str]], *, allow_fail: bool = False) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([tool(str(argv[0])), *argv[1:]], capture_output=True, timeout=300,
                          stdin=subprocess.DEVNULL, env={**os.environ, "LC_ALL": "C", "TZ": "UTC"})
    if proc.returncode != 0 and not allow_fail:
        raise OracleError(f"{' '.join(map(str, argv))}: exit {proc.returncode}: "
                          f"{proc.stderr.decode(errors='replace').strip()}")
    return proc


def _offset_args(offset_sectors: int | None) -> list[str]:
    return [] if offset_sectors is None else ["-o", str(offset_sectors)]


def _images(image: Path | Sequence[Path]) -> list[Path]:
    return [image] if isinstance(image, (str, os.PathLike)) else list(image)


def parse_fls(output: bytes) -> list[FlsEntry]:
    """Parse `fls -r -p` output (bytes) into entries; unparseable lines raise OracleError."""
    entries = []
    for raw in output.split(b"\n"):
        if not raw:
            continue
        m = _FLS_LINE.match(raw)
        if m is None:
            raise OracleError(f"cannot parse fls line {raw!r}")
        path = m["path"].decode("utf-8", "surrogateescape")
        stream = None
        if m["atype"] is not None and ":" in path.rsplit("/", 1)[-1]:
            path, stream = path.rsplit(":", 1)
        entries.append(FlsEntry(
            name_type=m["ntype"].decode(), meta_type=m["mtype"].decode(), deleted=m["deleted"] is not None,
            realloc=m["realloc"] is not None, inode=int(m["meta"]),
            attr_type=int(m["atype"]) if m["atype"] is not None else None,
            attr_id=int(m["aid"]) if m["aid"] is not None else None,
            path="/" + path, stream=stream))
    return entries


def fls_entries(image: Path | Sequence[Path], offset_sectors: int | None = None) -> list[FlsEntry]:
    """Every name TSK's fls finds, recursively, with full paths (`fls -r -p [-o N] IMAGE...`)."""
    proc = _tsk(["fls", "-r", "-p", *_offset_args(offset_sectors), *_images(image)])
    return parse_fls(proc.stdout)


def icat_bytes(image: Path | Sequence[Path], meta: int | str, offset_sectors: int | None = None,
               *, slack: bool = False) -> bytes:
    """Content of a meta address as icat prints it (`icat [-o N] IMAGE META`)."""
    proc = _tsk(["icat", *(["-s"] if slack else []), *_offset_args(offset_sectors), *_images(image), str(meta)])
    return proc.stdout


def icat_sha256(image: Path | Sequence[Path], meta: int | str, offset_sectors: int | None = None) -> str:
    """sha256 hex of `icat IMAGE META` (what `icat ... | sha256sum` prints)."""
    return hashlib.sha256(icat_bytes(image, meta, offset_sectors)).hexdigest()


def icat_md5(image: Path | Sequence[Path], meta: int | str, offset_sectors: int | None = None) -> str:
    return hashlib.md5(icat_bytes(image, meta, offset_sectors)).hexdigest()


def mmls_entries(image: Path | Sequence[Path]) -> list[MmlsEntry]:
    """TSK's view of the volume system (`mmls IMAGE`); empty when there is none."""
    proc = _tsk(["mmls", *_images(image)], allow_fail=True)
    if proc.returncode != 0:
        return []
    entries = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        m = _MMLS_LINE.match(line.strip())
        if m:
            entries.append(MmlsEntry(index=int(m["index"]), slot=m["slot"], start=int(m["start"]),
                                     end=int(m["end"]), length=int(m["length"]),
                                     description=m["desc"].strip()))
    return entries


def mmls_type(image: Path | Sequence[Path]) -> str | None:
    """First line of mmls output (e.g. 'DOS Partition Table'), None when mmls finds no table."""
    proc = _tsk(["mmls", *_images(image)], allow_fail=True)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace").splitlines()[0].strip()


def sanitize_like_fls(path: str) -> str:
    """Replace control characters as fls does, so table paths compare to fls paths."""
    return "".join("^" if ord(ch) < 0x20 else ch for ch in path)


def sha256_file(path: Path | Sequence[Path]) -> str:
    """sha256 of a file, or of the concatenation of several (a split image)."""
    digest = hashlib.sha256()
    for part in _images(path):
        with open(part, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
