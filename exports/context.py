"""What an export writer is handed (exports.run builds it; each format module reads it)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ExportContext:
    con: object  # the case's DuckDB connection (exports.sql.connect)
    case: Path
    manifest: dict
    out: Path
    tables: frozenset[str]  # the tables this export may read (all, or those named with --table)
    table_paths: dict[str, Path]
    reveal_secrets: bool
    version: str
