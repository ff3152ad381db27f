"""The same scan on an existing Dask cluster and on seized's own local cluster, on one machine.

Usage: `python -m bench.external_cluster [--size 1G] [--seed 1] [--workers 2] [--local-first]` (`make bench`).

Starts `dask scheduler` on a free 127.0.0.1 port and `--workers` `dask worker` processes
(one process, one thread each, each under its nanny, as `seized scan --workers N` runs its
own), waits until they are connected, then times on the cached bench image (`bench.gen_image`):

* `seized scan IMAGE -o CASE --scheduler tcp://127.0.0.1:PORT --no-report`
* `seized scan IMAGE -o CASE --workers N --no-report` (the local cluster, started by seized)

and says whether the two cases' tables are byte-identical. With an external cluster the
workers are not children of `seized`, so their CPU seconds (before/after) and RSS (sampled
every 0.1 s) are measured apart and added; their start-up is not in the scan's time, which is
what an examiner with a standing cluster gets. Every process started here is stopped (its
process group killed) before the bench ends, whatever happens. Output: a table on stdout and
`bench/out/external_cluster.json`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psutil

from bench import gen_image
from bench.run import OUT, SAMPLE_S, Timing, measure, table_digests, warm

MIB = 1 << 20
# what the README tells examiners to set for `dask worker` (seized turns it off for its own workers)
WORKER_ENV = {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ClusterProcesses:
    """The scheduler's and workers' process trees: CPU seconds so far, and peak summed RSS
    while `sampling()` is open."""

    def __init__(self, procs: list[subprocess.Popen]) -> None:
        self.roots = [psutil.Process(p.pid) for p in procs]

    def _tree(self) -> list[psutil.Process]:
        out = []
        for root in self.roots:
            try:
                out += [root, *root.children(recursive=True)]
            except psutil.Error:
                pass
        return out

    def cpu_s(self) -> float:
        total = 0.0
        for p in self._tree():
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return total

    def rss(self) -> int:
        total = 0
        for p in self._tree():
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    @contextmanager
    def sampling(self) -> Iterator[dict[str, float]]:
        seen = {"peak_rss_bytes": 0, "cpu_s": 0.0}
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                seen["peak_rss_bytes"] = max(seen["peak_rss_bytes"], self.rss())
                stop.wait(SAMPLE_S)

        before = self.cpu_s()
        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield seen
        finally:
            stop.set()
            thread.join()
            seen["cpu_s"] = round(self.cpu_s() - before, 2)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group this bench started (process_group=0), SIGKILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def dask_cluster(workdir: Path, workers: int) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """`dask scheduler` and `workers` x `dask worker` on 127.0.0.1; yields (address, processes)."""
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []

    # as seized's own workers: no statistical profiler sampling the task thread every 10 ms
    env = {**os.environ, **WORKER_ENV}

    def start(argv: list[str], name: str) -> None:
        with open(workdir / f"{name}.log", "wb") as log:
            # a process group of its own (to be stopped whole) in this session: with the kernel's
            # autogroup scheduling each session gets an equal share of a busy machine, so workers in
            # sessions of their own got more CPU than seized's local workers, which share one
            procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          cwd=workdir, env=env, process_group=0))

    try:
        start([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], "scheduler")
        for i in range(workers):
            start([dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                   "--local-directory", str(workdir / f"w{i}"), "--name", f"bench-{i}"], f"worker{i}")
        deadline = time.monotonic() + 90
        while True:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a Dask process exited early; logs in {workdir}")
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(workers, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address, procs
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _row(t: Timing, extra: dict[str, float] | None = None) -> dict:
    row = {k: v for k, v in t.__dict__.items() if k != "argv"}
    if extra:
        row["cluster_cpu_s"] = extra["cpu_s"]
        row["cluster_peak_rss_bytes"] = extra["peak_rss_bytes"]
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.external_cluster", description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1G")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--local-first", action="store_true", help="time the local cluster before the external one")
    args = ap.parse_args(argv)
    image = gen_image.ensure(gen_image.parse_size(args.size), args.seed)
    label = gen_image.size_label(image.stat().st_size)
    warm(image)
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC",
           "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}
    seized = [sys.executable, "-m", "seized", "scan", str(image), "--no-report"]
    cases = {"external": OUT / "cases" / f"{label}-external", "local": OUT / "cases" / f"{label}-local"}
    for case in cases.values():
        if case.exists():
            shutil.rmtree(case)
    rows = []

    def local() -> None:
        t = measure(f"--workers {args.workers} (local)", [*seized, "-o", str(cases["local"]), "--workers",
                                                          str(args.workers)], env=env)
        rows.append(_row(t))

    if args.local_first:  # a shared machine's load drifts: run it both ways round to see the order's part
        local()
    with dask_cluster(OUT / "external-dask", args.workers) as (address, procs):
        cluster = ClusterProcesses(procs)
        with cluster.sampling() as seen:
            t = measure(f"--scheduler ({args.workers} dask workers)",
                        [*seized, "-o", str(cases["external"]), "--scheduler", address], env=env)
        rows.append(_row(t, seen))
    if not args.local_first:
        local()
    ok = all(r["exit_code"] == 0 for r in rows)
    identical = ok and table_digests(cases["external"]) == table_digests(cases["local"])
    result = {"image": str(image), "bytes": image.stat().st_size, "workers": args.workers, "rows": rows,
              "tables_identical": identical}
    mb = image.stat().st_size / 1e6
    print(f"\n{label} image, {args.workers} workers")
    print(f"{'scan':<28} {'wall s':>7} {'MB/s':>6} {'CPU s':>7} {'peak RSS MiB':>12} {'load':>5} {'exit':>4}")
    for r in rows:
        cpu = r["cpu_s"] + r.get("cluster_cpu_s", 0)
        rss = (r["peak_rss_bytes"] + r.get("cluster_peak_rss_bytes", 0)) / MIB
        print(f"{r['name']:<28} {r['wall_s']:>7.1f} {mb / r['wall_s']:>6.1f} {cpu:>7.1f} {rss:>12.0f} "
              f"{r['load_before']:>5.2f} {r['exit_code']:>4}")
        if r["exit_code"] != 0:
            print(f"    {r['stderr_tail'][-800:]}")
    print("(external: CPU s and RSS are seized's own tree plus the scheduler's and workers' trees; "
          "RSS peaks summed, so an overstatement)")
    print(f"tables byte-identical: {'yes' if identical else 'NO'}")
    (OUT / "external_cluster.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT / 'external_cluster.json'}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
