"""Where a problem arose: the fixed vocabulary of the `errors` table's `stage` column.

Three tiers, as plaso has them: bytes that are not an extractor's format are not a problem
at all (the extractor yields nothing, silently); damaged or bounded evidence is an `errors`
row with one of the stages below; an extractor's own exception is an `errors` row with stage
`internal`, so a bug in the tool is never mistaken for damaged evidence. A stage may carry
what it concerns after a colon (`extractor:indicators` for that extractor's limits,
`unit:files` for a unit that could not be run): `Stage.of`.
"""
from __future__ import annotations

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
