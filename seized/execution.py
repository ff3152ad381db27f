"""Running a case's units: in process, on local worker processes over pipes, or on Dask,
with a progress display. Every finished unit ends in the journal (caseformat.journal), by the
worker that ran it when it sees the case directory, else by this process.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from caseformat.journal import Journal
from caseformat.problems import Problem, Stage
from caseformat.tables import errors_table
from ingest.problems import one_line
from ingest.units import Unit, unit_cost
from seized import interrupt
from seized.worker import ScanOptions, UnitResult, ipc_bytes, run_unit

if TYPE_CHECKING:
    from seized.cluster import BackgroundCluster


class Progress:
    """A rich progress bar per image on a terminal (units, bytes, rate, ETA), plain periodic
    lines otherwise (logs, CI)."""

    def __init__(self, total_bytes: int, total_units: int, quiet: bool = False, units: list | None = None) -> None:
        self.total_bytes = total_bytes
        self.total_units = total_units
        self.done_bytes = 0
        self.done_units = 0
        self.quiet = quiet
        self._start = self._last = time.monotonic()
        self._bar = None
        self._images: dict[str, list[int]] = {}  # image path -> [units done, units, bar task id, bytes]
        for u in units or ():
            entry = self._images.setdefault(u.image.path, [0, 0, -1, 0])
            entry[1] += 1
            entry[3] += u.nbytes
        if not quiet and sys.stderr.isatty():
            from rich.progress import (BarColumn, DownloadColumn, Progress as RichProgress, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)
            from rich.console import Console

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.fields[units]} units"), DownloadColumn(), TransferSpeedColumn(),
                                     TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task("scanning", total=max(total_bytes, 1), units=f"0/{total_units}")
            if len(self._images) > 1:
                for path, entry in self._images.items():
                    entry[2] = self._bar.add_task(f"  {Path(path).name}", total=max(entry[3], 1),
                                                  units=f"0/{entry[1]}")
            self._bar.start()

    def advance(self, nbytes: int, image: str | None = None) -> None:
        self.done_bytes += nbytes
        self.done_units += 1
        entry = self._images.get(image) if image is not None else None
        if entry is not None:
            entry[0] += 1
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done_bytes, units=f"{self.done_units}/{self.total_units}")
            if entry is not None and entry[2] >= 0:
                self._bar.update(entry[2], advance=nbytes, units=f"{entry[0]}/{entry[1]}")
        elif not self.quiet and time.monotonic() - self._last > 10:
            self._last = time.monotonic()
            pct = 100 * self.done_bytes / max(self.total_bytes, 1)
            rate = self.done_bytes / max(self._last - self._start, 1e-6)
            eta = (self.total_bytes - self.done_bytes) / rate if rate > 0 else 0
            print(f"seized: {self.done_units}/{self.total_units} units, {self.done_bytes / 1e6:.0f} of "
                  f"{self.total_bytes / 1e6:.0f} MB ({pct:.0f}%), {rate / 1e6:.1f} MB/s, about {eta:.0f} s left",
                  flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def unit_failed(unit: Unit, why: str) -> UnitResult:
    """The journal entry of a unit that could not be run: one errors row, its bytes unread."""
    problem = Problem(None, None, None, None, Stage.UNIT.of(unit.kind), why)
    return UnitResult(unit.id, {"errors": ipc_bytes(errors_table([problem]))},
                      {"failed": True, "bytes_read": 0, "bytes_unreadable": unit.nbytes})


def execute(units: list[Unit], options: ScanOptions, journal: Journal, progress: Progress,
            say: Callable[[str], None], cluster: "BackgroundCluster | None") -> str:
    """Run the units the journal lacks; returns how their results reached the journal."""
    todo = [u for u in units if not journal.done(u.id)]
    skipped = len(units) - len(todo)
    if skipped:
        say(f"resuming: {skipped} of {len(units)} units already done")
    for u in units:
        if journal.done(u.id):
            progress.advance(u.nbytes, u.image.path)
    if not todo:
        return "none run (all journalled)"
    if cluster is None:
        from seized.journal import run_and_journal

        for unit in todo:  # tables written to the journal as they are made (bounded memory)
            # a signal inside a TSK read comes out as a read error: such a unit is not journalled
            run_and_journal(unit, options, str(journal.root), interrupt.raise_if_pending)
            progress.advance(unit.nbytes, unit.image.path)
        return "in process"
    if not hasattr(cluster, "client"):  # loopback is down: local processes over pipes (seized.offline)
        return cluster.run(todo, options, journal, progress, unit_failed)
    from distributed import as_completed

    from seized.cluster import workers_share
    from seized.journal import run_and_journal

    client = cluster.client()
    opts = client.scatter(options, broadcast=True)
    # Workers that see the case directory itself journal their own results; others (another
    # machine without the case share) send the tables back for the conductor to write.
    direct = workers_share(client, journal.root)
    task, extra = (run_and_journal, (str(journal.root),)) if direct else (run_unit, ())
    # the long single-pass image hashes first, then the costliest units, so no long unit
    # starts last and leaves the other workers idle at the end
    ordered = sorted(todo, key=lambda u: (u.kind != "hash", -unit_cost(u), u.id))
    futures = {
        client.submit(task, u, opts, *extra, key=f"{u.kind}-{u.id}", retries=3, pure=False,
                      priority=len(ordered) - i): u
        for i, u in enumerate(ordered)
    }
    for fut in as_completed(futures):
        unit = futures.pop(fut)
        try:
            result: UnitResult = fut.result()
        except Exception as exc:  # a unit that fails after retries is recorded, not fatal
            result = unit_failed(unit, f"unit failed: {one_line(exc)}")
        if not result.journalled:
            journal.save(result)
        elif not journal.done(unit.id):  # a worker said so, but the entry is not here
            journal.save(unit_failed(unit, "unit failed: its worker's journal entry is missing"))
        progress.advance(unit.nbytes, unit.image.path)
        fut.release()
    return "written by the workers" if direct else "sent to the conductor"
