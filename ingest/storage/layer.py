"""What a storage layer's reader gives back: `Layer`, and what the readers share."""
from __future__ import annotations

from dataclasses import dataclass

from caseformat.problems import Problem
from ingest.volumes import VolumeSpec

SECTOR = 512


@dataclass(frozen=True, slots=True)
class Layer:
    """What a probe recognised on a volume."""

    kind: str  # "lvm", "md", "luks", "bitlocker"
    label: str  # the step in `volumes.layers`: "lvm:vg0", "md:host:0", "luks2", "bitlocker"
    description: str
    volumes: tuple[VolumeSpec, ...] = ()  # readable volumes inside (nested extents)
    encrypted: bool = False
    fields: tuple[tuple[str, object], ...] = ()  # header fields (cipher, mode, hash, uuid, version, ...)
    problems: tuple[Problem, ...] = ()  # unsupported parts, checksum mismatches


def cstr(raw: bytes) -> str:
    """A NUL-terminated ASCII field of a header."""
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")
