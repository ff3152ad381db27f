"""The journal of finished units: what lets a killed scan resume where it stopped.

Each finished unit is a folder of Arrow IPC files plus `stats.json`, written under a
temporary name and renamed into place, so a unit is either wholly in the journal or not
at all, whatever kills the scan (SIGKILL, a full disk, a lost worker). The folder, not each
file, is the atomic step here (caseformat.atomic writes single files). Running a unit and
journalling it on a worker is the scan's (seized.journal.run_and_journal).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Iterator, Protocol

import pyarrow as pa
import pyarrow.ipc as ipc

from caseformat.atomic import make_dir


class FinishedUnit(Protocol):
    """What the journal keeps of a finished unit (seized.worker.UnitResult)."""

    unit_id: str
    tables: dict[str, bytes]  # Arrow IPC file bytes, by table name
    stats: dict
    folder: str | None  # a temporary folder of the journal the worker already wrote its tables into


# What a journalled unit holds; part of the case identity, so a journal written by a build
# whose units held something else is never reused (2: finding tables carry `finding_key`;
# 3: each finding table comes sorted by its worker, see caseformat.tables.SORT_KEYS).
JOURNAL_FORMAT = 3

# Rows of a unit's finding table the conductor reads at a time (seized.assembly), and the rows
# per batch a worker gives the rows it held to the end (seized.worker): the case's Parquet pages
# follow these pieces, so both sides must use this one number for the bytes to be the same
# however a worker spilled.
PIECE_ROWS = 1 << 16


def read_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """The record batches of an Arrow IPC file, one at a time. Read, not memory-mapped: a mapped
    file's touched pages count in the process's memory until the map is closed, so reading a
    dense unit's table (most of a gigabyte) or merging N spilled runs mapped would end up with
    all of it resident; read this way, only the batch at hand is held."""
    with pa.OSFile(str(path)) as source:
        reader = ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


class Journal:
    def __init__(self, case: Path, run_key: str) -> None:
        self.root = case / ".journal" / run_key
        make_dir(self.root)
        for stale in self.root.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def done(self, unit_id: str) -> bool:
        return (self.root / unit_id / "stats.json").is_file()

    def save(self, result: FinishedUnit) -> None:
        save_unit(self.root, result)

    def load_table(self, unit_id: str, name: str) -> pa.Table | None:
        """One table of a finished unit (memory-mapped), None when the unit produced none."""
        path = self.root / unit_id / f"{name}.arrow"
        if not path.is_file():
            return None
        with pa.memory_map(str(path)) as source:
            return ipc.open_file(source).read_all()

    def table_pieces(self, unit_id: str, name: str, max_rows: int) -> Iterator[pa.Table]:
        """One table of a finished unit, `max_rows` rows at a time, in order (none when the
        unit produced none); only the batch at hand is held (`read_batches`)."""
        path = self.root / unit_id / f"{name}.arrow"
        if not path.is_file():
            return
        for batch in read_batches(path):
            for start in range(0, batch.num_rows, max_rows):
                yield pa.Table.from_batches([batch.slice(start, max_rows)])
            del batch

    def load_stats(self, unit_id: str) -> dict:
        return json.loads((self.root / unit_id / "stats.json").read_text())

    def discard(self) -> None:
        shutil.rmtree(self.root.parent, ignore_errors=True)


def save_unit(root: Path, result: FinishedUnit) -> None:
    """Put one finished unit into the journal at `root`, whole or not at all.

    Worker processes call this too (run_and_journal), so two of them may finish the same
    unit (a worker presumed lost, then retried): each writes its own temporary folder, and
    one that finds the unit already in place drops its copy, which holds the same bytes.
    """
    if result.folder is not None:  # the worker wrote its tables into a temporary folder of `root`
        tmp = Path(result.folder)
    else:
        tmp = new_unit_folder(root, result.unit_id)
    for name, data in result.tables.items():  # Arrow IPC file bytes, as the worker made them
        (tmp / f"{name}.arrow").write_bytes(data)
    (tmp / "stats.json").write_text(json.dumps(result.stats, sort_keys=True))
    for f in tmp.iterdir():
        os.chmod(f, 0o600)
    final = root / result.unit_id
    if (final / "stats.json").is_file():
        shutil.rmtree(tmp)
        return
    if final.exists():  # a folder without stats.json is not a finished unit (Journal.done)
        shutil.rmtree(final)
    try:
        os.replace(tmp, final)
    except OSError:
        if not (final / "stats.json").is_file():
            raise
        shutil.rmtree(tmp)  # another process put the same unit in place first


def new_unit_folder(root: Path, unit_id: str) -> Path:
    """A fresh temporary folder for one unit's files (`.tmp-*`: removed by the next Journal if left)."""
    tmp = root / f".tmp-{unit_id}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir(mode=0o700)
    return tmp
