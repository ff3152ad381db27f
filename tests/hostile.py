"""Hostile evidence, built at test time: real images from tests/imaging.py, then damaged.

Why: a seized drive is whatever the suspect (or a failing disk) left behind. Each generator
starts from an image a real tool wrote (mkfs.ext4, sfdisk, ewfacquire) and damages it the
way an attacker or bad media would: debugfs edits of inodes and directory entries, byte
edits of superblocks and partition tables, truncation. Content bombs (gzip of a GiB of
zeros, nested zips, deep nesting) are streamed with zlib/zipfile so building them never
holds the expanded bytes in memory. Nothing here is a stored fixture; every byte comes
from a tool or a documented edit.

Also here: `run_measured`, which runs `python -m seized ...` and reports the child's own
peak RSS (psutil samples of the process tree), so tests can state a memory bound per scan.
"""
from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import psutil

from tests import imaging

REPO = Path(__file__).resolve().parents[1]
SECTOR = 512
MIB = 1024 * 1024
EXT_MAGIC_OFFSET = 1080  # s_magic of the primary ext2/3/4 superblock (1024 + 0x38)


# ---------------------------------------------------------------------------------------------
# Running a scan and measuring it


@dataclass(frozen=True)
class Measured:
    returncode: int | None  # None when the scan was killed at the timeout
    stdout: str
    stderr: str
    max_rss: int  # bytes, peak resident set of the scan and its descendants (sampled every 20 ms)
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run_measured(*args: str | os.PathLike[str], timeout: float = 120, env: Mapping[str, str] | None = None,
                 prefix: tuple[str, ...] = ()) -> Measured:
    """`[prefix...] python -m seized ARGS...`; peak RSS sampled, killed (by process group) at `timeout`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([*prefix, sys.executable, "-m", "seized", *map(os.fspath, args)],
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        status = None
        peak = 0
        watched = psutil.Process(proc.pid)
        while True:
            pid, st, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = st
                break
            peak = max(peak, _tree_rss(watched))
            if time.monotonic() - start > timeout:
                os.killpg(proc.pid, 9)  # the scan's own process group, started above
                os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = -1  # reaped by wait4; keep Popen from waiting again
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status) if status is not None else None
        return Measured(code, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        peak, seconds)


def _tree_rss(process: "psutil.Process") -> int:
    """RSS of a process and its descendants now. Sampled, because the child's own ru_maxrss
    keeps the high-water mark of the forked test process from before exec (Linux)."""
    total = 0
    try:
        for p in [process, *process.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


def scan_args(images: list[Path], case: Path, rules: Path, *extra: str) -> list[str]:
    """Standard in-process scan: no report, only the given (tiny) rule file."""
    return ["scan", *map(str, images), "-o", str(case), "--workers", "0", "--no-report", "--no-default-rules",
            "--rules", str(rules), *extra]


def marker_rules(dest: Path, text: str = "SEIZED-HOSTILE-MARKER") -> Path:
    """A one-rule YARA file: keeps tests independent of the shipped rule set's state."""
    dest.write_text(f'rule hostile_marker {{ strings: $m = "{text}" condition: $m }}\n')
    return dest


# ---------------------------------------------------------------------------------------------
# Base images


def ext4_with_files(dest: Path, files: Mapping[str, bytes], size_mib: int = 8) -> Path:
    """An ext4 image (mkfs.ext4 -d) holding `files` (relative path -> content)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        for rel, content in files.items():
            imaging.add_file(tree, rel.encode(), content)
        return imaging.ext4_from_tree(tree, dest, size_mib)


def copy(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def debugfs_write(image: Path, *commands: str) -> None:
    """Apply debugfs -w commands; raise when debugfs reports anything but its banner."""
    proc = subprocess.run([imaging.tool("debugfs"), "-w", "-f", "-", str(image)], capture_output=True,
                          input=("\n".join(commands) + "\n").encode(), env={**os.environ, "DEBUGFS_PAGER": "__none__"},
                          timeout=60)
    problems = [ln for ln in proc.stderr.decode(errors="replace").splitlines()
                if ln.strip() and not ln.startswith("debugfs ")]
    if proc.returncode or problems:
        raise imaging.ImagingError(f"debugfs {commands}: {problems or proc.returncode}")


def patch(image: Path, offset: int, data: bytes) -> Path:
    """Overwrite bytes in place (the documented edit of each hostile variant)."""
    with open(image, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)
    return image


# ---------------------------------------------------------------------------------------------
# Hostile file systems and volume systems


def corrupt_superblock(src: Path, dest: Path) -> Path:
    """ext superblock magic zeroed: no ext file system is recognised any more."""
    return patch(copy(src, dest), EXT_MAGIC_OFFSET, b"\x00\x00")


def directory_loop(src: Path, dest: Path, directory: str) -> Path:
    """`debugfs link DIR DIR/loop`: a directory entry pointing at its own ancestor."""
    copy(src, dest)
    debugfs_write(dest, f"link {directory} {directory}/loop")
    return dest


def claim_size(src: Path, dest: Path, path: str, size: int) -> Path:
    """An inode whose i_size claims `size` bytes (e.g. a terabyte) on a few-MiB volume."""
    copy(src, dest)
    debugfs_write(dest, f"sif <{imaging.ext4_inode(dest, path)}> size {size:#x}")
    return dest


def extent_past_end(src: Path, dest: Path, path: str, block: int = 0x7FFFFF00) -> Path:
    """First extent's start block (i_block[5] = ee_start_lo) moved far past the image end."""
    copy(src, dest)
    debugfs_write(dest, f"sif <{imaging.ext4_inode(dest, path)}> block[5] {block:#x}")
    return dest


def truncated(src: Path, dest: Path, keep: int | None = None) -> Path:
    """The first half (or `keep` bytes) of an image: an acquisition that stopped early."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    return imaging.truncated_copy(src, dest, keep)


def zero_length(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b"")
    return dest


def mbr_disk(dest: Path, entries: list[tuple[int, int, str]], fills: list[tuple[int, Path]], final_bytes: int) -> Path:
    """An MBR disk (sfdisk) whose entries may run past `final_bytes`, the size it is cut to.

    sfdisk refuses entries past the end of the file, so the table is written on a file large
    enough for every entry, the file-system images are copied in at their sectors, and the
    file is then truncated to `final_bytes` - a disk whose acquisition stopped short.
    entries: (start sector, size in sectors, MBR type hex); fills: (sector, image).
    """
    need = max(s + n for s, n, _ in entries) * SECTOR + MIB
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as fh:
        fh.truncate(need)
    script = "label: dos\nlabel-id: 0x5eed0002\nunit: sectors\n\n" + "".join(
        f"start={s}, size={n}, type={t}\n" for s, n, t in entries)
    subprocess.run([imaging.tool("sfdisk"), "-q", "--no-reread", "--no-tell-kernel", str(dest)], check=True,
                   input=script.encode(), capture_output=True, timeout=60)
    with open(dest, "r+b") as out:
        for sector, image in fills:
            out.seek(sector * SECTOR)
            with open(image, "rb") as fin:
                shutil.copyfileobj(fin, out, 4 * MIB)
        out.truncate(final_bytes)
    return dest


# ---------------------------------------------------------------------------------------------
# Hostile content (file contents placed into an image with ext4_with_files)


def gzip_of_zeros(nbytes: int, chunk: int = 16 * MIB) -> bytes:
    """gzip of `nbytes` zero bytes (1 GiB -> about 1 MiB), built without the expanded bytes.

    One chunk of zeros is deflated once and ended with Z_FULL_FLUSH, which resets the
    compressor, so the same compressed chunk is valid again after itself: the deflate body is
    that chunk repeated, then a final empty block. zlib and gzip read it as one stream.
    """
    if nbytes % chunk:
        raise ValueError("nbytes must be a multiple of chunk")
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = 0
    zeros = bytes(chunk)
    for _ in range(nbytes // chunk):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + body * (nbytes // chunk) + final + crc.to_bytes(4, "little") + (nbytes % 2**32).to_bytes(4, "little")


def _zip_of(members: Mapping[str, bytes], stored: bool = False) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", method, compresslevel=9) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 9, 13, 12, 26, 40))
            info.compress_type = method
            zf.writestr(info, data)
    return buf.getvalue()


def _zip_of_zeros(name: str, nbytes: int) -> bytes:
    """A one-member zip whose member is `nbytes` zeros, streamed (never materialised)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        info = zipfile.ZipInfo(name, date_time=(2020, 9, 13, 12, 26, 40))
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            zeros = bytes(4 * MIB)
            left = nbytes
            while left:
                n = min(len(zeros), left)
                fh.write(zeros if n == len(zeros) else bytes(n))
                left -= n
    return buf.getvalue()


def zip_bomb_42(levels: int = 3, fanout: int = 4, leaf_bytes: int = 64 * MIB) -> bytes:
    """42.zip in miniature: `levels` of zips of `fanout` zips; each leaf holds `leaf_bytes` zeros.

    Expanded fully it is fanout**levels * leaf_bytes (64 leaves * 64 MiB = 4 GiB by default)
    from well under a MiB; the leaf is compressed once and repeated, as in the original.
    """
    layer = _zip_of_zeros("0.bin", leaf_bytes)
    for level in range(levels):
        layer = _zip_of({f"l{level}-{i}.zip": layer for i in range(fanout)})
    return layer


def deep_nesting(levels: int, payload: bytes) -> bytes:
    """`payload` gzipped `levels` times (each level a gzip of the one inside)."""
    data = payload
    for _ in range(levels):
        data = gzip.compress(data, mtime=0)
    return data


def invalid_text(nbytes: int) -> bytes:
    """Lines that break decoders: lone UTF-8 continuation bytes, overlongs, surrogates,
    truncated sequences, BOMs followed by odd-length UTF-16, and unpaired UTF-16 surrogates."""
    pieces = [
        b"\x80\x81\xbf user@\xc0\xafexample.com\n",  # continuation bytes, overlong '/'
        b"\xed\xa0\x80\xed\xbf\xbf pass:\xf4\x90\x80\x80\n",  # UTF-8 surrogates, > U+10FFFF
        b"\xe2\x82 truncated \xf0\x9f\x98\n",
        b"\xff\xfe" + "abuse@example.com".encode("utf-16-le") + b"\x00\xd8\x41",  # unpaired high surrogate
        b"\xfe\xff" + "x@y.example".encode("utf-16-be")[:-1] + b"\n",  # odd length
        b"\x00@\x00a\x00@\x00\n" * 4,
    ]
    block = b"".join(pieces)
    return (block * (nbytes // len(block) + 1))[:nbytes]
