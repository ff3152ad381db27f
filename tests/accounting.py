"""`assert_accounting(case)`: nothing silently lost, checked from a finished case directory.

Why a helper of its own: every test that builds an image should also prove the two sums the
examiner reads at the end of a scan, from the manifest AND from the tables (the manifest
could agree with itself and still disagree with the `files` table). Any test may import it:
`from tests.accounting import assert_accounting`.

The two identities, per evidence item:
  files_seen = files_scanned + files_skipped + files_errored        (= rows of `files`)
  image_bytes = allocated_bytes + unallocated_scanned_bytes + unreadable_bytes
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds

_FILE_KEYS = ("files_seen", "files_scanned", "files_skipped", "files_errored")
_BYTE_KEYS = ("image_bytes", "allocated_bytes", "unallocated_scanned_bytes", "unreadable_bytes")


def _table(case: Path, name: str) -> list[dict]:
    return ds.dataset(case / "tables" / name, format="parquet").to_table().to_pylist()


def assert_accounting(case: Path) -> dict[str, dict]:
    """Check both identities for every evidence item of `case`; return the accounting dict.

    Also checks that the manifest's counts equal the `files` table's rows per status, that
    every skipped row has a reason, that every errored row is explained in `errors` or by its
    skip reason, and that `image_bytes` is the evidence size.
    """
    case = Path(case)
    manifest = json.loads((case / "manifest.json").read_text())
    accounting = manifest["accounting"]
    evidence = {e["evidence_id"]: e for e in manifest["evidence"]}
    assert set(accounting) == set(evidence), f"accounting ids {sorted(accounting)} != evidence {sorted(evidence)}"
    files = _table(case, "files")
    by_evidence: dict[str, Counter] = {eid: Counter() for eid in evidence}
    for row in files:
        assert row["evidence_id"] in by_evidence, f"files row of an unknown evidence id: {row['evidence_id']}"
        by_evidence[row["evidence_id"]][row["status"]] += 1
        assert row["status"] in ("scanned", "skipped", "error"), row
        if row["status"] == "skipped":
            assert row["skip_reason"], f"skipped without a reason: {row['path']}"
    for eid, acc in accounting.items():
        for key in _FILE_KEYS + _BYTE_KEYS:
            assert isinstance(acc.get(key), int) and acc[key] >= 0, f"{eid}: accounting[{key!r}] = {acc.get(key)!r}"
        assert acc["files_seen"] == acc["files_scanned"] + acc["files_skipped"] + acc["files_errored"], \
            f"{eid}: files seen {acc['files_seen']} != scanned {acc['files_scanned']} + skipped " \
            f"{acc['files_skipped']} + errored {acc['files_errored']}"
        counts = by_evidence[eid]
        assert acc["files_seen"] == sum(counts.values()), f"{eid}: files_seen {acc['files_seen']} != {sum(counts.values())} rows"
        assert (acc["files_scanned"], acc["files_skipped"], acc["files_errored"]) == \
            (counts["scanned"], counts["skipped"], counts["error"]), f"{eid}: manifest {acc} vs table {dict(counts)}"
        assert sum(acc.get("skip_reasons", {}).values()) == acc["files_skipped"], f"{eid}: skip_reasons do not sum"
        assert acc["image_bytes"] == evidence[eid]["size"], f"{eid}: image_bytes {acc['image_bytes']} != size"
        parts = acc["allocated_bytes"] + acc["unallocated_scanned_bytes"] + acc["unreadable_bytes"]
        assert acc["image_bytes"] == parts, \
            f"{eid}: image bytes {acc['image_bytes']} != allocated {acc['allocated_bytes']} + unallocated scanned " \
            f"{acc['unallocated_scanned_bytes']} + unreadable {acc['unreadable_bytes']} (= {parts})"
    if any(acc["files_errored"] for acc in accounting.values()):
        errors = _table(case, "errors")
        for row in files:
            if row["status"] == "error":
                explained = any(e["evidence_id"] == row["evidence_id"] and (e["path"] == row["path"] or e["inode"]
                                == row["inode"]) for e in errors) or row["skip_reason"]
                assert explained, f"errored file without an errors row or reason: {row['path']}"
    return accounting
