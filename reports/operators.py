"""Who worked the servers: operator links across evidence items, and the log summaries merged.

Why: twenty seized drives are one operation when the same person reached them. What ties
them is on the disks: the same SSH key authorised on several (or used to log in), the same
address logging in, the same wallet, purse or handle, the same key comment (`user@host`),
the same hand-written crontab line. `operator_parts` gives those values to
`reports.correlate` (kinds below), which keeps the ones found on more than one item;
`link_details` then says, per link and per item, the first and last time and the findings.

Correlation kinds added here (columns of the oplogins/opidentity tables, see
/docs/operator-artefacts-2.md; an absent table or column adds nothing):
* `ssh_key`: `ssh_keys.fingerprint` (authorized, public and private keys) and
  `logins.key_fingerprint` (keys that logged in), so a key authorised on one drive and
  used on another is one link;
* `ssh_host_key`: `ssh_keys.fingerprint` of `known_host` entries (both connected to one server);
* `login_ip`: `logins.remote_ip` of successful logins (accepted, login, session_open);
  failed attempts are left out: scanners knock on every server;
* `identity:<kind>`: `identities.value` where valid;
* `ssh_key_comment`: `ssh_keys.comment` (usually `user@host`);
* `cron_command`: `scheduled_tasks.command`, except lines every distribution ships
  (run-parts, anacron, commands under /usr/lib, /usr/share, /usr/libexec ...).
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SUCCESS = ("accepted", "login", "session_open")
KEY_KINDS = ("authorized_key", "public_key", "private_key")
_SHIPPED_COMMAND = re.compile(r"run-parts|anacron|/usr/lib/|/usr/libexec/|/usr/share/|debian-sa1|e2scrub|"
                              r"phpsessionclean|popularity-contest|/usr/sbin/logrotate|certbot -q renew")
LINK_KINDS_TABLES = {  # correlation kind -> (table, value column) pairs that feed it
    "ssh_key": (("ssh_keys", "fingerprint"), ("logins", "key_fingerprint")),
    "ssh_host_key": (("ssh_keys", "fingerprint"),),
    "login_ip": (("logins", "remote_ip"),),
    "ssh_key_comment": (("ssh_keys", "comment"),),
    "cron_command": (("scheduled_tasks", "command"),),
}
PER_ITEM_CITED = 3


def _has(t: pa.Table | None, *cols: str) -> bool:
    return t is not None and t.num_rows > 0 and all(c in t.column_names for c in cols)


def _in(t: pa.Table, col: str, values) -> pa.Array:
    return pc.fill_null(pc.is_in(t.column(col), value_set=pa.array(list(values), t.schema.field(col).type)), False)


def _part(kind: str | pa.Array, t: pa.Table, col: str) -> pa.Table:
    kinds = pa.array([kind] * t.num_rows, pa.string()) if isinstance(kind, str) else kind
    return pa.table({"k": kinds, "v": t.column(col).cast(pa.string()), "e": t.column("evidence_id").cast(pa.string()),
                     "r": t.column("finding_id").cast(pa.string())})


def operator_parts(tables) -> list[pa.Table]:
    """(k, v, e, r) tables for reports.correlate: kind, value, evidence id, finding id.
    `tables`: reports.case.Tables; the operator tables are small and read whole."""
    parts: list[pa.Table] = []
    keys = tables.get("ssh_keys")
    if _has(keys, "fingerprint", "kind"):
        own = keys.filter(_in(keys, "kind", KEY_KINDS))
        parts.append(_part("ssh_key", own, "fingerprint"))
        hosts = keys.filter(_in(keys, "kind", ("known_host",)))
        parts.append(_part("ssh_host_key", hosts, "fingerprint"))
    if _has(keys, "comment"):
        comments = keys.filter(pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(keys.column("comment"))),
                                                       0), False))
        parts.append(_part("ssh_key_comment", comments, "comment"))
    logins = tables.get("logins")
    if _has(logins, "key_fingerprint"):
        parts.append(_part("ssh_key", logins, "key_fingerprint"))
    if _has(logins, "remote_ip", "result"):
        ok = logins.filter(_in(logins, "result", SUCCESS))
        parts.append(_part("login_ip", ok, "remote_ip"))
    ids = tables.get("identities")
    if _has(ids, "kind", "value", "valid"):
        valid = ids.filter(pc.fill_null(ids.column("valid"), False))
        kinds = pc.binary_join_element_wise(pa.scalar("identity:"), valid.column("kind"), "")
        parts.append(_part(kinds, valid, "value"))
    tasks = tables.get("scheduled_tasks")
    if _has(tasks, "command"):
        commands = tasks.column("command").to_pylist()
        keep = pa.array([bool(c and c.strip()) and not _SHIPPED_COMMAND.search(c) for c in commands], pa.bool_())
        parts.append(_part("cron_command", tasks.filter(keep), "command"))
    return [p for p in parts if p.num_rows]


def is_operator_kind(kind: str) -> bool:
    return kind in LINK_KINDS_TABLES or kind.startswith("identity:")


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def link_details(tables, corr: pa.Table,
                 timeline_times: Callable[[list[str]], dict[str, str]] | None = None) -> list[dict]:
    """For each operator link in `corr`: per evidence item, the first and last time and findings.

    Time of a row: its own `time` column (logins) when it has one, as the timeline placed it
    (`timeline_times(finding_ids)`: zone-less log times converted with the server's zone),
    else the modification time of the file it was found in (`files.mtime`): when that key,
    wallet or crontab was last written there. Returned sorted by (kind, value); each item: {kind, value, items: [{evidence_id,
    first, last, rows, finding_ids: {table: [...]}, paths}]}.
    """
    links = [r for r in corr.to_pylist() if is_operator_kind(r["kind"])]
    if not links:
        return []
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)  # (table, column) -> values
    for r in links:
        for table, col in LINK_KINDS_TABLES.get(r["kind"], (("identities", "value"),)):
            wanted[(table, col)].add(r["value"])
    hits: dict[tuple[str, str], list[dict]] = defaultdict(list)  # (kind-ish value) rows
    paths: set[tuple[str, str]] = set()
    for (table, col), values in wanted.items():
        t = tables.get(table)
        if not _has(t, col, "evidence_id", "finding_id"):
            continue
        picked = t.filter(_in(t, col, values))
        cols = [c for c in ("evidence_id", "finding_id", "path", "time", "kind", "result", col)
                if c in picked.column_names]
        for row in picked.select(list(dict.fromkeys(cols))).to_pylist():
            row["_table"] = table
            hits[(col, row[col])].append(row)
            if row.get("path"):
                paths.add((row["evidence_id"], row["path"]))
    mtime = _file_mtimes(tables, paths)
    timed = [r["finding_id"] for rows in hits.values() for r in rows if r.get("time")]
    placed = timeline_times(timed) if timeline_times and timed else {}
    out = []
    for r in links:
        items: dict[str, dict] = {}
        for table, col in LINK_KINDS_TABLES.get(r["kind"], (("identities", "value"),)):
            for row in hits.get((col, r["value"]), []):
                if row["_table"] != table or not _row_counts(r["kind"], row):
                    continue
                ev = row["evidence_id"]
                if ev not in r["evidence_ids"]:
                    continue
                item = items.setdefault(ev, {"evidence_id": ev, "first": None, "last": None, "rows": 0,
                                             "finding_ids": defaultdict(list), "paths": set()})
                item["rows"] += 1
                t = placed.get(row["finding_id"]) or row.get("time") or mtime.get((ev, row.get("path")))
                if t:
                    item["first"] = t if item["first"] is None else min(item["first"], t)
                    item["last"] = t if item["last"] is None else max(item["last"], t)
                item["finding_ids"][table].append(row["finding_id"])
                if row.get("path"):
                    item["paths"].add(row["path"])
        for item in items.values():
            item["finding_ids"] = {k: sorted(v)[:PER_ITEM_CITED] for k, v in sorted(item["finding_ids"].items())}
            item["paths"] = sorted(item["paths"])
        out.append({"kind": r["kind"], "value": r["value"],
                    "items": [items[e] for e in sorted(items)]})
    out.sort(key=lambda d: (d["kind"], d["value"]))
    return out


def _row_counts(kind: str, row: dict) -> bool:
    """Whether a row of a shared table belongs to this link kind (same filters as operator_parts)."""
    if kind == "ssh_key" and row["_table"] == "ssh_keys":
        return row.get("kind") in KEY_KINDS
    if kind == "ssh_host_key":
        return row.get("kind") == "known_host"
    if kind == "login_ip":
        return row.get("result") in SUCCESS
    return True


def _file_mtimes(tables, paths: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(evidence id, path) -> files.mtime of the last files row with that name (DuckDB over
    the files table: only the rows asked for are read)."""
    if not paths or not tables.num_rows("files") or not tables.has("files", "mtime", "path", "evidence_id"):
        return {}
    wanted = sorted(paths)
    got = tables.sql(
        f"SELECT f.evidence_id, f.path, f.mtime FROM {tables.ref('files', positions=True)} f "
        f"SEMI JOIN (SELECT unnest(?::VARCHAR[]) AS e, unnest(?::VARCHAR[]) AS p) w "
        f"ON f.evidence_id = w.e AND f.path = w.p WHERE f.mtime IS NOT NULL ORDER BY f.file_row_number",
        [[e for e, _ in wanted], [p for _, p in wanted]])
    out = {}
    for e, p, m in zip(*(got.column(c).to_pylist() for c in ("evidence_id", "path", "mtime"))):
        if m is not None:
            out[(e, p)] = _iso(m)
    return out


# ----------------------------------------------------------- merged log summaries

def _merge(t: pa.Table, keys: list[str], sums: list[str], mins: list[str], maxs: list[str],
           lists: list[str]) -> pa.Table:
    """Rows added up per key: sums, min/max, and the union of list columns (sorted)."""
    g = t.group_by(keys, use_threads=False).aggregate(
        [(c, "sum") for c in sums] + [(c, "min") for c in mins] + [(c, "max") for c in maxs])
    cols = {k: g.column(k) for k in keys}
    for c in sums:
        cols[c] = g.column(f"{c}_sum")
    for c in mins:
        cols[c] = g.column(f"{c}_min")
    for c in maxs:
        cols[c] = g.column(f"{c}_max")
    order = [(k, "ascending") for k in keys]
    merged = pa.table(cols)
    merged = merged.take(pc.sort_indices(merged, order))
    for c in lists:  # both in key order: one row per distinct key in each
        merged = merged.append_column(c, _list_union(t, keys, c))
    return merged


def _list_union(t: pa.Table, keys: list[str], column: str) -> pa.ListArray:
    """Per distinct key, in key order: the sorted distinct values of a list column of `t`.

    In Arrow, not per row in Python: on a twenty-drive case the mail logs' rows are tens of
    thousands. Every row of `t` also adds a null value, so that a key whose lists are all
    empty still has its group; the nulls sort last in each list and are dropped at the end.
    """
    order = [(k, "ascending") for k in keys]
    col = t.column(column).combine_chunks()  # list_parent_indices of one array: row numbers of `t`
    key_cols = t.select(keys)
    exploded = pa.concat_tables([
        key_cols.take(pc.list_parent_indices(col)).append_column("_v", pc.list_flatten(col)),
        key_cols.append_column("_v", pa.nulls(t.num_rows, col.type.value_type)),
    ])
    pairs = exploded.group_by(keys + ["_v"], use_threads=False).aggregate([])
    pairs = pairs.take(pc.sort_indices(pairs, order + [("_v", "ascending")]))
    # single-threaded, hash_list keeps the input's order: each list comes out sorted
    per_key = pairs.group_by(keys, use_threads=False).aggregate([("_v", "list")])
    with_null = per_key.take(pc.sort_indices(per_key, order)).column("_v_list").combine_chunks()
    lengths = pc.subtract(pc.list_value_length(with_null), 1).to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = pc.list_flatten(with_null)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values.filter(pc.is_valid(values)))


def merge_web_access(t: pa.Table | None) -> pa.Table | None:
    """web_access rows of several windows of one log added up per (evidence, path, member, kind, key)."""
    if t is None or t.num_rows == 0:
        return t
    return _merge(t, ["evidence_id", "path", "member", "kind", "key"],
                  ["count", "status_2xx", "status_3xx", "status_4xx", "status_5xx"], ["first", "finding_id"],
                  ["last"], ["statuses", "methods", "tags"])


MAIL_KEY = ("evidence_id", "path", "member", "day", "mta", "relay")  # what a mail_log row counts for


def mail_totals(tables) -> dict[tuple[str, str], dict]:
    """Per (evidence id, MTA), the delivery log's own rows (no relay) added up, in SQL over the
    case's `mail_log` table (`tables`: reports.case.Tables): the four counts, the distinct days
    and their first and last, whether any year or zone was inferred, and the three smallest
    finding ids of the rows merged per MAIL_KEY (a row's id is the smallest of its windows').

    DuckDB, not Arrow over the table read whole: a 16 GiB image's logs are 1.2 million rows,
    and merging them in memory (the list column of sender domains exploded) took 2 GiB."""
    if not tables.present("mail_log") or tables.num_rows("mail_log") == 0:
        return {}
    rows = tables.fetch(f"""
        WITH merged AS (
            SELECT evidence_id, mta, day, sum(received) AS received, sum(sent) AS sent,
                   sum(deferred) AS deferred, sum(bounced) AS bounced,
                   bool_or(time_inferred) AS inferred, min(finding_id) AS finding_id
            FROM {tables.ref("mail_log")} WHERE relay IS NULL
            GROUP BY {", ".join(MAIL_KEY)})
        SELECT evidence_id, mta, sum(received), sum(sent), sum(deferred), sum(bounced),
               count(DISTINCT day), min(day), max(day), coalesce(bool_or(inferred), false),
               min(finding_id, 3)
        FROM merged GROUP BY evidence_id, mta""")
    return {(eid, mta): {"received": int(r or 0), "sent": int(s or 0), "deferred": int(d or 0),
                         "bounced": int(b or 0), "days": int(days), "first_day": first, "last_day": last,
                         "inferred": bool(inferred), "finding_ids": sorted(ids)[:3]}
            for eid, mta, r, s, d, b, days, first, last, inferred, ids in rows}
