"""The demo image for `make demo`: a small GPT disk with a spam server on ext4 and a FAT32 stick.

Usage: `python -m bench.demo_image OUT.img` writes OUT.img (about 60 MiB) and `planted.json`
beside it, in a few seconds. Partition 1 (ext4) holds harvest lists (one in UTF-16LE),
combo lists in five formats, mailer templates, a torrc with two hidden services and their
directories (plus a stale one with a bad checksum), archives with lists inside (one nested
`.zip` > `.tar.gz`), logs, web pages, binaries, decoys, and one list deleted kernel-style so
that its addresses survive only in unallocated blocks. Partition 2 (FAT32) holds a few files.

Built with the same builders the tests use (`tests.imaging`), so the bytes are reproducible.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from bench import content
from bench.gen_image import delete_files, pin_ctimes, record_partitions
from tests import imaging

EXT4_MIB = 24
FAT_MIB = 34  # FAT32 needs >= 33 MiB with 512-byte clusters
CONTENT_BYTES = 12 * 1024 * 1024
DELETED_PATH = "/home/spam/lists/old/harvest_2010_deleted.txt"
# A harmless stand-in whose MD5 is in the DEMO ONLY notable set rules/hashsets/demo_planted.md5,
# so the demo's declaration shows a notable file (`make demo` passes that set).
DEMO_SAMPLE_PATH = "/home/spam/.cache/upd/kelihos_a.exe"
DEMO_SAMPLE = (b"MZ\x90\x00\x03\x00\x00\x00 seized demo: a harmless stand-in for the Rustock dropper's payload "
               b"(Backdoor:Win32/Kelihos.A). Not malware. Its MD5 is in rules/hashsets/demo_planted.md5.\n")
DEMO_SET = Path(__file__).resolve().parents[1] / "rules" / "hashsets" / "demo_planted.md5"


def build(out: Path, seed: int = 7) -> dict:
    """Write the demo disk to `out` and `planted.json` beside it; return the manifest."""
    t0 = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"generator": "bench.demo_image", "seed": seed, "image": out.name}
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="seized-demo-") as tmp:
        work = Path(tmp)
        p = content.Planter(work / "ext4", rng, "ext4", manifest)
        content.plant_core(p, 400)
        content.harvest_list(p, DELETED_PATH, 150, category="deleted")
        content.fill_bulk(p, CONTENT_BYTES)
        _plant_demo_sample(p)
        fp = p.for_volume(work / "fat", "fat")
        content.fat_content(fp)
        ext4 = imaging.ext4_from_tree(p.root, work / "ext4.img", EXT4_MIB)
        pin_ctimes(ext4, p.root, imaging.FIXED_EPOCH)  # ext4_from_tree leaves the build time in ctime
        delete_files(p, ext4, [DELETED_PATH])
        fat = imaging.fat_from_tree(fp.root, work / "fat.img", FAT_MIB)
        imaging.partitioned_disk(out, [ext4, fat], label="gpt")
    record_partitions(manifest, out, ["ext4", "fat"])
    content.write_manifest(manifest, out.parent / "planted.json")
    s = manifest["summary"]
    print(f"{out}: {out.stat().st_size >> 20} MiB in {time.monotonic() - t0:.1f} s; {s['files']} files, "
          f"{s['emails_total']} addresses, {s['credentials']} credential pairs, "
          f"{s['onions_valid']} valid + {s['onions_invalid']} bad onions, {s['deleted']} deleted; "
          f"truth in {out.parent / 'planted.json'}", file=sys.stderr)
    return manifest


def _plant_demo_sample(p: content.Planter) -> None:
    """Planted last, so the other contents (drawn from the same RNG) stay as they were."""
    import hashlib

    if hashlib.md5(DEMO_SAMPLE).hexdigest() not in DEMO_SET.read_text():
        raise RuntimeError(f"{DEMO_SET} does not hold the MD5 of DEMO_SAMPLE")
    p.write(DEMO_SAMPLE_PATH, DEMO_SAMPLE, "notable_sample")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.demo_image", description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="where to write the image, e.g. demo/demo.img")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    try:
        build(args.out, args.seed)
    except (imaging.ImagingError, OSError) as exc:
        print(f"demo_image: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
