"""summary.json: every number of the declaration as data, each with the query that gives it.

The declaration text is written from this structure (never from separate counting code), so
the prose and the data cannot disagree. Numbers from the tables are `Query` results;
numbers the tables cannot give (byte accounting) cite the manifest key they come from.
"""
from __future__ import annotations

import pyarrow as pa

from reports.bounds import bounds_section
from reports.case import CaseData
from reports.query import Cond, Counter, Query, eq

# Columns whose values split a table into categories worth a count each, when present.
CATEGORY_COLUMNS = ("kind", "rule", "brand", "brands", "category", "valid", "active", "stage", "encoding")
# Distinct counts worth stating, per table (column tuples).
DISTINCT = {
    "emails": (("address",), ("domain",)),
    "credentials": (("username", "secret"), ("username",)),
    "indicators": (("kind", "value"),),
    "yara": (("rule",), ("path",)),
    "harvest_lists": (("path", "member"),),
    "tor": (("onion",), ("hs_dir",)),
    "spam_templates": (("path", "member"), ("subject",)),
}
# Named counts the declaration states in words: table -> name -> (conditions, distinct columns).
SPECIAL = {
    "tor": {
        "onions_valid": ((Cond("onion", "is not null"), eq("valid", True)), ("onion",)),
        "onions_invalid": ((Cond("onion", "is not null"), eq("valid", False)), ("onion",)),
        "active_hidden_services": ((eq("kind", "hidden_service"), eq("active", True)), ("hs_dir",)),
    },
    "indicators": {
        "onions": ((eq("kind", "onion"),), ("value",)),
    },
}
# YARA rules tagged `software` say which software is installed (`/usr/bin/tor` is tor): their
# hits are listed as installed software, never counted as findings (issue 16).
SOFTWARE_TAG = "software"
FINDING_SCOPE = {"yara": (Cond("tags", "lacks", SOFTWARE_TAG),)}
FILE_STATUSES = ("scanned", "skipped", "error")
ACCOUNTING_KEYS = ("files_seen", "files_scanned", "files_skipped", "files_errored", "image_bytes",
                   "allocated_bytes", "unallocated_scanned_bytes", "unreadable_bytes")
MAX_LISTED = 1000
MAX_CATEGORIES = 200


def _table_section(case: CaseData, counter: Counter, name: str, base: tuple[Cond, ...]) -> dict:
    tables = case.tables
    present = tables.present(name)
    scope = FINDING_SCOPE.get(name, ())
    if present and tables.has(name, *(c.column for c in scope)):
        base = base + scope
    out: dict = {"present": present, "total": counter.counted(Query(name, base))}
    for cols in DISTINCT.get(name, ()):
        if present and tables.has(name, *cols):
            out["distinct_" + "_".join(cols)] = counter.counted(Query(name, base, cols))
    for column in CATEGORY_COLUMNS:
        # one GROUP BY per column: the count of each value is the query `base and column = value`
        tally = counter.tally(Query(name, base), column, MAX_CATEGORIES)
        if tally:
            is_list = pa.types.is_list(tables.schema(name).field(column).type)
            out["by_" + column] = {str(v).lower() if isinstance(v, bool) else v: {
                "value": k, "query": Query(name, base + (Cond(column, "has", v) if is_list else eq(column, v),)).text(),
                "table": name} for v, k in tally}
    for key, (conds, distinct) in SPECIAL.get(name, {}).items():
        if present and tables.has(name, *(c.column for c in conds)) and tables.has(name, *distinct):
            out[key] = counter.counted(Query(name, base + conds, distinct))
    return out


def _files_section(counter: Counter, base: tuple[Cond, ...]) -> dict:
    out = {"seen": counter.counted(Query("files", base))}
    for status in FILE_STATUSES:
        out[status] = counter.counted(Query("files", base + (eq("status", status),)))
    out["deleted_names"] = counter.counted(Query("files", base + (eq("allocated", False),)))
    return out


def _limitations(case: CaseData, counter: Counter, base: tuple[Cond, ...]) -> dict:
    return {
        "errors": _table_section(case, counter, "errors", base),
        "encryption_errors": counter.counted(Query("errors", base + (Cond("stage", "contains", "encrypt"),))),
        "luks_errors": counter.counted(Query("errors", base + (Cond("stage", "contains", "luks"),))),
        "volumes_without_file_system": counter.counted(Query("volumes", base + (eq("status", "no file system"),))),
        "volumes_with_error": counter.counted(Query("volumes", base + (eq("status", "error"),))),
    }


def _accounting(case: CaseData, evidence_id: str | None) -> dict:
    acc = case.manifest.get("accounting", {})
    out = {}
    for key in ACCOUNTING_KEYS:
        if evidence_id is None:
            value = sum(int(a.get(key, 0) or 0) for a in acc.values())
            query = f"manifest.json: sum of accounting.*.{key}"
        else:
            value = int(acc.get(evidence_id, {}).get(key, 0) or 0)
            query = f"manifest.json: accounting.{evidence_id}.{key}"
        out[key] = {"value": value, "query": query, "table": None}
    return out


HARVEST_ORDER = (("addresses", "descending"), ("unique", "descending"), ("path", "ascending"),
                 ("member", "ascending"), ("finding_id", "ascending"))


def _harvest_lists(case: CaseData, counter: Counter, evidence_id: str) -> dict:
    """The evidence item's harvest lists, largest first (by address count), at most MAX_LISTED."""
    tables = case.tables
    rows = []
    if tables.num_rows("harvest_lists"):
        have = tables.columns("harvest_lists")
        cols = [c for c in ("finding_id", "path", "member", "inode", "addresses", "unique") if c in have]
        order = ", ".join(f'"{c}" {"DESC" if how == "descending" else "ASC"} NULLS LAST'
                          for c, how in HARVEST_ORDER if c in cols)
        positions = [p for (p,) in tables.fetch(
            f"SELECT file_row_number FROM {tables.ref('harvest_lists', positions=True)} WHERE evidence_id = ? "
            f"ORDER BY {order + ', ' if order else ''}file_row_number LIMIT {MAX_LISTED}", [evidence_id])]
        rows = tables.take("harvest_lists", positions, cols).to_pylist()
    q = Query("harvest_lists", (eq("evidence_id", evidence_id),))
    return {"listed": rows, "order": "addresses, largest first", "total": counter.counted(q),
            "addresses": counter.counted(Query(q.table, q.where, total="addresses")), "query": q.text()}


def _installed_software(case: CaseData, counter: Counter, evidence_id: str) -> dict:
    """Hits of `software` YARA rules, per rule: how many files, a few of their paths."""
    tables = case.tables
    out: dict = {"rules": []}
    if not tables.has("yara", "tags", "rule", "path", "evidence_id") or tables.num_rows("yara") == 0:
        return out
    base = (eq("evidence_id", evidence_id), Cond("tags", "has", SOFTWARE_TAG))
    rules = tables.fetch(f"SELECT DISTINCT rule FROM {tables.ref('yara')} WHERE evidence_id = ? AND "
                         f"coalesce(list_contains(tags, ?), false) AND rule IS NOT NULL ORDER BY rule",
                         [evidence_id, SOFTWARE_TAG])
    for (rule,) in rules:
        q = Query("yara", base + (eq("rule", rule),), ("path",))
        paths = [p for (p,) in tables.fetch(
            f"SELECT DISTINCT path FROM {tables.ref('yara')} WHERE evidence_id = ? AND "
            f"coalesce(list_contains(tags, ?), false) AND rule = ? AND path IS NOT NULL ORDER BY path LIMIT 10",
            [evidence_id, SOFTWARE_TAG, rule])]
        out["rules"].append({"rule": rule, "files": counter.counted(q), "paths": paths})
    return out


def build_summary(case: CaseData) -> dict:
    counter = Counter(case.tables)
    evidence = {}
    for eid in case.evidence_ids:
        base = (eq("evidence_id", eid),)
        ev = case.evidence(eid)
        evidence[eid] = {
            "exhibit": case.exhibit(eid),
            "path": ev.get("path"),
            "size": ev.get("size"),
            "md5": ev.get("md5"), "sha1": ev.get("sha1"), "sha256": ev.get("sha256"),
            "verified": ev.get("verified"),
            "files": _files_section(counter, base),
            "accounting": _accounting(case, eid),
            "findings": {name: _table_section(case, counter, name, base) for name in case.finding_tables},
            "harvest_lists": _harvest_lists(case, counter, eid),
            "installed_software": _installed_software(case, counter, eid),
            "limitations": _limitations(case, counter, base),
            "bounds": bounds_section(counter, base),
        }
    totals = {
        "evidence_items": {"value": len(case.evidence_ids), "query": "evidence | count", "table": "evidence"},
        "files": _files_section(counter, ()),
        "accounting": _accounting(case, None),
        "findings": {name: _table_section(case, counter, name, ()) for name in case.finding_tables},
        "limitations": _limitations(case, counter, ()),
    }
    return {
        "format": "seized-summary/1",
        "case": {"name": case.case_name, "examiner": case.examiner},
        "query_language": "TABLE [where COL = 'v' (and ...)] | count [distinct COL, ...] (or | sum COL) over "
                          "CASE/tables/TABLE/part-0.parquet; 'contains' is case-insensitive; "
                          "count distinct COL skips nulls; count distinct A, B counts distinct tuples, null being a value",
        "evidence": evidence,
        "totals": totals,
        "failed_images": case.manifest.get("failed_images", []),
    }


def iter_counts(node, path: tuple = ()):
    """Every {"value", "query", "table"} leaf with its path (for tests and cross-checks)."""
    if isinstance(node, dict):
        if {"value", "query", "table"} <= node.keys():
            yield path, node
            return
        for key, child in node.items():
            yield from iter_counts(child, path + (key,))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from iter_counts(child, path + (i,))
