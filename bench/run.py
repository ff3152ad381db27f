"""The benchmark: issue 17's table in one run: `seized scan` on a dense, a real-OS and the bench image.

Usage: `python -m bench.run [--set full|quick] [--images dense,realos,bench] [--scale 4G,16G]`
(`make bench`), or the old single-image runs `--size 1G` / `--sizes 1G,2G,4G`.

Images (built once and cached under bench/out/images): `bench.gen_dense` (a spam server's
drive that is mostly lists, about 18 million address rows at 1 GiB), `bench.gen_realos` (this
machine's own /usr, /etc and /var/lib/dpkg as one ext4), `bench.gen_image` (the bench image,
also at 4 and 16 GiB for the scaling rows). On each, with the page cache warm (the image is read
once first), it times:

* `sha256sum IMAGE` (the floor: one sequential read and one hash)
* `bulk_extractor -o OUT IMAGE` with its default scanners, when it is on PATH or in
  $BULK_EXTRACTOR (the three images; "not available" otherwise)
* two 3-second CPU loops, alone and at once: the machine's own 1 -> 2 ceiling right now
* `seized scan IMAGE -o CASE --workers 2` (everything on: containers, unallocated, YARA, report)
  and the same with `--workers 1` (the scaling rows: 2 workers only)
* with `--baselines`, the `yara` CLI with the shipped rules and `fls -r` + `icat` of every file

and records wall seconds, MB/s (image bytes / 10^6 / s), the ratio to sha256sum, CPU seconds
of the whole process tree (getrusage of waited-for children, or the sampled sum over every
process in the tree where that is larger), the 1-minute load average at start, and peak
memory: the peak over time of the RSS summed over the tree (the command and all its
descendants, Dask workers included), sampled every 0.1 s with psutil. Summed RSS counts pages
shared between processes once per process, so it overstates what the tree needs.

From the 2-worker case: rows per table, allocated regular files (files per second), recall
against the planted truth (planted.json, or the dense image's Parquet truth files): distinct
addresses per category, distinct logins per location and format, onions, spam templates; and
whether the 1- and 2-worker cases hold byte-identical tables. Then the summary: the table
issue 17 asks for, the scaling rows (the 1 GiB bench image is the first), and which targets
hold. Results: stdout and `bench/out/results.json`. A command that fails is reported with its
stderr; the run goes on.
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
from typing import Any, Iterator, Sequence

import psutil

from bench import gen_image

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
SAMPLE_S = 0.1
PSS_EVERY = 5  # samples between PSS readings (0.5 s)
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
    # Proportional set size of the tree: RSS counts a page shared by N processes N times (the
    # fork server's imports live on in every Dask worker it forks); PSS counts it once in all.
    # The issue's targets are in RSS; PSS is what the machine really gave the scan.
    peak_pss_bytes: int = 0


def _tree_rss(proc: psutil.Process, cpu_seen: dict[int, float], pss: list[int] | None = None) -> int:
    """RSS of `proc` plus all its descendants; processes that vanish mid-walk count zero.
    With `pss`, their summed PSS is put in it too (reading smaps_rollup: slower, so not every sample).

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
            if pss is not None:
                pss[0] += p.memory_full_info().pss
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
        peak = peak_pss = 0
        cpu_seen: dict[int, float] = {}
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak, peak_pss
            n = 0
            while not stop.is_set():
                pss = [0] if n % PSS_EVERY == 0 else None
                peak = max(peak, _tree_rss(proc, cpu_seen, pss))
                if pss is not None:
                    peak_pss = max(peak_pss, pss[0])
                n += 1
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
    return Timing(name, list(argv), round(wall, 3), round(cpu, 2), round(load, 2), peak, code, tail, peak_pss)


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

_ONION = re.compile(r"[a-z2-7]{56}\.onion")


def _norm_addr(addr: str) -> str:
    local, _, domain = addr.strip().lower().rpartition("@")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return f"{local}@{domain}"


def _strings(case: Path, table: str) -> tuple[list[dict[str, Any]] | None, set[str]]:
    """Rows (as dicts) and every string value of a small case table; (None, empty) when it is absent."""
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


def distinct_values(case: Path, table: str, column: str, *, lower: bool = True):
    """The distinct values of one column of a case table, as an Arrow array (None: no such table/column).

    Read batch by batch, only that column: the emails table of a dense image has tens of
    millions of rows, and the bench must not need more memory than the distinct values.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    where = case / "tables" / table
    if not where.exists():
        return None
    data = ds.dataset(where, format="parquet")
    if column not in data.schema.names:
        return None
    parts = []
    for batch in data.to_batches(columns=[column]):
        col = batch.column(0)
        parts.append(pc.unique(pc.utf8_lower(col) if lower else col))
    if not parts:
        return pa.array([], pa.string())
    return pc.unique(pa.concat_arrays([x.cast(pa.string()) for x in parts]))


def _hits(planted, found) -> int:
    """How many of `planted` (Arrow array or list of distinct strings) are in `found`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if found is None or len(planted) == 0:
        return 0
    arr = planted if isinstance(planted, pa.Array) else pa.array(list(planted), pa.string())
    return pc.sum(pc.is_in(arr, value_set=found)).as_py() or 0


def planted_truth(planted: dict[str, Any], folder: Path):
    """(addresses per category, logins per (where, format)) as Arrow arrays, from planted.json or,
    for the dense image (`truth` key), from its Parquet files beside it."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    emails: dict[str, Any] = {}
    logins: dict[tuple[str, str], Any] = {}
    truth = planted.get("truth")
    if truth:
        t = pq.read_table(folder / truth["emails"])
        for cat in sorted(set(t.column("category").to_pylist())):
            emails[cat] = t.filter(pc.equal(t.column("category"), cat)).column("address").combine_chunks()
        t = pq.read_table(folder / truth["logins"])
        keys = sorted(set(zip(t.column("where").to_pylist(), t.column("format").to_pylist())))
        for w, f in keys:
            m = pc.and_(pc.equal(t.column("where"), w), pc.equal(t.column("format"), f))
            logins[(w, f)] = t.filter(m).column("login").combine_chunks()
        return emails, logins
    for cat, addrs in planted.get("emails", {}).items():
        emails[cat] = pa.array(sorted({_norm_addr(a) for a in addrs}), pa.string())
    sets: dict[tuple[str, str], set[str]] = {}
    for cf in planted.get("combo_files", []):
        sets.setdefault((cf["where"], cf["format"]), set()).update(login.lower() for login, _ in cf["pairs"])
    return emails, {k: pa.array(sorted(v), pa.string()) for k, v in sets.items()}


def recall(case: Path, planted: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Found / planted for addresses (per category), logins, onions and templates.

    Addresses are compared as the emails table's `address` column holds them (IDNA domain),
    in lower case; logins against the credentials table's `username`, in lower case.
    """
    import pyarrow as pa

    out: dict[str, Any] = {}
    truth_emails, truth_logins = planted_truth(planted, folder)
    found = distinct_values(case, "emails", "address")
    by_cat = {cat: {"found": _hits(a, found), "planted": len(a)} for cat, a in sorted(truth_emails.items())}
    all_planted = pa.concat_arrays(list(truth_emails.values())) if truth_emails else pa.array([], pa.string())
    n_found = 0 if found is None else len(found)
    decoys = [_norm_addr(d) for d in planted.get("not_emails", [])]
    decoys_found = set() if found is None else {d for d in decoys if _hits([d], found)}
    out["emails"] = {"found": sum(v["found"] for v in by_cat.values()),
                     "planted": sum(v["planted"] for v in by_cat.values()), "by_category": by_cat,
                     "distinct_in_table": n_found, "not_in_planted": n_found - _hits(found, all_planted) if n_found else 0,
                     "decoys_reported": sorted(decoys_found)}
    users = distinct_values(case, "credentials", "username")
    by_where: dict[str, dict[str, int]] = {}
    by_format: dict[str, dict[str, int]] = {}
    for (w, f), logins in sorted(truth_logins.items()):
        hit = _hits(logins, users)
        for key, bucket in ((w, by_where), (f, by_format)):
            b = bucket.setdefault(key, {"found": 0, "planted": 0})
            b["found"] += hit
            b["planted"] += len(logins)
    secrets = distinct_values(case, "credentials", "secret", lower=False)
    sample = [pw for cf in planted.get("combo_files", [])[:50] for _, pw in cf["pairs"][:20] if len(pw) >= 8]
    out["credentials"] = {"found": sum(b["found"] for b in by_where.values()),
                          "planted": sum(b["planted"] for b in by_where.values()),
                          "by_where": by_where, "by_format": by_format,
                          "table_present": users is not None,
                          "plaintext_passwords_seen_in_table": _hits(sample, secrets) if sample else 0}
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


COUNTED_TABLES = ("files", "emails", "credentials", "harvest_lists", "spam_templates", "tor", "yara", "errors")


def table_rows(case: Path) -> dict[str, int]:
    """Rows per table of interest (from the Parquet footers; nothing is read)."""
    import pyarrow.dataset as ds

    out = {}
    for name in COUNTED_TABLES:
        where = case / "tables" / name
        out[name] = ds.dataset(where, format="parquet").count_rows() if where.exists() else 0
    return out


def regular_files(case: Path) -> int | None:
    """Allocated regular files in the files table (what a files-per-second rate counts)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    where = case / "tables" / "files"
    if not where.exists():
        return None
    t = ds.dataset(where, format="parquet").to_table(columns=["type", "allocated"])
    return pc.sum(pc.and_(pc.equal(t.column("type"), "file"), pc.equal(t.column("allocated"), True))).as_py() or 0


def table_digests(case: Path) -> dict[str, str]:
    """SHA-256 of every table file, keyed by its path under tables/."""
    digests = {}
    for f in sorted((case / "tables").rglob("*.parquet")):
        digests[f.relative_to(case / "tables").as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return digests


# -- the run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One image to bench: what it is, where it is, and which rows it gets."""

    key: str  # dense-1G, realos, bench-1G, bench-4G ...: the case folder and the results key
    role: str  # dense | realos | bench | scale
    image: Path
    workers: tuple[int, ...]  # seized scans to time, in this order per round
    peer: bool  # time bulk_extractor too
    truth: Path | None  # planted.json (None: nothing planted)
    meta: dict[str, Any]  # what the generator says about the image (files, planted summary)


def bulk_extractor_path() -> str | None:
    """$BULK_EXTRACTOR, else `bulk_extractor` on PATH; None when neither is there."""
    given = os.environ.get("BULK_EXTRACTOR")
    if given:
        return given if os.access(given, os.X_OK) else None
    return shutil.which("bulk_extractor")


def bulk_extractor_version(path: str) -> str:
    try:
        p = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=30)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown version"


def bench_image(target: Target, *, scan_timeout: float | None, repeat: int = 1, baselines: bool = False,
                controls: bool = True) -> dict[str, Any]:
    """Time everything on one image; recall and table counts from the scans' cases."""
    image = target.image
    planted = json.loads(target.truth.read_text(encoding="utf-8")) if target.truth else None
    image_bytes = image.stat().st_size
    print(f"\n== {target.key}: {image} ==", file=sys.stderr)
    warm_s = warm(image)
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC",
           "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}
    timings: list[Timing] = []

    def run(name: str, argv: list[str], timeout: float | None = None) -> Timing:
        print(f"  {name} ...", end="", flush=True, file=sys.stderr)
        t = measure(name, argv, env=env, timeout_s=timeout)
        print(f" {t.wall_s:.1f} s, {t.cpu_s:.1f} CPU s, {t.peak_rss_bytes / (1 << 20):.0f} MiB, load "
              f"{t.load_before:.1f} (exit {t.exit_code})", file=sys.stderr)
        if t.exit_code != 0:
            print(f"  {name} failed (exit {t.exit_code}); stderr:\n    " + t.stderr_tail.replace("\n", "\n    "),
                  file=sys.stderr)
        timings.append(t)
        return t

    run("sha256sum", ["sha256sum", str(image)])
    rules_note = ""
    if baselines:
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
        if controls:
            one = run("control: 1 CPU loop" + suffix, [sys.executable, "-c", CPU_LOOP])
            two = run("control: 2 CPU loops" + suffix, ["sh", "-c", '"$0" -c "$1" & "$0" -c "$1"; wait',
                                                        sys.executable, CPU_LOOP])
            if one.exit_code == 0 and two.exit_code == 0:
                ceilings.append(2 * one.wall_s / two.wall_s)
        walls.append({})
        for n in target.workers:
            case = OUT / "cases" / f"{target.key}-w{n}"
            shutil.rmtree(case, ignore_errors=True)
            case.parent.mkdir(parents=True, exist_ok=True)
            name = f"seized scan --workers {n}{suffix}"
            t = run(name, [sys.executable, "-m", "seized", "scan", str(image), "-o", str(case), "--workers", str(n)],
                    scan_timeout)
            if t.exit_code == 0:
                cases[n] = case
                walls[-1][n] = t.wall_s
                phases[name] = json.loads((case / "manifest.json").read_text(encoding="utf-8")).get("timings", {})
    # the peer after seized, so that a bulk_extractor built while the bench starts is found
    peer: dict[str, Any] = {}
    if target.peer:
        be = bulk_extractor_path()
        if be:
            be_out = OUT / "bulk_extractor" / target.key
            shutil.rmtree(be_out, ignore_errors=True)
            be_out.parent.mkdir(parents=True, exist_ok=True)
            t = run("bulk_extractor", [be, "-o", str(be_out), str(image)], scan_timeout)
            peer = {"path": be, "version": bulk_extractor_version(be), "exit": t.exit_code,
                    "email_features": _feature_lines(be_out / "email.txt")}
        else:
            peer = {"not_available": "no bulk_extractor on PATH and BULK_EXTRACTOR not set"}
            print(f"  bulk_extractor: not available ({peer['not_available']})", file=sys.stderr)
    sha = next((t.wall_s for t in timings if t.name == "sha256sum" and t.exit_code == 0), None)
    rows = []
    for t in timings:
        rows.append({**asdict(t), "mb_per_s": round(image_bytes / 1e6 / t.wall_s, 1) if t.wall_s else None,
                     "x_sha256sum": round(t.wall_s / sha, 2) if sha else None,
                     "peak_rss_mib": round(t.peak_rss_bytes / (1 << 20), 1),
                     "peak_pss_mib": round(t.peak_pss_bytes / (1 << 20), 1)})
    result: dict[str, Any] = {"key": target.key, "role": target.role, "size": gen_image.size_label(image_bytes),
                              "image": str(image), "image_bytes": image_bytes, "warm_read_s": round(warm_s, 2),
                              "planted": (planted or {}).get("summary"), "image_meta": target.meta,
                              "rules": rules_note, "timings": rows, "phases": phases}
    if peer:
        result["bulk_extractor"] = peer
    ratios = [w[1] / w[2] for w in walls if 1 in w and 2 in w]  # one per round
    if ratios:
        result["speedup_1_to_2_workers"] = round(statistics.median(ratios), 2)
        result["speedups_per_round"] = [round(r, 2) for r in ratios]
    if ceilings:
        result["machine_2_process_scaling"] = round(statistics.median(ceilings), 2)
        result["machine_2_process_scaling_per_round"] = [round(c, 2) for c in ceilings]
    best = cases.get(max(cases)) if cases else None
    if best:
        result["table_rows"] = table_rows(best)
        result["regular_files"] = regular_files(best)
        if planted is not None:
            try:
                result["recall"] = recall(best, planted, target.truth.parent)
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


def _feature_lines(path: Path) -> int | None:
    """Feature lines (not comments) of a bulk_extractor feature file."""
    if not path.is_file():
        return None
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            if not line.startswith(b"#"):
                n += 1
    return n


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['key']} ({result['image_bytes'] / 1e6:.0f} MB): {result['image']}")
    s = result.get("planted") or {}
    if s.get("address_rows"):
        print(f"planted: {s.get('files')} files, {s['address_rows']:,} address rows ({s.get('distinct_addresses'):,} "
              f"distinct), {s['credential_rows']:,} credential rows ({s.get('distinct_logins'):,} distinct logins), "
              f"{s.get('onions_valid')} valid + {s.get('onions_invalid')} bad onions, {s.get('spam_templates')} "
              f"templates, {s.get('deleted')} deleted files")
    elif s:
        print(f"planted: {s.get('files')} files, {s.get('emails_total')} addresses, {s.get('credentials')} "
              f"credential pairs, {s.get('onions_valid')} valid + {s.get('onions_invalid')} bad onions, "
              f"{s.get('spam_templates')} templates, {s.get('deleted')} deleted files")
    m = result.get("image_meta") or {}
    if m.get("files") and not s:
        print(f"image: {m['files']:,} files ({m.get('file_bytes', 0) / 1e9:.2f} GB), {m.get('symlinks', 0):,} symlinks,"
              f" {m.get('directories', 0):,} directories from {', '.join(m.get('roots', []))}")
    head = (f"{'command':<26}{'wall s':>9}{'MB/s':>9}{'x sha256':>10}{'CPU s':>9}{'peak RSS MiB':>14}"
            f"{'PSS MiB':>9}{'load':>7}{'exit':>6}")
    print(head)
    print("-" * len(head))
    for r in result["timings"]:
        print(f"{r['name']:<26}{r['wall_s']:>9.1f}{r['mb_per_s'] or 0:>9.1f}"
              f"{(r['x_sha256sum'] if r['x_sha256sum'] is not None else float('nan')):>10.2f}"
              f"{r['cpu_s']:>9.1f}{r['peak_rss_mib']:>14.1f}{r.get('peak_pss_mib') or 0:>9.0f}"
              f"{r['load_before']:>7.1f}{r['exit_code']:>6}")
    be = result.get("bulk_extractor")
    if be and "not_available" in be:
        print(f"bulk_extractor: not available ({be['not_available']})")
    elif be:
        print(f"bulk_extractor: {be['version']} ({be['path']}), default scanners, email.txt feature lines: "
              f"{be.get('email_features')}")
    for name, t in result.get("phases", {}).items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(t.items())))
    if result.get("table_rows"):
        print("case rows: " + ", ".join(f"{k} {v:,}" for k, v in result["table_rows"].items())
              + (f"; allocated regular files {result['regular_files']:,}" if result.get("regular_files") is not None
                 else ""))
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


# -- the summary: issue 17's "Done when" table --------------------------------------------

# Issue 17's targets on 2 cores (the summary says which hold).
TARGET_DENSE_S = 40.0
TARGET_MB_S = 100.0
TARGET_X_SHA = 3.0
TARGET_SPEEDUP = 1.7
TARGET_RSS_MIB = {"dense": 1.5 * 1024, "realos": 1024, "scale": 1.5 * 1024}
# Benches other modules write (branch `scale`): each leaves bench/out/<name>.json with a
# "summary" list of lines, which the summary prints; `make bench` runs them after this one.
OTHER_BENCHES = (("case20", "20-image case (bench/case20.py)"),
                 ("external_cluster", "external Dask scheduler, 2 workers (bench/external_cluster.py)"))


def _row(res: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in res.get("timings", []) if r["name"] == name and r["exit_code"] == 0), None)


def _recall_text(res: dict[str, Any]) -> str:
    rec = res.get("recall")
    if not rec:
        return "n/a (nothing planted)" if res["role"] == "realos" else "-"
    if "error" in rec:
        return "error"
    e, c = rec["emails"], rec["credentials"]
    return (f"addr {100 * e['found'] / max(1, e['planted']):.1f}%, logins {100 * c['found'] / max(1, c['planted']):.1f}%,"
            f" onions {rec['onions']['found']}/{rec['onions']['planted']},"
            f" tpl {rec['spam_templates']['found']}/{rec['spam_templates']['planted']}")


def summary_lines(results: dict[str, Any]) -> list[str]:
    """The table issue 17 asks `make bench` to print, the scaling rows and the targets."""
    runs = [r for r in results["runs"] if "error" not in r]
    lines = ["", "== issue 17 summary (seized scan, everything on; process tree; CPU s = user + system) ==",
             "(wall s and MB/s are those of this machine now, see load; CPU s / 2 is what 2 idle cores would need"
             " at best)"]
    head = (f"{'image':<11}{'MB':>7}{'files':>8}{'wall s':>8}{'MB/s':>7}{'x sha':>7}{'CPU s':>8}{'RSS MiB':>9}"
            f"{'files/s':>9}{'w1 s':>8}{'1->2':>6}{'ceil':>6}{'BE s':>8}{'BE MiB':>8}{'load':>6}  recall")
    lines += [head, "-" * (len(head) + 30)]
    for res in runs:
        if res["role"] == "scale":
            continue
        w2, w1 = _row(res, "seized scan --workers 2"), _row(res, "seized scan --workers 1")
        be = _row(res, "bulk_extractor")
        files = res.get("regular_files")
        fps = f"{files / w2['wall_s']:.0f}" if (w2 and files) else "-"
        f = lambda v, fmt: format(v, fmt) if v is not None else "-"  # noqa: E731
        be_s = f(be["wall_s"], ".1f") if be else ("n/a" if "bulk_extractor" in res else "-")
        lines.append(
            f"{res['key']:<11}{res['image_bytes'] / 1e6:>7.0f}{f(files, ','):>8}{f(w2 and w2['wall_s'], '.1f'):>8}"
            f"{f(w2 and w2['mb_per_s'], '.1f'):>7}{f(w2 and w2['x_sha256sum'], '.1f'):>7}{f(w2 and w2['cpu_s'], '.1f'):>8}"
            f"{f(w2 and w2['peak_rss_mib'], '.0f'):>9}{fps:>9}{f(w1 and w1['wall_s'], '.1f'):>8}"
            f"{f(res.get('speedup_1_to_2_workers'), '.2f'):>6}{f(res.get('machine_2_process_scaling'), '.2f'):>6}"
            f"{be_s:>8}{f(be and be['peak_rss_mib'], '.0f'):>8}{f(w2 and w2['load_before'], '.1f'):>6}  "
            f"{_recall_text(res)}")
    scale = [r for r in runs if r["role"] in ("scale",) or (r["role"] == "bench" and r.get("scale_row"))]
    if scale:
        lines += ["", "scaling (bench image generator, same fill; 2 workers):",
                  f"{'size':<6}{'GB':>7}{'wall s':>9}{'s/GiB':>8}{'MB/s':>7}{'x sha':>7}{'CPU s':>9}{'CPU s/GiB':>10}"
                  f"{'RSS MiB':>9}{'address rows':>14}{'load':>6}  recall"]
        for res in sorted(scale, key=lambda r: r["image_bytes"]):
            w2 = _row(res, "seized scan --workers 2")
            gib = res["image_bytes"] / (1 << 30)
            if not w2:
                lines.append(f"{res['size']:<6}{res['image_bytes'] / 1e9:>7.1f}  scan failed")
                continue
            lines.append(f"{res['size']:<6}{res['image_bytes'] / 1e9:>7.1f}{w2['wall_s']:>9.1f}{w2['wall_s'] / gib:>8.1f}"
                         f"{w2['mb_per_s']:>7.1f}{w2['x_sha256sum']:>7.1f}{w2['cpu_s']:>9.1f}{w2['cpu_s'] / gib:>10.1f}"
                         f"{w2['peak_rss_mib']:>9.0f}{res.get('table_rows', {}).get('emails', 0):>14,}"
                         f"{w2['load_before']:>6.1f}  {_recall_text(res)}")
    lines += ["", "targets (issue 17):"]
    for res in runs:
        w2 = _row(res, "seized scan --workers 2")
        if not w2:
            continue
        checks = []
        if res["role"] == "dense":
            checks.append(("wall <= 40 s", w2["wall_s"] <= TARGET_DENSE_S,
                           f"{w2['wall_s']:.1f} s (CPU s / 2: {w2['cpu_s'] / 2:.1f} s)"))
            be = _row(res, "bulk_extractor")
            if be:
                checks.append(("5x faster than bulk_extractor", w2["wall_s"] * 5 <= be["wall_s"],
                               f"{be['wall_s'] / w2['wall_s']:.2f}x"))
        if res["role"] in ("realos", "bench"):
            ok = w2["mb_per_s"] >= TARGET_MB_S or (w2["x_sha256sum"] or 99) <= TARGET_X_SHA
            checks.append((">= 100 MB/s or <= 3x sha256sum", ok, f"{w2['mb_per_s']:.1f} MB/s, {w2['x_sha256sum']:.1f}x "
                           f"(at CPU s / 2: {res['image_bytes'] / 1e6 / (w2['cpu_s'] / 2):.1f} MB/s)"))
        limit = TARGET_RSS_MIB.get(res["role"])
        if limit:
            pss = f" (PSS {w2['peak_pss_mib']:.0f} MiB)" if w2.get("peak_pss_mib") else ""
            checks.append((f"peak RSS <= {limit:.0f} MiB", w2["peak_rss_mib"] <= limit,
                           f"{w2['peak_rss_mib']:.0f} MiB{pss}"))
        if "speedup_1_to_2_workers" in res:
            checks.append(("1 -> 2 workers >= 1.7x", res["speedup_1_to_2_workers"] >= TARGET_SPEEDUP,
                           f"{res['speedup_1_to_2_workers']:.2f}x (machine ceiling "
                           f"{res.get('machine_2_process_scaling', float('nan')):.2f}x)"))
        rec = res.get("recall")
        if rec and "error" not in rec:
            full = rec["emails"]["found"] == rec["emails"]["planted"] and \
                rec["credentials"]["found"] == rec["credentials"]["planted"]
            checks.append(("recall 100 %", full, f"{rec['emails']['found']:,}/{rec['emails']['planted']:,} addresses, "
                           f"{rec['credentials']['found']:,}/{rec['credentials']['planted']:,} logins"))
        for what, ok, value in checks:
            lines.append(f"  {res['key']:<10} {what:<34} {'met' if ok else 'MISSED':<7} {value}")
    sizes = sorted((r for r in scale if _row(r, "seized scan --workers 2")), key=lambda r: r["image_bytes"])
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        wa, wb = _row(a, "seized scan --workers 2"), _row(b, "seized scan --workers 2")
        k = b["image_bytes"] / a["image_bytes"]
        lines.append(f"  scaling    {a['size']} -> {b['size']} ({k:.0f}x the bytes): time {wb['wall_s'] / wa['wall_s']:.1f}x, "
                     f"CPU {wb['cpu_s'] / wa['cpu_s']:.1f}x (linear: {k:.0f}x); peak RSS {wa['peak_rss_mib']:.0f} -> "
                     f"{wb['peak_rss_mib']:.0f} MiB (flat: the same)")
    lines += ["", "other benches (`make bench` runs them before this one; their last results, when present):"]
    for name, what in OTHER_BENCHES:
        lines += other_bench_lines(name, what)
    return lines


def other_bench_lines(name: str, what: str) -> list[str]:
    """Lines for bench/out/<name>.json as bench.case20 and bench.external_cluster write it.

    Either its own `summary` (a list of lines), or one line per timed row (`timings` or
    `rows`: name, wall_s, cpu_s, peak_rss_bytes, load_before, exit_code; cluster_* added in).
    """
    path = OUT / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"  {what}: no {path.relative_to(REPO)} (not run, or not on this branch)"]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(path.stat().st_mtime))
    if isinstance(data.get("summary"), list):
        return [f"  {what} ({when}):"] + [f"    {x}" for x in data["summary"]]
    out = [f"  {what} ({when}; {data.get('images', 1)} image(s), {data.get('bytes', 0) / 1e6:.0f} MB):"]
    for r in data.get("timings") or data.get("rows") or []:
        cpu = r.get("cpu_s", 0) + r.get("cluster_cpu_s", 0)
        rss = (r.get("peak_rss_bytes", 0) + r.get("cluster_peak_rss_bytes", 0)) / (1 << 20)
        mbs = f"{data['bytes'] / 1e6 / r['wall_s']:.1f} MB/s" if data.get("bytes") and r.get("wall_s") else ""
        out.append(f"    {r.get('name', '?'):<34} {r.get('wall_s', 0):>7.1f} s {mbs:>11} {cpu:>7.1f} CPU s "
                   f"{rss:>6.0f} MiB  load {r.get('load_before', 0):.1f}  exit {r.get('exit_code')}")
    for key in ("ok", "tables_identical"):
        if key in data:
            out.append(f"    {key}: {data[key]}")
    return out


def machine() -> dict[str, Any]:
    def version(argv: list[str]) -> str:
        try:
            p = subprocess.run(argv, capture_output=True, text=True)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "unavailable"

    be = bulk_extractor_path()
    return {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / (1 << 30), 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "yara": version(["yara", "--version"]), "fls": version(["fls", "-V"]),
            "sha256sum": version(["sha256sum", "--version"]),
            "bulk_extractor": bulk_extractor_version(be) if be else "not available"}


# -- which images ---------------------------------------------------------------------------

SETS = {
    # issue 17's "Done when": the three images with 1 and 2 workers and bulk_extractor, and the scaling rows
    "full": {"images": ("dense", "realos", "bench"), "scale": ("4G", "16G")},
    # the same three images, no 4 and 16 GiB rows (about a quarter of the time)
    "quick": {"images": ("dense", "realos", "bench"), "scale": ()},
}


def targets(images: Sequence[str], scale: Sequence[str], seed: int, dense_size: int, bench_size: int,
            peer: bool) -> Iterator[Target | dict[str, str]]:
    """Build (or reuse from the cache) each image and say what to time on it.

    A generator: each image is built just before it is benched, so a run starts at once and
    the 16 GiB image is only written when its turn comes. An image that cannot be built is
    yielded as a dict with its `error`, and the run goes on.
    """
    from bench import gen_dense, gen_realos

    def dense() -> Target:
        img = gen_dense.ensure(dense_size, seed)
        return Target(f"dense-{gen_image.size_label(dense_size)}", "dense", img, (2, 1), peer,
                      img.parent / "planted.json", {})

    def realos() -> Target:
        img = gen_realos.ensure()
        meta = json.loads((img.parent / "realos.json").read_text(encoding="utf-8"))
        return Target("realos", "realos", img, (2, 1), peer, None, meta)

    def bench(size: int, role: str) -> Target:
        img = gen_image.ensure(size, seed)
        return Target(f"bench-{gen_image.size_label(size)}", role, img, (2, 1) if role == "bench" else (2,),
                      peer and role == "bench", img.parent / "planted.json", {})

    plan = [(f"dense-{gen_image.size_label(dense_size)}", "dense", dense) if name == "dense" else
            ("realos", "realos", realos) if name == "realos" else
            (f"bench-{gen_image.size_label(bench_size)}", "bench", lambda: bench(bench_size, "bench"))
            for name in images]
    plan += [(f"bench-{label}", "scale", (lambda z: lambda: bench(z, "scale"))(gen_image.parse_size(label)))
             for label in scale]
    for key, role, make in plan:
        try:
            yield make()
        except Exception as exc:  # the image could not be built: say so, bench the others
            print(f"bench: {key}: {type(exc).__name__}: {exc}", file=sys.stderr)
            yield {"key": key, "role": role, "error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=sorted(SETS), default="full",
                    help="full: dense, real-OS and bench images plus 4 and 16 GiB scaling rows (default); quick: "
                         "the three images only")
    ap.add_argument("--images", help="comma-separated subset of dense,realos,bench (overrides --set)")
    ap.add_argument("--scale", help="comma-separated scaling sizes beyond the 1 GiB bench image, e.g. 4G,16G "
                    "(overrides --set; '' for none)")
    ap.add_argument("--size", help="the old single-image run: the bench image at this size only")
    ap.add_argument("--sizes", help="the old scaling run: bench images at these sizes, e.g. 1G,2G,4G")
    ap.add_argument("--dense-size", default="1G")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", default="2,1", help="worker counts for --size/--sizes runs (default 2,1)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of seized scans, the worker counts interleaved; the speed-up is the median ratio")
    ap.add_argument("--baselines", action="store_true", help="also time the yara CLI and fls -r + icat on each image")
    ap.add_argument("--no-peer", action="store_true", help="do not time bulk_extractor")
    ap.add_argument("--scans-only", action="store_true", help="time sha256sum and seized only (no bulk_extractor, "
                    "yara CLI, fls/icat)")
    ap.add_argument("--scan-timeout", type=float, default=3600, help="seconds before a scan is killed")
    ap.add_argument("--out", type=Path, default=OUT / "results.json")
    ap.add_argument("--summarize", type=Path, metavar="RESULTS_JSON",
                    help="print the per-image tables and the summary of an earlier (or interrupted) run's results")
    ap.add_argument("--tsk-walk", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.tsk_walk:
        tsk_walk(args.tsk_walk)
        return 0
    if args.summarize:
        try:
            earlier = json.loads(args.summarize.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"bench: error: cannot read {args.summarize}: {exc}", file=sys.stderr)
            return 2
        for res in earlier.get("runs", []):
            if "error" not in res:
                print_table(res)
        print("\n".join(summary_lines(earlier)))
        return 0
    peer = not (args.no_peer or args.scans_only)
    baselines = args.baselines and not args.scans_only
    results: dict[str, Any] = {"machine": machine(), "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "load_at_start": list(os.getloadavg()), "runs": []}
    try:
        if args.size or args.sizes:
            workers = tuple(int(w) for w in args.workers.split(","))
            sizes = [gen_image.parse_size(s) for s in (args.sizes.split(",") if args.sizes else [args.size])]
            plan = [Target(f"bench-{gen_image.size_label(z)}", "bench" if i == 0 else "scale", gen_image.ensure(z, args.seed),
                           workers if i == 0 or len(sizes) == 1 else (2,), peer and i == 0,
                           gen_image.default_path(z, args.seed).parent / "planted.json", {})
                    for i, z in enumerate(sizes)]
        else:
            chosen = SETS[args.set]
            images = args.images.split(",") if args.images else chosen["images"]
            scale = ([x for x in args.scale.split(",") if x] if args.scale is not None else chosen["scale"])
            unknown = sorted(set(images) - {"dense", "realos", "bench"})
            if unknown:
                raise ValueError(f"unknown image(s) {', '.join(unknown)} (choose from dense, realos, bench)")
            for label in scale:
                gen_image.parse_size(label)
            plan = targets(images, scale, args.seed, gen_image.parse_size(args.dense_size),
                           gen_image.parse_size("1G"), peer)
    except ValueError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    results["set"] = args.set
    for target in plan:
        if isinstance(target, dict):
            results["runs"].append(target)
            continue
        try:
            res = bench_image(target, scan_timeout=args.scan_timeout, repeat=max(1, args.repeat), baselines=baselines,
                              controls=target.role != "scale")
        except Exception as exc:  # e.g. the image could not be built: report and go on
            print(f"bench: {target.key}: {type(exc).__name__}: {exc}", file=sys.stderr)
            results["runs"].append({"key": target.key, "role": target.role, "error": f"{type(exc).__name__}: {exc}"})
            continue
        # the 1 GiB bench image is the first scaling row (same generator, same fill)
        res["scale_row"] = target.role == "bench" and target.image.stat().st_size == 1 << 30
        results["runs"].append(res)
        print_table(res)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    results["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["load_at_end"] = list(os.getloadavg())
    results["summary"] = summary_lines(results)
    print("\n".join(results["summary"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"\nresults: {args.out}")
    return 0 if all("error" not in r for r in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
