"""Ctrl-C and SIGTERM: one line, exit 130 / 143, and a journal the next run resumes from.

The conductor turns the signal into `Interrupted` carrying how many units were finished; the
CLI prints "interrupted after N of M units; run the same command again to resume". Worker
processes never see a terminal's Ctrl-C: the fork server they are forked from is started with
SIGINT ignored (`ignoring_sigint`), which a process keeps across fork and exec, so no worker
prints a KeyboardInterrupt traceback while the conductor stops them in order.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator


class Interrupted(KeyboardInterrupt):
    """The scan was stopped by SIGINT or SIGTERM; `done`/`total` units, when known."""

    def __init__(self, signum: int = signal.SIGINT, done: int | None = None, total: int | None = None,
                 phase: str | None = None) -> None:
        super().__init__(signum)
        self.signum, self.done, self.total, self.phase = signum, done, total, phase

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)

    def line(self) -> str:
        if self.done is not None and self.total is not None:
            where = f"interrupted after {self.done} of {self.total} units"
            if self.phase:
                where += f" ({self.phase})"
        else:
            where = "interrupted" + (f" {self.phase}" if self.phase else "")
        return f"{where}; run the same command again to resume"


def from_keyboard_interrupt(exc: KeyboardInterrupt, done: int | None, total: int | None,
                            phase: str | None = None) -> Interrupted:
    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    return Interrupted(signum, done, total, phase)


_pending: int | None = None


def pending() -> int | None:
    """The signal received, if any. A signal that arrives while TSK is calling back into Python
    (an image read) is turned by pytsk3 into a RuntimeError or OSError, which the walk may even
    record as a problem: the conductor asks here before it trusts a plan or journals a unit."""
    return _pending


def raise_if_pending() -> None:
    if _pending is not None:
        raise Interrupted(_pending)


def _on_signal(signum: int, frame) -> None:
    """First signal: raise in the main thread so the conductor stops in order. A second one
    while it stops: leave at once (the journal is consistent whenever a process dies)."""
    global _pending
    if _pending is not None:
        os.write(2, b"seized: error: interrupted again; stopping now; run the same command again to resume\n")
        os._exit(128 + signum)
    _pending = signum
    raise Interrupted(signum)


def install_handlers() -> None:
    """SIGINT and SIGTERM raise `Interrupted` in the main thread (call from the main thread)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup and background jobs keep ignoring
            signal.signal(sig, _on_signal)


@contextmanager
def ignoring_sigint() -> Iterator[None]:
    """SIGINT ignored while a child process is started (it inherits the disposition); a no-op
    off the main thread, where Python cannot change signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.stderr.flush()
