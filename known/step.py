"""The known-files step of a scan: load the hash sets while the units run, then classify each
evidence item's `files` at assembly time.

The conductor makes one `KnownFiles` per scan (the sets load on a thread of their own from
then on) and calls `classify_files` once per evidence item; the manifest gets `manifest()`.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa

from known.classify import classify
from known.evidence import read_package_databases
from known.hashsets import HashSet, load_hash_set


def hash_set_identity(known: list[Path], notable: list[Path]) -> list[list]:
    """What identifies the sets for the case identity without reading them: kind, absolute path,
    size and modification time (their SHA-256 is in the manifest once read)."""
    out = []
    for kind, paths in (("known", known), ("notable", notable)):
        for p in paths:
            st = Path(p).stat()
            out.append([kind, str(Path(p).absolute()), st.st_size, st.st_mtime_ns])
    return out


class KnownFiles:
    def __init__(self, known: list[Path] = (), notable: list[Path] = ()) -> None:
        self._paths = [(Path(p), "known") for p in known] + [(Path(p), "notable") for p in notable]
        self._sets: list[HashSet] = []
        self._error: BaseException | None = None
        self.load_seconds = 0.0
        self.evidence: dict[str, dict] = {}
        self._thread = threading.Thread(target=self._load, name="seized-hashsets", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        t0 = time.monotonic()
        try:
            # notable sets first: their order is their precedence
            ordered = [p for p in self._paths if p[1] == "notable"] + [p for p in self._paths if p[1] == "known"]
            self._sets = [load_hash_set(p, kind) for p, kind in ordered]
        except BaseException as exc:  # re-raised where the sets are needed
            self._error = exc
        self.load_seconds = round(time.monotonic() - t0, 2)

    def sets(self) -> list[HashSet]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._sets

    def classify_files(self, files: pa.Table, plan, evidence_id: str, errors: list[pa.Table]) -> pa.Table:
        """`files` of one evidence item, classified; problems reading its package databases are
        appended to `errors` (as tables of caseformat.schema.ERRORS)."""
        from caseformat.tables import errors_table

        try:
            dbs = read_package_databases(plan)
        except Exception as exc:  # noqa: BLE001 - a damaged database never stops the case: an errors row
            from ingest.problems import one_line
            from known.evidence import OWNED, PackageDatabases, database_problem

            dbs = PackageDatabases(OWNED.empty_table(),
                                   [database_problem(None, None, f"package databases not read: {one_line(exc)}")])
        if dbs.problems:
            errors.append(errors_table(dbs.problems, evidence_id))
        out = classify(files, dbs.owned, self.sets())
        self.evidence[evidence_id] = {"package_databases": dict(sorted(dbs.packages.items())),
                                      "owned_paths": dbs.owned.num_rows}
        return out

    def manifest(self) -> dict:
        sets = self.sets()
        return {"hash_sets": [s.manifest() for s in sets], "hash_sets_load_s": self.load_seconds,
                "evidence": dict(sorted(self.evidence.items()))}
