"""Assembly: the case's tables written from the journal, a bounded piece of rows in memory at a time.

The files, volumes, errors and evidence tables come from the plans and the units' stats;
each finding table is streamed run by run (caseformat.tables.SortedTableWriter). The known
files' classification (known.step) is applied to `files` on the way.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from caseformat import schema
from caseformat import tables as tbl
from caseformat.journal import PIECE_ROWS, Journal
from caseformat.problems import Problem, Stage
from ingest.images import evidence_id_for
from ingest.plan import EvidencePlan
from ingest.units import unit_order
from known.step import KnownFiles


@dataclass
class Failure:
    image: str
    reason: str


def _file_rows(plan: EvidencePlan, results: dict[int, dict]) -> list[dict]:
    rows = []
    slots = {s.id: s for s in plan.layout.slots}
    for index, rec in enumerate(plan.records):
        res = results.get(index)
        if rec.content is None:
            status = "skipped"
            reason = rec.skip_reason or ("directory (listed, no content)" if rec.type == "dir" else None)
            if rec.type == "virtual_dir":
                reason = "virtual directory (listed, no content)"
        elif res is None:
            status, reason = "error", "content was not read (unit failed)"
        else:
            status, reason = res["status"], res["skip_reason"]
        first = None
        if rec.content is not None and rec.content.runs and rec.content.runs[0][0] == 0:
            first = slots[rec.volume].image_offset(rec.content.runs[0][1])
        rows.append(dict(
            volume=rec.volume, volume_offset=rec.volume_offset, fs_type=rec.fs_type, inode=rec.inode,
            stream=rec.stream, path=rec.path, path_raw=rec.path_raw, name=rec.name, size=rec.size,
            allocated=rec.allocated, type=rec.type, mode=rec.mode, uid=rec.uid, gid=rec.gid,
            mtime=rec.mtime, atime=rec.atime, ctime=rec.ctime, crtime=rec.crtime,
            md5=res["md5"] if res else None, sha1=res["sha1"] if res else None,
            sha256=res["sha256"] if res else None, status=status, skip_reason=reason, image_offset=first,
        ))
    return rows


@dataclass
class Assembled:
    """What assembly wrote: table name -> (path, rows), plus the evidence rows and accounting."""
    tables: dict[str, tuple[Path, int]]
    evidence_rows: list[dict]
    accounting: dict
    held_in_memory: list[str]  # tables whose runs came out of order and were sorted whole (should be none)
    known_files: dict | None = None  # hash sets and package databases used (known.step.KnownFiles.manifest)


def _evidence_row(plan: EvidencePlan, evidence_id: str, h: dict) -> dict:
    stored_md5, stored_sha1 = h.get("stored_md5"), h.get("stored_sha1")
    verified = None
    if stored_md5 or stored_sha1:
        verified = (not stored_md5 or stored_md5 == h["md5"]) and (not stored_sha1 or stored_sha1 == h["sha1"])
    return dict(
        evidence_id=evidence_id, path=plan.spec.path, segments=h.get("segments") or list(plan.spec.segments),
        format=plan.spec.format, size=h["size"], md5=h["md5"], sha1=h["sha1"], sha256=h["sha256"],
        stored_md5=stored_md5, stored_sha1=stored_sha1, verified=verified,
        volume_system=plan.layout.volume_system, volumes=len(plan.volume_rows), acquisition=h.get("acquisition"),
    )


def _accounting(plan: EvidencePlan, file_rows: list[dict], bytes_read: int, unreadable: int) -> dict:
    statuses = [r["status"] for r in file_rows]
    reasons: dict[str, int] = {}
    for r in file_rows:
        if r["status"] == "skipped":
            reasons[r["skip_reason"] or "unspecified"] = reasons.get(r["skip_reason"] or "unspecified", 0) + 1
    return {
        "files_seen": len(file_rows),
        "files_scanned": statuses.count("scanned"),
        "files_skipped": statuses.count("skipped"),
        "files_errored": statuses.count("error"),
        "skip_reasons": dict(sorted(reasons.items())),
        "image_bytes": plan.size,
        "allocated_bytes": plan.owned_bytes,
        "unallocated_scanned_bytes": bytes_read,
        "unreadable_bytes": unreadable + (plan.region_bytes - bytes_read - unreadable),
        "unallocated_planned_bytes": plan.region_bytes,
    }


# Rows of a unit's table read, given their evidence and finding ids and handed to the writer
# at a time: what a finding table holds in assembly is this, plus the writer's row group.
ASSEMBLY_PIECE_ROWS = PIECE_ROWS


def _finding_runs(name: str, cited: list[tuple[str, EvidencePlan]], journal: Journal):
    """The table's rows as sorted pieces, in the order of the final table (the workers sorted
    each unit's rows; tables.SortedTableWriter checks the seams between pieces). A piece is at
    most ASSEMBLY_PIECE_ROWS rows, however many a unit found: the file's bytes do not depend
    on it (the writer cuts row groups at fixed row counts)."""
    final = tbl.final_schema(name)
    for evidence_id, plan in cited:
        for unit in sorted(plan.units, key=unit_order):
            for piece in journal.table_pieces(unit.id, name, ASSEMBLY_PIECE_ROWS):
                if piece.num_rows:
                    yield tbl.with_evidence_id(piece, evidence_id, final)


def _write_findings(case: Path, name: str, cited: list[tuple[str, EvidencePlan]], journal: Journal,
                    held: list[str]) -> tuple[Path, int]:
    """Stream a finding table to Parquet unit by unit; sort it whole only if the runs overlap."""
    writer = tbl.SortedTableWriter(case, name, tbl.final_schema(name))
    try:
        for run in _finding_runs(name, cited, journal):
            writer.append(run)
    except tbl.OutOfOrder:
        writer.abort()
        held.append(name)
        runs = list(_finding_runs(name, cited, journal)) or [tbl.final_schema(name).empty_table()]
        table = tbl.sort_table(pa.concat_tables(runs))
        return tbl.write_table(case, name, table), table.num_rows
    return writer.close(), writer.rows


def assemble(plans: list[EvidencePlan], journal: Journal, duplicates: list[Failure], case: Path,
             known: KnownFiles | None = None) -> Assembled:
    """Write the case's tables from the journal, a piece of one unit's rows in memory at a time.

    Evidence items are written in evidence_id order and each unit's rows are a contiguous
    run of the sorted table (ingest.units plans them so), so no table is ever held whole.
    """
    cited: list[tuple[str, EvidencePlan]] = []
    hashes: dict[str, dict] = {}
    first_path: dict[str, str] = {}
    for plan in plans:
        h = journal.load_stats(plan.hash_unit.id)
        if "sha256" not in h:  # the hash pass itself failed: the image cannot be cited
            duplicates.append(Failure(plan.spec.path, "the image could not be read to hash it; not reported"))
            continue
        evidence_id = evidence_id_for(h["sha256"])
        if evidence_id in first_path:  # the same media given twice: its tables once
            duplicates.append(Failure(plan.spec.path, f"same media as {first_path[evidence_id]}; reported once"))
            continue
        first_path[evidence_id] = plan.spec.path
        hashes[evidence_id] = h
        cited.append((evidence_id, plan))
    cited.sort(key=lambda item: item[0])
    known = known or KnownFiles()

    written: dict[str, tuple[Path, int]] = {}
    evidence_rows, accounting, errors = [], {}, []
    files = tbl.SortedTableWriter(case, "files", schema.FILES)
    volumes = tbl.SortedTableWriter(case, "volumes", schema.VOLUMES)
    for evidence_id, plan in cited:
        h = hashes[evidence_id]
        evidence_rows.append(_evidence_row(plan, evidence_id, h))
        results: dict[int, dict] = {}
        bytes_read = unreadable = 0
        for unit in plan.units:
            if unit.kind == "regions":
                stats = journal.load_stats(unit.id)
                bytes_read += stats.get("bytes_read", 0)
                unreadable += stats.get("bytes_unreadable", 0)
            table = journal.load_table(unit.id, "file_results")
            if table is not None:
                for row in table.to_pylist():
                    results[row["index"]] = row
            table = journal.load_table(unit.id, "errors")
            if table is not None and table.num_rows:
                errors.append(tbl.with_evidence_id(table, evidence_id, schema.ERRORS))
        file_rows = _file_rows(plan, results)
        accounting[evidence_id] = _accounting(plan, file_rows, bytes_read, unreadable)
        for r in file_rows:
            r["evidence_id"] = evidence_id
        files.append(known.classify_files(tbl.sort_table(pa.Table.from_pylist(file_rows, schema=schema.FILES)),
                                          plan, evidence_id, errors))
        del file_rows, results
        volumes.append(tbl.sort_table(pa.Table.from_pylist(
            [dict(r, evidence_id=evidence_id) for r in plan.volume_rows], schema=schema.VOLUMES)))
        walk_errors = list(plan.problems)
        for off, n in h.get("unreadable", []):
            walk_errors.append(Problem(None, None, None, None, Stage.IMAGE,
                                       f"unreadable image bytes {off}..{off + n} (hashed as zeros)"))
        errors.append(tbl.errors_table(walk_errors, evidence_id))
    written["files"] = (files.close(), files.rows)
    written["volumes"] = (volumes.close(), volumes.rows)
    error_table = tbl.sort_table(pa.concat_tables(errors or [schema.ERRORS.empty_table()]))
    written["errors"] = (tbl.write_table(case, "errors", error_table), error_table.num_rows)
    held: list[str] = []
    names = tbl.finding_table_names()
    # Tables are independent and their work is Arrow's (reading, sorting, Parquet encoding),
    # which releases the GIL: one thread per core writes them side by side.
    with ThreadPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1)) as pool:
        futures = {name: pool.submit(_write_findings, case, name, cited, journal, held) for name in names}
        for name in names:
            written[name] = futures[name].result()
    pa.default_memory_pool().release_unused()
    evidence = tbl.sort_table(pa.Table.from_pylist(evidence_rows, schema=schema.EVIDENCE))
    written["evidence"] = (tbl.write_table(case, "evidence", evidence), evidence.num_rows)
    return Assembled(written, evidence_rows, accounting, sorted(held), known.manifest())
