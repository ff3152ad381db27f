"""Throughput of each extractor and of the whole registry (a script, not a test).

    .venv/bin/python -m bench.bench_extractors [--mib 64]

Inputs: random binary, and text-heavy data (web-server logs and HTML with some addresses,
built here from templates with a fixed seed); with --utf16 also that text in UTF-16LE.
Data is fed in 16 MiB windows, as the pipeline does. Prints MB/s (1 MB = 2**20 bytes) of *CPU time* (`time.process_time()`): the
box is shared with other jobs, and wall time would measure their load, not the extractors.
Add --profile NAME to cProfile one extractor; --spam adds `harvest` and `logs` inputs made by `bench.content` (see `spam_server`);
--digest prints a SHA-256 of every extractor's
findings (repr) per input, so a speed-up can be checked to leave output unchanged.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import random
import time

from extractors.base import Source
from extractors.registry import EXTRACTORS

WINDOW = 16 << 20
SRC = Source("bench", "/var/log/bench.log", None, "bench.log", None)


def text_heavy(size: int, seed: int = 1) -> bytes:
    rnd = random.Random(seed)
    words = ("the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet consectetur adipiscing "
             "elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua").split()
    out, total = [], 0
    while total < size:
        r = rnd.random()
        if r < 0.45:
            line = (f'10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)} - - '
                    f'[12/Mar/2024:10:{rnd.randrange(60):02d}:{rnd.randrange(60):02d} +0000] "GET /'
                    f'{rnd.choice(words)}/index.php?id={rnd.randrange(9999)} HTTP/1.1" 200 {rnd.randrange(99999)} "-" '
                    f'"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.{rnd.randrange(9999)}.1"\n')
        elif r < 0.85:
            line = "<p class=\"body\">" + " ".join(rnd.choice(words) for _ in range(14)) + ".</p>\n"
        elif r < 0.95:
            line = f'<a href="https://www.{rnd.choice(words)}-shop.com/p/{rnd.randrange(999)}">{rnd.choice(words)}</a>\n'
        else:
            line = f"Contact: {rnd.choice(words)}.{rnd.choice(words)}{rnd.randrange(99)}@example-{rnd.randrange(50)}.org\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def spam_server(size: int, seed: int = 1) -> dict[str, bytes]:
    """Inputs from `bench.content` (the generator of the bench image): `harvest`, address lists
    (UTF-8, one address per line, some with names: the dense case of issue 17), and `logs`,
    apache and postfix logs, each `size` bytes (lists concatenated until the size is reached)."""
    import tempfile
    from pathlib import Path

    from bench import content

    with tempfile.TemporaryDirectory() as tmp:
        p = content.Planter(root=Path(tmp), rng=random.Random(seed))
        lists, logs = [], []
        got = 0
        while got < size:
            _, data = content.harvest_list(p, f"/l/{got}.txt", 50_000, write=False)
            lists.append(data)
            got += len(data)
        got = 0
        while got < size:
            for kind in ("apache", "mail"):
                data = content.log_text(p, 4 << 20, kind)
                logs.append(data)
                got += len(data)
    return {"harvest": b"".join(lists)[:size], "logs": b"".join(logs)[:size]}


def run(ext, data: bytes, digest=None) -> tuple[float, int]:
    n = 0
    # The pipeline reads a window once and hands the same bytes to every extractor, so the
    # slicing (a 16 MiB copy) is not the extractor's cost: done before the clock starts.
    windows = [(pos, data[pos:pos + WINDOW]) for pos in range(0, len(data), WINDOW)]
    t0 = time.process_time()
    for pos, window in windows:
        if ext.whole_object and len(window) < len(data):
            # whole-object extractors only run on objects that fit one window; treat each
            # window as such an object to bound their cost the same way.
            pass
        for f in ext.extract(window, Source("bench", SRC.path, None, SRC.name, len(data), pos)):
            n += 1
            if digest is not None:
                digest.update(repr((pos, f)).encode("utf-8", "surrogatepass"))
    return time.process_time() - t0, n


def run_columns(ext, data: bytes) -> tuple[float, int]:
    """`run` through the extractor's columnar path (issue 17), as `seized.scanning` uses it:
    column blocks where it gives them, the generator where it declines."""
    windows = [(pos, data[pos:pos + WINDOW]) for pos in range(0, len(data), WINDOW)]
    n = 0
    t0 = time.process_time()
    for pos, window in windows:
        src = Source("bench", SRC.path, None, SRC.name, len(data), pos)
        blocks = ext.columns(window, src)
        if blocks is None:
            n += sum(1 for _ in ext.extract(window, src))
        else:
            n += sum(len(b["offset"]) for b in blocks)
    return time.process_time() - t0, n


def run_registry(data: bytes) -> float:
    """CPU seconds for the whole registry as the pipeline runs it: every extractor on a window,
    then the next window (so per-window work that extractors share is counted once)."""
    windows = [(pos, data[pos:pos + WINDOW]) for pos in range(0, len(data), WINDOW)]
    t0 = time.process_time()
    for pos, window in windows:
        src = Source("bench", SRC.path, None, SRC.name, len(data), pos)
        for ext in EXTRACTORS:
            for _ in ext.extract(window, src):
                pass
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--profile", default=None)
    ap.add_argument("--digest", action="store_true", help="print a SHA-256 of each extractor's findings")
    ap.add_argument("--only", default=None, help="comma-separated extractor names")
    ap.add_argument("--utf16", action="store_true", help="also run on text-heavy data in UTF-16LE")
    ap.add_argument("--inputs", default=None, help="comma-separated inputs to run (binary, text, utf16, harvest, logs)")
    ap.add_argument("--spam", action="store_true", help="also run on bench.content harvest lists and logs")
    args = ap.parse_args()
    size = args.mib << 20
    inputs = {"binary": random.Random(7).randbytes(size), "text": text_heavy(size)}  # seeded: digests comparable
    if args.utf16:  # the same text as UTF-16LE (Windows files, memory), `size` bytes of it
        inputs["utf16"] = text_heavy(size // 2).decode("ascii").encode("utf-16-le")
    if args.spam:
        inputs.update(spam_server(size))
    if args.inputs:
        keep = set(args.inputs.split(","))
        inputs = {k: v for k, v in inputs.items() if k in keep}
    if args.profile:
        ext = next(e for e in EXTRACTORS if e.name == args.profile)
        for name, data in inputs.items():
            prof = cProfile.Profile()
            prof.runcall(run, ext, data)
            print(f"--- {ext.name} on {name}")
            pstats.Stats(prof).sort_stats("tottime").print_stats(12)
        return
    only = set(args.only.split(",")) if args.only else None
    for name, data in inputs.items():
        total = 0.0
        for ext in EXTRACTORS:
            if only and ext.name not in only:
                continue
            h = hashlib.sha256() if args.digest else None
            dt, n = run(ext, data, h)
            total += dt
            extra = f"  {h.hexdigest()[:16]}" if h is not None else ""
            print(f"{name:6s} {ext.name:15s} {args.mib / dt:8.1f} MB/s  {n:8d} findings{extra}  (CPU time)")
            if ext.columns is not None:  # the path the pipeline takes; `total` keeps the generator's
                cdt, cn = run_columns(ext, data)
                print(f"{name:6s} {ext.name + ' cols':15s} {args.mib / cdt:8.1f} MB/s  {cn:8d} findings  (CPU time, "
                      "columnar path)")
        print(f"{name:6s} {'sum of parts':15s} {args.mib / total:8.1f} MB/s  (CPU time)")
        if not only:
            print(f"{name:6s} {'REGISTRY':15s} {args.mib / run_registry(data):8.1f} MB/s  (CPU time, per window)")


if __name__ == "__main__":
    main()
