"""The one check every command that reads a case makes first: is this a seized case directory?

Why one place: `report`, `verify`, `export` and `query` must all answer a missing, foreign
or damaged case directory the same way, with one line naming the problem (exit 2), never
with a traceback or an "internal error" from deep inside a reader.
"""
from __future__ import annotations

import json
from pathlib import Path

from caseformat.casedir import MARKER, CaseDirError


def open_case(case: Path, check_tables: bool = True) -> dict:
    """The case's manifest, after checking that `case` is a finished seized case.

    With `check_tables`, every table the manifest lists must be present and its Parquet
    footer readable (cheap: footers only). `seized verify` passes False: a changed or
    missing table is what it reports, line by line, itself.
    """
    case = Path(case)
    if not case.exists():
        raise CaseDirError(f"{case}: no such case directory")
    if not case.is_dir():
        raise CaseDirError(f"{case}: not a directory (a case is the directory `seized scan -o` wrote)")
    mpath = case / "manifest.json"
    try:
        text = mpath.read_text(encoding="utf-8")
    except FileNotFoundError:
        if (case / MARKER).is_file():
            raise CaseDirError(f"{case}: the scan did not finish (no manifest.json); run the same "
                               "`seized scan` again to resume it") from None
        raise CaseDirError(f"{case}: not a seized case directory (no manifest.json)") from None
    except PermissionError:
        raise CaseDirError(f"{mpath}: permission denied") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise CaseDirError(f"{mpath}: damaged ({type(exc).__name__})") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseDirError(f"{mpath}: damaged (not valid JSON: {exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("tables"), dict) \
            or not isinstance(manifest.get("evidence"), list):
        raise CaseDirError(f"{mpath}: not a seized manifest (no tables or evidence lists)")
    if check_tables:
        _check_tables(case, manifest["tables"])
    return manifest


def _check_tables(case: Path, tables: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name in sorted(tables):
        info = tables[name] if isinstance(tables[name], dict) else {}
        rel = info.get("path") or f"tables/{name}/part-0.parquet"
        path = case / rel
        if not path.is_file():
            raise CaseDirError(f"{case}: damaged: table {name} is missing ({rel}); `seized verify` lists "
                               "every difference")
        try:
            pq.read_metadata(path)
        except (OSError, pa.ArrowException) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CaseDirError(f"{path}: damaged table {name} ({first})") from None


def table_paths(case: Path, manifest: dict) -> dict[str, Path]:
    """Table name -> Parquet file, for the tables the manifest lists that exist on disk."""
    out = {}
    for name, info in sorted(manifest.get("tables", {}).items()):
        rel = (info or {}).get("path") or f"tables/{name}/part-0.parquet"
        if (case / rel).is_file():
            out[name] = case / rel
    return out
