"""Links between evidence items: the same address, credential, onion, indicator or file on several.

Why it matters: counsel argue that two seized servers belong to one operation because they
hold the same harvested addresses, the same panel password, the same hidden service. The
`correlations` table lists every value seen on more than one evidence item, with a few
finding ids per value as examples. Credentials are keyed by username + salted secret hash,
so neither the table nor the report ever holds the secret.

Columns: kind (`email`, `credential`, `onion`, `indicator:<kind>`, `file_sha256`), value
(redacted for credentials), evidence_ids list<str>, count (number of evidence items),
finding_ids list<str> (up to EXAMPLES examples; for files `<evidence_id>:<path>` since files
have no finding id).
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from reports.operators import operator_parts
from reports.redact import Redactor

EXAMPLES = 5
SCHEMA = pa.schema([
    ("kind", pa.string()), ("value", pa.string()), ("evidence_ids", pa.list_(pa.string())),
    ("count", pa.int64()), ("finding_ids", pa.list_(pa.string())),
])


def _shared(t: pa.Table) -> list[dict]:
    """Rows for every (kind, value) whose evidence ids number more than one (t: k, v, e, r)."""
    t = t.drop_null()
    if t.num_rows == 0:
        return []
    per = t.group_by(["k", "v"], use_threads=False).aggregate([("e", "count_distinct")])
    per = per.filter(pc.greater(per.column("e_count_distinct"), 1))
    if per.num_rows == 0:
        return []
    wanted = t.join(per.select(["k", "v"]), keys=["k", "v"], join_type="inner", use_threads=False)
    groups: dict[tuple[str, str], tuple[set, set]] = {}
    for k, v, e, r in zip(*(wanted.column(c).to_pylist() for c in ("k", "v", "e", "r"))):
        ev, refs_ = groups.setdefault((k, v), (set(), set()))
        ev.add(e)
        refs_.add(r)
    return [{"kind": k, "value": v, "evidence_ids": sorted(ev), "count": len(ev),
             "finding_ids": sorted(refs_)[:EXAMPLES]} for (k, v), (ev, refs_) in groups.items()]


def _const(value: str, n: int) -> pa.Array:
    return pa.array([value] * n, pa.string())


def _part(kinds, values, evidence, refs) -> pa.Table:
    return pa.table({"k": pa.array(kinds, pa.string()) if isinstance(kinds, list) else kinds.cast(pa.string()),
                     "v": values.cast(pa.string()) if not isinstance(values, list) else pa.array(values, pa.string()),
                     "e": evidence.cast(pa.string()), "r": refs.cast(pa.string())})


def correlations(tables: dict[str, pa.Table | None], redactor: Redactor) -> pa.Table:
    evidence = tables.get("evidence")
    if evidence is not None and evidence.num_rows < 2:  # nothing can be shared by one item
        return SCHEMA.empty_table()
    parts: list[pa.Table] = []
    emails = tables.get("emails")
    if emails is not None and emails.num_rows:
        parts.append(_part(_const("email", emails.num_rows), emails.column("address"),
                           emails.column("evidence_id"), emails.column("finding_id")))
    creds = tables.get("credentials")
    if creds is not None and creds.num_rows:
        # The key never holds the secret: username + salted tag of the secret.
        users = creds.column("username").to_pylist()
        secrets = creds.column("secret").to_pylist()
        keys = [None if u is None or s is None else f"{u} #{redactor.tag(s)}" for u, s in zip(users, secrets)]
        parts.append(_part(_const("credential", creds.num_rows), keys,
                           creds.column("evidence_id"), creds.column("finding_id")))
    ind = tables.get("indicators")
    if ind is not None and ind.num_rows and {"kind", "value"} <= set(ind.column_names):
        is_onion = pc.fill_null(pc.equal(ind.column("kind"), "onion"), False)
        kinds = pc.if_else(is_onion, pa.scalar("onion"),
                           pc.binary_join_element_wise(pa.scalar("indicator:"), ind.column("kind"), ""))
        values = pc.if_else(is_onion, pc.utf8_lower(ind.column("value")), ind.column("value"))
        parts.append(_part(kinds, values, ind.column("evidence_id"), ind.column("finding_id")))
    tor = tables.get("tor")
    if tor is not None and tor.num_rows:
        for col in ("onion", "hostname", "onion_address", "address"):
            if col in tor.column_names and pa.types.is_string(tor.schema.field(col).type):
                parts.append(_part(_const("onion", tor.num_rows), pc.utf8_lower(tor.column(col)),
                                   tor.column("evidence_id"), tor.column("finding_id")))
                break
    files = tables.get("files")
    if files is not None and files.num_rows:
        nonempty = files.filter(pc.fill_null(pc.greater(files.column("size"), 0), False))
        refs = pc.binary_join_element_wise(nonempty.column("evidence_id"), nonempty.column("path"), ":")
        parts.append(_part(_const("file_sha256", nonempty.num_rows), nonempty.column("sha256"),
                           nonempty.column("evidence_id"), refs))
    parts.extend(operator_parts(tables))  # ssh keys, login IPs, identities, key comments, crontab lines
    rows = _shared(pa.concat_tables(parts)) if parts else []
    rows.sort(key=lambda r: (r["kind"], r["value"]))
    for row in rows:
        if row["kind"].startswith("indicator:") or row["kind"] == "cron_command":  # URLs, commands may hold passwords
            row["value"] = redactor.text(row["value"])
    return pa.Table.from_pylist(rows, schema=SCHEMA)
