"""The contract every extractor keeps: bytes and a `Source` in, typed findings out.

Extractors are pure: they never open images, files, sockets or Dask, and never import
pytsk3, dask or pyarrow (a test enforces it). The pipeline (seized.worker) owns I/O and turns
each finding into a table row, adding the provenance columns (evidence_id, volume, inode,
path, member, absolute offset, image_offset, extractor, extractor_version, finding_id).

Field types of finding dataclasses are limited to what the table writer maps to Arrow:
`str`, `int`, `float`, `bool`, `list[str]`, `list[int]`, each optionally `| None`.
A field whose value is a secret (a password, key material) carries
`field(metadata={"secret": True})` so that reports know to redact it.

An extractor may also offer `columns` (issue 17): the same findings for a window as column
blocks (numpy arrays and `TextColumn`s, no object per finding), for dense evidence where
building findings one by one costs more than finding them; `extract` stays the reference
and a property test holds the two equal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Protocol, Sequence, Union

import numpy as np


@dataclass(frozen=True, slots=True)
class Source:
    """What an extractor may know about the bytes it is handed.

    Offsets that an extractor reports are relative to the first byte of the `data` it was
    given; the pipeline adds the window's position in the object and maps it to the image.
    """

    evidence_id: str | None
    path: str | None  # file path as the file system names it; None for unallocated space
    member: str | None  # path inside a container, nested levels joined with "!"; None otherwise
    name: str | None  # last component (file or member name), e.g. "torrc.sample"; None if unknown
    object_size: int | None = None  # size of the whole object the window comes from
    window_offset: int = 0  # where data[0] sits in the object (for whole-object judgements)
    mtime: int | None = None  # the file's modification time, seconds since the epoch (UTC); None if unknown
    # The part of `data` this window owns (findings starting there are kept): extractors that
    # aggregate lines into one row per window (web_access, mail_log) count only owned lines.
    own_start: int = 0
    own_end: int | None = None  # None: to the end of data
    filetype: str = "file"  # "file", "member" (of an archive) or "unallocated" (space no file owns)


@dataclass(frozen=True, slots=True)
class Finding:
    """Base of every finding: where in `data` it starts."""

    offset: int


@dataclass(frozen=True, slots=True)
class LimitReached(Finding):
    """Yielded by an extractor that stopped early on purpose (a cap on findings, a size bound).

    The pipeline records it as an `errors` row, so a cut-off result is never silent.
    """

    limit: str  # e.g. "indicators per object"
    value: int  # the bound that was hit


@dataclass(frozen=True, slots=True)
class TextColumn:
    """A column of UTF-8 strings laid out as Arrow lays them out, without importing Arrow:
    row i is `data[offsets[i]:offsets[i + 1]]`. `offsets` is int32 (n + 1 values), `data` uint8."""

    offsets: np.ndarray
    data: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1


# A block of findings as columns: "offset" (int64 numpy, relative to `data` as a finding's is) and
# one entry per field of the extractor's finding class: a numpy array, a TextColumn, or a list of
# Python values (for the few rows a vectorised path hands to its per-finding code).
Columns = dict[str, Union[np.ndarray, TextColumn, list]]


@dataclass(frozen=True)
class Extractor:
    """One entry of the registry in `extractors/registry.py`."""

    name: str  # unique, also the value of the `extractor` column
    version: str  # bump when output for the same bytes can change
    table: str  # the evidence table its findings go to
    finding: type  # the Finding dataclass it yields: its fields are the table's columns
    extract: Callable[[bytes, Source], Iterable[Finding]]
    description: str
    whole_object: bool = False  # True: run only when the whole object fits in one window
    # Optional columnar path: the same findings as `extract`, as column blocks for the whole window
    # (no per-finding objects); it returns None when `extract` should be used for these bytes.
    columns: Callable[[bytes, Source], Iterable[Columns] | None] | None = None


@dataclass(frozen=True)
class RuleScanner:
    """One per-window scanner of the registry that runs rules given at scan time (YARA).

    Like an extractor, but the pipeline hands it the compiled rules of the scan's options
    (`seized.worker.ScanOptions.rules`) and runs it only when there are rules. A finding
    without an offset (a rule that matched on its condition alone) is kept from an object's
    first window only. `name` is the `extractor` column and the `errors` stage of its
    failures and bounds.
    """

    name: str
    version: str
    table: str
    finding: type
    scan: Callable[[bytes, Source, object], Iterable[Finding]]  # (window bytes, source, compiled rules)
    failure: type[Exception]  # raised by `scan`, before it yields anything, when it could not complete
    description: str


class Tally(Protocol):
    """A per-object judgement's accumulator: fed window by window, asked once at the end."""

    def add(self, data: bytes, findings: Sequence) -> None:
        """Count one window's findings of the consumed table (offsets relative to `data`)."""

    def verdicts(self, object_size: int) -> Iterable:
        """The judgement's findings on the whole object (none, usually)."""


@dataclass(frozen=True)
class Judgement:
    """One per-object judgement of the registry: a decision that needs every window of an object.

    The pipeline gives each file and archive member a fresh `tally()`, feeds it the findings
    of the table it `consumes` as each window is scanned, and after the last window writes
    its `verdicts(object_size)` to `table`. Unallocated space is not an object: no judgement
    runs there.
    """

    name: str  # the `extractor` column of its verdicts
    version: str
    table: str
    finding: type
    consumes: str  # the table whose findings feed it
    tally: Callable[[], Tally]
    description: str
