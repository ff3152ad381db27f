"""The benchmark: time `seized scan` against the tools an examiner would otherwise use, on one image.

Usage: `python -m bench.run [--size 1G | --sizes 1G,2G,4G] [--seed 1]` (`make bench`).

For each size, on the same cached image (`bench.gen_image`), with the page cache warm (the
image is read once first), it times:

* `seized scan IMAGE -o CASE --workers 2` (everything on: containers, unallocated, YARA, report)
* the same with `--workers 1`
* `sha256sum IMAGE` (the floor: one sequential read and one hash)
* the `yara` CLI with the shipped rule set compiled by `yarac` into one file
* `fls -r -p -o OFFSET` per partition, then `icat` of every allocated regular file to /dev/null

and records wall seconds, MB/s (image bytes / 10^6 / s), the ratio to sha256sum, and peak
memory: the peak over time of the RSS summed over the whole process tree (the command and all
its descendants, Dask workers included), sampled every 0.1 s with psutil. Summed RSS counts
pages shared between processes once per process, so it overstates what the tree needs.
Because wall time suffers when other work shares the machine, each row also carries the CPU
seconds of the tree (getrusage of waited-for children, or the sampled sum over every process
in the tree where that is larger) and the 1-minute load average at start.

It then measures recall against `planted.json` (addresses, credential logins, onions, spam
templates found / planted) from the 2-worker case, and whether the 1- and 2-worker cases hold
byte-identical tables. Results: a table on stdout and `bench/out/results.json`. A scan that
fails is reported with its stderr; the run goes on.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import psutil

from bench import gen_image

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
SAMPLE_S = 0.1
# A pure-Python loop of about 3 s: run alone and then twice at once, it measures how much of a
# second core this machine really gives (a shared VM's vCPUs may be hyperthreads or be busy).
CPU_LOOP = "n = 0\nfor i in range(30_000_000):\n    n += i"
RULE_EXTERNALS = ("filename", "filepath", "extension", "filetype")


@dataclass(frozen=True)
class Timing:
    """One timed command."""

    name: str
    argv: list[str]
    wall_s: float
    cpu_s: float  # user + system seconds of the whole tree (see measure)
    load_before: float  # 1-minute load average when it started: other work on the machine skews wall time
    peak_rss_bytes: int
    exit_code: int
    stderr_tail: str


def _tree_rss(proc: psutil.Process, cpu_seen: dict[int, float]) -> int:
    """RSS of `proc` plus all its descendants; processes that vanish mid-walk count zero.

    Also notes each process's own CPU seconds so far in `cpu_seen`: a process that no one in
    the tree waits for (multiprocessing's fork server, and the Dask workers it forks) never
    reaches getrusage(RUSAGE_CHILDREN).
    """
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
            t = p.cpu_times()
            cpu_seen[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return total


def measure(name: str, argv: Sequence[str], *, env: dict[str, str] | None = None,
            timeout_s: float | None = None) -> Timing:
    """Run `argv` (stdout discarded), sampling the process tree's summed RSS every 0.1 s."""
    with tempfile.TemporaryFile() as err:
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        proc = psutil.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                            env=env, cwd=REPO)
        peak = 0
        cpu_seen: dict[int, float] = {}
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss(proc, cpu_seen))
                stop.wait(SAMPLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            code = proc.wait(timeout=timeout_s)
        except psutil.TimeoutExpired:
            for child in proc.children(recursive=True):
                child.kill()
            proc.kill()
            code = -9
        wall = time.monotonic() - start
        stop.set()
        sampler.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # rusage is exact for the processes it sees; the samples (to within 0.1 s of each
        # process's end) also see the ones nobody waited for: the larger of the two
        cpu = max((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), sum(cpu_seen.values()))
        err.seek(0)
        tail = err.read()[-4000:].decode("utf-8", "replace").strip()
    return Timing(name, list(argv), round(wall, 3), round(cpu, 2), round(load, 2), peak, code, tail)


# -- the commands -----------------------------------------------------------------------


def warm(image: Path) -> float:
    """Read the image once so every tool starts with it in the page cache; return seconds."""
    t = time.monotonic()
    with open(image, "rb", buffering=0) as fh:
        while fh.read(16 << 20):
            pass
    return time.monotonic() - t


def compile_rules(dest: Path) -> tuple[Path | None, str]:
    """yarac the shipped rules (one namespace per file, externals defined empty) into `dest`."""
    files = sorted((REPO / "rules").rglob("*.yar"))
    if not files:
        return None, "no rules/**/*.yar found"
    args = [shutil.which("yarac") or "yarac"]
    for ext in RULE_EXTERNALS:
        args += ["-d", f"{ext}="]
    for f in files:
        ns = f.relative_to(REPO / "rules").with_suffix("").as_posix().replace("/", "_")
        args.append(f"{ns}:{f}")
    args.append(str(dest))
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr.strip() or f"yarac exit {proc.returncode}"
    return dest, f"{len(files)} rule files"


def tsk_walk(image: Path) -> int:
    """The examiner's baseline: fls -r -p per partition, icat of each allocated regular file.

    Run as `python -m bench.run --tsk-walk IMAGE` so that `measure` can time the whole tree.
    Returns the number of files read (printed to stderr).
    """
    from tests.oracle import fls_entries, mmls_entries, OracleError

    offsets: list[int | None] = [e.start for e in mmls_entries(image) if e.allocated] or [None]
    count = 0
    with open(os.devnull, "wb") as null:
        for off in offsets:
            try:
                entries = fls_entries(image, off)
            except OracleError:
                continue  # no file system TSK reads in this partition
            for e in entries:
                if e.name_type == "r" and e.meta_type == "r" and not e.deleted and e.stream is None:
                    argv = ["icat", *([] if off is None else ["-o", str(off)]), str(image), e.meta]
                    subprocess.run(argv, stdout=null, stderr=subprocess.DEVNULL, check=False)
                    count += 1
    print(f"icat: {count} files", file=sys.stderr)
    return count


# -- recall ------------------------------------------------------------------------------

_ADDR = re.compile(r"[^\s<>\"';,:()\[\]]+@[^\s<>\"';,:()\[\]]+")
_ONION = re.compile(r"[a-z2-7]{56}\.onion")


def _norm_addr(addr: str) -> str:
    local, _, domain = addr.strip().lower().rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    return f"{local}@{domain}"


def _strings(case: Path, table: str) -> tuple[list[dict[str, Any]] | None, set[str]]:
    """Rows (as dicts) and every string value of a case table; (None, empty) when it is absent."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    where = case / "tables" / table
    if not where.exists():
        return None, set()
    t = ds.dataset(where).to_table()
    values: set[str] = set()
    for name in t.column_names:
        col = t.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            values.update(v for v in col.to_pylist() if v)
        elif pa.types.is_list(col.type) and pa.types.is_string(col.type.value_type):
            for v in col.to_pylist():
                values.update(x for x in (v or []) if x)
    rows = t.to_pylist() if t.num_rows <= 200_000 else None
    return rows, values


def recall(case: Path, planted: dict[str, Any]) -> dict[str, Any]:
    """Found / planted for addresses (per category), logins, onions and templates."""
    out: dict[str, Any] = {}
    _, email_values = _strings(case, "emails")
    found_addrs = {_norm_addr(m) for v in email_values for m in _ADDR.findall(v)}
    by_cat = {}
    all_planted: set[str] = set()
    for cat, addrs in sorted(planted.get("emails", {}).items()):
        norm = {_norm_addr(a) for a in addrs}
        all_planted |= norm
        by_cat[cat] = {"found": len(norm & found_addrs), "planted": len(norm)}
    out["emails"] = {"found": len(all_planted & found_addrs), "planted": len(all_planted),
                     "by_category": by_cat, "distinct_in_table": len(found_addrs),
                     "not_in_planted": len(found_addrs - all_planted),
                     "decoys_reported": sorted(d for d in planted.get("not_emails", []) if _norm_addr(d) in found_addrs)}
    _, cred_values = _strings(case, "credentials")
    cred_lower = {v.lower() for v in cred_values}
    by_where: dict[str, dict[str, int]] = {}
    by_format: dict[str, dict[str, int]] = {}
    total_f = total_p = 0
    for cf in planted.get("combo_files", []):
        logins = {login.lower() for login, _ in cf["pairs"]}
        hit = len(logins & cred_lower)
        for key, bucket in ((cf["where"], by_where), (cf["format"], by_format)):
            b = bucket.setdefault(key, {"found": 0, "planted": 0})
            b["found"] += hit
            b["planted"] += len(logins)
        total_f += hit
        total_p += len(logins)
    secrets_in_table = sum(1 for cf in planted.get("combo_files", [])[:50] for _, pw in cf["pairs"][:20]
                           if pw in cred_values and len(pw) >= 8)
    out["credentials"] = {"found": total_f, "planted": total_p, "by_where": by_where, "by_format": by_format,
                          "table_present": (case / "tables" / "credentials").exists(),
                          "plaintext_passwords_seen_in_table": secrets_in_table}
    tor_rows, tor_values = _strings(case, "tor")
    found_onions = {m for v in tor_values for m in _ONION.findall(v.lower())}
    valid = {o["onion"] for o in planted.get("onions", []) if o["valid"]}
    bad = {o["onion"] for o in planted.get("onions", []) if not o["valid"]}
    bad_rows = [{k: v for k, v in r.items() if isinstance(v, bool) or k in ("kind", "path", "valid", "status")}
                for r in (tor_rows or []) if any(isinstance(v, str) and b in v for b in bad for v in r.values())]
    out["onions"] = {"found": len(valid & found_onions), "planted": len(valid),
                     "bad_checksum_in_table": sorted(bad & found_onions), "bad_checksum_rows": bad_rows[:5]}
    st_rows, st_values = _strings(case, "spam_templates")
    tpl_paths = {t["path"] for t in planted.get("spam_templates", [])
                 if not any(d["path"] == t["path"] for d in planted.get("deleted", []))}
    found_paths = st_values & tpl_paths
    html_fp = sorted(v for v in st_values if v.startswith("/var/www/") and v.endswith(".html"))
    out["spam_templates"] = {"found": len(found_paths), "planted": len(tpl_paths),
                             "ordinary_html_flagged": len(html_fp)}
    return out


def table_digests(case: Path) -> dict[str, str]:
    """SHA-256 of every table file, keyed by its path under tables/."""
    digests = {}
    for f in sorted((case / "tables").rglob("*.parquet")):
        digests[f.relative_to(case / "tables").as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return digests


# -- the run -----------------------------------------------------------------------------


def bench_size(size: int, seed: int, *, workers: Sequence[int], scan_timeout: float | None, repeat: int = 1,
               scans_only: bool = False) -> dict[str, Any]:
    image = gen_image.ensure(size, seed)
    planted = json.loads((image.parent / "planted.json").read_text(encoding="utf-8"))
    image_bytes = image.stat().st_size
    label = gen_image.size_label(size)
    print(f"\n== {label} image {image} ==", file=sys.stderr)
    warm_s = warm(image)
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC",
           "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}
    timings: list[Timing] = []

    def run(name: str, argv: list[str], timeout: float | None = None) -> Timing:
        print(f"  {name} ...", end="", flush=True, file=sys.stderr)
        t = measure(name, argv, env=env, timeout_s=timeout)
        print(f" {t.wall_s:.1f} s (exit {t.exit_code})", file=sys.stderr)
        if t.exit_code != 0:
            print(f"  {name} failed (exit {t.exit_code}); stderr:\n    " + t.stderr_tail.replace("\n", "\n    "),
                  file=sys.stderr)
        timings.append(t)
        return t

    run("sha256sum", ["sha256sum", str(image)])
    rules_note = ""
    if not scans_only:
        with tempfile.TemporaryDirectory() as tmp:
            compiled, rules_note = compile_rules(Path(tmp) / "rules.yarc")
            if compiled:
                run("yara CLI", ["yara", "-C", str(compiled), str(image)])
            else:
                print(f"  yara CLI skipped: {rules_note}", file=sys.stderr)
        run("fls -r + icat", [sys.executable, "-m", "bench.run", "--tsk-walk", str(image)])
    cases: dict[int, Path] = {}
    phases: dict[str, dict] = {}
    walls: list[dict[int, float]] = []  # per round: worker count -> wall seconds of a scan that succeeded
    ceilings: list[float] = []
    # Rounds interleave the worker counts, so that a slow spell of a shared machine falls on
    # both sides of a ratio rather than on one of them.
    for round_no in range(1, repeat + 1):
        suffix = f" #{round_no}" if round_no > 1 else ""
        one = run("control: 1 CPU loop" + suffix, [sys.executable, "-c", CPU_LOOP])
        two = run("control: 2 CPU loops" + suffix, ["sh", "-c", '"$0" -c "$1" & "$0" -c "$1"; wait',
                                                    sys.executable, CPU_LOOP])
        if one.exit_code == 0 and two.exit_code == 0:
            ceilings.append(2 * one.wall_s / two.wall_s)
        walls.append({})
        for n in workers:
            case = OUT / "cases" / f"{label}-w{n}"
            shutil.rmtree(case, ignore_errors=True)
            case.parent.mkdir(parents=True, exist_ok=True)
            name = f"seized scan --workers {n}{suffix}"
            t = run(name, [sys.executable, "-m", "seized", "scan", str(image), "-o", str(case), "--workers", str(n)],
                    scan_timeout)
            if t.exit_code == 0:
                cases[n] = case
                walls[-1][n] = t.wall_s
                phases[name] = json.loads((case / "manifest.json").read_text(encoding="utf-8")).get("timings", {})
    sha = next((t.wall_s for t in timings if t.name == "sha256sum" and t.exit_code == 0), None)
    rows = []
    for t in timings:
        rows.append({**asdict(t), "mb_per_s": round(image_bytes / 1e6 / t.wall_s, 1) if t.wall_s else None,
                     "x_sha256sum": round(t.wall_s / sha, 2) if sha else None,
                     "peak_rss_mib": round(t.peak_rss_bytes / (1 << 20), 1)})
    result: dict[str, Any] = {"size": label, "image": str(image), "image_bytes": image_bytes, "seed": seed,
                              "warm_read_s": round(warm_s, 2), "planted": planted.get("summary"),
                              "rules": rules_note, "timings": rows, "phases": phases}
    ratios = [w[1] / w[2] for w in walls if 1 in w and 2 in w]  # one per round
    if ratios:
        result["speedup_1_to_2_workers"] = round(statistics.median(ratios), 2)
        result["speedups_per_round"] = [round(r, 2) for r in ratios]
    if ceilings:
        result["machine_2_process_scaling"] = round(statistics.median(ceilings), 2)
        result["machine_2_process_scaling_per_round"] = [round(c, 2) for c in ceilings]
    best = cases.get(max(cases)) if cases else None
    if best:
        try:
            result["recall"] = recall(best, planted)
        except Exception as exc:  # a malformed case must not lose the timings
            result["recall"] = {"error": f"{type(exc).__name__}: {exc}"}
    if len(cases) >= 2:
        digests = {n: table_digests(c) for n, c in cases.items()}
        first, *rest = digests.values()
        differing = sorted({k for d in rest for k in set(first) | set(d) if first.get(k) != d.get(k)})
        result["tables_identical_across_workers"] = not differing
        if differing:
            result["tables_differing"] = differing
    return result


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['size']} image ({result['image_bytes'] / 1e6:.0f} MB): {result['image']}")
    s = result.get("planted") or {}
    if s:
        print(f"planted: {s.get('files')} files, {s.get('emails_total')} addresses, {s.get('credentials')} "
              f"credential pairs, {s.get('onions_valid')} valid + {s.get('onions_invalid')} bad onions, "
              f"{s.get('spam_templates')} templates, {s.get('deleted')} deleted files")
    head = (f"{'command':<26}{'wall s':>9}{'MB/s':>9}{'x sha256':>10}{'CPU s':>9}{'peak RSS MiB':>14}"
            f"{'load':>7}{'exit':>6}")
    print(head)
    print("-" * len(head))
    for r in result["timings"]:
        print(f"{r['name']:<26}{r['wall_s']:>9.1f}{r['mb_per_s'] or 0:>9.1f}"
              f"{(r['x_sha256sum'] if r['x_sha256sum'] is not None else float('nan')):>10.2f}"
              f"{r['cpu_s']:>9.1f}{r['peak_rss_mib']:>14.1f}{r['load_before']:>7.1f}{r['exit_code']:>6}")
    for name, t in result.get("phases", {}).items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(t.items())))
    if "speedup_1_to_2_workers" in result:
        rounds = result["speedups_per_round"]
        print(f"speed-up 1 -> 2 workers: {result['speedup_1_to_2_workers']:.2f}x"
              + (f" (median of {len(rounds)} rounds: {', '.join(f'{r:.2f}' for r in rounds)})" if len(rounds) > 1
                 else ""))
    if "machine_2_process_scaling" in result:
        print(f"the machine's own ceiling: two independent CPU loops at once do "
              f"{result['machine_2_process_scaling']:.2f}x the work of one in the same time (per round: "
              f"{', '.join(f'{c:.2f}' for c in result['machine_2_process_scaling_per_round'])})")
    if "tables_identical_across_workers" in result:
        print(f"tables identical for 1 and 2 workers: {result['tables_identical_across_workers']}"
              + (f" (differ: {', '.join(result['tables_differing'])})" if result.get("tables_differing") else ""))
    rec = result.get("recall")
    if rec and "error" not in rec:
        e = rec["emails"]
        cats = ", ".join(f"{k} {v['found']}/{v['planted']}" for k, v in e["by_category"].items())
        print(f"recall addresses: {e['found']}/{e['planted']} ({cats}); decoys reported: "
              f"{e['decoys_reported'] or 'none'}; table addresses not planted: {e['not_in_planted']}")
        c = rec["credentials"]
        where = ", ".join(f"{k} {v['found']}/{v['planted']}" for k, v in c["by_where"].items())
        fmts = ", ".join(f"{k} {v['found']}/{v['planted']}" for k, v in c["by_format"].items())
        print(f"recall credential logins: {c['found']}/{c['planted']} (by where: {where}; by format: {fmts})")
        o = rec["onions"]
        print(f"recall onions: {o['found']}/{o['planted']} valid; bad-checksum onion in table: "
              f"{bool(o['bad_checksum_in_table'])}")
        t = rec["spam_templates"]
        print(f"recall spam templates: {t['found']}/{t['planted']}; ordinary HTML pages flagged: "
              f"{t['ordinary_html_flagged']}")
    elif rec:
        print(f"recall: {rec['error']}")


def machine() -> dict[str, Any]:
    def version(argv: list[str]) -> str:
        try:
            p = subprocess.run(argv, capture_output=True, text=True)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "unavailable"

    return {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / (1 << 30), 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "yara": version(["yara", "--version"]), "fls": version(["fls", "-V"]),
            "sha256sum": version(["sha256sum", "--version"])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1G", help="image size (default 1G)")
    ap.add_argument("--sizes", help="comma-separated sizes for a scaling run, e.g. 1G,2G,4G")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", default="2,1", help="worker counts to time (default 2,1)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of seized scans, the worker counts interleaved; the speed-up is the median ratio")
    ap.add_argument("--scans-only", action="store_true", help="time sha256sum and seized only (no yara CLI, fls/icat)")
    ap.add_argument("--scan-timeout", type=float, default=3600, help="seconds before a scan is killed")
    ap.add_argument("--out", type=Path, default=OUT / "results.json")
    ap.add_argument("--tsk-walk", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.tsk_walk:
        tsk_walk(args.tsk_walk)
        return 0
    try:
        sizes = [gen_image.parse_size(s) for s in (args.sizes.split(",") if args.sizes else [args.size])]
        workers = [int(w) for w in args.workers.split(",")]
    except ValueError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    results = {"machine": machine(), "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "runs": []}
    for size in sizes:
        try:
            res = bench_size(size, args.seed, workers=workers, scan_timeout=args.scan_timeout,
                             repeat=max(1, args.repeat), scans_only=args.scans_only)
        except Exception as exc:  # e.g. the image could not be built: report and go on
            print(f"bench: {gen_image.size_label(size)}: {type(exc).__name__}: {exc}", file=sys.stderr)
            results["runs"].append({"size": gen_image.size_label(size), "error": f"{type(exc).__name__}: {exc}"})
            continue
        results["runs"].append(res)
        print_table(res)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"\nresults: {args.out}")
    return 0 if all("error" not in r for r in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
