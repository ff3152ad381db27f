"""CSV and JSON Lines of any table, streamed batch by batch, secrets redacted.

Secret columns (credentials.secret and every finding field marked secret) are shown as
reports show them: masked, with the case's salted tag (CASE/report/.salt; when the case has
no report yet, a salt made for this export only, so tags match within it). Free-text
columns (context, raw, value) have URL passwords, key=value secrets and private keys
masked. `--reveal-secrets` writes them as found (never key material).
"""
from __future__ import annotations

import json
import secrets as _random
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from caseformat.atomic import atomic_file
from exports.batches import table_batches
from exports.output import json_default
from reports.redact import KEY_MATERIAL, MASK, SALT_BYTES, SALT_FILE, Redactor

if TYPE_CHECKING:
    from exports.context import ExportContext

FREE_TEXT = ("context", "raw", "value")
# the patterns of reports.redact in RE2 form, for Arrow's vectorised replace
_RE2_SUBS = (
    (r"(?i)([a-z][a-z0-9+.\-]*://[^\s/:@]*:)([^\s/@]+)(@)", r"\1" + MASK + r"\3"),
    (r"(?i)((?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key)\s*[=:]\s*)([^\s&;,'\"]+)", r"\1" + MASK),
    (r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", KEY_MATERIAL),
)


def secret_columns(table: str) -> frozenset[str]:
    from caseformat.schema import secret_columns as of_class
    from caseformat.tables import finding_classes

    classes = finding_classes()
    cols = set(of_class(classes[table])) if table in classes else set()
    if table == "credentials":
        cols.add("secret")
    return frozenset(cols)


def redactor_for(case: Path, reveal: bool) -> Redactor:
    try:
        salt = (case / "report" / SALT_FILE).read_bytes()
    except OSError:
        salt = b""
    if len(salt) != SALT_BYTES:
        salt = _random.token_bytes(SALT_BYTES)  # no report yet: tags consistent within this export
    return Redactor(salt, reveal=reveal)


def redact(batch: pa.RecordBatch, secret: frozenset[str], redactor: Redactor) -> pa.RecordBatch:
    columns = []
    for field, column in zip(batch.schema, batch.columns):
        if field.name in secret and pa.types.is_string(field.type):
            column = pa.array([redactor.secret(v) if v is not None else None for v in column.to_pylist()], pa.string())
        elif field.name in FREE_TEXT and pa.types.is_string(field.type):
            for pattern, replacement in (_RE2_SUBS[2:] if redactor.reveal else _RE2_SUBS):
                column = pc.replace_substring_regex(column, pattern, replacement)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """CSV has no lists or bytes: lists as JSON text, bytes with non-UTF-8 bytes as \\xHH."""
    columns, fields = [], []
    for field, column in zip(batch.schema, batch.columns):
        if pa.types.is_list(field.type) or pa.types.is_binary(field.type):
            values = [None if v is None else (json.dumps(v, ensure_ascii=False) if isinstance(v, list)
                                              else v.decode("utf-8", "backslashreplace"))
                      for v in column.to_pylist()]
            column, field = pa.array(values, pa.string()), pa.field(field.name, pa.string())
        columns.append(column)
        fields.append(field)
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


def _write(ctx: "ExportContext", suffix: str) -> list[Path]:
    import pyarrow.csv as pcsv

    redactor = redactor_for(ctx.case, ctx.reveal_secrets)
    written = []
    for name in sorted(ctx.tables):
        path = ctx.out / f"{name}.{suffix}"
        secret = secret_columns(name)
        batches = table_batches(ctx.table_paths[name])
        if suffix == "csv":
            with atomic_file(path) as fh:
                writer = None
                for batch in batches:
                    batch = _csv_ready(redact(batch, secret, redactor))
                    if writer is None:
                        writer = pcsv.CSVWriter(fh, batch.schema)
                    writer.write_batch(batch)
                if writer is None:  # an empty table: the header line alone
                    import pyarrow.parquet as pq

                    empty = pq.read_schema(ctx.table_paths[name]).empty_table()
                    writer = pcsv.CSVWriter(fh, _csv_ready(empty.to_batches()[0] if empty.num_rows else
                                                           pa.RecordBatch.from_pylist([], schema=empty.schema)).schema)
                writer.close()
        else:
            with atomic_file(path, text=True, errors="surrogateescape") as fh:
                for batch in batches:
                    fh.writelines(json.dumps(r, ensure_ascii=False, default=json_default) + "\n"
                                  for r in redact(batch, secret, redactor).to_pylist())
        written.append(path)
    return written


def write_csv(ctx: "ExportContext") -> list[Path]:
    return _write(ctx, "csv")


def write_jsonl(ctx: "ExportContext") -> list[Path]:
    return _write(ctx, "jsonl")
