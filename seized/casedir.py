"""The case directory's safety rules: where a case may be written and what `--force` may remove.

Evidence is never written to, moved or deleted (ACPO principle 1). A case directory is
therefore refused when it is, contains, or lies inside the folder of any evidence file,
compared both by resolved path (symlinks followed) and by device and inode number (so a bind
mount of the evidence folder, which has a path of its own, is caught too). `--force` replaces
only a directory that holds a seized case, and removes only the entries the case format owns
(`OWNED`); anything else in it (case.toml, the examiner's notes) stays, and a folder holding
anything that is not a seized case is refused whatever the options.

The checks (`check_case_dir`) only read; nothing is created or removed until `open_case_dir`
is called, after the scan has found something to scan, so a refused scan leaves the directory
exactly as it found it.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from caseformat.atomic import temporary_name, write_text
from caseformat.casedir import MARKER, CaseDirError

MARKER_FORMAT = "seized-case/1"
# Every entry a case directory's format owns: the only names `--force` ever removes.
OWNED = ("manifest.json", "tables", "report", "report-working", ".journal", MARKER)
# Entries an examiner may keep in a case directory; never removed, never a reason to refuse.
KEPT = ("case.toml",)
# Temporary names the case writers use while a file is being replaced (caseformat.atomic).
_OWNED_TEMPS = (temporary_name(Path("manifest.json")).name, temporary_name(Path(MARKER)).name)
WALK_LIMIT = 200_000  # entries looked at when searching an existing directory for evidence


@dataclass(frozen=True)
class CaseDirPlan:
    """What `check_case_dir` found, for `open_case_dir` to act on."""

    case: Path
    existed: bool  # the directory was there before this run
    previous: dict | None  # the identity recorded by the case found there, if any
    remove: tuple[str, ...]  # owned entries to remove first (--force on a different case)


def _real(path: Path) -> Path:
    """The path with every symlink resolved, also for parts that do not exist yet."""
    return Path(os.path.realpath(os.path.abspath(path)))


def _ident(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _with_ancestors(path: Path) -> list[Path]:
    return [path, *path.parents]


def _is_within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def evidence_conflict(case: Path, evidence: list[str]) -> str | None:
    """Why `case` may not be written given these evidence files (every segment), or None.

    Refused: the case directory is an evidence file's folder, lies inside it, or holds it
    (at any depth), by resolved path or by (st_dev, st_ino) of the directories involved.
    """
    case_real = _real(case)
    case_chain = {i for i in (_ident(p) for p in _with_ancestors(case_real)) if i}
    case_id = _ident(case_real)
    for item in evidence:
        seg_real = _real(Path(item))
        folder = seg_real.parent
        if seg_real == case_real:
            return f"the case directory {case} is the evidence file {item}"
        if _is_within(folder, case_real):
            where = "is the folder that holds" if folder == case_real else "contains"
            return f"the case directory {case} {where} the evidence {item}; choose a folder outside the evidence"
        if _is_within(case_real, folder):
            return (f"the case directory {case} lies inside {folder}, the folder of the evidence {item}; "
                    "choose a folder outside the evidence")
        folder_id = _ident(folder)
        if folder_id and folder_id in case_chain:
            return (f"the case directory {case} is, or lies inside, the folder of the evidence {item} "
                    "(the same directory reached by another path or mount)")
        if case_id and case_id in {_ident(p) for p in _with_ancestors(folder)}:
            return (f"the case directory {case} contains the evidence {item} "
                    "(the same directory reached by another path or mount)")
    return None


def _evidence_inodes(evidence: list[str]) -> set[tuple[int, int]]:
    out = set()
    for item in evidence:
        for p in (Path(item), _real(Path(item)).parent):
            i = _ident(p)
            if i:
                out.add(i)
    return out


def holds_evidence(root: Path, evidence: list[str]) -> str | None:
    """A path under `root` (not following symlinks, crossing mounts) that is an evidence file or
    its folder, by device and inode; None when there is none among the first WALK_LIMIT entries."""
    wanted = _evidence_inodes(evidence)
    if not wanted:
        return None
    seen = 0
    stack = [root]
    while stack and seen < WALK_LIMIT:
        here = stack.pop()
        try:
            entries = list(os.scandir(here))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in wanted:
                return entry.path
            if stat.S_ISDIR(st.st_mode):
                stack.append(Path(entry.path))
    return None


def read_marker(case: Path) -> tuple[bool, dict | None]:
    """(is this a seized case, the identity it records). A case is recognised by its marker
    (this format, or the earlier one that held the identity alone) or by a seized manifest."""
    marker = case / MARKER
    if marker.is_file() and not marker.is_symlink():
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and data.get("format") == MARKER_FORMAT:
            return True, data.get("identity")
        if isinstance(data, dict) and "journal_format" in data and "images" in data:
            return True, data
    manifest = case / "manifest.json"
    if manifest.is_file() and not manifest.is_symlink():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and (data.get("tool") or {}).get("name") == "seized":
            return True, None
    return False, None


def check_case_dir(case: Path, identity: dict, evidence: list[str], force: bool) -> CaseDirPlan:
    """Decide whether `case` may hold this scan; reads only. Raises CaseDirError (one line)."""
    why = evidence_conflict(case, evidence)
    if why:
        raise CaseDirError(why)
    if not os.path.lexists(case):
        return CaseDirPlan(case, False, None, ())
    if case.is_symlink() and not case.is_dir():
        raise CaseDirError(f"{case} is a symbolic link that does not lead to a directory")
    if not case.is_dir():
        raise CaseDirError(f"{case} exists and is not a directory")
    found = holds_evidence(case, evidence)
    if found:
        raise CaseDirError(f"the case directory {case} holds the evidence ({found}); choose a folder outside the evidence")
    names = sorted(os.listdir(case))
    contents = [n for n in names if n not in KEPT]
    if not contents:
        return CaseDirPlan(case, True, None, ())
    is_case, previous = read_marker(case)
    if not is_case:
        others = ", ".join(contents[:3]) + (", ..." if len(contents) > 3 else "")
        raise CaseDirError(f"{case} holds files that are not a seized case ({others}); seized writes only to a new "
                           "or empty folder or one of its own cases (--force never removes other files)")
    if previous == identity:
        return CaseDirPlan(case, True, previous, ())
    if not force:
        raise CaseDirError(f"{case} already holds a different case; use --force to replace it "
                           "(removes only seized's own files: " + ", ".join(OWNED) + ")")
    remove = tuple(n for n in names if n in OWNED or n in _OWNED_TEMPS)
    return CaseDirPlan(case, True, previous, remove)


def open_case_dir(plan: CaseDirPlan, identity: dict, evidence: list[str]) -> list[Path]:
    """Create (or clear the owned entries of) the case directory and write its marker.
    Returns what this call created, for `undo_new_case_dir`."""
    case = plan.case
    created: list[Path] = []
    for name in plan.remove:
        path = case / name
        if path.is_dir() and not path.is_symlink():
            found = holds_evidence(path, evidence)
            if found:  # checked again at the moment of removal (a mount may have appeared)
                raise CaseDirError(f"{path} holds the evidence ({found}); nothing was removed from it")
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
    if not plan.existed:
        missing = [p for p in _with_ancestors(case.absolute()) if not os.path.lexists(p)]
        case.mkdir(parents=True, exist_ok=True, mode=0o700)
        created.extend(reversed(missing))  # outermost new folder first
    os.chmod(case, 0o700)
    marker = case / MARKER
    marker_existed = os.path.lexists(marker)
    data = {"format": MARKER_FORMAT, "identity": identity, "owns": list(OWNED)}
    write_text(marker, json.dumps(data, sort_keys=True, indent=1))
    if not marker_existed and plan.existed:
        created.append(marker)
    return created


def undo_new_case_dir(plan: CaseDirPlan, created: list[Path]) -> None:
    """After a run that scanned nothing: remove only what this run created, and only when the
    directory was new (a directory that existed keeps its owned files for the next run)."""
    if plan.existed:
        return
    case = plan.case
    for name in OWNED:
        path = case / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            path.unlink()
    for folder in reversed(created):  # innermost first; only if empty
        try:
            folder.rmdir()
        except OSError:
            break
