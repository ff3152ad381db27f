"""Evidence images: recognise the format, open read-only, read bytes, hash the media.

Everything that touches the evidence file itself lives here, so the read-only promise is
kept in one place: raw and split-raw segments are opened with `os.open(O_RDONLY)` and read
with `os.pread`; EWF goes through libewf in read mode. Nothing is ever written or mounted.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

EWF_MAGIC = b"EVF\x09\x0d\x0a\xff\x00"
MIN_IMAGE_SIZE = 512
HASH_BLOCK = 8 * 1024 * 1024

# Formats we recognise but do not read: (magic at offset 0, name shown to the examiner).
_REFUSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"QFI\xfb", "QCOW disk image"),
    (b"KDMV", "VMDK sparse disk image"),
    (b"# Disk DescriptorFile", "VMDK descriptor"),
    (b"vhdxfile", "VHDX disk image"),
    (b"conectix", "VHD disk image"),
    (b"AFF10\r\n", "AFF image"),
    (b"LVF\x09\x0d\x0a\xff\x00", "EWF logical evidence file (L01)"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip file"),
    (b"BZh", "bzip2 file"),
    (b"\xfd7zXZ\x00", "xz file"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
)


class ImageError(Exception):
    """An image that cannot be used as evidence; `str()` is the one line the examiner sees."""


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """Everything a worker needs to reopen an image on its own (picklable, no handles)."""

    path: str  # first segment as the examiner named it, made absolute
    segments: tuple[str, ...]
    format: str  # "raw", "split-raw" or "ewf"


_SPLIT_NUMERIC = re.compile(r"^(?P<stem>.*)\.(?P<num>\d{3})$")
_SPLIT_ALPHA = re.compile(r"^(?P<stem>.*)\.(?P<suf>[a-z]{2})$")


def _split_segments(path: Path) -> tuple[str, ...] | None:
    """Siblings of a split raw image in order, given its first segment; None if not split."""
    m = _SPLIT_NUMERIC.match(path.name)
    if m and m["num"] in ("000", "001"):
        start = int(m["num"])
        width = len(m["num"])
        segs = []
        n = start
        while True:
            p = path.with_name(f"{m['stem']}.{n:0{width}d}")
            if not p.is_file():
                break
            segs.append(str(p))
            n += 1
        return tuple(segs) if len(segs) > 1 else None
    m = _SPLIT_ALPHA.match(path.name)
    if m and m["suf"] == "aa":
        segs = []
        for i in range(26 * 26):
            suf = chr(97 + i // 26) + chr(97 + i % 26)
            p = path.with_name(f"{m['stem']}.{suf}")
            if not p.is_file():
                break
            segs.append(str(p))
        return tuple(segs) if len(segs) > 1 else None
    return None


def identify_image(path_text: str) -> ImageSpec:
    """Decide how to read `path_text`, or raise ImageError naming what was seen."""
    path = Path(path_text).absolute()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except OSError as exc:
        raise ImageError(f"cannot stat: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError("is a directory, not an image file")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise ImageError("not a regular file or block device")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise ImageError(f"cannot open read-only: {exc.strerror}") from None
    try:
        head = os.pread(fd, 64, 0)
    finally:
        os.close(fd)
    if head.startswith(EWF_MAGIC):
        return ImageSpec(str(path), (str(path),), "ewf")
    segments = _split_segments(path)
    if segments:
        return ImageSpec(str(path), segments, "split-raw")
    if stat.S_ISREG(st.st_mode) and st.st_size < MIN_IMAGE_SIZE:
        raise ImageError(f"too small to be a disk image ({st.st_size} bytes)")
    for magic, name in _REFUSED_MAGIC:
        if head.startswith(magic):
            raise ImageError(f"unsupported format: {name} (supported: raw/dd, split raw, EWF/E01)")
    return ImageSpec(str(path), (str(path),), "raw")


class ImageReader:
    """Random-access, read-only view of an image's media bytes."""

    spec: ImageSpec
    size: int

    def read(self, offset: int, length: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def stored_hashes(self) -> dict[str, str]:
        """Acquisition hashes recorded inside the container (EWF); empty for raw."""
        return {}

    def acquisition_info(self) -> dict[str, str]:
        return {}


class RawReader(ImageReader):
    """One or more raw segments concatenated (dd, or split raw)."""

    def __init__(self, spec: ImageSpec) -> None:
        self.spec = spec
        self._fds: list[int] = []
        self._starts: list[int] = []
        pos = 0
        for seg in spec.segments:
            fd = os.open(seg, os.O_RDONLY)
            self._fds.append(fd)
            self._starts.append(pos)
            pos += os.fstat(fd).st_size or _block_device_size(fd)
        self._ends = self._starts[1:] + [pos]
        self.size = pos

    def read(self, offset: int, length: int) -> bytes:
        if offset >= self.size or length <= 0 or offset < 0:
            return b""
        length = min(length, self.size - offset)
        if len(self._fds) == 1:
            return os.pread(self._fds[0], length, offset)
        out = []
        for fd, start, end in zip(self._fds, self._starts, self._ends):
            if offset >= end or offset + length <= start:
                continue
            lo = max(offset, start)
            hi = min(offset + length, end)
            out.append(os.pread(fd, hi - lo, lo - start))
        return b"".join(out)

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []


def _block_device_size(fd: int) -> int:
    return os.lseek(fd, 0, os.SEEK_END)


class EwfReader(ImageReader):
    """EWF (E01/Ex01) through libewf, which opens segment files read-only."""

    def __init__(self, spec: ImageSpec) -> None:
        import pyewf

        self.spec = spec
        try:
            filenames = pyewf.glob(spec.path)
            self._handle = pyewf.handle()
            self._handle.open(filenames, "r")
            self.size = self._handle.get_media_size()
        except (OSError, IOError, RuntimeError) as exc:
            raise ImageError(f"damaged or incomplete EWF image: {_ewf_reason(exc)}") from None
        self.spec = ImageSpec(spec.path, tuple(filenames), "ewf")
        for probe in (0, max(0, self.size - 512)):  # a truncated set opens but cannot be read
            try:
                self.read(probe, 512)
            except OSError as exc:
                self._handle.close()
                raise ImageError(f"damaged or incomplete EWF image: {exc}") from None

    def read(self, offset: int, length: int) -> bytes:
        if offset >= self.size or length <= 0:
            return b""
        try:
            return self._handle.read_buffer_at_offset(min(length, self.size - offset), offset)
        except (OSError, IOError, RuntimeError) as exc:  # libewf reports damage as RuntimeError
            raise OSError(f"EWF read failed at offset {offset}: {_ewf_reason(exc)}") from None

    def close(self) -> None:
        self._handle.close()

    def stored_hashes(self) -> dict[str, str]:
        out = {}
        for name in ("MD5", "SHA1"):
            try:
                value = self._handle.get_hash_value(name)
            except (OSError, IOError, KeyError):
                value = None
            if value:
                out[name.lower()] = value.lower()
        return out

    def acquisition_info(self) -> dict[str, str]:
        try:
            values = self._handle.get_header_values()
        except (OSError, IOError):
            return {}
        return {str(k): str(v) for k, v in sorted(values.items())}


def open_image(spec: ImageSpec) -> ImageReader:
    try:
        if spec.format == "ewf":
            return EwfReader(spec)
        return RawReader(spec)
    except ImageError:
        raise
    except OSError as exc:
        raise ImageError(f"cannot open read-only: {exc.strerror or exc}") from None


def _ewf_reason(exc: BaseException) -> str:
    """libewf's messages chain several 'function: text' parts; the examiner needs the last."""
    text = str(exc).strip().strip("'\"")
    parts = [p.strip() for p in text.replace("\n", " ").split(". ") if p.strip()]
    last = parts[-1] if parts else exc.__class__.__name__
    return last.split(": ", 1)[-1].rstrip(".")


@dataclass(frozen=True, slots=True)
class ImageHashes:
    size: int
    md5: str
    sha1: str
    sha256: str
    unreadable: tuple[tuple[int, int], ...]  # (offset, length) ranges that read short; hashed as zeros


def hash_image(reader: ImageReader, progress: Callable[[int], None] | None = None) -> ImageHashes:
    """MD5, SHA-1 and SHA-256 of the media in one pass over the bytes.

    The three digests update in parallel threads on the same buffer (hashlib releases the
    GIL on large buffers), so the pass costs about the slowest digest, not their sum.
    """
    digests = [hashlib.md5(), hashlib.sha1(), hashlib.sha256()]
    unreadable: list[tuple[int, int]] = []
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="hash") as pool:
        offset = 0
        pending = []
        while offset < reader.size:
            want = min(HASH_BLOCK, reader.size - offset)
            try:
                buf = reader.read(offset, want)
            except OSError:
                buf = b""
            if len(buf) < want:
                unreadable.append((offset + len(buf), want - len(buf)))
                buf = buf + bytes(want - len(buf))
            for fut in pending:
                fut.result()
            pending = [pool.submit(d.update, buf) for d in digests]
            offset += want
            if progress:
                progress(want)
        for fut in pending:
            fut.result()
    md5, sha1, sha256 = (d.hexdigest() for d in digests)
    return ImageHashes(reader.size, md5, sha1, sha256, tuple(unreadable))


def evidence_id_for(sha256: str) -> str:
    """Stable evidence id from the media content, never from the file name."""
    return sha256[:16]


def acquisition_json(reader: ImageReader) -> str | None:
    info = reader.acquisition_info()
    return json.dumps(info, sort_keys=True) if info else None
