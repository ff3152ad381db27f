"""Running a unit on a worker that writes its own journal entry (caseformat.journal)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from caseformat.journal import new_unit_folder, save_unit
from ingest.units import Unit
from seized.worker import ScanOptions, UnitResult, run_unit


def run_and_journal(unit: Unit, options: ScanOptions, root: str,
                    before_save: Callable[[], None] | None = None) -> UnitResult:
    """A unit run on a worker that sees the case directory: the worker writes the journal
    entry itself and hands back only the stats, so tables of hundreds of megabytes never
    cross to the conductor, whose CPU the workers would otherwise share. The worker writes
    the tables into the unit's temporary folder as it goes (bounded memory, see
    `seized.scanning.Rows`), and the folder is renamed into place when the unit is done.
    `before_save` may raise to keep the unit out of the journal (an interruption that reached
    a read in the middle of the unit: seized.interrupt)."""
    folder = new_unit_folder(Path(root), unit.id)
    try:
        result = run_unit(unit, options, folder)
        if before_save is not None:
            before_save()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if result.folder is None:  # a hash unit: no tables
        folder.rmdir()
    save_unit(Path(root), result)
    return UnitResult(result.unit_id, {}, result.stats, journalled=True)
