"""`seized export CASE --format F -o DIR`: write one export and record it in the manifest.

Each export goes to a new (or empty) folder, is written from the tables alone, and every
file it wrote is listed with its SHA-256 in manifest.json under `exports`, so `seized
verify` re-checks it like the tables and the report.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from caseformat.atomic import write_json
from caseformat.manifest import file_sha256, tool_version, utc_now
from exports.context import ExportContext
from reports.casedir import table_paths


class ExportError(Exception):
    """An export that cannot be made; `str()` is one line."""


def _formats() -> dict[str, tuple[Callable[[ExportContext], list[Path]], tuple[str, ...]]]:
    """format -> (writer, tables it needs)"""
    from exports import bodyfile, bulk_extractor, case_uco, dfxml, tabular

    return {
        "bulk_extractor": (bulk_extractor.write, ("evidence",)),
        "dfxml": (dfxml.write, ("files", "volumes")),
        "bodyfile": (bodyfile.write, ("files",)),
        "case-uco": (case_uco.write, ("files",)),
        "csv": (tabular.write_csv, ()),
        "jsonl": (tabular.write_jsonl, ()),
    }


FORMATS = ("bulk_extractor", "dfxml", "bodyfile", "case-uco", "csv", "jsonl")


def _prepare_out(out: Path, case: Path) -> Path:
    out = Path(out)
    resolved = out.resolve()
    for protected in (case / "tables", case / ".journal"):
        if resolved == protected.resolve() or protected.resolve() in resolved.parents:
            raise ExportError(f"{out}: inside the case's {protected.name}/ folder; choose another folder")
    if out.exists():
        if not out.is_dir():
            raise ExportError(f"{out}: exists and is not a directory")
        if any(out.iterdir()):
            raise ExportError(f"{out}: not empty; exports go to a new or empty folder (nothing is overwritten)")
    else:
        out.mkdir(parents=True, mode=0o700)
    return out


def export_case(case: Path, manifest: dict, fmt: str, out: Path, tables: list[str] | None = None,
                reveal_secrets: bool = False) -> list[Path]:
    from caseformat.duckcase import scratch_dir
    from exports.sql import connect

    writer, needs = _formats()[fmt]
    paths = table_paths(case, manifest)
    if tables:
        unknown = sorted(set(tables) - set(paths))
        if unknown:
            raise ExportError(f"no table {unknown[0]} in this case (it has: {', '.join(sorted(paths))})")
    missing = [t for t in needs if t not in paths]
    if missing:
        raise ExportError(f"the case has no {missing[0]} table, which a {fmt} export needs")
    chosen = frozenset(tables) if tables else frozenset(paths)
    out = _prepare_out(out, case)
    with scratch_dir(None, ".seized-export-tmp-") as scratch:  # DuckDB's spill, outside the case
        con = connect(case, manifest, scratch)
        try:
            ctx = ExportContext(con, case, manifest, out, chosen, paths, reveal_secrets,
                                str((manifest.get("tool") or {}).get("version") or _version()))
            written = writer(ctx)
        finally:
            con.close()  # its spill files go before the folder does
    record(case, fmt, out, written, ctx)
    return written


def _version() -> str:
    return tool_version()


def _where(path: Path, case: Path) -> str:
    """A path as the manifest records it: relative to the case when inside it, else absolute."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(case.resolve()))
    except ValueError:
        return str(resolved)


def record(case: Path, fmt: str, out: Path, written: list[Path], ctx: ExportContext) -> None:
    mpath = case / "manifest.json"
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    entry = {
        "format": fmt,
        "folder": _where(out, case),
        "created_utc": utc_now(),
        "tables": sorted(ctx.tables) if fmt in ("csv", "jsonl") else None,
        "reveal_secrets": bool(ctx.reveal_secrets),
        "files": {_where(p, case): file_sha256(p) for p in sorted(written)},
    }
    exports = [e for e in manifest.get("exports", []) if e.get("folder") != entry["folder"]]
    manifest["exports"] = exports + [entry]
    write_json(mpath, manifest)
