"""Arrow schemas of every evidence table, in one place.

Finding tables get their columns from the finding dataclasses themselves (type hints), so
an extractor cannot emit a column the table does not declare, and a reader of the tables
can find every column's meaning next to the code that fills it.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

PROVENANCE = [
    pa.field("finding_id", pa.string()),
    pa.field("evidence_id", pa.string()),
    pa.field("volume", pa.string()),
    pa.field("inode", pa.int64()),
    pa.field("stream", pa.string()),
    pa.field("path", pa.string()),
    pa.field("member", pa.string()),
    pa.field("offset", pa.int64()),
    pa.field("image_offset", pa.int64()),
    pa.field("extractor", pa.string()),
    pa.field("extractor_version", pa.string()),
]
# Columns a worker fills; evidence_id and finding_id are added when the case is assembled.
WORKER_PROVENANCE = [f for f in PROVENANCE if f.name not in ("finding_id", "evidence_id")]

EVIDENCE = pa.schema([
    ("evidence_id", pa.string()), ("path", pa.string()), ("segments", pa.list_(pa.string())),
    ("format", pa.string()), ("size", pa.int64()), ("md5", pa.string()), ("sha1", pa.string()),
    ("sha256", pa.string()), ("stored_md5", pa.string()), ("stored_sha1", pa.string()),
    ("verified", pa.bool_()), ("volume_system", pa.string()), ("volumes", pa.int64()),
    ("acquisition", pa.string()),
])

VOLUMES = pa.schema([
    ("evidence_id", pa.string()), ("volume", pa.string()), ("start", pa.int64()),
    ("length", pa.int64()), ("description", pa.string()), ("allocated", pa.bool_()),
    ("kind", pa.string()), ("fs_type", pa.string()), ("layers", pa.string()), ("status", pa.string()),
])

FILES = pa.schema([
    ("evidence_id", pa.string()), ("volume", pa.string()), ("volume_offset", pa.int64()),
    ("fs_type", pa.string()), ("inode", pa.int64()), ("stream", pa.string()), ("path", pa.string()),
    ("path_raw", pa.binary()), ("name", pa.string()), ("size", pa.int64()), ("allocated", pa.bool_()),
    ("type", pa.string()), ("mode", pa.int64()), ("uid", pa.int64()), ("gid", pa.int64()),
    ("mtime", TS), ("atime", TS), ("ctime", TS), ("crtime", TS),
    ("md5", pa.string()), ("sha1", pa.string()), ("sha256", pa.string()),
    ("status", pa.string()), ("skip_reason", pa.string()), ("image_offset", pa.int64()),
    # known.classify: known | modified | modified-config | notable | unknown (null: content not hashed);
    # the package and version, or the hash set's name
    ("known_status", pa.string()), ("known_source", pa.string()),
])

ERRORS = pa.schema([
    ("evidence_id", pa.string()), ("volume", pa.string()), ("path", pa.string()),
    ("inode", pa.int64()), ("member", pa.string()), ("stage", pa.string()), ("error", pa.string()),
])
WORKER_ERRORS = pa.schema([f for f in ERRORS if f.name != "evidence_id"])

# Per-stream results a worker returns for the files it read; joined into `files`.
FILE_RESULTS = pa.schema([
    ("index", pa.int64()), ("md5", pa.string()), ("sha1", pa.string()), ("sha256", pa.string()),
    ("status", pa.string()), ("skip_reason", pa.string()),
])

_SCALARS = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_(), bytes: pa.binary()}


def arrow_type(hint) -> pa.DataType:
    """Arrow type for a finding field's type hint (`X | None` is nullable X)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {hint}")
        return arrow_type(args[0])
    if origin is list:
        (item,) = typing.get_args(hint)
        return pa.list_(arrow_type(item))
    if hint in _SCALARS:
        return _SCALARS[hint]
    raise TypeError(f"unsupported finding field type {hint}")


@cache
def finding_fields(cls: type) -> tuple[pa.Field, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        pa.field(f.name, arrow_type(hints[f.name]))
        for f in dataclasses.fields(cls)
        if f.name != "offset"
    )


@cache
def secret_columns(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get("secret"))


def finding_schema(cls: type, worker: bool = False) -> pa.Schema:
    prov = WORKER_PROVENANCE if worker else PROVENANCE
    names = {f.name for f in prov}
    return pa.schema(list(prov) + [f for f in finding_fields(cls) if f.name not in names])


# Operator-artefact tables (issue 18, part 1). Their columns come from the finding dataclasses
# named here, like every finding table's; this list says which module fills which table.
OPERATOR_TABLES = {
    "accounts": "extractors.accounts.AccountFinding",
    "logins": "extractors.logins.LoginFinding",  # also extractors.utmp (wtmp/btmp/utmp, lastlog, carved)
    "shell_history": "extractors.shell_history.HistoryFinding",
    "ssh_keys": "extractors.ssh_keys.SshKeyFinding",
    "scheduled_tasks": "extractors.scheduled_tasks.ScheduledTaskFinding",
}

# Derived by the report from the other tables (reports.timeline), like `correlations`.
TIMELINE = pa.schema([
    ("time", pa.string()), ("time_inferred", pa.bool_()), ("evidence_id", pa.string()),
    ("source_table", pa.string()), ("kind", pa.string()), ("description", pa.string()),
    ("user", pa.string()), ("finding_id", pa.string()),
])
