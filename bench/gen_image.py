"""The benchmark image: a realistic seized spam server of a chosen size, and `planted.json` beside it.

Usage: `python -m bench.gen_image [--size 1G] [--seed 1] [OUT.img]` (default OUT is the cache,
`bench/out/images/<size>-s<seed>/seized.img`). Layout: GPT; partition 1 ext4 (4 KiB blocks, the
spam server, filled to about 80%, a few files deleted kernel-style so their content survives
only in unallocated blocks); partition 2 a small FAT32 (a USB stick's worth of files).

Images are cached by (size, seed, generator version): a rerun with the same key reuses the
image. The content comes from `bench.content`; partitioning, FAT and deletion from
`tests.imaging`. The ext4 builder is here, not in tests.imaging, because the test builder
forces `-T small` (1 KiB blocks, meant for tiny images), pins every file time to one epoch
and first copies the tree; for a gigabyte server image we want 4 KiB blocks, the 2010-2011
file times the content carries, and no extra copy.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import content
from tests import imaging
from tests.oracle import mmls_entries

GENERATOR_VERSION = 1
MIB = 1024 * 1024
REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "bench" / "out" / "images"


def parse_size(text: str) -> int:
    """`1G`, `512M`, `2GiB`, `1073741824` -> bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not m:
        raise ValueError(f"cannot read size {text!r} (use e.g. 512M, 1G, 4G)")
    unit = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m[2].upper()]
    return int(float(m[1]) * unit)


def size_label(size: int) -> str:
    for unit, name in ((1 << 30, "G"), (1 << 20, "M")):
        if size % unit == 0:
            return f"{size // unit}{name}"
    return str(size)


@dataclass(frozen=True)
class Layout:
    """Partition sizes (MiB) of a disk of `total_mib`, and the content volume for the ext4 one."""

    total_mib: int
    ext4_mib: int
    fat_mib: int
    fill_bytes: int


def layout_for(size: int, fill: float = 0.80) -> Layout:
    """GPT needs 1 MiB at each end; FAT32 needs >= 33 MiB; the rest is the ext4 data partition.

    `fill` is the target usage of the ext4 partition as `df` would show it; the content volume
    subtracts what mkfs itself takes (journal, inode tables; about 7% at 4 KiB blocks).
    """
    total_mib = size // MIB
    fat_mib = 40 if total_mib < 1024 else 64
    ext4_mib = total_mib - 2 - fat_mib
    if ext4_mib < 64:
        raise ValueError(f"image size {size_label(size)} is too small (need at least 128M)")
    overhead = 0.07 if ext4_mib >= 512 else 0.12
    fill_bytes = int(ext4_mib * MIB * (fill - overhead))
    return Layout(total_mib, ext4_mib, fat_mib, fill_bytes)


def ext4_4k_from_tree(tree: Path, dest: Path, size_mib: int, *, label: str = "data") -> Path:
    """mkfs.ext4 -d TREE with 4 KiB blocks, keeping the tree's own file times.

    UUID and hash seed are pinned (as in tests.imaging) so the same tree gives the same bytes.
    """
    with open(dest, "wb") as fh:
        fh.truncate(size_mib * MIB)
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC", "E2FSPROGS_FAKE_TIME": str(content.T_END),
           "SOURCE_DATE_EPOCH": str(content.T_END)}
    proc = subprocess.run(
        [imaging.tool("mkfs.ext4"), "-q", "-F", "-b", "4096", "-L", label, "-U", imaging.FIXED_UUID,
         "-E", f"hash_seed={imaging.FIXED_UUID},root_owner=0:0", "-d", str(tree), str(dest)],
        capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=1800)
    if proc.returncode != 0:
        raise imaging.ImagingError(f"mkfs.ext4 -d {tree} failed: {proc.stderr.decode(errors='replace').strip()}")
    return dest


def pin_ctimes(fs_image: Path, tree: Path, epoch: int | None = None) -> None:
    """Set each file's ctime and atime to its mtime, and every directory's times to one
    instant (or everything to `epoch`), with one debugfs run.

    mkfs.ext4 -d copies st_ctime from the source tree, i.e. the moment the tree was written,
    which no one can set from user space, and a directory's atime/mtime change as it is built
    and read: without this the same seed gives different bytes.
    """
    commands = []
    dir_time = epoch if epoch is not None else content.T_END
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = "/" + os.path.relpath(full, tree)
            if '"' in rel or "\n" in rel:
                continue
            if name in dirnames:  # a directory's times are those of its last change while building
                fields = {"atime": dir_time, "mtime": dir_time, "ctime": dir_time}
            else:
                t = epoch if epoch is not None else int(os.lstat(full).st_mtime)
                fields = {"atime": t, "ctime": t}
            commands += [f'sif "{rel}" {k} {v}' for k, v in fields.items()]
    commands += [f"sif / {k} {dir_time}" for k in ("atime", "mtime", "ctime")]
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC", "DEBUGFS_PAGER": "__none__", "PAGER": "cat",
           "E2FSPROGS_FAKE_TIME": str(content.T_END)}
    proc = subprocess.run([imaging.tool("debugfs"), "-w", "-f", "-", str(fs_image)], capture_output=True, env=env,
                          input=("\n".join(commands) + "\n").encode(), timeout=1800)
    errors = [line for line in proc.stderr.decode(errors="replace").splitlines()
              if line.strip() and not line.startswith("debugfs ")]
    if proc.returncode != 0 or errors:
        raise imaging.ImagingError(f"debugfs could not set ctimes in {fs_image}: {(errors or ['exit status'])[0]}")


def plant_deleted(p: content.Planter, scale: int) -> list[str]:
    """Files to be deleted after the file system is built: a harvest list, a combo list, a template.

    Returns their paths; `content` records their addresses/pairs with category/where `deleted`.
    """
    paths = [
        content.harvest_list(p, "/home/spam/lists/old/harvest_deleted.txt", max(50, scale), category="deleted")[0],
        content.combo_list(p, "/home/spam/combos/old/combo_deleted.txt", max(20, scale // 4), "email:pass",
                           where="deleted")[0],
        content.spam_template(p, "/home/spam/templates/old/tpl_deleted.txt")[0],
    ]
    return paths


def delete_files(p: content.Planter, fs_image: Path, paths: list[str]) -> None:
    """Delete kernel-style (inode truncated) so the content is only in unallocated blocks."""
    for path in paths:
        inode = imaging.delete_in_ext4(fs_image, path, wipe_extents=True)
        size = next(f["size"] for f in p.manifest["files"] if f["path"] == path and f["volume"] == p.volume)
        p.manifest["deleted"].append({"volume": p.volume, "path": path, "inode": inode, "size": size,
                                      "how": "debugfs rm + inode truncated (content only in unallocated blocks)"})
        for f in p.manifest["files"]:
            if f["path"] == path and f["volume"] == p.volume:
                f["deleted"] = True


def record_partitions(manifest: dict[str, Any], disk: Path, labels: list[str]) -> None:
    """Map our labels (`ext4`, `fat`) to TSK's view: volume id `gpt:<addr>`, start and length in bytes."""
    parts = [e for e in mmls_entries(disk) if e.allocated]
    manifest["partitions"] = [
        {"label": label, "volume": f"gpt:{e.index}", "start": e.start * imaging.SECTOR,
         "length": e.length * imaging.SECTOR, "description": e.description}
        for label, e in zip(labels, parts)]


def build(out: Path, size: int, seed: int = 1, *, quiet: bool = False) -> dict[str, Any]:
    """Build the image at `out` and `planted.json` beside it; return the manifest."""
    lay = layout_for(size)
    t0 = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    manifest: dict[str, Any] = {"generator": "bench.gen_image", "generator_version": GENERATOR_VERSION,
                                "seed": seed, "size": size, "image": out.name}
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".build-") as tmp:
        work = Path(tmp)
        p = content.Planter(work / "ext4", rng, "ext4", manifest)
        scale = max(500, lay.fill_bytes // 400_000)
        content.plant_core(p, scale)
        deleted = plant_deleted(p, scale)
        content.fill_bulk(p, lay.fill_bytes)
        fp = p.for_volume(work / "fat", "fat")
        content.fat_content(fp)
        t_content = time.monotonic()
        ext4 = ext4_4k_from_tree(p.root, work / "ext4.img", lay.ext4_mib)
        pin_ctimes(ext4, p.root)
        delete_files(p, ext4, deleted)
        shutil.rmtree(p.root)  # the tree is in the ext4 now: free its space before the disk is written (16 GiB)
        fat = imaging.fat_from_tree(fp.root, work / "fat.img", lay.fat_mib)
        t_fs = time.monotonic()
        tmp_out = out.with_name(out.name + ".part")
        imaging.partitioned_disk(tmp_out, [ext4, fat], label="gpt")
        ext4.unlink()
        # pad to the exact requested size (partitioned_disk ends 1 MiB after the last partition)
        if tmp_out.stat().st_size < size:
            with open(tmp_out, "r+b") as fh:
                fh.truncate(size)
        os.replace(tmp_out, out)
    record_partitions(manifest, out, ["ext4", "fat"])
    manifest["build_seconds"] = {"content": round(t_content - t0, 1), "file_systems": round(t_fs - t_content, 1),
                                 "total": round(time.monotonic() - t0, 1)}
    content.write_manifest(manifest, out.parent / "planted.json")
    if not quiet:
        s = manifest["summary"]
        print(f"{out}: {size_label(out.stat().st_size)} in {manifest['build_seconds']['total']} s; "
              f"{s['files']} files, {s['bytes'] >> 20} MiB content, {s['emails_total']} addresses, "
              f"{s['credentials']} credential pairs, {s['onions_valid']}+{s['onions_invalid']} onions, "
              f"{s['deleted']} deleted", file=sys.stderr)
    return manifest


def cached(out: Path, size: int, seed: int) -> bool:
    """True when `out` and its planted.json were built with this (size, seed, generator version)."""
    planted = out.parent / "planted.json"
    if not (out.is_file() and planted.is_file()):
        return False
    try:
        with open(planted, encoding="utf-8") as fh:
            head = json.load(fh)
    except (OSError, ValueError):
        return False
    return (head.get("size") == size and head.get("seed") == seed
            and head.get("generator_version") == GENERATOR_VERSION and out.stat().st_size == size)


def default_path(size: int, seed: int) -> Path:
    return CACHE / f"{size_label(size)}-s{seed}" / "seized.img"


def ensure(size: int, seed: int = 1, out: Path | None = None, *, quiet: bool = False) -> Path:
    """The image for (size, seed): reused when cached, built otherwise."""
    out = out or default_path(size, seed)
    if cached(out, size, seed):
        if not quiet:
            print(f"{out}: cached", file=sys.stderr)
        return out
    build(out, size, seed, quiet=quiet)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gen_image", description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, help="image path (default: the cache under bench/out/images)")
    ap.add_argument("--size", default="1G", help="image size, e.g. 512M, 1G, 2G, 4G (default 1G)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = ap.parse_args(argv)
    try:
        size = parse_size(args.size)
        out = args.out or default_path(size, args.seed)
        if args.force:
            build(out, size, args.seed)
        else:
            ensure(size, args.seed, out)
    except (ValueError, imaging.ImagingError, OSError) as exc:
        print(f"gen_image: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
