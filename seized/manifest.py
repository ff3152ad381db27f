"""The case manifest: what was scanned, with what, when, and the hash of every file written.

Counsel cite the manifest's hashes and versions; `seized verify` re-checks them.
"""
from __future__ import annotations

import os
import platform

from caseformat.atomic import write_json
from caseformat.manifest import dependency_versions, file_sha256, utc_now


def write_case(req, assembled, rule_set, started: str, failures, timings: dict[str, float],
               unit_results: str) -> dict:
    """manifest.json for the tables `assembled` wrote (seized.assembly.Assembled)."""
    evidence_rows, accounting = assembled.evidence_rows, assembled.accounting
    written = {name: {"path": str(path.relative_to(req.case)), "rows": rows, "sha256": file_sha256(path)}
               for name, (path, rows) in sorted(assembled.tables.items())}
    manifest = {
        "tool": {"name": "seized", "version": dependency_versions()["seized"]},
        "dependencies": dependency_versions(),
        "platform": {"system": platform.platform(), "machine": platform.machine()},
        "command_line": req.command_line,
        "working_directory": os.getcwd(),  # relative paths in command_line are relative to it
        "started_utc": started,
        "finished_utc": utc_now(),
        "case": {"name": req.case_name, "examiner": req.examiner},
        "options": {
            "workers": req.workers, "scheduler": req.scheduler, "default_rules": req.default_rules,
            "rule_paths": [str(p) for p in req.rule_paths], "containers": req.containers,
            "unallocated": req.unallocated,
        },
        "rules": None if rule_set is None else {
            "sha256": rule_set.sha256,
            "sources": [{"namespace": s.namespace, "path": str(s.path), "sha256": s.sha256, "rules": s.rule_count}
                        for s in rule_set.sources],
        },
        "evidence": [{k: r[k] for k in ("evidence_id", "path", "format", "size", "md5", "sha1", "sha256",
                                         "stored_md5", "stored_sha1", "verified")} for r in evidence_rows],
        "failed_images": [{"image": f.image, "reason": f.reason} for f in failures],
        "accounting": accounting,
        "timings": timings,  # wall seconds per phase: plan (walk), units (Dask), assemble (tables)
        "unit_results": unit_results,  # how finished units reached the journal (seized.execution.execute)
        # tables whose unit runs overlapped and had to be sorted whole in memory (expected: none)
        "tables_sorted_in_memory": assembled.held_in_memory,
        "tables": written,
        "known_files": assembled.known_files,  # hash sets (name, SHA-256) and package databases read
    }
    write_json(req.case / "manifest.json", manifest)
    return manifest
