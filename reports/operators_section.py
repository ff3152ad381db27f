"""Declaration section "Access and operators": what ties the evidence items to one operator.

For each operator link in `correlations` (reports.operators: the same SSH key, login address,
wallet/purse/handle, key comment or hand-written crontab line on several items) one numbered
paragraph names the value, and for each exhibit the first and last time it was seen and the
findings that show it (cited, so they appear in Appendix A). Then, per exhibit, the mail the
server's own log counted and the identities found, each with the query that recomputes it.
Called by reports.declaration with the declaration's builder (its `para`, `add`, `cited`).
"""
from __future__ import annotations

import pyarrow.compute as pc

from reports import doc
from reports.query import Cond, Query, eq
from reports.words import count, listing
from reports.operators import link_details, mail_totals

MAX_LINKS = 50
KIND_WORDS = {
    "ssh_key": "the SSH public key with fingerprint",
    "ssh_host_key": "the SSH host key (in known_hosts) with fingerprint",
    "login_ip": "the remote address",
    "ssh_key_comment": "the SSH key comment",
    "cron_command": "the scheduled command",
}
TABLE_ROLE = {"ssh_keys": "key entries", "logins": "logins", "identities": "occurrences",
              "scheduled_tasks": "scheduled task entries"}


def _kind_words(kind: str) -> str:
    if kind.startswith("identity:"):
        return "the " + kind.split(":", 1)[1].replace("_", " ") + " identifier"
    return KIND_WORDS.get(kind, kind)


def _n(value) -> str:
    return f"{int(value or 0):,}"


def operators_section(b) -> None:
    """Append the section to the declaration builder `b` (reports.declaration._Builder)."""
    b.add(doc.Heading(2, "Access and operators"))
    _links(b)
    mail = mail_totals(b.case.tables)  # once: twenty drives made it twenty merges of all
    for eid in b.case.evidence_ids:
        _mail(b, eid, mail)
        _identities(b, eid)


def _links(b) -> None:
    if len(b.case.evidence_ids) < 2:
        b.para("Only one evidence item was examined, so no SSH key, login address, identifier or scheduled "
               "command can link evidence items.")
        return
    corr = b.corr
    per_kind = _kind_counts(b, corr)
    if not any(v for v, _ in per_kind.values()):
        b.para(f"No {listing([f'{words} {marker}' for words, (_, marker) in per_kind.items()], 'or')} was found on "
               "more than one evidence item.")
        return
    details = link_details(b.case.tables, corr, lambda ids: _timeline_times(b.case.root, ids))
    marker = " ".join(m for v, m in per_kind.values() if v)
    b.para(f"{count(len(details), 'operator link')} {marker} {'was' if len(details) == 1 else 'were'} found: values "
           f"of these kinds present on more than one evidence item. The times below are, "
           f"for logins, the login's own time and, for other findings, the modification time of the file they were "
           f"found in (when that key, identifier or crontab was last written there).")
    rows = []
    for link in details[:MAX_LINKS]:
        value = b.red.text(link["value"])
        per_item = []
        for item in link["items"]:
            ex = b.case.exhibit(item["evidence_id"])
            cites = []
            for table, ids in item["finding_ids"].items():
                b.cited.setdefault(table, []).extend(ids)
                cites.append(f"[{table}, Exhibit {ex}; findings {', '.join(ids)}]")
            when = (f"first {item['first']}, last {item['last']}" if item["first"] else "no time recorded")
            where = f" in {', '.join(item['paths'][:3])}" if item["paths"] else ""
            per_item.append(f"on Exhibit {ex}, {count(item['rows'], 'finding')}{where}, {when} {' '.join(cites)}")
        exhibits = sorted({b.case.exhibit(i["evidence_id"]) for i in link["items"]})
        if not per_item:  # value shown redacted, or rows not found again: the table's own examples stand
            row = next(r for r in corr.to_pylist() if r["kind"] == link["kind"] and r["value"] == link["value"])
            exhibits = [b.case.exhibit(e) for e in row["evidence_ids"]]
            per_item.append(f"on Exhibits {', '.join(exhibits)} [correlations; findings {', '.join(row['finding_ids'])}]")
        words = _kind_words(link["kind"])
        b.para(f"{words[:1].upper() + words[1:]} {value} was found on {len(exhibits)} evidence items: "
               + "; ".join(per_item) + ".")
        firsts = [i["first"] for i in link["items"] if i["first"]]
        lasts = [i["last"] for i in link["items"] if i["last"]]
        rows.append((link["kind"], value, ", ".join(exhibits), min(firsts) if firsts else "",
                     max(lasts) if lasts else "",
                     ", ".join(fid for i in link["items"] for ids in i["finding_ids"].values() for fid in ids[:1])))
    caption = "Operator links between evidence items"
    if len(details) > MAX_LINKS:
        caption += f" (first {MAX_LINKS} of {_n(len(details))}; all are in CASE/tables/correlations/part-0.parquet)"
    b.add(doc.Table(("Kind", "Value", "Exhibits", "First", "Last", "Findings"), tuple(rows), caption))


LINK_WORDS = (  # what each kind of operator link is, in the declaration's words, and its count's query
    ("SSH key", eq("kind", "ssh_key")),
    ("SSH host key", eq("kind", "ssh_host_key")),
    ("successful login address", eq("kind", "login_ip")),
    ("identifier (wallet, purse, handle)", Cond("kind", "contains", "identity:")),
    ("SSH key comment", eq("kind", "ssh_key_comment")),
    ("hand-written scheduled command", eq("kind", "cron_command")),
)


def _kind_counts(b, corr) -> dict[str, tuple[int, str]]:
    """Operator links per kind, each with its citation marker (queries the summary's grammar reads)."""
    out = {}
    for words, cond in LINK_WORDS:
        query = Query("correlations", (cond,))
        value = query.run({"correlations": corr})
        out[words] = (value, b.q({"value": value, "query": query.text(), "table": "correlations"}))
    return out


def _timeline_times(root, finding_ids: list[str]) -> dict[str, str]:
    """finding_id -> time as the timeline placed it (read with a filter, never the whole table)."""
    import pyarrow.parquet as pq

    path = root / "tables" / "timeline" / "part-0.parquet"
    if not path.is_file() or not finding_ids:
        return {}
    t = pq.read_table(path, columns=["finding_id", "time", "source_table"],
                      filters=[("finding_id", "in", sorted(set(finding_ids))), ("source_table", "=", "logins")])
    return dict(zip(t.column("finding_id").to_pylist(), t.column("time").to_pylist()))


def _mail(b, eid: str, totals: dict[tuple[str, str], dict]) -> None:
    ex = b.case.exhibit(eid)
    for mta in sorted(m for e, m in totals if e == eid):
        t = totals[(eid, mta)]
        ids = t["finding_ids"]
        b.cited.setdefault("mail_log", []).extend(ids)
        q = f"mail_log where evidence_id = '{eid}' and mta = '{mta}' and relay is null | sum COLUMN"
        b.para(f"The {mta} mail log on Exhibit {ex} records, over {count(t['days'], 'day')} from {t['first_day']} to "
               f"{t['last_day']}, {_n(t['received'])} messages received, {_n(t['sent'])} deliveries sent, "
               f"{_n(t['deferred'])} deferred and {_n(t['bounced'])} bounced "
               f"{b.q({'value': t['sent'], 'query': q, 'table': 'mail_log'})} (findings {', '.join(ids)})."
               + (" The log's lines carry no year or no time zone: the year was taken from the log file's "
                  "modification time and the time read as UTC." if t["inferred"] else ""))


def _identities(b, eid: str) -> None:
    t = b.case.tables.get("identities")
    if t is None or t.num_rows == 0 or "valid" not in t.column_names:
        return
    mine = t.filter(pc.and_(pc.equal(t.column("evidence_id"), eid), pc.fill_null(t.column("valid"), False)))
    if mine.num_rows == 0:
        return
    ex = b.case.exhibit(eid)
    parts = []
    for kind in sorted(set(mine.column("kind").to_pylist())):
        k = mine.filter(pc.equal(mine.column("kind"), kind))
        values = sorted(set(k.column("value").to_pylist()))
        ids = k.column("finding_id").slice(0, 2).to_pylist()
        b.cited.setdefault("identities", []).extend(ids)
        shown = ", ".join(values[:5]) + (f" and {len(values) - 5} more" if len(values) > 5 else "")
        q = f"identities where evidence_id = '{eid}' and kind = '{kind}' and valid | count distinct value"
        parts.append(f"{kind}: {_n(len(values))} distinct ({shown}) "
                     f"{b.q({'value': len(values), 'query': q, 'table': 'identities'})} (findings {', '.join(ids)})")
    b.para(f"On Exhibit {ex} these identifiers were found (checksums verified where the kind has one): "
           + "; ".join(parts) + ".")

