"""Where units run: a local Dask cluster sized to the machine, or the user's own scheduler."""
from __future__ import annotations

import logging
import os
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ingest.images import ImageSpec
from seized.interrupt import ignoring_sigint


class ClusterError(Exception):
    """The cluster cannot run this case; `str()` is one line for the examiner."""


def _missing_paths(paths: list[str]) -> list[str]:
    return [p for p in paths if not os.access(p, os.R_OK)]


# Packages whose code runs on a worker: the same versions and the same source there, or the
# same evidence could give other findings (same input, same output).
WORKER_PACKAGES = ("seized", "caseformat", "ingest", "extractors", "known", "rules")
WORKER_DEPENDENCIES = ("seized", "pytsk3", "libewf-python", "libfsxfs-python", "libvslvm-python", "yara-python",
                       "pyarrow", "email-validator", "tldextract", "numpy", "dask", "distributed")


def worker_software() -> dict[str, str]:
    """What decides a worker's findings: Python, the libraries under the extractors, every
    extractor's version, and a digest of the project's own source files (two checkouts at one
    version number can still differ)."""
    import hashlib
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from extractors.registry import EXTRACTORS

    out = {"python": platform.python_version()}
    for name in WORKER_DEPENDENCIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    out.update({f"extractor {e.name}": e.version for e in EXTRACTORS})
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in WORKER_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    out["source"] = digest.hexdigest()[:16]
    return out


def software_mismatch(ours: dict[str, str], workers: dict[str, object]) -> str | None:
    """The first worker whose software differs from this machine's, as one line; None when all
    match. `workers` maps a worker's address to its `worker_software()` or to the exception
    it raised (it could not even import seized)."""
    for worker, theirs in sorted(workers.items()):
        if isinstance(theirs, BaseException):
            why = f"{type(theirs).__name__}: {str(theirs).splitlines()[0] if str(theirs) else ''}".rstrip(": ")
            return f"worker {worker} cannot run seized ({why}): install the same seized on every worker"
        for key in sorted(set(ours) | set(theirs)):
            if ours.get(key) != theirs.get(key):
                what = "seized's source files" if key == "source" else key
                return (f"worker {worker} runs {what} {theirs.get(key, 'absent')}, this machine "
                        f"{ours.get(key, 'absent')}: every worker needs the same seized and packages (the same .venv)")
    return None


def _holds_token(path: str, token: str) -> bool:
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read() == token and os.access(os.path.dirname(path), os.W_OK)
    except OSError:
        return False


def workers_share(client: "distributed.Client", folder: Path) -> bool:
    """Whether every worker can write in `folder` itself, not merely in a folder of the same
    name on its own machine: a random token written here must be read back there."""
    token = secrets.token_hex(16)
    probe = folder / f".probe-{token}"
    probe.write_text(token, encoding="ascii")
    try:
        seen = client.run(_holds_token, str(probe), token)
    finally:
        probe.unlink()
    return bool(seen) and all(seen.values())


@contextmanager
def open_client(workers: int, scheduler: str | None, images: list[ImageSpec],
                say: Callable[[str], None]) -> Iterator["distributed.Client"]:
    import dask
    from distributed import Client, LocalCluster

    # The worker's statistical profiler samples the task thread's stack every 10 ms while it
    # holds the GIL: measurable CPU on scans that are Python-bound; no examiner reads it.
    dask.config.set({"distributed.scheduler.work-stealing": True, "logging.distributed": "error",
                     "distributed.worker.profile.enabled": False})
    if scheduler:
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            software = client.run(worker_software, on_error="return")
            if not software:
                raise ClusterError(f"the Dask scheduler at {scheduler} has no workers")
            mismatch = software_mismatch(worker_software(), software)
            if mismatch:
                raise ClusterError(mismatch)
            paths = sorted({seg for spec in images for seg in spec.segments})
            missing = client.run(_missing_paths, paths)
            if not missing:
                raise ClusterError(f"the Dask scheduler at {scheduler} has no workers")
            for worker, gone in sorted(missing.items()):
                if gone:
                    raise ClusterError(f"worker {worker} cannot read {gone[0]}: workers must see the images "
                                       "at the same path as this machine")
            if client.dashboard_link:
                say(f"dashboard: {client.dashboard_link}")
            yield client
        finally:
            client.close()
        return
    n = workers if workers > 0 else (os.cpu_count() or 1)
    _fork_workers_from_one_import()
    # Dask's own log lines stay off the examiner's terminal (a worker whose heartbeat meets the
    # scheduler closing logs a traceback): a unit that fails is an errors row and a one-line
    # message, and SEIZED_DEBUG=1 shows Dask's errors again.
    # The scheduler always serves HTTP; without an address it takes port 8787 and, when another
    # cluster holds that port, prints a multi-line UserWarning: a free loopback port instead.
    if not os.environ.get("SEIZED_DEBUG"):  # the scheduler and nannies live here: their loggers too
        for name in ["distributed", *[k for k in logging.root.manager.loggerDict if k.startswith("distributed.")]]:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                           silence_logs=logging.ERROR if os.environ.get("SEIZED_DEBUG") else logging.CRITICAL)
    try:
        # not `with Client(...)`: that sets a context variable which must be reset in the same
        # thread, and BackgroundCluster opens the client on one thread and closes it on another
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


FORK_SERVER_PRELOAD = ["distributed", "seized.worker", "seized.ruleset"]
# The thread limits Dask's nanny sets for its workers (distributed.nanny.pre-spawn-environ):
# one thread per worker for OpenMP, MKL, OpenBLAS and Arrow. Not its MALLOC_TRIM_THRESHOLD_:
# setting it freezes glibc's mmap threshold at 128 KiB, so every 16 MiB read buffer became a
# fresh mmap, page-faulted in and unmapped again (2.3 of 5.5 system CPU-s of a 1 GiB scan;
# worker memory stays bounded by glibc's own thresholds, tens of MiB more per worker).
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              # a worker's own log lines (a comm closed by SIGTERM to the process group logs an INFO
              # traceback) stay off the examiner's terminal; SEIZED_DEBUG=1 shows them
              "DASK_LOGGING__DISTRIBUTED": "info" if os.environ.get("SEIZED_DEBUG") else "critical"}


_fork_server_started = False


def start_fork_server() -> None:
    """Start the server that local workers are forked from (once; later calls do nothing).

    Started early, its imports (Dask, Arrow, YARA, TSK and the extractors, about a second)
    run on another core while this process imports its own and walks the evidence. It gets
    the workers' environment itself: libraries read it when a process starts, and a forked
    worker does not start, it copies the server. This process keeps its own: Dask's nanny
    would otherwise set OMP_NUM_THREADS=1 here too, and Arrow would then read the tables
    back for the report on one thread instead of every core.
    """
    global _fork_server_started
    if _fork_server_started:  # later calls come from the cluster's thread: os.environ stays untouched
        return
    import multiprocessing
    import multiprocessing.forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(FORK_SERVER_PRELOAD)
    saved = {key: os.environ.get(key) for key in WORKER_ENV}
    os.environ.update(WORKER_ENV)  # only while the server is spawned, by the first caller
    try:
        # with SIGINT ignored, which the server and every worker forked from it keep: a terminal's
        # Ctrl-C reaches only the conductor, which stops the workers in order (seized.interrupt)
        with ignoring_sigint():
            multiprocessing.forkserver.ensure_running()
        _fork_server_started = True
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _fork_workers_from_one_import() -> None:
    """Local workers are forked from one server process that has imported Dask and the
    worker side (pyarrow, yara, pytsk3, the extractors and their compiled patterns) once,
    instead of each spawned worker importing them all again: on a two-core machine N
    workers' imports otherwise compete with the conductor's walk before the first unit."""
    import dask

    dask.config.set({"distributed.worker.multiprocessing-method": "forkserver",
                     # set in each worker as it starts, never in this process (see start_fork_server)
                     "distributed.nanny.pre-spawn-environ": {}, "distributed.nanny.environ": WORKER_ENV})
    start_fork_server()


class BackgroundCluster:
    """A cluster opened on a thread of its own, so that its worker processes start and
    import their libraries while the conductor is still walking the evidence: on a
    two-core machine that start-up is seconds of a scan that otherwise waits for it.
    """

    def __init__(self, workers: int, scheduler: str | None, images: list[ImageSpec],
                 say: Callable[[str], None]) -> None:
        self._stack = ExitStack()
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seized-cluster")
        self._client = self._starter.submit(self._stack.enter_context, open_client(workers, scheduler, images, say))
        self._closed: Future | None = None

    @classmethod
    def local(cls, workers: int, say: Callable[[str], None]) -> "BackgroundCluster":
        """A local cluster begun at the command's first line, with its fork server, so that
        its start (a second or more) overlaps the conductor's own imports and checks."""
        start_fork_server()
        return cls(workers, None, [], say)

    def client(self) -> "distributed.Client":
        """The connected client; raises what opening it raised (ClusterError: one line)."""
        return self._client.result()

    def close(self, wait: bool = True) -> None:
        """Stop the cluster; with wait=False it stops on its own thread (the workers take about
        half a second to exit) while the conductor assembles the tables, and `join` waits."""
        self._begin_close()
        if wait:
            self.join()

    def join(self) -> None:
        """Wait until the cluster has stopped (stopping it first if nobody has)."""
        self._begin_close()
        try:
            self._closed.result()
        finally:
            self._starter.shutdown()

    def _begin_close(self) -> None:
        if self._closed is None:
            self._closed = self._starter.submit(self._close)

    def _close(self) -> None:
        try:
            self._client.result()  # done: it ran before this on the same single thread
        except Exception:  # noqa: BLE001 - the error was (or will be) raised by client()
            pass
        finally:
            self._stack.close()
