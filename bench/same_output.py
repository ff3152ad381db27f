"""Same output before and after a refactoring: the demo case's bytes, fingerprinted.

    python -m bench.same_output record DIR    # build DIR/evidence/demo.img, scan it, keep DIR/fingerprint.json
    python -m bench.same_output check DIR     # scan the same image into a fresh case, compare

A fingerprint is the SHA-256 of every file of the case directory that the scan writes for the
examiner (tables, report files, charts, `.seized-case.json`) and `manifest.json` minus what
changes from run to run by design: times (`*_utc`), timings (`timings`, `*_s`), the command
line and the working directory. The declaration quotes those, and its secret tags are salted
per case (`.salt`, 32 random bytes), so a fresh case gets the reference's salt and the
reference's times, command line and working directory in its manifest, and its report is
re-rendered by `seized report` before it is fingerprinted: the report bytes then depend on the
code alone (the reference's own render is checked to equal its re-render). The journal
(`.journal/`) is scratch and not compared.

Exit 0 when every fingerprint matches, 1 with the list of differences otherwise.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CASE_NAME = "Demo v. John Doe"
EXAMINER = "Demo Examiner"
VOLATILE_KEYS = {"command_line", "working_directory", "timings"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stable(value: object) -> object:
    """The manifest without what differs from run to run by design."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()
                if k not in VOLATILE_KEYS and not k.endswith("_utc") and not k.endswith("_s")}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def fingerprint(case: Path) -> dict[str, str]:
    """Relative path -> SHA-256 (or the stable manifest's JSON) for every compared file."""
    prints: dict[str, str] = {}
    for path in sorted(case.rglob("*")):
        rel = path.relative_to(case).as_posix()
        if not path.is_file() or rel.startswith(".journal/") or rel == "report/.salt":
            continue
        if rel == "manifest.json":
            stable = _stable(json.loads(path.read_text()))
            prints[rel] = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()
            prints["manifest.json (stable, for diffs)"] = json.dumps(stable, sort_keys=True)
        else:
            prints[rel] = _sha256(path)
    return prints


def _run(*args: str) -> None:
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)


def _volatile(manifest: dict) -> dict:
    """The manifest's top-level entries that differ from run to run by design."""
    return {k: v for k, v in manifest.items() if k in VOLATILE_KEYS or k.endswith("_utc")}


def scan(image: Path, case: Path, salt: bytes | None, volatile: dict | None) -> dict[str, str]:
    """Scan `image` into `case` (2 workers, as the reference); with the reference's `salt` and
    `volatile` manifest entries, re-render the report so tags and quoted times agree."""
    _run("-m", "seized", "scan", str(image), "-o", str(case), "--case-name", CASE_NAME,
         "--examiner", EXAMINER, "--workers", "2")
    if salt is not None and volatile is not None:
        (case / "report" / ".salt").write_bytes(salt)
        manifest_path = case / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest.update(volatile)
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=False))
        _run("-m", "seized", "report", str(case))
    return fingerprint(case)


def record(root: Path) -> int:
    image = root / "evidence" / "demo.img"
    if not image.exists():
        _run("-m", "bench.demo_image", str(image))
    case = root / "case"
    if case.exists():
        prints = fingerprint(case)  # the scan's own render, kept to check the re-render below
        salt = (case / "report" / ".salt").read_bytes()
        _run("-m", "seized", "report", str(case))
        rerender = fingerprint(case)
        changed = sorted(k for k in prints if prints[k] != rerender.get(k))
        if changed:
            print("note: seized report re-render differs from the scan's render in", changed)
        prints = rerender
    else:
        prints = scan(image, case, None, None)
        salt = (case / "report" / ".salt").read_bytes()
    volatile = _volatile(json.loads((case / "manifest.json").read_text()))
    (root / "fingerprint.json").write_text(
        json.dumps({"salt": salt.hex(), "volatile": volatile, "files": prints}, indent=1))
    print(f"recorded {len(prints) - 1} fingerprints in {root / 'fingerprint.json'}")
    return 0


def check(root: Path) -> int:
    reference = json.loads((root / "fingerprint.json").read_text())
    with tempfile.TemporaryDirectory(prefix="same-output-") as tmp:
        case = Path(tmp) / "case"
        prints = scan(root / "evidence" / "demo.img", case, bytes.fromhex(reference["salt"]),
                      reference["volatile"])
        if "--keep" in sys.argv:
            shutil.copytree(case, root / "last-check", dirs_exist_ok=True)
    want = reference["files"]
    differ = sorted(k for k in want.keys() | prints.keys()
                    if want.get(k) != prints.get(k) and not k.endswith("(stable, for diffs)"))
    if not differ:
        print(f"same output: {len(want) - 1} files identical")
        return 0
    for key in differ:
        print(f"DIFFERS: {key}: {want.get(key)} -> {prints.get(key)}")
    if "manifest.json" in differ:
        old = json.loads(want["manifest.json (stable, for diffs)"])
        new = json.loads(prints["manifest.json (stable, for diffs)"])
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                print(f"  manifest {key}: {json.dumps(old.get(key))[:300]} -> {json.dumps(new.get(key))[:300]}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "check"))
    parser.add_argument("root", type=Path, help="folder holding evidence/demo.img, case/ and fingerprint.json")
    parser.add_argument("--keep", action="store_true", help="keep the checked case in ROOT/last-check")
    args = parser.parse_args(argv)
    return record(args.root) if args.action == "record" else check(args.root)


if __name__ == "__main__":
    sys.exit(main())
