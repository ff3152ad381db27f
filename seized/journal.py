"""The journal of finished units: what lets a killed scan resume where it stopped.

Each finished unit is a folder of Arrow IPC files plus `stats.json`, written under a
temporary name and renamed into place, so a unit is either wholly in the journal or not
at all, whatever kills the scan (SIGKILL, a full disk, a lost worker).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from seized.worker import UnitResult

# What a journalled unit holds; part of the case identity, so a journal written by a build
# whose units held something else is never reused (2: finding tables carry `finding_key`).
JOURNAL_FORMAT = 2


class Journal:
    def __init__(self, case: Path, run_key: str) -> None:
        self.root = case / ".journal" / run_key
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for stale in self.root.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def done(self, unit_id: str) -> bool:
        return (self.root / unit_id / "stats.json").is_file()

    def save(self, result: UnitResult) -> None:
        tmp = self.root / f".tmp-{result.unit_id}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(mode=0o700)
        for name, data in result.tables.items():  # Arrow IPC file bytes, as the worker made them
            (tmp / f"{name}.arrow").write_bytes(data)
        (tmp / "stats.json").write_text(json.dumps(result.stats, sort_keys=True))
        for f in tmp.iterdir():
            os.chmod(f, 0o600)
        final = self.root / result.unit_id
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)

    def load_table(self, unit_id: str, name: str) -> pa.Table | None:
        """One table of a finished unit (memory-mapped), None when the unit produced none."""
        path = self.root / unit_id / f"{name}.arrow"
        if not path.is_file():
            return None
        with pa.memory_map(str(path)) as source:
            return ipc.open_file(source).read_all()

    def load_stats(self, unit_id: str) -> dict:
        return json.loads((self.root / unit_id / "stats.json").read_text())

    def discard(self) -> None:
        shutil.rmtree(self.root.parent, ignore_errors=True)
