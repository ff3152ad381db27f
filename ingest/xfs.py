"""XFS through libfsxfs (`pyfsxfs`): walk every live name and read file contents.

The Sleuth Kit reads no XFS, so Linux servers formatted by their installers would otherwise
be scanned only as unallocated bytes. libfsxfs opens the volume through a read-only
file-like adapter over the volume's image extents (`VolumeFile`), so every byte still comes
from the evidence through `ImageReader`, and the walk yields the same `FileRecord` /
`caseformat.problems.Problem` as `walk_tsk`.

Extents: libfsxfs reports a file's extents as XFS file-system block numbers times the block
size, and an XFS block number is (allocation group << agblklog | block in group), not a
linear position. `XfsGeometry` converts them with the superblock's agblocks/agblklog so
`ContentRef.runs` and `FileRecord.owned` are exact volume offsets (tests compare the
mapped bytes with the library's own reads). libfsxfs does not list deleted directory
entries, so an XFS walk has no deleted names; their bytes are still scanned as unallocated.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Iterator

import pyfsxfs

from caseformat.problems import Problem, Stage
from ingest.problems import one_line
from ingest.filesystems import ContentRef, FileRecord
from ingest.images import ImageReader
from ingest.volumes import VolumeSpec, read_volume

XFS_MAGIC = b"XFSB"
MAX_DEPTH = 256
_S_IFMT = 0o170000
_TYPES = {0o100000: "file", 0o040000: "dir", 0o120000: "symlink"}


class VolumeFile:
    """A read-only file object over a volume's extents, for libraries that want one (libbfio).

    It holds the caller's reader and never writes; reads past the end return short.
    """

    def __init__(self, reader: ImageReader, volume: VolumeSpec) -> None:
        self._reader = reader
        self._volume = volume
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._volume.length - self._pos
        size = max(0, min(size, self._volume.length - self._pos))
        if size == 0:
            return b""
        data = read_volume(self._reader, self._volume, self._pos, size)
        if len(data) < size:  # unreadable image bytes: zeros, as TSK is given (VolumeImage)
            data += bytes(size - len(data))
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            self._pos = offset
        elif whence == os.SEEK_CUR:
            self._pos += offset
        elif whence == os.SEEK_END:
            self._pos = self._volume.length + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if self._pos < 0:
            raise OSError("seek before the start of the volume")
        return self._pos

    def tell(self) -> int:
        return self._pos

    def get_size(self) -> int:
        return self._volume.length

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def close(self) -> None:  # the reader belongs to the caller
        pass


@dataclass(frozen=True, slots=True)
class XfsGeometry:
    block_size: int
    ag_blocks: int
    ag_block_log: int

    def linear(self, fsb_offset: int) -> int:
        """libfsxfs's (fsblock * block_size) to a byte offset inside the volume."""
        fsb, rem = divmod(fsb_offset, self.block_size)
        agno = fsb >> self.ag_block_log
        agbno = fsb & ((1 << self.ag_block_log) - 1)
        return (agno * self.ag_blocks + agbno) * self.block_size + rem


@dataclass(slots=True)
class XfsHandle:
    """An open XFS volume: the library object and the geometry to map its extents."""

    volume: object
    geometry: XfsGeometry
    file: VolumeFile


def is_xfs(reader: ImageReader, volume: VolumeSpec) -> bool:
    return read_volume(reader, volume, 0, 4) == XFS_MAGIC


def open_xfs(reader: ImageReader, volume: VolumeSpec) -> XfsHandle:
    """Open XFS on `volume`; OSError when there is none or libfsxfs refuses it."""
    sb = read_volume(reader, volume, 0, 512)
    if len(sb) < 128 or sb[:4] != XFS_MAGIC:
        raise OSError("no XFS superblock")
    block_size = struct.unpack_from(">I", sb, 4)[0]
    ag_blocks = struct.unpack_from(">I", sb, 84)[0]
    ag_block_log = sb[124]
    if block_size < 512 or block_size & (block_size - 1) or not ag_blocks or not 0 < ag_block_log < 32:
        raise OSError(f"implausible XFS superblock (block size {block_size}, agblocks {ag_blocks})")
    f = VolumeFile(reader, volume)
    vol = pyfsxfs.volume()
    vol.open_file_object(f)
    return XfsHandle(vol, XfsGeometry(block_size, ag_blocks, ag_block_log), f)


def _micros(entry, getter: str) -> int | None:
    try:
        ns = getattr(entry, getter)()
    except (OSError, AttributeError):
        return None
    if not ns or ns <= 0:
        return None
    return ns // 1000


def _extents(entry, geometry: XfsGeometry, size: int) -> tuple[tuple[tuple[int, int, int], ...], bool]:
    """(stream offset, volume offset, length) runs in file order, and whether all bytes map.

    Extents come in file order; a flagged extent (sparse / unwritten) advances the stream
    position without mapping bytes.
    """
    try:
        count = entry.get_number_of_extents()
    except OSError:
        return (), False
    runs = []
    pos = 0
    complete = True
    for i in range(count):
        offset, length, flags = entry.get_extent(i)
        if pos >= size:
            break
        n = min(length, size - pos)
        if flags:
            complete = False
        else:
            runs.append((pos, geometry.linear(offset), n))
        pos += length
    return tuple(runs), complete and pos >= size


def walk_xfs(handle: XfsHandle, volume: VolumeSpec) -> Iterator[FileRecord | Problem]:
    """Every live name under the root, depth first in directory order (no deleted names)."""
    try:
        root = handle.volume.get_root_directory()
    except OSError as exc:
        yield Problem(volume.id, "/", None, None, Stage.DIRECTORY, one_line(exc))
        return
    stack: list[tuple[object, str, frozenset[int]]] = [(root, "", frozenset({root.inode_number}))]
    while stack:
        directory, dir_path, ancestors = stack.pop()
        try:
            count = directory.get_number_of_sub_file_entries()
        except OSError as exc:
            yield Problem(volume.id, dir_path or "/", directory.inode_number, None, Stage.DIRECTORY, one_line(exc))
            continue
        subdirs = []
        for i in range(count):
            try:
                entry = directory.get_sub_file_entry(i)
                name = entry.get_name() or ""
            except (OSError, UnicodeError) as exc:
                yield Problem(volume.id, dir_path or "/", directory.inode_number, None, Stage.DIRECTORY,
                                  f"entry {i}: {one_line(exc)}")
                continue
            path = f"{dir_path}/{name}"
            record = _record(entry, handle.geometry, volume, path, name)
            yield record
            inode = record.inode
            if record.type == "dir" and inode not in ancestors and len(ancestors) < MAX_DEPTH:
                subdirs.append((entry, path, ancestors | {inode}))
        stack.extend(reversed(subdirs))


def _record(entry, geometry: XfsGeometry, volume: VolumeSpec, path: str, name: str) -> FileRecord:
    inode = int(entry.inode_number)
    mode = int(entry.file_mode or 0)
    kind = _TYPES.get(mode & _S_IFMT, "other")
    size = int(entry.size or 0)
    content = None
    skip = None
    owned: tuple[tuple[int, int], ...] = ()
    if kind == "file":
        runs, complete = _extents(entry, geometry, size)
        content = ContentRef(inode, None, None, size, runs, bool(runs) and complete)
        owned = tuple((vol, n) for _, vol, n in runs)
    elif kind != "dir":
        skip = f"not a regular file ({kind})"
    return FileRecord(
        volume=volume.id, volume_offset=volume.start, fs_type="xfs", inode=inode, stream=None, path=path,
        path_raw=None, name=name, size=size, allocated=True, type=kind, mode=mode & 0o7777,
        uid=int(entry.owner_identifier), gid=int(entry.group_identifier),
        mtime=_micros(entry, "get_modification_time_as_integer"), atime=_micros(entry, "get_access_time_as_integer"),
        ctime=_micros(entry, "get_inode_change_time_as_integer"), crtime=_micros(entry, "get_creation_time_as_integer"),
        content=content, skip_reason=skip, owned=owned,
    )


def read_xfs_stream(handle: XfsHandle, ref: ContentRef, block: int) -> Iterator[bytes]:
    """The file's bytes in order, `block` at a time; OSError propagates to the caller."""
    entry = handle.volume.get_file_entry_by_inode(ref.inode)
    offset = 0
    while offset < ref.size:
        want = min(block, ref.size - offset)
        data = entry.read_buffer_at_offset(want, offset)
        if not data:
            raise OSError(f"read returned no data at offset {offset} of {ref.size}")
        offset += len(data)
        yield data
