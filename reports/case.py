"""What a report is made from: manifest.json and the Parquet tables, nothing else.

Why only these: a report must be reproducible by anyone holding the case directory, so it
never reopens the evidence, the journal, or the scan's memory.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CORE_TABLES = ("evidence", "volumes", "files", "errors")


class ReportError(Exception):
    """A case directory a report cannot be made from; `str()` is one line."""


@dataclass(frozen=True)
class CaseData:
    root: Path
    manifest: dict
    tables: dict[str, pa.Table | None]  # None: table file missing
    case_name: str
    examiner: str
    finding_tables: tuple[str, ...]  # finding tables present or expected, sorted

    @property
    def evidence_ids(self) -> list[str]:
        return sorted(e["evidence_id"] for e in self.manifest.get("evidence", []))

    def exhibit(self, evidence_id: str | None) -> str:
        """Exhibit label (E1, E2, ... in evidence_id order)."""
        ids = self.evidence_ids
        return f"E{ids.index(evidence_id) + 1}" if evidence_id in ids else "E?"

    def evidence(self, evidence_id: str) -> dict:
        return next(e for e in self.manifest.get("evidence", []) if e["evidence_id"] == evidence_id)


def _read(path: Path) -> pa.Table | None:
    if not path.is_file():
        return None
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ReportError(f"{path}: unreadable table ({str(exc).splitlines()[0] if str(exc) else exc})") from exc


def _case_toml(root: Path) -> dict:
    path = root / "case.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not valid TOML ({exc})") from exc


def _finding_table_names(manifest: dict, root: Path) -> tuple[str, ...]:
    try:
        from caseformat.tables import finding_classes

        known = set(finding_classes())
    except Exception:  # a half-installed tree still reports what is on disk
        known = set()
    on_disk = {p.name for p in (root / "tables").iterdir() if p.is_dir()} if (root / "tables").is_dir() else set()
    listed = set(manifest.get("tables", {}))
    names = (known | on_disk | listed) - set(CORE_TABLES) - {"correlations", "timeline"}  # derived by the report
    return tuple(sorted(names))


def load_case(root: Path, case_name: str | None = None, examiner: str | None = None) -> CaseData:
    mpath = root / "manifest.json"
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{root}: not a seized case directory (no manifest.json)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{mpath}: not valid JSON ({exc})") from exc
    toml = _case_toml(root)
    recorded = manifest.get("case") or {}
    name = case_name or recorded.get("name") or toml.get("case_name") or "(case name not given)"
    who = examiner or recorded.get("examiner") or toml.get("examiner") or "(examiner not given)"
    finding = _finding_table_names(manifest, root)
    tables = {n: _read(root / "tables" / n / "part-0.parquet") for n in CORE_TABLES + finding}
    return CaseData(root, manifest, tables, str(name), str(who), finding)
