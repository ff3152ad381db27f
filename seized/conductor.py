"""The conductor: plan a case, run its units on Dask, assemble the tables.

It walks every image's volumes and file systems itself (metadata only), plans units whose
ids depend on the evidence alone, skips the ones the journal already holds, and runs the
rest on a local cluster, an external scheduler, or in-process (`--workers 0`). Tables are
assembled only from journalled results, so a resumed scan and an uninterrupted one end
in the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pyarrow as pa

from caseformat import schema
from caseformat import tables as tbl
from caseformat.journal import Journal
from caseformat.manifest import utc_now
from ingest.problems import one_line
from ingest.filesystems import FileRecord, WalkProblem, fs_type_name, open_tsk, walk_tsk
from ingest.layers import walk_stack
from ingest.recovery import recover
from ingest.images import ImageError, ImageSpec, evidence_id_for, identify_image, open_image
from ingest.units import FileTask, Unit, hash_unit, plan_file_units, plan_region_units, unit_cost, unit_order
from ingest.volumes import VolumeLayout, VolumeSpec, discover_volumes
from known.step import KnownFiles
from seized.casedir import CaseDirError, CaseDirPlan, check_case_dir, open_case_dir, undo_new_case_dir
from seized import interrupt
from seized.interrupt import from_keyboard_interrupt
from seized.scanning import OVERLAP
from seized.worker import ScanOptions, UnitResult, ipc_bytes, run_unit

if TYPE_CHECKING:
    from seized.cluster import BackgroundCluster
    from seized.ruleset import RuleSet


# A problem with the case as a whole (not one image): the scan cannot start (seized.casedir).
CaseError = CaseDirError


@dataclass
class ScanRequest:
    images: list[str]
    case: Path
    workers: int
    scheduler: str | None
    rule_paths: list[Path]
    default_rules: bool
    force: bool
    command_line: list[str]
    case_name: str | None = None
    examiner: str | None = None
    containers: bool = True
    unallocated: bool = True
    # started on a thread of its own when the units start on a cluster, while this process
    # mostly waits (the CLI imports the report's libraries there)
    while_units_run: Callable[[], None] | None = None
    # rule_paths and the shipped rules, compiled already by the caller (the CLI does so before
    # it starts a cluster, so a bad rule file fails at once); None: compiled here
    rule_set: "RuleSet | None" = None
    # --known-hashes / --notable-hashes (known.hashsets): hash sets that classify `files`
    known_hashes: list[Path] = field(default_factory=list)
    notable_hashes: list[Path] = field(default_factory=list)


@dataclass
class EvidencePlan:
    spec: ImageSpec
    size: int
    layout: VolumeLayout
    volume_rows: list[dict]
    records: list[FileRecord]
    problems: list[WalkProblem]
    hash_unit: Unit
    units: list[Unit]
    owned_bytes: int
    region_bytes: int


@dataclass
class Failure:
    image: str
    reason: str


@dataclass
class ScanOutcome:
    exit_code: int
    failures: list[Failure] = field(default_factory=list)
    manifest: dict | None = None


# ---------------------------------------------------------------- planning


RAW_IMAGE = ("no partition table or file system recognised, and none found at 1 MiB or 63-sector alignments "
             "(damaged, wiped or not a disk image): the whole image is scanned as raw bytes")


def plan_evidence(spec: ImageSpec, unallocated: bool) -> EvidencePlan:
    reader = open_image(spec)
    try:
        size = reader.size
        if size < 512:
            raise ImageError(f"media too small to hold a disk ({size} bytes)")
        layout = discover_volumes(reader)
        records: list[FileRecord] = []
        problems: list[WalkProblem] = [WalkProblem(vid, None, None, "volumes", text)
                                         for vid, text in layout.problems]
        volume_rows: list[dict] = []
        walked: list[VolumeSpec] = []
        nested_volumes: list[VolumeSpec] = []  # LVM logical volumes, RAID1 data areas (ingest.layers)
        fs_kinds: dict[str, str] = {}  # volume id -> "tsk" or "xfs"
        for slot in layout.slots:
            row = dict(volume=slot.id, start=slot.start, length=slot.length, description=slot.description,
                       allocated=slot.allocated, kind=slot.kind, fs_type=None, layers=slot.id, status=slot.kind)
            volume_rows.append(row)
            if slot.kind in ("meta", "unallocated") or slot.length == 0:
                continue
            try:
                fs = open_tsk(reader, slot)
            except OSError as exc:
                # No TSK file system: XFS, or a storage layer (LVM2, md RAID, LUKS...) with volumes inside.
                stack = walk_stack(reader, slot, tsk_error=one_line(exc))
                row.update(status=stack.status, fs_type=stack.fs_type, layers=stack.layers)
                records.extend(stack.records)
                problems.extend(stack.problems)
                for inner in stack.nested:
                    volume_rows.append(inner.row)
                    nested_volumes.append(inner.volume)
                    fs_kinds[inner.volume.id] = inner.fs_kind or "tsk"
                fs_kinds[slot.id] = stack.fs_kind or "tsk"
                if stack.status != "no file system":
                    walked.append(slot)
                    continue
                # Nothing recognised: search for file systems no table describes (ingest.recovery);
                # whatever is found or not, every byte no walked file owns is scanned as unallocated.
                found = recover(reader, slot)
                records.extend(found.records)
                problems.extend(found.problems)
                for inner in found.walked:
                    volume_rows.append(inner.row)
                    nested_volumes.append(inner.volume)
                    fs_kinds[inner.volume.id] = inner.fs_kind or "tsk"
                if found.found:
                    walked.append(slot)
                elif slot.kind == "whole":
                    row["status"] = "raw"
                    problems.append(WalkProblem(None, None, None, "volumes", RAW_IMAGE))
                continue
            row["fs_type"] = fs_type_name(fs)
            row["layers"] = f"{slot.id} > {row['fs_type']}"
            row["status"] = "walked"
            walked.append(slot)
            for item in walk_tsk(fs, slot):
                (problems if isinstance(item, WalkProblem) else records).append(item)
        layout = VolumeLayout(layout.volume_system, layout.slots + tuple(nested_volumes), layout.problems)
        tasks = []
        slots = {s.id: s for s in layout.slots}
        for index, rec in enumerate(records):
            if rec.content is not None:
                slot = slots[rec.volume]
                tasks.append(FileTask(index, slot, fs_kinds.get(rec.volume, "tsk"), rec.content, rec.path, rec.name,
                                      rec.stream, None if rec.mtime is None else rec.mtime // 1_000_000))
        units = plan_file_units(spec, tasks)
        owned = _owned_image_ranges(records, layout, size)
        owned_bytes = sum(n for _, n in owned)
        regions = _unowned_regions(owned, layout, size) if unallocated else []
        units += plan_region_units(spec, regions, OVERLAP)
        return EvidencePlan(spec, size, layout, volume_rows, records, problems, hash_unit(spec, size), units,
                            owned_bytes, sum(e - s for _, s, e in regions))
    finally:
        reader.close()


def _owned_image_ranges(records: list[FileRecord], layout: VolumeLayout, size: int) -> list[tuple[int, int]]:
    by_id = {s.id: s for s in layout.slots}
    spans = []
    for rec in records:
        if not rec.owned:
            continue
        vol = by_id[rec.volume]
        for vol_off, length in rec.owned:
            spans.extend(vol.image_ranges(vol_off, length))
    spans.sort()
    merged: list[list[int]] = []
    for start, length in spans:
        end = min(start + length, size)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e - s) for s, e in merged]


def _unowned_regions(owned: list[tuple[int, int]], layout: VolumeLayout, size: int) -> list[tuple[str, int, int]]:
    """Gaps between owned ranges, split at volume boundaries and labelled with their volume."""
    gaps = []
    pos = 0
    for start, length in owned:
        if start > pos:
            gaps.append((pos, start))
        pos = max(pos, start + length)
    if pos < size:
        gaps.append((pos, size))
    # every image extent of every volume, innermost layer (LVM LV, RAID data area) first
    pieces = sorted(
        ((-s.id.count(">") - (s.kind != "whole"), ext.image_offset, ext.image_offset + ext.length, s.id)
         for s in layout.slots if s.kind not in ("meta", "unallocated") for ext in s.extents if ext.length),
    )
    cuts = sorted({b for _, lo, hi, _ in pieces for b in (lo, hi)})
    out = []
    for start, end in gaps:
        points = [start] + [c for c in cuts if start < c < end] + [end]
        for lo, hi in zip(points, points[1:]):
            label = next((vid for _, s, e, vid in pieces if s <= lo < e), "outside volumes")
            out.append((label, lo, hi))
    return out


# ---------------------------------------------------------------- case directory


def _identity(req: ScanRequest, rules_sha256: str | None) -> dict:
    """What makes journalled units reusable: same evidence, same tool, extractors and rules."""
    from extractors.registry import EXTRACTORS
    from known.step import hash_set_identity
    from seized import __version__
    from caseformat.journal import JOURNAL_FORMAT

    return {
        "images": [str(Path(p).absolute()) for p in req.images],
        "seized": __version__,
        "journal_format": JOURNAL_FORMAT,
        "extractors": [[e.name, e.version] for e in EXTRACTORS],
        "rules_sha256": rules_sha256,
        "containers": req.containers,
        "unallocated": req.unallocated,
        "hash_sets": hash_set_identity(req.known_hashes, req.notable_hashes),
    }


def _run_key(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def _evidence_paths(req: ScanRequest, specs: list[ImageSpec]) -> list[str]:
    """Every file the examiner named and every segment found: none may be touched."""
    return sorted({*req.images, *(seg for spec in specs for seg in spec.segments)})


def prepare_case(req: ScanRequest, identity: dict, specs: list[ImageSpec] = ()) -> str:
    """Create or reopen the case directory; refuse one that holds a different case or the
    evidence (seized.casedir has the rules). Returns the run key of the journal."""
    evidence = _evidence_paths(req, list(specs))
    plan = check_case_dir(req.case, identity, evidence, req.force)
    open_case_dir(plan, identity, evidence)
    return _run_key(identity)


# ---------------------------------------------------------------- execution


class Progress:
    """A rich progress bar per image on a terminal (units, bytes, rate, ETA), plain periodic
    lines otherwise (logs, CI)."""

    def __init__(self, total_bytes: int, total_units: int, quiet: bool = False, units: list | None = None) -> None:
        self.total_bytes = total_bytes
        self.total_units = total_units
        self.done_bytes = 0
        self.done_units = 0
        self.quiet = quiet
        self._start = self._last = time.monotonic()
        self._bar = None
        self._images: dict[str, list[int]] = {}  # image path -> [units done, units, bar task id, bytes]
        for u in units or ():
            entry = self._images.setdefault(u.image.path, [0, 0, -1, 0])
            entry[1] += 1
            entry[3] += u.nbytes
        if not quiet and sys.stderr.isatty():
            from rich.progress import (BarColumn, DownloadColumn, Progress as RichProgress, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)
            from rich.console import Console

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.fields[units]} units"), DownloadColumn(), TransferSpeedColumn(),
                                     TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task("scanning", total=max(total_bytes, 1), units=f"0/{total_units}")
            if len(self._images) > 1:
                for path, entry in self._images.items():
                    entry[2] = self._bar.add_task(f"  {Path(path).name}", total=max(entry[3], 1),
                                                  units=f"0/{entry[1]}")
            self._bar.start()

    def advance(self, nbytes: int, image: str | None = None) -> None:
        self.done_bytes += nbytes
        self.done_units += 1
        entry = self._images.get(image) if image is not None else None
        if entry is not None:
            entry[0] += 1
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done_bytes, units=f"{self.done_units}/{self.total_units}")
            if entry is not None and entry[2] >= 0:
                self._bar.update(entry[2], advance=nbytes, units=f"{entry[0]}/{entry[1]}")
        elif not self.quiet and time.monotonic() - self._last > 10:
            self._last = time.monotonic()
            pct = 100 * self.done_bytes / max(self.total_bytes, 1)
            rate = self.done_bytes / max(self._last - self._start, 1e-6)
            eta = (self.total_bytes - self.done_bytes) / rate if rate > 0 else 0
            print(f"seized: {self.done_units}/{self.total_units} units, {self.done_bytes / 1e6:.0f} of "
                  f"{self.total_bytes / 1e6:.0f} MB ({pct:.0f}%), {rate / 1e6:.1f} MB/s, about {eta:.0f} s left",
                  flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _unit_failed(unit: Unit, why: str) -> UnitResult:
    """The journal entry of a unit that could not be run: one errors row, its bytes unread."""
    return UnitResult(unit.id, {"errors": ipc_bytes(pa.Table.from_pylist(
        [dict(volume=None, path=None, inode=None, member=None, stage=f"unit:{unit.kind}", error=why)],
        schema=schema.WORKER_ERRORS))}, {"failed": True, "bytes_read": 0, "bytes_unreadable": unit.nbytes})


def execute(units: list[Unit], options: ScanOptions, journal: Journal, req: ScanRequest,
            progress: Progress, say: Callable[[str], None], cluster: "BackgroundCluster | None") -> str:
    """Run the units the journal lacks; returns how their results reached the journal."""
    todo = [u for u in units if not journal.done(u.id)]
    skipped = len(units) - len(todo)
    if skipped:
        say(f"resuming: {skipped} of {len(units)} units already done")
    for u in units:
        if journal.done(u.id):
            progress.advance(u.nbytes, u.image.path)
    if not todo:
        return "none run (all journalled)"
    if cluster is None:
        from seized.journal import run_and_journal

        for unit in todo:  # tables written to the journal as they are made (bounded memory)
            # a signal inside a TSK read comes out as a read error: such a unit is not journalled
            run_and_journal(unit, options, str(journal.root), interrupt.raise_if_pending)
            progress.advance(unit.nbytes, unit.image.path)
        return "in process"
    if not hasattr(cluster, "client"):  # loopback is down: local processes over pipes (seized.offline)
        return cluster.run(todo, options, journal, progress, _unit_failed)
    from distributed import as_completed

    from seized.cluster import workers_share
    from seized.journal import run_and_journal

    client = cluster.client()
    opts = client.scatter(options, broadcast=True)
    # Workers that see the case directory itself journal their own results; others (another
    # machine without the case share) send the tables back for the conductor to write.
    direct = workers_share(client, journal.root)
    task, extra = (run_and_journal, (str(journal.root),)) if direct else (run_unit, ())
    # the long single-pass image hashes first, then the costliest units, so no long unit
    # starts last and leaves the other workers idle at the end
    ordered = sorted(todo, key=lambda u: (u.kind != "hash", -unit_cost(u), u.id))
    futures = {
        client.submit(task, u, opts, *extra, key=f"{u.kind}-{u.id}", retries=3, pure=False,
                      priority=len(ordered) - i): u
        for i, u in enumerate(ordered)
    }
    for fut in as_completed(futures):
        unit = futures.pop(fut)
        try:
            result: UnitResult = fut.result()
        except Exception as exc:  # a unit that fails after retries is recorded, not fatal
            result = _unit_failed(unit, f"unit failed: {one_line(exc)}")
        if not result.journalled:
            journal.save(result)
        elif not journal.done(unit.id):  # a worker said so, but the entry is not here
            journal.save(_unit_failed(unit, "unit failed: its worker's journal entry is missing"))
        progress.advance(unit.nbytes, unit.image.path)
        fut.release()
    return "written by the workers" if direct else "sent to the conductor"


# ---------------------------------------------------------------- assembly


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


def _finding_runs(name: str, cited: list[tuple[str, EvidencePlan]], journal: Journal):
    """The table's rows as sorted runs, one per unit, in the order of the final table (the
    workers sorted each run; tables.SortedTableWriter checks the seams between them)."""
    final = tbl.final_schema(name)
    for evidence_id, plan in cited:
        for unit in sorted(plan.units, key=unit_order):
            table = journal.load_table(unit.id, name)
            if table is None or table.num_rows == 0:
                continue
            yield tbl.with_evidence_id(table, evidence_id, final)


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
             known: "KnownFiles | None" = None) -> Assembled:
    """Write the case's tables from the journal, one unit's rows in memory at a time.

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
        walk_errors = [dict(evidence_id=evidence_id, volume=p.volume, path=p.path, inode=p.inode, member=None,
                            stage=p.stage, error=p.error) for p in plan.problems]
        for off, n in h.get("unreadable", []):
            walk_errors.append(dict(evidence_id=evidence_id, volume=None, path=None, inode=None, member=None,
                                    stage="image", error=f"unreadable image bytes {off}..{off + n} (hashed as zeros)"))
        errors.append(pa.Table.from_pylist(walk_errors, schema=schema.ERRORS))
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


# ---------------------------------------------------------------- the scan


def scan(req: ScanRequest, say: Callable[[str], None], warn: Callable[[str], None],
         cluster: "BackgroundCluster | None" = None) -> ScanOutcome:
    """`cluster`: a local cluster the caller has begun to start already (the CLI does, before
    it imports this module); otherwise one is started here when the request needs one. It is
    stopped before this returns, whatever happens."""
    started = utc_now()
    try:
        from seized.ruleset import load_rule_set

        rule_set = req.rule_set  # compile errors stop us before anything else
        if rule_set is None and (req.default_rules or req.rule_paths):
            rule_set = load_rule_set(req.rule_paths, req.default_rules)
        identity = _identity(req, rule_set.sha256 if rule_set else None)
        failures: list[Failure] = []
        specs: list[ImageSpec] = []
        for image in req.images:
            try:
                specs.append(identify_image(image))
            except ImageError as exc:
                failures.append(Failure(image, str(exc)))
        if not specs:
            for f in failures:
                warn(f"{f.image}: {f.reason}")
            return ScanOutcome(2, failures)
        # checked now, acted on only once planning found something to scan (_CaseOpener)
        evidence = _evidence_paths(req, specs)
        case_plan = check_case_dir(req.case, identity, evidence, req.force)
        known = KnownFiles(req.known_hashes, req.notable_hashes)  # the sets load while the units run
        if cluster is None and (req.workers != 0 or req.scheduler):
            from seized.cluster import BackgroundCluster, start_fork_server

            if not req.scheduler:
                start_fork_server()  # from this (main) thread, so its workers ignore Ctrl-C (seized.interrupt)
            from seized.offline import local_workers

            cluster = (BackgroundCluster(req.workers, req.scheduler, specs, say) if req.scheduler  # starts while
                       else local_workers(req.workers, say))  # we plan; without TCP when loopback is down
        opened = _CaseOpener(case_plan, identity, evidence)
        try:
            return _scan_case(req, specs, opened, cluster, rule_set, started, failures, say, warn, known)
        except Exception:
            opened.undo_if_nothing_done()
            raise
    finally:
        if cluster is not None:
            cluster.join()


class _CaseOpener:
    """Creates the case directory and its journal when the scan is sure to run, and takes back
    what it created when a run on a new directory failed before any unit was journalled."""

    def __init__(self, plan: CaseDirPlan, identity: dict, evidence: list[str]) -> None:
        self.plan, self.identity, self.evidence = plan, identity, evidence
        self.created: list[Path] | None = None
        self.journal: Journal | None = None

    def open(self) -> Journal:
        self.created = open_case_dir(self.plan, self.identity, self.evidence)
        self.journal = Journal(self.plan.case, _run_key(self.identity))
        return self.journal

    def undo_if_nothing_done(self) -> None:
        if self.created is None:
            return
        if self.journal is not None and any(self.journal.root.glob("*/stats.json")):
            return  # finished units: kept for the next run to resume from
        undo_new_case_dir(self.plan, self.created)


def _scan_case(req: ScanRequest, specs: list[ImageSpec], opener: _CaseOpener, cluster: "BackgroundCluster | None",
               rule_set, started: str, failures: list[Failure], say: Callable[[str], None],
               warn: Callable[[str], None], known: KnownFiles | None = None) -> ScanOutcome:
    """Plan, open the case directory, run the units, assemble (the cluster is starting already)."""
    timings: dict[str, float] = {}
    planned: list[Unit] = []  # filled once planned: the interruption line counts them in the journal
    try:
        return _plan_run_assemble(req, specs, opener, cluster, rule_set, started, failures, say, warn, timings,
                                  planned, known)
    except (KeyboardInterrupt, Exception) as exc:  # SIGINT or SIGTERM (seized.interrupt): the journal is kept
        if not isinstance(exc, KeyboardInterrupt):
            if interrupt.pending() is None:
                raise
            exc = interrupt.Interrupted(interrupt.pending())  # arrived inside a TSK read, came out as an error
        if not planned or opener.journal is None:
            raise from_keyboard_interrupt(exc, None, None, "while planning, before any unit ran") from None
        if cluster is not None:
            cluster.join()  # the workers stop first, so the count below is what the journal keeps
        done = sum(1 for u in planned if opener.journal.done(u.id))
        phase = "while writing the tables" if done == len(planned) else None
        raise from_keyboard_interrupt(exc, done, len(planned), phase) from None


def _plan_run_assemble(req: ScanRequest, specs: list[ImageSpec], opener: _CaseOpener,
                       cluster: "BackgroundCluster | None", rule_set, started: str, failures: list[Failure],
                       say: Callable[[str], None], warn: Callable[[str], None], timings: dict[str, float],
                       planned: list[Unit], known: KnownFiles | None = None) -> ScanOutcome:
    try:
        clock = time.monotonic()
        plans: list[EvidencePlan] = []
        for spec in specs:
            try:
                plans.append(plan_evidence(spec, req.unallocated))
            except ImageError as exc:
                failures.append(Failure(spec.path, str(exc)))
            except OSError as exc:
                failures.append(Failure(spec.path, f"cannot read: {one_line(exc)}"))
        for f in failures:
            warn(f"{f.image}: {f.reason}")
        interrupt.raise_if_pending()  # a plan walked while a signal arrived may hold invented problems
        if not plans:
            return ScanOutcome(2, failures)  # nothing was written: the case directory is as it was
        journal = opener.open()
        units = [u for p in plans for u in [p.hash_unit] + p.units]
        say(f"{len(plans)} image(s), {sum(len(p.records) for p in plans)} file entries, {len(units)} units")
        options = ScanOptions(rule_set.compiled_bytes if rule_set else None, rule_set.sha256 if rule_set else None,
                              req.containers)
        timings["plan_s"] = round(time.monotonic() - clock, 2)
        clock = time.monotonic()
        progress = Progress(sum(u.nbytes for u in units), len(units), quiet=False, units=units)
        planned.extend(units)
        if req.while_units_run is not None and cluster is not None:
            threading.Thread(target=req.while_units_run, name="seized-meanwhile", daemon=True).start()
        try:
            unit_results = execute(units, options, journal, req, progress, say, cluster)
        finally:
            progress.close()
        timings["units_s"] = round(time.monotonic() - clock, 2)
    finally:
        if cluster is not None:
            cluster.close(wait=False)  # the workers exit while the tables are assembled
    clock = time.monotonic()
    duplicates: list[Failure] = []
    assembled = assemble(plans, journal, duplicates, req.case, known)
    for dup in duplicates:
        warn(f"{dup.image}: {dup.reason}")
    failures += duplicates
    from seized.manifest import write_case

    timings["assemble_s"] = round(time.monotonic() - clock, 2)
    manifest = write_case(req, assembled, rule_set, started, failures, timings, unit_results)
    return ScanOutcome(1 if failures else 0, failures, manifest)
