"""Containers: gzip, bzip2, xz, zip and tar members opened in memory, with bomb limits.

Hitting a limit is a recorded problem, never a silent cut: each is a `Problem` with stage
`container`, which the caller places at the archive it expanded (`Problem.at`). Every
decompressor is driven with an output bound (`max_length`, bounded reads), so a 42-style bomb
costs at most the limit in memory.
"""
from __future__ import annotations

import bz2
import io
import lzma
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Iterator

from caseformat.problems import Problem, Stage

MAX_INPUT = 64 * 1024 * 1024  # largest container read into memory for expansion
MAX_MEMBER = 256 * 1024 * 1024  # largest expanded member
MAX_TOTAL = 1024 * 1024 * 1024  # expanded bytes per container
MAX_RATIO = 200  # expanded / compressed, for members over RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_DEPTH = 6
MAX_MEMBERS = 20000


@dataclass(frozen=True, slots=True)
class Member:
    name: str  # path inside the container
    data: bytes
    nested: bool  # the member is itself a container


@dataclass(slots=True)
class Budget:
    """What expanding one scanned object may still cost, all nesting levels together.

    Why: limits per container do not stop a 42-style bomb. Each level of 42.zip is small and
    each leaf is rejected by the ratio bound, but the leaves multiply (16 per level), so
    the work must be bounded for the object as a whole: every decompressed byte counts,
    rejected or not, and so does every member. The caller makes one per top-level object and
    passes it down the recursion; the first expansion that finds it spent reports that once.
    """

    bytes_left: int = MAX_TOTAL
    members_left: int = MAX_MEMBERS
    reported: bool = field(default=False)

    def spent(self) -> bool:
        return self.bytes_left <= 0 or self.members_left <= 0

    def charge(self, nbytes: int) -> None:
        self.bytes_left -= nbytes
        self.members_left -= 1

    def problem(self) -> Problem | None:
        """The one-time report of an exhausted budget; None after it was given."""
        if self.reported:
            return None
        self.reported = True
        return _problem(f"expansion limit of this object reached ({MAX_TOTAL} decompressed bytes or "
                                f"{MAX_MEMBERS} members, all nesting levels together; decompression bomb?): "
                                "the remaining members are not expanded")


def kind_of(data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:3] == b"BZh" and data[3:4].isdigit():
        return "bzip2"
    if data[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    return None


def worth_keeping(kept: list[bytes], block: bytes, size: int) -> bool:
    """Whether the worker should keep this object's bytes for expansion after the scan."""
    if size > MAX_INPUT:
        return False
    return bool(kept) or kind_of(block) is not None


def _strip(name: str, kind: str) -> str:
    base = name.rsplit("!", 1)[-1].rsplit("/", 1)[-1] or "stream"
    lower = base.lower()
    for suffix, repl in ((".tgz", ".tar"), (".tbz2", ".tar"), (".txz", ".tar"), (".gz", ""), (".bz2", ""), (".xz", "")):
        if lower.endswith(suffix):
            return base[: -len(suffix)] + repl
    return f"{base}.{kind}-decompressed"


def _cap(compressed: int) -> int:
    """Most bytes worth expanding from `compressed` input: the size limit or the ratio limit.

    Decompressing is stopped at this cap (+1 byte to detect the overflow), so a bomb costs
    at most the cap in memory and time, not its full expanded size.
    """
    return min(MAX_MEMBER, max(RATIO_FLOOR, MAX_RATIO * max(compressed, 0)))


def _bounded(data: bytes, limit: int, ratio_base: int) -> str | None:
    """Which bound `data` broke, named for the examiner; None when within both."""
    if len(data) > limit:
        return f"expanded size over the limit of {limit} bytes"
    if len(data) > RATIO_FLOOR and ratio_base and len(data) / ratio_base > MAX_RATIO:
        return f"compression ratio over {MAX_RATIO}:1 (decompression bomb?)"
    return None


def expand(data: bytes, name: str, depth: int, budget: Budget | None = None) -> Iterator[Member | Problem]:
    """Members of the container `data` (named `name`, at nesting `depth`), or problems.

    Pass the same `budget` for every nested level of one top-level object (see `Budget`);
    without one, only this container's own limits apply.
    """
    kind = kind_of(data)
    if kind is None:
        return
    if depth >= MAX_DEPTH:
        yield _problem(f"{kind} nested deeper than {MAX_DEPTH} levels: not expanded")
        return
    budget = budget if budget is not None else Budget()
    if budget.spent():
        problem = budget.problem()
        if problem:
            yield problem
        return
    try:
        if kind in ("gzip", "bzip2", "xz"):
            yield from _stream(data, name, kind, budget)
        elif kind == "zip":
            yield from _zip(data, budget)
        else:
            yield from _tar(data, budget)
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
            tarfile.TarError, NotImplementedError, RuntimeError) as exc:
        yield _problem(f"damaged {kind}: {exc}"[:300])


def _stream(data: bytes, name: str, kind: str, budget: Budget) -> Iterator[Member | Problem]:
    limit = _cap(len(data)) + 1
    if kind == "gzip":
        out = []
        rest = data
        total = 0
        while rest and total < limit:  # concatenated gzip members form one stream
            d = zlib.decompressobj(wbits=47)
            out.append(d.decompress(rest, limit - total))
            total += len(out[-1])
            if d.unconsumed_tail:
                break
            rest = d.unused_data if d.eof else b""
            if rest[:2] != b"\x1f\x8b":
                break
        result = b"".join(out)
        del out  # a concatenated stream's pieces: held beside their join while the member is scanned
    elif kind == "bzip2":
        result = bz2.BZ2Decompressor().decompress(data, max_length=limit)
    else:
        result = lzma.LZMADecompressor().decompress(data, max_length=limit)
    budget.charge(len(result))
    problem = _bounded(result, MAX_MEMBER, len(data))
    if problem:
        yield _problem(f"{kind} {name}: {problem}; member not scanned")
        return
    yield Member(_strip(name, kind), result, kind_of(result) is not None)


def _zip(data: bytes, budget: Budget) -> Iterator[Member | Problem]:
    total = 0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            yield _problem(f"zip has {len(infos)} members; only the first {MAX_MEMBERS} are scanned")
            infos = infos[:MAX_MEMBERS]
        for info in infos:
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                yield _problem(f"zip member {info.filename}: encrypted, not scanned")
                continue
            if info.file_size > MAX_MEMBER or total + info.file_size > MAX_TOTAL:
                yield _problem(f"zip member {info.filename}: declared size {info.file_size} over the limit")
                continue
            if budget.spent():
                problem = budget.problem()
                if problem:
                    yield problem
                return
            with zf.open(info) as fh:  # the declared size may lie: the read is bounded too
                content = fh.read(_cap(info.compress_size) + 1)
            budget.charge(len(content))
            problem = _bounded(content, MAX_MEMBER, info.compress_size)
            if problem:
                yield _problem(f"zip member {info.filename}: {problem}; not scanned")
                continue
            total += len(content)
            yield Member(info.filename, content, kind_of(content) is not None)


def _tar(data: bytes, budget: Budget) -> Iterator[Member | Problem]:
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        for info in tf:
            if not info.isfile():
                continue
            count += 1
            if count > MAX_MEMBERS:
                yield _problem(f"tar has more than {MAX_MEMBERS} members; the rest are not scanned")
                return
            if budget.spent():
                problem = budget.problem()
                if problem:
                    yield problem
                return
            fh = tf.extractfile(info)
            if fh is None:
                continue
            content = fh.read(MAX_MEMBER + 1)
            budget.charge(len(content))
            if len(content) > MAX_MEMBER:
                yield _problem(f"tar member {info.name}: over {MAX_MEMBER} bytes; not scanned")
                continue
            yield Member(info.name, content, kind_of(content) is not None)


def _problem(error: str) -> Problem:
    """A problem of the archive being expanded; the caller knows where it lies."""
    return Problem(None, None, None, None, Stage.CONTAINER, error)
