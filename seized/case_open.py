"""The case directory of a scan: its identity (what makes journalled units reusable), and
opening it only once the scan is sure to run (seized.casedir has the rules it checks)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from caseformat.journal import Journal
from ingest.images import ImageSpec
from seized.casedir import CaseDirPlan, check_case_dir, open_case_dir, undo_new_case_dir
from seized.request import ScanRequest



def case_identity(req: ScanRequest, rules_sha256: str | None) -> dict:
    """What makes journalled units reusable: same evidence, same tool, extractors and rules."""
    from extractors.registry import EXTRACTORS
    from known.step import hash_set_identity
    from seized import __version__
    from caseformat.journal import JOURNAL_FORMAT

    return {
        "images": [str(Path(p).absolute()) for p in req.images],
        "seized": __version__,
        "journal_format": JOURNAL_FORMAT,
        "extractors": [[e.name, e.version] for e in EXTRACTORS],
        "rules_sha256": rules_sha256,
        "containers": req.containers,
        "unallocated": req.unallocated,
        "hash_sets": hash_set_identity(req.known_hashes, req.notable_hashes),
    }


def run_key(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def evidence_paths(req: ScanRequest, specs: list[ImageSpec]) -> list[str]:
    """Every file the examiner named and every segment found: none may be touched."""
    return sorted({*req.images, *(seg for spec in specs for seg in spec.segments)})


def prepare_case(req: ScanRequest, identity: dict, specs: list[ImageSpec] = ()) -> str:
    """Create or reopen the case directory; refuse one that holds a different case or the
    evidence (seized.casedir has the rules). Returns the run key of the journal."""
    evidence = evidence_paths(req, list(specs))
    plan = check_case_dir(req.case, identity, evidence, req.force)
    open_case_dir(plan, identity, evidence)
    return run_key(identity)


class CaseOpener:
    """Creates the case directory and its journal when the scan is sure to run, and takes back
    what it created when a run on a new directory failed before any unit was journalled."""

    def __init__(self, plan: CaseDirPlan, identity: dict, evidence: list[str]) -> None:
        self.plan, self.identity, self.evidence = plan, identity, evidence
        self.created: list[Path] | None = None
        self.journal: Journal | None = None

    def open(self) -> Journal:
        self.created = open_case_dir(self.plan, self.identity, self.evidence)
        self.journal = Journal(self.plan.case, run_key(self.identity))
        return self.journal

    def undo_if_nothing_done(self) -> None:
        if self.created is None:
            return
        if self.journal is not None and any(self.journal.root.glob("*/stats.json")):
            return  # finished units: kept for the next run to resume from
        undo_new_case_dir(self.plan, self.created)
