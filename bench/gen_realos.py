"""The real-OS benchmark image: this machine's own system files as one ext4 file system (issue 17).

Usage: `python -m bench.gen_realos [--force] [OUT.img]` (default OUT is the cache,
`bench/out/images/realos-v<version>/realos.img`, with `realos.json` beside it).

Why: real evidence is mostly an ordinary operating system, tens of thousands of files of a
few KiB, and the scan's per-file overhead only shows on such a tree. `tests.realsystem.machine_tree`
copies a bounded share of each of `ROOTS` (regular files an unprivileged user may read, none
over 8 MiB, sorted walk, so the same machine gives the same tree; no secrets: host keys and
/etc/shadow are unreadable to others and left out); `tests.realsystem.ext4_image` makes the
image with `mkfs.ext4 -d`, times and UUID pinned. Nothing is planted: the truth is the number
of files and bytes, recorded in realos.json. The image is cached: once built it stays the
same even when packages are installed on the machine later (delete it to rebuild).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import gen_image
from tests import imaging, realsystem

GENERATOR_VERSION = 1
# A root file system's parts; each gets SHARE bytes at most (the small ones are copied whole).
ROOTS = ("/etc", "/var/lib/dpkg", "/usr/bin", "/usr/sbin", "/usr/include", "/usr/libexec", "/usr/share",
         "/usr/lib/x86_64-linux-gnu", "/usr/lib/python3", "/usr/lib/python3.11", "/usr/lib/gcc")
SHARE = 320 * 1024 * 1024


def default_path() -> Path:
    return gen_image.CACHE / f"realos-v{GENERATOR_VERSION}" / "realos.img"


def _count(tree: Path) -> dict[str, int]:
    files = dirs = links = size = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        dirs += len(dirnames)
        for name in filenames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                links += 1
            else:
                files += 1
                size += os.lstat(full).st_size
    return {"files": files, "directories": dirs, "symlinks": links, "file_bytes": size}


def build(out: Path, *, quiet: bool = False) -> dict[str, Any]:
    """Copy the machine's system files, make the ext4 image at `out`, write realos.json beside it."""
    t0 = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    roots = tuple(r for r in ROOTS if Path(r).is_dir())
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".build-") as tmp:
        tree = realsystem.machine_tree(Path(tmp) / "root", roots, budget=SHARE * len(roots))
        counts = _count(tree)
        t_copy = time.monotonic()
        part = out.with_name(out.name + ".part")
        realsystem.ext4_image(tree, part, label="realos")
        os.replace(part, out)
    meta = {"generator": "bench.gen_realos", "generator_version": GENERATOR_VERSION, "roots": list(roots),
            "share_bytes_per_root": SHARE, **counts, "image_bytes": out.stat().st_size,
            "build_seconds": {"copy": round(t_copy - t0, 1), "total": round(time.monotonic() - t0, 1)},
            "built_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (out.parent / "realos.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    if not quiet:
        print(f"{out}: {meta['image_bytes'] / 1e9:.2f} GB in {meta['build_seconds']['total']} s; "
              f"{counts['files']:,} files ({counts['file_bytes'] / 1e9:.2f} GB), {counts['symlinks']:,} symlinks, "
              f"{counts['directories']:,} directories", file=sys.stderr)
    return meta


def cached(out: Path) -> bool:
    meta = out.parent / "realos.json"
    if not (out.is_file() and meta.is_file()):
        return False
    try:
        head = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return head.get("generator_version") == GENERATOR_VERSION and head.get("image_bytes") == out.stat().st_size


def ensure(out: Path | None = None, *, quiet: bool = False) -> Path:
    """The real-OS image: reused when cached, built otherwise."""
    out = out or default_path()
    if cached(out):
        if not quiet:
            print(f"{out}: cached", file=sys.stderr)
        return out
    build(out, quiet=quiet)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gen_realos", description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, help="image path (default: the cache under bench/out/images)")
    ap.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = ap.parse_args(argv)
    try:
        out = args.out or default_path()
        if args.force:
            build(out)
        else:
            ensure(out)
    except (realsystem.RealSystemUnavailable, imaging.ImagingError, OSError) as exc:
        print(f"gen_realos: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
