"""The file-system readers a scan reads streams with, chosen once by kind.

A file task names the reader of its volume (`FileTask.fs_kind`, set when the volume was
walked: ingest.plan, ingest.layers); the worker and `seized show` look it up here instead of
testing the kind themselves. Both readers have the same two operations: open the file
system on a volume, and read one stream in blocks, as far as the library returns it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from ingest.filesystems import ContentRef, open_tsk, read_stream
from ingest.images import ImageReader
from ingest.volumes import VolumeSpec
from ingest.xfs import open_xfs, read_xfs_stream


@dataclass(frozen=True)
class FileSystemReader:
    kind: str  # the value of FileTask.fs_kind
    library: str  # what reads the bytes, as `seized show` names it
    open: Callable[[ImageReader, VolumeSpec], object]  # OSError when the library recognises none
    read_stream: Callable[[object, ContentRef, int], Iterator[bytes]]


TSK = FileSystemReader("tsk", "The Sleuth Kit (as icat)", open_tsk, read_stream)
XFS = FileSystemReader("xfs", "libfsxfs", open_xfs, read_xfs_stream)  # TSK reads no XFS
READERS = {r.kind: r for r in (TSK, XFS)}


def reader_for(kind: str | None) -> FileSystemReader:
    """The reader of a walked volume's kind (None, as from a stack with no kind: TSK)."""
    return READERS[kind or "tsk"]
