"""What the scan and the readers both need to say about a case directory.

Why here: `seized scan` (seized.casedir: may this directory hold a scan?) and every reader
(reports.casedir: is this a finished case?) refuse a directory the same way, with one line and
exit 2, and recognise a case by the same marker file.
"""
from __future__ import annotations

MARKER = ".seized-case.json"  # written by `seized scan` when it creates the case directory


class CaseDirError(Exception):
    """The case directory cannot be used, to scan into or to read; `str()` is the one line the
    examiner reads."""
