"""Where a problem arose: the fixed vocabulary of the `errors` table's `stage` column.

Three tiers, as plaso has them: bytes that are not an extractor's format are not a problem
at all (the extractor yields nothing, silently); damaged or bounded evidence is an `errors`
row with one of the stages below; an extractor's own exception is an `errors` row with stage
`internal`, so a bug in the tool is never mistaken for damaged evidence. A stage may carry
what it concerns after a colon (`extractor:indicators` for that extractor's limits,
`unit:files` for a unit that could not be run): `Stage.of`.

Every producer of a problem says it as one `Problem` (ingest's walks, storage layers and
archives, the worker's reads, the known-files step, a unit that could not be run); an
extractor, which may not import this layer, yields `extractors.base.LimitReached`, which
`seized.scanning` turns into a `Problem` in one place. A `Problem` is one `errors` row
(`caseformat.tables.errors_table`); assembly adds the evidence id.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Stage(StrEnum):
    # the evidence as a whole (ingest.images, ingest.plan, ingest.recovery)
    IMAGE = "image"
    VOLUMES = "volumes"
    RECOVERY = "recovery"
    # storage layers and file systems (ingest.layers, ingest.storage, ingest.filesystems, ingest.xfs)
    LAYER = "layer"
    ENCRYPTED = "encrypted"
    FILESYSTEM = "filesystem"
    DIRECTORY = "directory"
    ATTRIBUTES = "attributes"
    # reading and scanning bytes (seized.worker, seized.scanning)
    READ = "read"
    UNALLOCATED = "unallocated"
    CONTAINER = "container"
    YARA = "yara"
    EXTRACTOR = "extractor"  # an extractor's bound (LimitReached), as `extractor:NAME`
    UNIT = "unit"  # a unit that could not be run, as `unit:KIND` (seized.execution)
    KNOWN_FILES = "known-files"  # hash sets and package databases (known.step)
    INTERNAL = "internal"  # an extractor raised: the tool's bug, not damaged evidence

    def of(self, what: str) -> str:
        """The stage of one named thing: `extractor:emails`, `unit:files`."""
        return f"{self.value}:{what}"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that could not be read, or was cut short, and where: one `errors` row."""

    volume: str | None
    path: str | None
    inode: int | None
    member: str | None  # inside an archive, nested levels joined with "!"
    stage: Stage | str  # a Stage, or `Stage.of(...)` of a named thing
    error: str  # one line

    def at(self, volume: str | None, path: str | None, inode: int | None, member: str | None) -> "Problem":
        """The same problem, placed (an archive's reader knows what went wrong, its caller where)."""
        return replace(self, volume=volume, path=path, inode=inode, member=member)

    def row(self) -> dict:
        """The `errors` row's columns but the evidence id."""
        return dict(volume=self.volume, path=self.path, inode=self.inode, member=self.member, stage=self.stage,
                    error=self.error)
