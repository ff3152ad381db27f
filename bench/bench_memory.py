"""Peak memory and CPU of one worker scanning a dense object (a script, not a test).

    .venv/bin/python -m bench.bench_memory [--mib 64,256] [--mode spill,held]

The object is a harvest list from `bench.content` (one address a line, the dense case of
issue 17: ~40,000 addresses per MiB), scanned the way `seized.worker` scans a file: 16 MiB
windows, every registered extractor, rows into `seized.scanning.Rows`, the harvest judgement,
then the unit's tables written (`spill`: into a folder as the journal gets them, runs spilled
at SPILL_ROWS; `held`: the whole unit's tables in memory, then IPC bytes, as before issue 17).
Each size and mode runs in a fresh process; prints peak RSS (ru_maxrss) and CPU seconds
(process_time), since wall time on a shared machine measures the other jobs.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(mib: int, mode: str, source: str) -> dict:
    from extractors.harvest import judge_harvest_list
    from extractors.registry import EXTRACTORS
    from seized.scanning import NO_MAP, AddressTally, ObjectContext, Rows, scan_window, windows
    from seized.worker import _to_arrow, _write_runs, ipc_bytes

    size = mib << 20
    data = Path(source).read_bytes()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ctx = ObjectContext("v1", 12, None, "/home/spam/lists/harvest.txt", None, "harvest.txt", size, NO_MAP)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.process_time()
        rows = Rows(spill_dir=Path(tmp) if mode == "spill" else None)
        addresses = AddressTally()
        blocks = (data[i:i + (16 << 20)] for i in range(0, len(data), 16 << 20))
        for window in windows(blocks):
            scan_window(window, ctx, EXTRACTORS, rows, addresses)
        verdict = judge_harvest_list(addresses.addresses, size, addresses.bare)  # as seized.worker._harvest
        del addresses
        if mode == "spill":
            for name in rows.tables():
                _write_runs(Path(tmp) / f"{name}.arrow", name, rows)
            out = sum(p.stat().st_size for p in Path(tmp).iterdir())
        else:
            out = sum(len(ipc_bytes(t)) for t in _to_arrow(rows).values())
        cpu = time.process_time() - t0
    return {"mib": mib, "mode": mode, "cpu_s": round(cpu, 2), "cpu_s_per_mib": round(cpu / mib, 3),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "rss_before_scan_mib": base_rss // 1024, "table_bytes": out, "harvest": verdict is not None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", default="64,256")
    ap.add_argument("--mode", default="spill,held")
    ap.add_argument("--spill-rows", type=int, default=None, help="seized.scanning.SPILL_ROWS for the run")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--make", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.spill_rows:
        import seized.scanning

        seized.scanning.SPILL_ROWS = args.spill_rows
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.one[2])))
        return
    if args.make:
        from bench.bench_extractors import spam_server

        Path(args.make[1]).write_bytes(spam_server(int(args.make[0]) << 20)["harvest"])
        return
    for mib in map(int, args.mib.split(",")):
        # The input is made in a process of its own: a child's ru_maxrss starts at its parent's.
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "harvest.txt"
            subprocess.run([sys.executable, "-m", "bench.bench_memory", "--make", str(mib), str(source)], check=True)
            for mode in args.mode.split(","):
                extra = ["--spill-rows", str(args.spill_rows)] if args.spill_rows else []
                out = subprocess.run([sys.executable, "-m", "bench.bench_memory", *extra, "--one", str(mib), mode,
                                      str(source)], capture_output=True, text=True, check=True).stdout
                r = json.loads(out)
                print(f"{r['mib']:5d} MiB {r['mode']:5s}  peak RSS {r['peak_rss_mib']:6d} MiB (before the scan "
                      f"{r['rss_before_scan_mib']} MiB)  CPU {r['cpu_s']:7.2f} s = {r['cpu_s_per_mib']:.3f} s/MiB",
                      flush=True)


if __name__ == "__main__":
    main()
