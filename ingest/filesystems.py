"""File systems: open a volume with TSK and walk every name it holds, deleted ones included.

The walk yields one `FileRecord` per (name, data stream) in TSK's own order, so the
`files` table can be compared line by line with `fls -r -p`, and a `ContentRef` that lets a
worker reopen the stream by inode and attribute without any pytsk3 object crossing a
process boundary. Problems become `caseformat.problems.Problem`s, never exceptions that end the walk.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pytsk3

from caseformat.problems import Problem, Stage
from ingest.problems import one_line
from ingest.images import ImageReader
from ingest.volumes import VolumeImage, VolumeSpec

_DATA_ATTR_TYPES = {
    int(pytsk3.TSK_FS_ATTR_TYPE_DEFAULT),
    int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA),
    int(pytsk3.TSK_FS_ATTR_TYPE_HFS_DATA),
    int(pytsk3.TSK_FS_ATTR_TYPE_APFS_DATA),
}
_HFS_RSRC = int(pytsk3.TSK_FS_ATTR_TYPE_HFS_RSRC)
_RUN_UNMAPPED = int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER) | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE)
_ATTR_NONRES = int(pytsk3.TSK_FS_ATTR_NONRES)
_ATTR_COMP = int(pytsk3.TSK_FS_ATTR_COMP) | int(pytsk3.TSK_FS_ATTR_ENC)
_NAME_UNALLOC = int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
_META_ALLOC = int(pytsk3.TSK_FS_META_FLAG_ALLOC)

_META_TYPES = {
    int(pytsk3.TSK_FS_META_TYPE_REG): "file",
    int(pytsk3.TSK_FS_META_TYPE_DIR): "dir",
    int(pytsk3.TSK_FS_META_TYPE_LNK): "symlink",
    int(pytsk3.TSK_FS_META_TYPE_VIRT): "virtual",
    int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR): "virtual_dir",
}
_NAME_TYPES = {
    int(pytsk3.TSK_FS_NAME_TYPE_REG): "file",
    int(pytsk3.TSK_FS_NAME_TYPE_DIR): "dir",
    int(pytsk3.TSK_FS_NAME_TYPE_LNK): "symlink",
    int(pytsk3.TSK_FS_NAME_TYPE_VIRT): "virtual",
    int(pytsk3.TSK_FS_NAME_TYPE_VIRT_DIR): "virtual_dir",
}
MAX_DEPTH = 256


@dataclass(frozen=True, slots=True)
class ContentRef:
    """How to reopen one data stream: inode + attribute, and where its bytes sit."""

    inode: int
    attr_type: int | None  # None: the default attribute
    attr_id: int | None
    size: int
    runs: tuple[tuple[int, int, int], ...]  # (offset in stream, offset in volume, length), mapped bytes
    mappable: bool  # False for resident, compressed or encrypted streams


@dataclass(slots=True)
class FileRecord:
    """One row of the `files` table before hashing; `content` is set for streams to read."""

    volume: str
    volume_offset: int
    fs_type: str
    inode: int
    stream: str | None
    path: str
    path_raw: bytes | None  # the name bytes when they are not valid UTF-8
    name: str
    size: int | None
    allocated: bool
    type: str
    mode: int | None
    uid: int | None
    gid: int | None
    mtime: int | None  # microseconds since the epoch, UTC
    atime: int | None
    ctime: int | None
    crtime: int | None
    content: ContentRef | None
    skip_reason: str | None  # why the content is not read (None when it is)
    owned: tuple[tuple[int, int], ...]  # (volume offset, length) this allocated name owns


_FS_NAMES = {
    int(getattr(pytsk3, n)): n.removeprefix("TSK_FS_TYPE_").lower()
    for n in dir(pytsk3)
    if n.startswith("TSK_FS_TYPE_") and not n.endswith(("_DETECT", "_ENUM", "_UNSUPP"))
}


def fs_type_name(fs: pytsk3.FS_Info) -> str:
    name = _FS_NAMES.get(int(fs.info.ftype), str(fs.info.ftype).removeprefix("TSK_FS_TYPE_").lower())
    return {"hfs": "hfs+", "ffs1": "ufs1", "ffs1b": "ufs1b", "ffs2": "ufs2"}.get(name, name)


def open_tsk(reader: ImageReader, volume: VolumeSpec) -> pytsk3.FS_Info:
    """Open the file system on `volume`; OSError when TSK recognises none."""
    return pytsk3.FS_Info(VolumeImage(reader, volume))


def _decode(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), False


def _micros(meta, name: str) -> int | None:
    secs = getattr(meta, name, 0) or 0
    if secs <= 0:
        return None
    nano = getattr(meta, name + "_nano", 0) or 0
    return secs * 1_000_000 + nano // 1000


def _runs(attr, block_size: int, size: int) -> tuple[tuple[int, int, int], ...]:
    out = []
    for run in attr:
        if int(run.flags) & _RUN_UNMAPPED:
            continue
        file_off = run.offset * block_size
        if file_off >= size:
            break
        length = min(run.len * block_size, size - file_off)
        out.append((file_off, run.addr * block_size, length))
    return tuple(out)


def _owned(attr, block_size: int) -> list[tuple[int, int]]:
    """Volume ranges an attribute occupies on disk (whole blocks, slack excluded by size)."""
    flags = int(attr.info.flags)
    if not flags & _ATTR_NONRES:
        return []
    size = attr.info.size
    if flags & _ATTR_COMP:  # compressed runs: the clusters are owned, sizes do not map
        return [(run.addr * block_size, run.len * block_size) for run in attr if not int(run.flags) & _RUN_UNMAPPED]
    return [(vol, n) for _, vol, n in _runs(attr, block_size, max(size, 0))]


def walk_tsk(fs: pytsk3.FS_Info, volume: VolumeSpec) -> Iterator[FileRecord | Problem]:
    """Every name under the root, depth first in TSK's order, like `fls -r -p`."""
    fs_type = fs_type_name(fs)
    block_size = fs.info.block_size
    root = fs.info.root_inum
    # (directory inode, path, raw path, inodes of the ancestors)
    stack: list[tuple[int, str, bytes, frozenset[int]]] = [(root, "", b"", frozenset({root}))]
    while stack:
        dir_inode, dir_path, dir_raw, ancestors = stack.pop()
        try:
            directory = fs.open_dir(inode=dir_inode)
            entries = list(directory)
        except OSError as exc:
            yield Problem(volume.id, dir_path or "/", dir_inode, None, Stage.DIRECTORY, one_line(exc))
            continue
        subdirs = []
        for entry in entries:
            name_info = entry.info.name
            raw = name_info.name or b""
            if raw in (b".", b".."):
                continue
            name, valid = _decode(raw)
            path = f"{dir_path}/{name}"
            path_raw = dir_raw + b"/" + raw
            if entry.info.meta is None and int(name_info.meta_addr):
                entry = _with_meta(fs, entry)
            for item in _records(entry, volume, fs_type, block_size, path, path_raw, valid):
                yield item
            descend, problem = _descend(entry, ancestors)
            if problem:
                yield Problem(volume.id, path, int(entry.info.meta.addr), None, Stage.DIRECTORY, problem)
            if descend:
                subdirs.append((int(entry.info.meta.addr), path, path_raw, ancestors | {int(entry.info.meta.addr)}))
        stack.extend(reversed(subdirs))


def _with_meta(fs: pytsk3.FS_Info, entry):
    """Orphans are listed without metadata; reopen them by inode, as `fls` does."""
    try:
        reopened = fs.open_meta(inode=int(entry.info.name.meta_addr))
    except OSError:
        return entry
    if reopened.info.meta is None:
        return entry
    return _Reopened(entry.info.name, reopened)


class _Reopened:
    """An entry's name with the metadata found by inode (pytsk3 objects cannot be built)."""

    def __init__(self, name, reopened) -> None:
        self._file = reopened
        self.info = _Info(name, reopened.info.meta)

    def __iter__(self):
        return iter(self._file)


@dataclass(frozen=True, slots=True)
class _Info:
    name: object
    meta: object


def _descend(entry, ancestors: frozenset[int]) -> tuple[bool, str | None]:
    """Whether to walk into this entry, and the problem to record when a directory is refused."""
    meta = entry.info.meta
    if meta is None or int(meta.type) not in (
        int(pytsk3.TSK_FS_META_TYPE_DIR),
        int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR),
    ):
        return False, None
    if int(meta.addr) in ancestors:
        if int(entry.info.name.flags) & _NAME_UNALLOC:  # a stale deleted name: nothing is lost
            return False, None
        return False, f"directory loop: inode {int(meta.addr)} is one of its own ancestors; not walked again"
    if len(ancestors) >= MAX_DEPTH:
        return False, f"directories nested deeper than {MAX_DEPTH} levels; not walked further"
    # A deleted name whose inode now belongs to a live directory would repeat that subtree.
    if int(entry.info.name.flags) & _NAME_UNALLOC and int(meta.flags) & _META_ALLOC:
        return False, None
    return True, None


def _records(entry, volume: VolumeSpec, fs_type: str, block_size: int, path: str, path_raw: bytes,
             valid: bool) -> Iterator[FileRecord | Problem]:
    name_info = entry.info.name
    meta = entry.info.meta
    name_deleted = bool(int(name_info.flags) & _NAME_UNALLOC)
    inode = int(meta.addr) if meta is not None else int(name_info.meta_addr)
    name = path.rsplit("/", 1)[1]
    base = dict(
        volume=volume.id, volume_offset=volume.start, fs_type=fs_type, inode=inode,
        path=path, path_raw=None if valid else path_raw, name=name, allocated=not name_deleted,
    )
    if meta is None:
        kind = _NAME_TYPES.get(int(name_info.type), "other")
        yield FileRecord(**base, stream=None, size=None, type=kind, mode=None, uid=None, gid=None,
                         mtime=None, atime=None, ctime=None, crtime=None, content=None,
                         skip_reason="no metadata for this name", owned=())
        return
    kind = _META_TYPES.get(int(meta.type), "other")
    common = dict(
        base, type=kind, mode=int(meta.mode), uid=int(meta.uid), gid=int(meta.gid),
        mtime=_micros(meta, "mtime"), atime=_micros(meta, "atime"), ctime=_micros(meta, "ctime"),
        crtime=_micros(meta, "crtime"),
    )
    meta_alloc = bool(int(meta.flags) & _META_ALLOC)
    reallocated = name_deleted and meta_alloc
    owned: list[tuple[int, int]] = []
    streams: list[tuple[str | None, object]] = []
    try:
        for attr in entry:
            atype = int(attr.info.type)
            if not name_deleted:
                owned.extend(_owned(attr, block_size))
            if atype in _DATA_ATTR_TYPES or atype == _HFS_RSRC:
                aname = attr.info.name
                aname = aname.decode("utf-8", "backslashreplace") if isinstance(aname, bytes) else aname
                if atype == _HFS_RSRC:
                    aname = "rsrc"
                elif atype == int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA) and aname in ("", "$Data"):
                    aname = None
                streams.append((aname or None, attr))
    except OSError as exc:
        yield Problem(volume.id, path, inode, None, Stage.ATTRIBUTES, one_line(exc))
    if kind != "file":
        yield FileRecord(**common, stream=None, size=int(meta.size), content=None,
                         skip_reason=None if kind == "dir" else f"not a regular file ({kind})",
                         owned=tuple(owned))
        return
    if not streams:
        streams = [(None, None)]
    # the default stream first, then named streams in TSK's order
    streams.sort(key=lambda s: s[0] is not None)
    for index, (stream, attr) in enumerate(streams):
        size = int(attr.info.size) if attr is not None else int(meta.size)
        if attr is not None:
            flags = int(attr.info.flags)
            mappable = bool(flags & _ATTR_NONRES) and not flags & _ATTR_COMP
            runs = _runs(attr, block_size, size) if mappable else ()
            ref = ContentRef(inode, int(attr.info.type), int(attr.info.id), size, runs, mappable)
        else:
            ref = ContentRef(inode, None, None, size, (), False)
        skip = None
        if reallocated:
            skip = "name deleted and its metadata reused by another file"
        yield FileRecord(**common, stream=stream, size=size, content=None if skip else ref,
                         skip_reason=skip, owned=tuple(owned) if index == 0 else ())


def read_stream(fs: pytsk3.FS_Info, ref: ContentRef, block: int) -> Iterator[bytes]:
    """The stream's bytes in order, `block` at a time, as far as TSK returns them (as `icat`)."""
    f = fs.open_meta(inode=ref.inode)
    offset = 0
    while offset < ref.size:
        want = min(block, ref.size - offset)
        if ref.attr_type is None:
            data = f.read_random(offset, want)
        else:
            data = f.read_random(offset, want, ref.attr_type, ref.attr_id)
        if not data:  # TSK returns no more (sparse/uninitialised tail, as icat does); the caller notes it
            return
        offset += len(data)
        yield data
