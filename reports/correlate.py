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

from reports.operators import operator_parts
from reports.redact import Redactor

EXAMPLES = 5
SCHEMA = pa.schema([
    ("kind", pa.string()), ("value", pa.string()), ("evidence_ids", pa.list_(pa.string())),
    ("count", pa.int64()), ("finding_ids", pa.list_(pa.string())),
])


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parts(tables, redactor: Redactor) -> tuple[list[str], list]:
    """SELECT k, v, e, r over each finding table that feeds a kind (and their parameters)."""
    parts: list[str] = []
    params: list = []
    if tables.num_rows("emails") and tables.has("emails", "address", "evidence_id", "finding_id"):
        parts.append(f"SELECT 'email', CAST(address AS VARCHAR), evidence_id, finding_id FROM {tables.ref('emails')}")
    if tables.num_rows("credentials") and tables.has("credentials", "username", "secret", "evidence_id", "finding_id"):
        # The key never holds the secret: username + salted tag of the secret (Redactor.tag, in SQL).
        from reports.redact import TAG_HEX

        parts.append(f"SELECT 'credential', username || ' #' || left(sha256(?::BLOB || encode(secret)), {TAG_HEX}), "
                     f"evidence_id, finding_id FROM {tables.ref('credentials')}")
        params.append(redactor.salt)
    if tables.num_rows("indicators") and tables.has("indicators", "kind", "value", "evidence_id", "finding_id"):
        parts.append(f"SELECT CASE WHEN coalesce(kind = 'onion', false) THEN 'onion' ELSE 'indicator:' || kind END, "
                     f"CASE WHEN coalesce(kind = 'onion', false) THEN lower(value) ELSE CAST(value AS VARCHAR) END, "
                     f"evidence_id, finding_id FROM {tables.ref('indicators')}")
    if tables.num_rows("tor") and tables.has("tor", "evidence_id", "finding_id"):
        sch = tables.schema("tor")
        for col in ("onion", "hostname", "onion_address", "address"):
            if col in sch.names and pa.types.is_string(sch.field(col).type):
                parts.append(f'SELECT \'onion\', lower("{col}"), evidence_id, finding_id FROM {tables.ref("tor")}')
                break
    if tables.num_rows("files") and tables.has("files", "size", "sha256", "evidence_id", "path"):
        parts.append(f"SELECT 'file_sha256', sha256, evidence_id, evidence_id || ':' || path FROM "
                     f"{tables.ref('files')} WHERE size > 0")
    return parts, params


def correlations(tables, redactor: Redactor) -> pa.Table:
    """The `correlations` table (see the module's docstring), worked out in DuckDB over the
    Parquet files: only values found on more than one evidence item reach Python."""
    if tables.present("evidence") and tables.num_rows("evidence") < 2:  # nothing can be shared by one item
        return SCHEMA.empty_table()
    parts, params = _parts(tables, redactor)
    small = {f"__operator_{i}": p for i, p in enumerate(operator_parts(tables))}  # ssh keys, logins, ...
    parts += [f"SELECT k, v, e, r FROM {name}" for name in small]
    if not parts:
        return SCHEMA.empty_table()
    union = " UNION ALL ".join(f"SELECT * FROM ({p})" for p in parts)
    got = tables.sql(f"""
        WITH t AS (SELECT * FROM ({union}) AS u(k, v, e, r)
                   WHERE k IS NOT NULL AND v IS NOT NULL AND e IS NOT NULL AND r IS NOT NULL),
        shared AS (SELECT k, v FROM (SELECT DISTINCT k, v, e FROM t) GROUP BY k, v HAVING count(*) > 1),
        rows AS (SELECT DISTINCT t.k, t.v, t.e, t.r FROM t SEMI JOIN shared s ON t.k = s.k AND t.v = s.v)
        SELECT k AS kind, v AS value, list_sort(list(DISTINCT e)) AS evidence_ids, count(DISTINCT e) AS count,
               min(r, {EXAMPLES}) AS finding_ids
        FROM rows GROUP BY k, v ORDER BY k, v""", params, small)
    rows = got.to_pylist()
    for row in rows:
        row["finding_ids"] = sorted(set(row["finding_ids"]))[:EXAMPLES]
        if row["kind"].startswith("indicator:") or row["kind"] == "cron_command":  # URLs, commands may hold passwords
            row["value"] = redactor.text(row["value"])
    return pa.Table.from_pylist(rows, schema=SCHEMA)
