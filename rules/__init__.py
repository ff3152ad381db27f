"""The shipped YARA rule set, kept as data files next to this module.

Rules are organised by topic folder (mailers, webshells, tor, credentials, spamkits). Their
origin and licence are listed in `SOURCES.md`; licence texts are in `LICENSES/`. Loading and
compiling is done by `seized.ruleset`, not here: this module only says where the files are.
"""
from __future__ import annotations

from pathlib import Path

RULES_DIR: Path = Path(__file__).resolve().parent


def shipped_rule_files() -> list[Path]:
    """All shipped `.yar` files, sorted by their path relative to RULES_DIR (deterministic)."""
    return sorted(RULES_DIR.rglob("*.yar"), key=lambda p: p.relative_to(RULES_DIR).as_posix())
