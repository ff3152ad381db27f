"""Scanning where there is no network at all, not even loopback (`unshare -n`, locked-down
evidence servers).

Dask's local cluster talks TCP over 127.0.0.1; with loopback down it waits 30 s and fails.
So before a local cluster is started, `loopback_works` tries what Dask would do (listen on
127.0.0.1 and connect to it). When that fails, the same units run on local worker processes
that talk to this one over pipes (concurrent.futures.ProcessPoolExecutor, forked from the
same fork server as Dask's workers) and journal their own results exactly as Dask's workers
do, so the tables are the same bytes. One line says so.
"""
from __future__ import annotations

import os
import socket
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable

from ingest.units import Unit, unit_cost


def loopback_works(timeout: float = 2.0) -> bool:
    """Whether a TCP connection to 127.0.0.1 can be made (what a local Dask cluster needs)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=timeout):
                pass
        return True
    except OSError:
        return False


def local_workers(workers: int, say: Callable[[str], None]):
    """A local Dask cluster started in the background, or PipeWorkers when loopback is down."""
    from seized.cluster import BackgroundCluster

    if loopback_works():
        return BackgroundCluster.local(workers, say)
    pool = PipeWorkers(workers)
    say(f"no network (loopback is down): running {pool.workers} local worker process(es) over pipes "
        "instead of a Dask cluster")
    return pool


# the worker process's own copy, set once by the pool's initializer
_options = None
_journal_root: str | None = None


def _init(options, journal_root: str) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the conductor's to report (seized.interrupt)
    global _options, _journal_root
    _options, _journal_root = options, journal_root


def _run(unit: Unit):
    from seized.journal import run_and_journal

    return run_and_journal(unit, _options, _journal_root)


class PipeWorkers:
    """Local worker processes over pipes: the fallback executor for `seized.execution.execute`.

    It has the lifecycle methods of seized.cluster.BackgroundCluster (close, join) so the
    conductor stops it the same way; it has no `client`, which is how execute() tells it apart.
    """

    def __init__(self, workers: int) -> None:
        from seized.cluster import start_fork_server

        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        start_fork_server()  # workers fork from it, with the workers' environment

    def run(self, units: list[Unit], options, journal, progress, failed: Callable[[Unit, str], object]) -> str:
        """Run `units`; every result is journalled (by its worker, or `failed(unit, why)` here)."""
        import multiprocessing

        from ingest.problems import one_line

        ordered = sorted(units, key=lambda u: (u.kind != "hash", -unit_cost(u), u.id))  # as on Dask
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init,
                                 initargs=(options, str(journal.root))) as pool:
            futures = {pool.submit(_run, u): u for u in ordered}
            for fut in as_completed(futures):
                unit = futures.pop(fut)
                # a unit that fails is an errors row, not the end of the scan; a worker process
                # that dies breaks the pool, and every unit still running is recorded so too
                try:
                    fut.result()
                except Exception as exc:  # noqa: BLE001
                    journal.save(failed(unit, f"unit failed: {one_line(exc)}"))
                if not journal.done(unit.id):
                    journal.save(failed(unit, "unit failed: its worker's journal entry is missing"))
                progress.advance(unit.nbytes, unit.image.path)
        return "written by local processes over pipes (no network)"

    def close(self, wait: bool = True) -> None:
        """Nothing to stop: the pool ends with run()."""

    def join(self) -> None:
        """Nothing to wait for."""
