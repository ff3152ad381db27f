"""Precision on real systems: false findings per table on clean systems, recall on planted ones.

Why: a declaration is only as good as its false findings are few, and real evidence is mostly
an ordinary operating system. This builds (tests/realsystem.py) a clean hosting server from
real Debian packages and a bounded copy of this machine's own system files, scans each with
`seized scan`, and counts what the scan reports on them: every such row is a false finding.
Then the same server with a spam operation planted on top: every planted artefact must be
found. When the `files` table has a `known_status` column (known-file classification), the
share of regular files classified `known` is printed too.

    python -m bench.precision [--no-machine] [--out bench/out/precision]

Images are kept in OUT/images between runs (delete the folder to rebuild them); packages come
from $SEIZED_DEB_CACHE (see docs/precision.md).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from tests import realsystem

OUT = Path(__file__).resolve().parent / "out" / "precision"
CLEAN_TABLES = ("spam_templates", "harvest_lists", "tor", "credentials", "yara")


def _table(case: Path, name: str) -> pa.Table | None:
    path = case / "tables" / name
    return ds.dataset(path, format="parquet").to_table() if path.is_dir() else None


def false_findings(case: Path) -> dict[str, int]:
    """Rows a clean system should not have, per table.

    tor: active directives and active hidden services (commented-out lines of a stock torrc
    and onion addresses quoted in documentation are not claims about this system);
    yara: hits of rules not tagged `software` (those say what is installed).
    """
    out: dict[str, int] = {}
    for name in CLEAN_TABLES:
        t = _table(case, name)
        if t is None:
            out[name] = 0
            continue
        if name == "tor":
            kind = t.column("kind").to_pylist()
            active = t.column("active").to_pylist()
            out[name] = sum(1 for k, a in zip(kind, active) if k in ("directive", "hidden_service") and a)
        elif name == "yara":
            out[name] = sum(1 for tags in t.column("tags").to_pylist() if "software" not in (tags or []))
        else:
            out[name] = t.num_rows
    return out


def software_hits(case: Path) -> int:
    t = _table(case, "yara")
    return 0 if t is None else sum(1 for tags in t.column("tags").to_pylist() if "software" in (tags or []))


def recall(case: Path, planted: realsystem.Planted) -> dict[str, tuple[int, int]]:
    """(found, planted) per category of `planted`."""
    def rows(name: str, *cols: str) -> list[tuple]:
        t = _table(case, name)
        return [] if t is None else list(zip(*(t.column(c).to_pylist() for c in cols)))

    templates = {p for (p,) in rows("spam_templates", "path")}
    harvest = {p for (p,) in rows("harvest_lists", "path")}
    creds = {(p, u.lower()) for p, u in rows("credentials", "path", "username")}
    tor = rows("tor", "kind", "active", "hs_dir", "onion", "valid")
    hs = {d for k, a, d, _, _ in tor if k == "hidden_service" and a}
    onions = {o for k, _, _, o, v in tor if o and v}
    yara = set(rows("yara", "path", "rule"))
    return {
        "spam_templates": (sum(p in templates for p in planted.spam_templates), len(planted.spam_templates)),
        "harvest_lists": (sum(p in harvest for p in planted.harvest_lists), len(planted.harvest_lists)),
        "credentials": (sum((p, u.lower()) in creds for p, u in planted.credentials), len(planted.credentials)),
        "tor hidden services": (sum(d in hs for d in planted.hidden_service_dirs), len(planted.hidden_service_dirs)),
        "tor onions": (sum(o in onions for o in planted.onions), len(planted.onions)),
        "yara": (sum(hit in yara for hit in planted.yara), len(planted.yara)),
    }


def known_share(case: Path) -> float | None:
    """Share of allocated regular files whose `known_status` is `known` (None: no such column)."""
    t = _table(case, "files")
    if t is None or "known_status" not in t.column_names:
        return None
    regular = t.filter(pc.and_(pc.equal(t.column("type"), "file"), pc.equal(t.column("allocated"), True)))
    if regular.num_rows == 0:
        return None
    known = pc.sum(pc.equal(regular.column("known_status"), "known").cast(pa.int64())).as_py() or 0
    return known / regular.num_rows


def scan(image: Path, case: Path) -> float:
    """`seized scan IMAGE -o CASE --no-report` in a child process; its wall time in seconds."""
    shutil.rmtree(case, ignore_errors=True)
    case.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "seized", "scan", str(image), "-o", str(case), "--no-report"],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"seized scan {image} exited {proc.returncode}: {proc.stderr.strip()[-600:]}")
    return time.monotonic() - start


def build_images(out: Path, machine: bool = True) -> dict[str, tuple[Path, realsystem.Planted | None]]:
    """The clean server, the planted server and (optionally) the clean machine, built once."""
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    result: dict[str, tuple[Path, realsystem.Planted | None]] = {}
    clean, planted_img = images / "server-clean.img", images / "server-planted.img"
    truth_file = images / "server-planted.json"
    if not (clean.exists() and planted_img.exists() and truth_file.exists()):
        tree = images / "server-tree"
        shutil.rmtree(tree, ignore_errors=True)
        realsystem.server_tree(tree)
        realsystem.ext4_image(tree, clean)
        truth = realsystem.plant(tree)
        realsystem.ext4_image(tree, planted_img)
        truth_file.write_text(json.dumps(truth.__dict__, indent=1))
        shutil.rmtree(tree)
    data = json.loads(truth_file.read_text())
    truth = realsystem.Planted(**{k: tuple(tuple(x) if isinstance(x, list) else x for x in v)
                                  if isinstance(v, list) else v for k, v in data.items()})
    result["server (clean)"] = (clean, None)
    result["server (planted)"] = (planted_img, truth)
    if machine:
        img = images / "machine-clean.img"
        if not img.exists():
            tree = images / "machine-tree"
            shutil.rmtree(tree, ignore_errors=True)
            realsystem.machine_tree(tree)
            realsystem.ext4_image(tree, img)
            shutil.rmtree(tree)
        result["machine (clean)"] = (img, None)
    return result


def run(out: Path, machine: bool = True) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, (image, truth) in build_images(out, machine).items():
        case = out / "cases" / (name.split()[0] + ("-planted" if truth else "-clean"))
        print(f"  scanning {name}: {image} ...", file=sys.stderr, flush=True)
        wall = scan(image, case)
        entry: dict[str, Any] = {"image": str(image), "image_bytes": image.stat().st_size, "scan_s": round(wall, 1),
                                 "known_share": known_share(case), "software_hits": software_hits(case)}
        if truth is None:
            entry["false_findings"] = false_findings(case)
        else:
            entry["recall"] = {k: list(v) for k, v in recall(case, truth).items()}
        results[name] = entry
    return results


def print_results(results: dict[str, Any]) -> None:
    clean = [n for n, r in results.items() if "false_findings" in r]
    planted = [n for n, r in results.items() if "recall" in r]
    head = f"{'table':<22}" + "".join(f"{'false: ' + n:>26}" for n in clean) + "".join(f"{'recall: ' + n:>28}" for n in planted)
    print(head)
    print("-" * len(head))
    categories = list(CLEAN_TABLES) + [k for n in planted for k in results[n]["recall"] if k not in CLEAN_TABLES]
    for cat in dict.fromkeys(categories):
        line = f"{cat:<22}"
        for n in clean:
            v = results[n]["false_findings"].get(cat)
            line += f"{'' if v is None else v:>26}"
        for n in planted:
            fp = results[n]["recall"].get(cat)
            line += f"{'' if fp is None else f'{fp[0]}/{fp[1]} ({100 * fp[0] / fp[1]:.0f} %)' if fp[1] else '-':>28}"
        print(line)
    line = f"{'files known':<22}"
    for n in clean + planted:
        share = results[n]["known_share"]
        line += f"{'n/a (no known_status)' if share is None else f'{100 * share:.1f} %':>{26 if n in clean else 28}}"
    print(line)
    line = f"{'yara software (info)':<22}"
    for n in clean + planted:
        line += f"{results[n]['software_hits']:>{26 if n in clean else 28}}"
    print(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.precision", description=__doc__.splitlines()[0])
    ap.add_argument("--no-machine", action="store_true", help="leave out the copy of this machine's files")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    try:
        results = run(args.out, machine=not args.no_machine)
    except realsystem.RealSystemUnavailable as exc:
        print(f"bench.precision: skipped: {exc}", file=sys.stderr)
        return 0
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"bench.precision: error: {exc}", file=sys.stderr)
        return 1
    print_results(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"\nresults: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
