"""`seized verify`: re-hash tables, report files and evidence images against manifest.json.

One line per problem (changed, missing, or not listed), so an examiner can paste the output
into their notes; an empty list means everything the manifest names is unchanged.
"""
from __future__ import annotations

import json
from pathlib import Path

from caseformat.manifest import file_sha256
from reports.words import count, form


def _listed_files(folder: Path, case: Path) -> set[str]:
    if not folder.is_dir():
        return set()
    return {str(p.relative_to(case)) for p in folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def _check_file(case: Path, rel: str, want: str | None, what: str) -> str | None:
    path = case / rel
    if not path.is_file():
        return f"{what} {rel}: missing"
    got = file_sha256(path)
    if got != want:
        return f"{what} {rel}: sha256 {got} does not match manifest {want}"
    return None


def _check_image(ev: dict) -> list[str]:
    from ingest.images import ImageError, hash_image, identify_image, open_image

    label = f"evidence {ev.get('evidence_id')} ({ev.get('path')})"
    try:
        reader = open_image(identify_image(ev["path"]))
    except ImageError as exc:
        return [f"{label}: cannot open: {exc}"]
    except OSError as exc:
        return [f"{label}: cannot open: {exc.strerror or exc}"]
    try:
        hashes = hash_image(reader)
    finally:
        reader.close()
    out = []
    for algo in ("md5", "sha1", "sha256"):
        got, want = getattr(hashes, algo), ev.get(algo)
        if got != want:
            out.append(f"{label}: {algo} {got} does not match manifest {want}")
    if ev.get("size") is not None and hashes.size != ev["size"]:
        out.append(f"{label}: size {hashes.size} does not match manifest {ev['size']}")
    if hashes.unreadable:
        out.append(f"{label}: {sum(n for _, n in hashes.unreadable)} bytes could not be read")
    return out


def _check_exports(case: Path, exports: list) -> list[str]:
    """Every file `seized export` recorded (paths relative to the case, or absolute)."""
    out = []
    for entry in exports:
        for rel, want in sorted((entry.get("files") or {}).items()):
            path = Path(rel) if Path(rel).is_absolute() else case / rel
            if not path.is_file():
                out.append(f"export file {rel} ({entry.get('format')}): missing")
            elif (got := file_sha256(path)) != want:
                out.append(f"export file {rel} ({entry.get('format')}): sha256 {got} does not match manifest {want}")
    return out


def verify_case(case: Path, check_images: bool = True) -> list[str]:
    case = Path(case)
    try:
        manifest = json.loads((case / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{case}: no manifest.json"]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [f"{case / 'manifest.json'}: not valid JSON ({exc})"]
    problems: list[str] = []
    tables = manifest.get("tables") or {}
    for name in sorted(tables):
        info = tables[name]
        line = _check_file(case, info.get("path", f"tables/{name}/part-0.parquet"), info.get("sha256"), "table")
        if line:
            problems.append(line)
    listed = {info.get("path") for info in tables.values()}
    for rel in sorted(_listed_files(case / "tables", case) - listed):
        problems.append(f"table file {rel}: not listed in manifest.json")
    report = (manifest.get("report") or {}).get("files") or {}
    if not report and (case / "report").is_dir():
        problems.append("report: manifest.json lists no report files (run `seized report`)")
    for rel in sorted(report):
        line = _check_file(case, rel, report[rel], "report file")
        if line:
            problems.append(line)
    for rel in sorted(_listed_files(case / "report", case) - set(report)):
        problems.append(f"report file {rel}: not listed in manifest.json")
    working = (manifest.get("working_copy") or {}).get("files") or {}
    for rel in sorted(working):
        line = _check_file(case, rel, working[rel], "working-copy file")
        if line:
            problems.append(line)
    for rel in sorted(_listed_files(case / "report-working", case) - set(working)):
        problems.append(f"working-copy file {rel}: not listed in manifest.json")
    problems.extend(_check_exports(case, manifest.get("exports") or []))
    if check_images:
        for ev in manifest.get("evidence", []):
            problems.extend(_check_image(ev))
    return problems


def verified_line(case: Path, check_images: bool) -> str:
    """What a clean `seized verify` checked, and, with --no-images, what it did not."""
    try:
        manifest = json.loads((Path(case) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    tables = len(manifest.get("tables") or {})
    reports = len((manifest.get("report") or {}).get("files") or {})
    working = len((manifest.get("working_copy") or {}).get("files") or {})
    exported = sum(len(e.get("files") or {}) for e in manifest.get("exports") or [] if isinstance(e, dict))
    images = len(manifest.get("evidence") or [])
    checked = f"{count(tables, 'table')} and {count(reports, 'report file')}"
    if working:
        checked += f" and {count(working, 'working-copy file')}"
    if exported:
        checked += f" and {count(exported, 'exported file')}"
    if check_images:
        return f"verified: {checked} and {count(images, 'evidence image')} match manifest.json"
    return (f"verified: {checked} match manifest.json; {count(images, 'evidence image')} "
            f"{form(images, 'was', 'were')} NOT checked (--no-images): run `seized verify` without it to re-hash "
            f"{form(images, 'it', 'them')}")
