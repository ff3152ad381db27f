"""Bounds the scan hit, read back from the `errors` table, and the counts each one cut short.

Why: a declaration must not state "1,296 YARA matches" when the per-rule cap stopped the
count; it says "at least 1,296" and names the cap next to the number. Every bound the
pipeline can hit is listed here, once, with the tables whose counts it makes a lower bound:

- `limit reached: ...` rows written by `seized.scanning._owned` for an extractor's or YARA's
  `LimitReached` (YARA's per-rule cap `seized.worker.YARA_CAP_PER_RULE`, libyara's own cap per
  string, the indicators cap per window, and any later extractor cap, matched by stage);
- container expansion limits (`ingest.containers`: depth, member size, ratio, member count,
  the per-object budget): members not expanded, so every finding count may be short;
- the directory depth bound of the file-system walk (`ingest.filesystems.MAX_DEPTH`): names
  below it are not listed, so the files count may be short.

A damaged or encrypted object is not a bound (it is a problem reported under Limitations).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from reports.query import Cond, Counter, Query, eq
from reports.words import count, n

ALL_FINDINGS = "*"  # a bound that may shorten every finding table


@dataclass(frozen=True, slots=True)
class BoundKind:
    key: str
    stage: str  # the errors row's stage; ends with ":" for a prefix (extractor:NAME)
    marker: str  # text the error holds (matched case-insensitively, as the query's `contains`)
    tables: tuple[str, ...]  # tables whose counts it shortens; ALL_FINDINGS for every finding table
    phrase: str  # what was reached, with {value} for the bound's value when it has one


BOUND_KINDS: tuple[BoundKind, ...] = (
    BoundKind("yara_per_rule", "yara", "limit reached: yara matches per rule", ("yara",),
              "the per-rule cap of {value} matches per file was reached"),
    BoundKind("yara_engine", "yara", "limit reached: yara engine matches per string", ("yara",),
              "YARA's own limit of {value} matches per string was reached"),
    BoundKind("indicators_per_window", "extractor:indicators", "limit reached: indicators per window",
              ("indicators",), "the cap of {value} distinct indicators per 16 MiB window was reached"),
    BoundKind("extractor_limit", "extractor:", "limit reached:", (),  # tables: the extractor's own
              "an extractor's cap ({limit} = {value}) was reached"),
    BoundKind("container_budget", "container", "expansion limit of this object reached", (ALL_FINDINGS,),
              "the expansion limit of one archive (1 GiB or 20,000 members, all levels together) was reached"),
    BoundKind("container_depth", "container", "nested deeper than", (ALL_FINDINGS,),
              "archives nested deeper than the depth limit were not opened"),
    BoundKind("container_members", "container", "only the first", (ALL_FINDINGS,),
              "a zip archive held more members than the member limit"),
    BoundKind("container_members_tar", "container", "the rest are not scanned", (ALL_FINDINGS,),
              "a tar archive held more members than the member limit"),
    BoundKind("container_size", "container", "over the limit", (ALL_FINDINGS,),
              "an archive member was larger than the size limit"),
    BoundKind("container_ratio", "container", "compression ratio over", (ALL_FINDINGS,),
              "an archive member passed the compression-ratio limit (decompression bomb?)"),
    BoundKind("container_member_size", "container", "bytes; not scanned", (ALL_FINDINGS,),
              "an archive member was larger than the size limit"),
    BoundKind("walk_depth", "directory", "nested deeper than", ("files",),
              "directories nested deeper than the walk's depth limit were not listed"),
)
_VALUE = re.compile(r"limit reached: (?P<limit>.+?) = (?P<value>\d+)\s*$")


def _extractor_tables() -> dict[str, str]:
    try:
        from extractors.registry import EXTRACTORS
    except Exception:  # a half-installed tree still reports
        return {}
    return {e.name: e.table for e in EXTRACTORS}


def _kind_of(stage: str, error: str) -> BoundKind | None:
    low = error.lower()
    for kind in BOUND_KINDS:
        stage_ok = stage.startswith(kind.stage) if kind.stage.endswith(":") else stage == kind.stage
        if stage_ok and kind.marker in low:
            return kind
    return None


def bounds_section(counter: Counter, base: tuple[Cond, ...]) -> list[dict]:
    """The bounds hit under `base` (one evidence item): one entry per (kind, stage, value).

    Each entry: key, stage, tables, text (the phrase with its value), and two counted numbers
    with their queries: `files` (distinct files or members where it was hit) and
    `unallocated` (times it was hit in unallocated space). For YARA's per-rule cap, `rules`
    names the rules that reached it (a rule with at least the cap's number of matches in a
    file where the cap was hit).
    """
    rows = counter.rows(Query("errors", base), ["stage", "error"])
    if rows is None or rows.num_rows == 0:
        return []
    pairs = rows.group_by(["stage", "error"], use_threads=False).aggregate([])
    found: dict[tuple, dict] = {}
    extractor_tables = _extractor_tables()
    for stage, error in sorted(zip(pairs["stage"].to_pylist(), pairs["error"].to_pylist()),
                               key=lambda p: (str(p[0]), str(p[1]))):
        if stage is None or error is None:
            continue
        kind = _kind_of(stage, error)
        if kind is None:
            continue
        m = _VALUE.search(error)
        value = int(m["value"]) if m else None
        limit = m["limit"] if m else ""
        tables = kind.tables or ((extractor_tables.get(stage.split(":", 1)[1], stage),) if ":" in stage else ())
        marker = f"limit reached: {limit} = {value}" if m else kind.marker
        key = (kind.key, stage, marker)
        if key in found:
            continue
        where = base + (eq("stage", stage), Cond("error", "contains", marker))
        found[key] = {
            "key": kind.key, "stage": stage, "tables": list(tables), "value": value,
            "text": kind.phrase.format(value=n(value) if value is not None else "", limit=limit),
            "files": counter.counted(Query("errors", where + (Cond("path", "is not null"),), ("path", "member"))),
            "unallocated": counter.counted(Query("errors", where + (Cond("path", "is null"),))),
        }
    out = [found[k] for k in sorted(found)]
    for entry in out:
        if entry["key"] == "yara_per_rule" and entry["value"]:
            entry["rules"] = _capped_rules(counter, base, entry["stage"], entry["value"])
    return out


def _capped_rules(counter: Counter, base: tuple[Cond, ...], stage: str, cap: int) -> list[str]:
    """Rules with at least `cap` matches in one file where the per-rule cap was hit (in DuckDB:
    the yara table is never read whole)."""
    tables = counter.tables
    errs_q, yara_q = Query("errors", base + (eq("stage", stage),)), Query("yara", base)
    if not counter._selectable(errs_q, ["path", "member", "error"]) or \
            not counter._selectable(yara_q, ["path", "member", "rule"]) or tables.num_rows("yara") == 0:
        return []
    errs_where, errs_params = counter._where(errs_q, errs_q.where)
    yara_where, yara_params = counter._where(yara_q, yara_q.where)
    key = "coalesce(path, '') || chr(0) || coalesce(member, '')"
    got = tables.fetch(
        f"SELECT DISTINCT rule FROM (SELECT path, member, rule, count(*) AS n FROM "
        f"(SELECT * FROM {tables.ref('yara')}{yara_where}) "
        f"WHERE {key} IN (SELECT {key} FROM (SELECT * FROM {tables.ref('errors')}{errs_where}) "
        f"WHERE coalesce(contains(error, 'yara matches per rule'), false)) "
        f"GROUP BY path, member, rule) WHERE n >= ? AND rule IS NOT NULL ORDER BY rule",
        yara_params + errs_params + [cap])
    return [r for (r,) in got]


def where_hit(bound: dict) -> str:
    """"1 file", "2 files and 3 times in unallocated space" (numbers without markers)."""
    files, unalloc = bound["files"]["value"], bound["unallocated"]["value"]
    parts = []
    if files:
        parts.append(count(files, "file"))
    if unalloc:
        parts.append(f"{count(unalloc, 'time')} in unallocated space")
    return " and ".join(parts) or "0 files"


def bounds_for(bounds: list[dict], table: str) -> list[dict]:
    """The bounds that make counts of `table` lower bounds."""
    return [b for b in bounds if table in b["tables"] or (ALL_FINDINGS in b["tables"] and table != "files")]
