"""Throughput of the shipped YARA rule set: yara-python (as the pipeline uses it) vs the `yara` CLI.

Usage: `python -m bench.bench_yara [--mib 256] [--rounds 3] [--per-file]`

Builds one deterministic buffer of mixed server content (random binary, web-server log lines,
HTML pages, a few planted hits), scans it single-threaded with the compiled shipped set through
`extractors.yara_scan.scan_yara`, then runs the `yara` CLI on the same bytes (written to a temp
file) with the same rule files and externals, and prints MB/s for both and their ratio.
Times are CPU seconds of the scanning process (process_time, and rusage of the CLI child), so
other work on the machine inflates them less than wall time; the CLI time has its own
rule-compile time subtracted (measured on an empty file).
Target: the shipped set >= 200 MB/s single-threaded. `--per-file` also prints each rule file alone.
"""
from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yara

from extractors.yara_scan import YaraFinding, scan_yara, yara_externals
from rules import RULES_DIR, shipped_rule_files
from seized.ruleset import EXTERNAL_DEFAULTS, load_rule_set

TARGET_MBS = 200.0
CHUNK = 1 << 20

PLANTS = [
    b"<?php @eval($_POST['x']);?>",
    b"HiddenServiceDir /var/lib/tor/shop/\nHiddenServicePort 80 127.0.0.1:8080\n",
    b"== ed25519v1-secret: type0 ==\x00\x00\x00",
    b"Dear [-emailuser-], order [-randomstring-]",
    b"Subject: invoice %RND_NUM[2,2]%",
    b"-----BEGIN OPENSSH PRIVATE KEY-----",
]


def mixed_data(size: int, seed: int = 20110316) -> bytes:
    """`size` bytes: 40% random binary, 30% access-log lines, 30% HTML, plus planted hits."""
    rnd = random.Random(seed)
    log = (
        b'10.%d.%d.%d - - [10/Mar/2011:13:55:36 +0000] "GET /shop/index.php?id=%d HTTP/1.1" 200 %d '
        b'"http://example.com/" "Mozilla/5.0 (Windows NT 6.1; rv:2.0) Gecko/20100101 Firefox/4.0"\n'
    )
    html = (
        b'<div class="item"><a href="https://shop.example.com/p/%d">Product %d</a> <span class="price">'
        b'$%d.99</span><script>var el = document.getElementById("c%d"); el.value = "%d";</script></div>\n'
    )
    parts: list[bytes] = []
    total = 0
    while total < size:
        k = rnd.random()
        if k < 0.4:
            block = rnd.randbytes(CHUNK)
        elif k < 0.7:
            block = b"".join(
                log % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256), rnd.randrange(10**5), rnd.randrange(10**4))
                for _ in range(CHUNK // 180)
            )
        else:
            block = b"".join(html % (i, i, rnd.randrange(999), i, i) for i in range(CHUNK // 170))
        block = block + b"\n" + PLANTS[len(parts) % len(PLANTS)] + b"\n"
        parts.append(block)
        total += len(block)
    return b"".join(parts)[:size]


def bench_python(rules: yara.Rules, data: bytes, rounds: int) -> tuple[float, int]:
    best = float("inf")
    hits = 0
    ext = yara_externals("/bench/mixed.bin", None, "")
    for _ in range(rounds):
        start = time.process_time()
        out = list(scan_yara(rules, data, ext, timeout_s=600, cap_per_rule=10_000))
        best = min(best, time.process_time() - start)
        hits = sum(isinstance(f, YaraFinding) for f in out)
    return len(data) / best / 1e6, hits


def bench_cli(target: Path, empty: Path, rounds: int) -> float | None:
    exe = shutil.which("yara")
    if exe is None:
        return None
    args = [exe, "-w", "-s"]
    for key, value in EXTERNAL_DEFAULTS.items():
        args += ["-d", f"{key}={value}"]
    for p in shipped_rule_files():
        ns = "seized/" + p.relative_to(RULES_DIR).with_suffix("").as_posix()
        args.append(f"{ns}:{p}")

    def run(path: Path) -> float:
        """CPU seconds (user + system) of one CLI run: robust when other work shares the cores."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(args + [str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"yara CLI failed: {proc.stderr.decode(errors='replace').strip()}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    run(target)  # warm the page cache
    compile_s = min(run(empty) for _ in range(rounds))
    scan_s = min(run(target) for _ in range(rounds))
    return target.stat().st_size / max(scan_s - compile_s, 1e-9) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--per-file", action="store_true")
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    data = mixed_data(a.mib << 20)
    print(f"data: {len(data) >> 20} MiB mixed (built in {time.perf_counter() - t0:.1f} s)")
    rs = load_rule_set([], include_default=True)
    rules = rs.rules()
    print(f"rule set: {rs.rule_count} rules in {len(rs.sources)} files, sha256 {rs.sha256[:16]}")

    py_mbs, hits = bench_python(rules, data, a.rounds)
    print(f"yara-python (shipped set, scan_yara): {py_mbs:8.1f} MB/s  ({hits} findings)")

    with tempfile.TemporaryDirectory(prefix="bench_yara_") as tmp:
        target = Path(tmp) / "mixed.bin"
        target.write_bytes(data)
        empty = Path(tmp) / "empty.bin"
        empty.write_bytes(b"")
        try:
            cli_mbs = bench_cli(target, empty, a.rounds)
        except RuntimeError as exc:
            print(str(exc))
            cli_mbs = None
    if cli_mbs is None:
        print("yara CLI: not available")
    else:
        version = subprocess.run(["yara", "--version"], capture_output=True, text=True).stdout.strip()
        print(f"yara CLI {version} (same rule files):   {cli_mbs:8.1f} MB/s")
        print(f"ratio yara-python / CLI: {py_mbs / cli_mbs:.2f}")

    if a.per_file:
        sample = data[: 64 << 20]
        for p in shipped_rule_files():
            r = yara.compile(filepath=str(p), externals=EXTERNAL_DEFAULTS)
            best = float("inf")
            for _ in range(a.rounds):
                start = time.process_time()
                r.match(data=sample, externals=EXTERNAL_DEFAULTS)
                best = min(best, time.process_time() - start)
            print(f"  {len(sample) / best / 1e6:8.1f} MB/s  {p.relative_to(RULES_DIR).as_posix()} alone")

    verdict = "meets" if py_mbs >= TARGET_MBS else "MISSES"
    print(f"target {TARGET_MBS:.0f} MB/s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
