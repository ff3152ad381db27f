"""Hash-set load cost: generate an NSRL RDS v3 SQLite database of N hashes, load it as a scan
does (known.hashsets.load_hash_set), print wall time and peak RSS.

Usage: python -m bench.bench_hashsets [--hashes 20000000] [--db PATH] [--keep]
The database is generated into a temporary folder (or PATH, kept and reused when it exists
with the same count). The load runs in a fresh child process so its peak RSS is its own.

`write_rds_v3` is also what the tests use to make a real RDS v3 file (SQLite, table FILE
with upper-case sha256, sha1, md5 as NIST publishes them; `full=True` makes the full layout,
a METADATA table with FILE as a view over it).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHUNK = 500_000



def write_rds_v3(path: Path, count: int, extra: list[tuple[str, str, str, str]] = (), *, full: bool = False,
                 seed: int = 16) -> Path:
    """An RDS v3-layout database: `count` random files plus `extra` (sha256, sha1, md5, name) rows."""
    path = Path(path)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    table = "METADATA" if full else "FILE"
    con.execute(f"CREATE TABLE {table} (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL, "
                "file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL, package_id INTEGER NOT NULL)")
    if full:
        con.execute("CREATE VIEW FILE AS SELECT sha256, sha1, md5, file_name, file_size, package_id FROM METADATA")
        con.execute("CREATE TABLE PKG (package_id INTEGER PRIMARY KEY, name VARCHAR, version VARCHAR)")
    rng = np.random.default_rng(seed)
    done = 0
    while done < count:
        n = min(CHUNK, count - done)
        raw = rng.integers(0, 256, size=(n, 32 + 20 + 16), dtype=np.uint8)
        # hex via numpy: each byte -> two ASCII digits, whole chunk at once
        digits = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
        text = np.empty((n, raw.shape[1] * 2), dtype=np.uint8)
        text[:, 0::2] = digits[raw >> 4]
        text[:, 1::2] = digits[raw & 15]
        blob = text.tobytes()
        width = text.shape[1]
        rows = ((blob[i * width: i * width + 64].decode(), blob[i * width + 64: i * width + 104].decode(),
                 blob[i * width + 104: i * width + 136].decode(), f"f{done + i}.dll", 1024, (done + i) % 5000)
                for i in range(n))
        con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)", rows)
        done += n
    con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, 0, 0)",
                    [(s256.upper(), s1.upper(), m5.upper(), name) for s256, s1, m5, name in extra])
    con.commit()
    con.close()
    return path


def hashes_of(data: bytes, name: str) -> tuple[str, str, str, str]:
    return (hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.md5(data).hexdigest(), name)


def _load_child(db: str, cache: str) -> None:
    from known.hashsets import load_hash_set

    t0 = time.monotonic()
    hs = load_hash_set(Path(db), "known", cache=Path(cache))
    wall = time.monotonic() - t0
    # VmHWM: this process's own peak (ru_maxrss can carry the parent's peak across fork and exec)
    status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
    hwm = [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")]
    peak_mib = hwm[0] / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load_s": round(wall, 2), "peak_rss_mib": round(peak_mib), "hashes": hs.manifest()["hashes"],
                      "memory_mib": round(sum(v.nbytes for v in hs.prefixes.values()) / 2**20),
                      "cache": hs.cache.split(" ")[0]}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hashes", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--full", action="store_true", help="METADATA table with FILE as a view (the full RDS layout)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _load_child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="seized-rds-") as tmp:
        db = args.db or Path(tmp) / "rds_v3.db"
        t0 = time.monotonic()
        stamp = db.with_suffix(".count")
        if not (db.exists() and stamp.exists() and stamp.read_text() == f"{args.hashes} {args.full}"):
            write_rds_v3(db, args.hashes, full=args.full)
            stamp.write_text(f"{args.hashes} {args.full}")
            print(f"generated {args.hashes:,} hashes in {time.monotonic() - t0:.1f} s: {db.stat().st_size >> 20} MiB",
                  file=sys.stderr)
        cache = Path(tmp) / "cache"  # empty: the first load reads SQLite and writes it, the second maps it
        for run in ("first load", "cached load"):
            proc = subprocess.run([sys.executable, "-m", "bench.bench_hashsets", "--child", str(db), str(cache)],
                                  capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            result = json.loads(proc.stdout)
            result.update(run=run, db_mib=db.stat().st_size >> 20, layout="full" if args.full else "minimal")
            print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
