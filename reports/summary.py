"""summary.json: every number of the declaration as data, each with the query that gives it.

The declaration text is written from this structure (never from separate counting code), so
the prose and the data cannot disagree. Numbers from the tables are `Query` results;
numbers the tables cannot give (byte accounting) cite the manifest key they come from.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

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


def _values(table: pa.Table | None, column: str) -> list:
    if table is None or column not in table.column_names or table.num_rows == 0:
        return []
    typ = table.schema.field(column).type
    col = table.column(column)
    if pa.types.is_list(typ) and pa.types.is_string(typ.value_type):
        col, typ = pc.list_flatten(col), typ.value_type
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_boolean(typ)):
        return []
    uniq = pc.unique(col).drop_null().to_pylist()
    return sorted(uniq, key=lambda v: (str(type(v)), v))[:MAX_CATEGORIES]


def _table_section(case: CaseData, counter: Counter, name: str, base: tuple[Cond, ...]) -> dict:
    table = case.tables.get(name)
    scope = FINDING_SCOPE.get(name, ())
    if table is not None and all(c.column in table.column_names for c in scope):
        base = base + scope
    out: dict = {"present": table is not None, "total": counter.counted(Query(name, base))}
    for cols in DISTINCT.get(name, ()):
        if table is not None and all(c in table.column_names for c in cols):
            out["distinct_" + "_".join(cols)] = counter.counted(Query(name, base, cols))
    for column in CATEGORY_COLUMNS:
        values = _values(counter.rows(Query(name, base), [column]), column)
        if values:
            is_list = pa.types.is_list(table.schema.field(column).type)
            out["by_" + column] = {str(v).lower() if isinstance(v, bool) else v:
                                   counter.counted(Query(name, base + (Cond(column, "has", v) if is_list else eq(column, v),)))
                                   for v in values}
    for key, (conds, distinct) in SPECIAL.get(name, {}).items():
        if table is not None and all(c.column in table.column_names for c in conds) and \
                all(c in table.column_names for c in distinct):
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
    table = case.tables.get("harvest_lists")
    rows = []
    if table is not None and table.num_rows:
        picked = table.filter(pc.equal(table.column("evidence_id"), evidence_id))
        cols = [c for c in ("finding_id", "path", "member", "inode", "addresses", "unique") if c in picked.column_names]
        order = [(c, how) for c, how in HARVEST_ORDER if c in cols]
        rows = picked.select(cols).sort_by(order).slice(0, MAX_LISTED).to_pylist()
    q = Query("harvest_lists", (eq("evidence_id", evidence_id),))
    return {"listed": rows, "order": "addresses, largest first", "total": counter.counted(q),
            "addresses": counter.counted(Query(q.table, q.where, total="addresses")), "query": q.text()}


def _installed_software(case: CaseData, counter: Counter, evidence_id: str) -> dict:
    """Hits of `software` YARA rules, per rule: how many files, a few of their paths."""
    table = case.tables.get("yara")
    out: dict = {"rules": []}
    if table is None or "tags" not in table.column_names or table.num_rows == 0:
        return out
    base = (eq("evidence_id", evidence_id), Cond("tags", "has", SOFTWARE_TAG))
    hits = counter.rows(Query("yara", base), ["rule", "path"])
    if hits is None or hits.num_rows == 0:
        return out
    for rule in sorted(set(hits.column("rule").to_pylist())):
        q = Query("yara", base + (eq("rule", rule),), ("path",))
        paths = sorted({p for r, p in zip(hits.column("rule").to_pylist(), hits.column("path").to_pylist())
                        if r == rule and p is not None})
        out["rules"].append({"rule": rule, "files": counter.counted(q), "paths": paths[:10]})
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
