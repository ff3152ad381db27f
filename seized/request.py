"""What `seized scan` was asked to do (the CLI builds it; the conductor and the manifest read it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from seized.ruleset import RuleSet


@dataclass
class ScanRequest:
    images: list[str]
    case: Path
    workers: int
    scheduler: str | None
    rule_paths: list[Path]
    default_rules: bool
    force: bool
    command_line: list[str]
    case_name: str | None = None
    examiner: str | None = None
    containers: bool = True
    unallocated: bool = True
    # started on a thread of its own when the units start on a cluster, while this process
    # mostly waits (the CLI imports the report's libraries there)
    while_units_run: Callable[[], None] | None = None
    # rule_paths and the shipped rules, compiled already by the caller (the CLI does so before
    # it starts a cluster, so a bad rule file fails at once); None: compiled here
    rule_set: "RuleSet | None" = None
    # --known-hashes / --notable-hashes (known.hashsets): hash sets that classify `files`
    known_hashes: list[Path] = field(default_factory=list)
    notable_hashes: list[Path] = field(default_factory=list)
