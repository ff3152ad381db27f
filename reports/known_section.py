"""The declaration's known-files section and its numbers in summary.json.

Why a section of its own, before the findings: on a seized server most files are the
operating system the evidence itself says was installed. What an examiner must see first is
what differs from that (a package's file whose content changed: a trojaned `sshd`) and what
a notable hash set names; findings in files of installed packages are counted apart, never
dropped. Every number is a count over CASE/tables/files with the query that gives it.
"""
from __future__ import annotations

from reports import doc
from reports.case import CaseData
from reports.query import Counter, Query, eq

STATUSES = ("known", "modified", "modified-config", "notable", "unknown")
LISTED = ("modified", "notable")  # listed file by file, modified first
MAX_LISTED = 200
JOIN_KEYS = ("evidence_id", "volume", "inode", "path")


def _known_counts(case: CaseData, table: str) -> dict[str, int] | None:
    """Evidence id -> findings of `table` that lie in files classified known; None when the
    tables cannot say. One join over all evidence items, in DuckDB over the files."""
    tables = case.tables
    if not tables.has("files", "known_status", "stream", *JOIN_KEYS) or not tables.has(table, "stream", *JOIN_KEYS):
        return None
    if tables.num_rows(table) == 0 or tables.num_rows("files") == 0:
        return {}
    keys = ", ".join(JOIN_KEYS)
    rows = tables.fetch(
        f"SELECT t.evidence_id, count(*) FROM (SELECT {keys} FROM {tables.ref(table)} WHERE stream IS NULL) t "
        f"JOIN (SELECT DISTINCT {keys} FROM {tables.ref('files')} WHERE known_status = 'known' AND stream IS NULL) f "
        f"ON " + " AND ".join(f"t.{k} = f.{k}" for k in JOIN_KEYS) + " GROUP BY t.evidence_id")
    return {e: int(k) for e, k in rows}


def _in_known_files(counts: dict[str, int], table: str, evidence_id: str) -> dict:
    """Findings of `table` on evidence `evidence_id` that lie in files classified known."""
    # a join is beyond reports.query's grammar: the count carries SQL (DuckDB reads it as is)
    sql = (f"SELECT count(*) FROM 'tables/{table}/part-0.parquet' t JOIN 'tables/files/part-0.parquet' f "
           f"USING ({', '.join(JOIN_KEYS)}) WHERE t.evidence_id = '{evidence_id}' AND t.stream IS NULL "
           f"AND f.stream IS NULL AND f.known_status = 'known'")
    return {"value": counts.get(evidence_id, 0), "sql": sql, "table": table}


def known_summary(case: CaseData) -> dict:
    """summary.json["known_files"]: per evidence, files by known_status, the modified and notable
    files listed, and each finding table's count of findings in known files."""
    tables = case.tables
    if not tables.has("files", "known_status"):
        return {"present": False}
    counter = Counter(tables)
    out: dict = {"present": True, "hash_sets": (case.manifest.get("known_files") or {}).get("hash_sets", []),
                 "evidence": {}}
    known_counts = {name: got for name in case.finding_tables if (got := _known_counts(case, name)) is not None}
    for eid in case.evidence_ids:
        base = (eq("evidence_id", eid),)
        ev: dict = {"by_status": {s: counter.counted(Query("files", base + (eq("known_status", s),)))
                                  for s in STATUSES}}
        listed = []
        cols = ["known_status", "path", "inode", "volume", "known_source", "size", "md5", "sha256", "allocated"]
        for status in LISTED:
            positions = [p for (p,) in tables.fetch(
                f"SELECT file_row_number FROM {tables.ref('files', positions=True)} WHERE evidence_id = ? "
                f"AND known_status = ? ORDER BY file_row_number LIMIT {MAX_LISTED}", [eid, status])]
            listed += tables.take("files", positions, cols).to_pylist()
        ev["listed"] = listed
        ev["findings_in_known_files"] = {name: _in_known_files(counts, name, eid)
                                         for name, counts in known_counts.items()}
        ev["package_databases"] = ((case.manifest.get("known_files") or {}).get("evidence") or {}).get(eid, {})
        out["evidence"][eid] = ev
    return out


def _n(v) -> str:
    return f"{int(v or 0):,}"


def add_known_section(b) -> None:
    """Append the section to a reports.declaration._Builder (paragraphs numbered by it)."""
    data = b.summary.get("known_files") or {}
    if not data.get("present"):
        return
    b.add(doc.Heading(2, "Known files, changed files and notable files"))
    sets = data.get("hash_sets") or []
    if sets:
        named = "; ".join(f"{s['name']} ({s['kind']}, {s['format']}, SHA-256 {s['sha256']})" for s in sets)
        b.para(f"Besides the package databases found on the evidence, I used these hash sets: {named} "
               f"(manifest.json, known_files.hash_sets).")
    b.para("For every file it read, seized compared the MD5, SHA-1 and SHA-256 it computed over the file's "
           "content with the digests recorded by the package databases on the same file system (dpkg's "
           "status and info/*.md5sums; rpm's rpmdb.sqlite) and with the hash sets above. A file is 'known' when "
           "its hash equals a recorded digest, 'modified' when a package owns its path but its content differs, "
           "'modified-config' when that path is a configuration file the package lets the administrator change, "
           "'notable' when its hash is in a notable hash set, and 'unknown' otherwise. The databases' digests "
           "are only compared, never taken as findings.")
    for eid in b.case.evidence_ids:
        ev = data["evidence"].get(eid)
        if not ev:
            continue
        ex = b.case.exhibit(eid)
        st = ev["by_status"]
        dbs = ev.get("package_databases", {}).get("package_databases") or {}
        where = ", ".join(f"{k.split(' ')[1]} on volume {k.split(' ')[0]}: {_n(v)} packages"
                          for k, v in sorted(dbs.items())) or "none found"
        parts = "; ".join(f"{b.num(st[s])} {s}" for s in STATUSES)
        b.para(f"On Exhibit {ex} (package databases: {where}), the files read are: {parts}.")
        rows = []
        for r in ev["listed"]:
            rows.append((r["known_status"], ex, r["path"] or "", "" if r["inode"] is None else str(r["inode"]),
                         r["known_source"] or "", r["md5"] or "", r["sha256"] or "",
                         "" if r["allocated"] else "deleted"))
        if rows:
            total = st["modified"]["value"] + st["notable"]["value"]
            caption = "Modified and notable files"
            if total > len(rows):
                caption += f" (first {len(rows)} of {_n(total)}; the rest by the queries above)"
            b.add(doc.Table(("Status", "Exhibit", "Path", "Inode", "Package or hash set", "MD5", "SHA-256", ""),
                            tuple(rows), caption))
        else:
            b.para(f"No file on Exhibit {ex} is modified from its package or in a notable hash set.")
        totals = b.summary["evidence"][eid]["findings"]
        apart = []
        for table, got in sorted(ev.get("findings_in_known_files", {}).items()):
            total = (totals.get(table) or {}).get("total", {}).get("value", 0)
            if total and got["value"]:
                apart.append(f"of the {_n(total)} {table} findings, {_n(got['value'])} are in files of installed "
                             f"packages or known hash sets {b.q({'value': got['value'], 'query': got['sql'], 'table': table})}")
        if apart:
            b.para(f"Findings below are counted whatever the file they are in; on Exhibit {ex}, " + "; ".join(apart)
                   + ". Those in known files are what the installed software ships (documentation, rules, test "
                     "data), not artefacts its users made.")
