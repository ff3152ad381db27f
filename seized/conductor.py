"""The conductor: the steps of a scan, in order, and nothing else.

1. compile the rules and identify the images (ingest.images);
2. check the case directory (seized.casedir) and start the workers (seized.cluster,
   seized.offline) while the evidence is planned;
3. plan every image: volumes, file systems, units whose ids depend on the evidence alone
   (ingest.plan);
4. open the case directory and its journal (seized.case_open);
5. run the units the journal lacks, on Dask, local processes or in process (seized.execution);
6. assemble the tables from the journal (seized.assembly) and write the manifest
   (seized.manifest).

Tables are assembled only from journalled results, so a resumed scan and an uninterrupted
one end in the same bytes.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from caseformat.manifest import utc_now
from ingest.images import ImageError, ImageSpec, identify_image
from ingest.plan import EvidencePlan, plan_evidence
from ingest.problems import one_line
from ingest.units import Unit
from known.step import KnownFiles
from seized import interrupt
from seized.assembly import Failure, assemble
from seized.case_open import CaseOpener, case_identity, evidence_paths
from seized.casedir import check_case_dir
from seized.execution import Progress, execute
from seized.interrupt import from_keyboard_interrupt
from seized.request import ScanRequest
from seized.worker import ScanOptions

if TYPE_CHECKING:
    from seized.cluster import BackgroundCluster
    from seized.ruleset import RuleSet


@dataclass
class ScanOutcome:
    exit_code: int
    failures: list[Failure] = field(default_factory=list)
    manifest: dict | None = None


# ---------------------------------------------------------------- the scan


def scan(req: ScanRequest, say: Callable[[str], None], warn: Callable[[str], None],
         cluster: "BackgroundCluster | None" = None) -> ScanOutcome:
    """Steps 1 and 2, then the rest in _scan_case. `cluster`: a local cluster the caller has
    begun to start already (the CLI does, before it imports this module); otherwise one is
    started here when the request needs one. It is stopped before this returns, whatever
    happens."""
    started = utc_now()
    try:
        rule_set = _compile_rules(req)  # compile errors stop us before anything else
        identity = case_identity(req, rule_set.sha256 if rule_set else None)
        failures: list[Failure] = []
        specs = _identify_images(req.images, failures)
        if not specs:
            for f in failures:
                warn(f"{f.image}: {f.reason}")
            return ScanOutcome(2, failures)
        # checked now, acted on only once planning found something to scan (CaseOpener)
        evidence = evidence_paths(req, specs)
        case_plan = check_case_dir(req.case, identity, evidence, req.force)
        known = KnownFiles(req.known_hashes, req.notable_hashes)  # the sets load while the units run
        if cluster is None and (req.workers != 0 or req.scheduler):
            cluster = _start_workers(req, specs, say)
        opened = CaseOpener(case_plan, identity, evidence)
        try:
            return _scan_case(req, specs, opened, cluster, rule_set, started, failures, say, warn, known)
        except Exception:
            opened.undo_if_nothing_done()
            raise
    finally:
        if cluster is not None:
            cluster.join()


def _compile_rules(req: ScanRequest) -> "RuleSet | None":
    from seized.ruleset import load_rule_set

    if req.rule_set is None and (req.default_rules or req.rule_paths):
        return load_rule_set(req.rule_paths, req.default_rules)
    return req.rule_set


def _identify_images(images: list[str], failures: list[Failure]) -> list[ImageSpec]:
    specs: list[ImageSpec] = []
    for image in images:
        try:
            specs.append(identify_image(image))
        except ImageError as exc:
            failures.append(Failure(image, str(exc)))
    return specs


def _start_workers(req: ScanRequest, specs: list[ImageSpec], say: Callable[[str], None]) -> "BackgroundCluster":
    """The workers start while the evidence is planned; without TCP when loopback is down."""
    from seized.cluster import BackgroundCluster, start_fork_server

    if not req.scheduler:
        start_fork_server()  # from this (main) thread, so its workers ignore Ctrl-C (seized.interrupt)
    from seized.offline import local_workers

    return BackgroundCluster(req.workers, req.scheduler, specs, say) if req.scheduler else local_workers(req.workers, say)


def _scan_case(req: ScanRequest, specs: list[ImageSpec], opener: CaseOpener, cluster: "BackgroundCluster | None",
               rule_set, started: str, failures: list[Failure], say: Callable[[str], None],
               warn: Callable[[str], None], known: KnownFiles | None = None) -> ScanOutcome:
    """Steps 3 to 6 (the cluster is starting already); an interruption keeps the journal and
    says how far the scan got."""
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


def _plan_run_assemble(req: ScanRequest, specs: list[ImageSpec], opener: CaseOpener,
                       cluster: "BackgroundCluster | None", rule_set, started: str, failures: list[Failure],
                       say: Callable[[str], None], warn: Callable[[str], None], timings: dict[str, float],
                       planned: list[Unit], known: KnownFiles | None = None) -> ScanOutcome:
    try:
        clock = time.monotonic()
        plans = _plan_images(specs, req.unallocated, failures)  # 3
        for f in failures:
            warn(f"{f.image}: {f.reason}")
        interrupt.raise_if_pending()  # a plan walked while a signal arrived may hold invented problems
        if not plans:
            return ScanOutcome(2, failures)  # nothing was written: the case directory is as it was
        journal = opener.open()  # 4
        units = [u for p in plans for u in [p.hash_unit] + p.units]
        images, entries = len(plans), sum(len(p.records) for p in plans)
        say(f"{images} image{'' if images == 1 else 's'}, {entries} file {'entry' if entries == 1 else 'entries'}, "
            f"{len(units)} unit{'' if len(units) == 1 else 's'}")
        timings["plan_s"] = round(time.monotonic() - clock, 2)
        clock = time.monotonic()
        unit_results = _run_units(req, units, rule_set, journal, cluster, planned, say)  # 5
        timings["units_s"] = round(time.monotonic() - clock, 2)
    finally:
        if cluster is not None:
            cluster.close(wait=False)  # the workers exit while the tables are assembled
    clock = time.monotonic()
    duplicates: list[Failure] = []
    assembled = assemble(plans, journal, duplicates, req.case, known)  # 6
    for dup in duplicates:
        warn(f"{dup.image}: {dup.reason}")
    failures += duplicates
    from seized.manifest import write_case

    timings["assemble_s"] = round(time.monotonic() - clock, 2)
    manifest = write_case(req, assembled, rule_set, started, failures, timings, unit_results)
    return ScanOutcome(1 if failures else 0, failures, manifest)


def _plan_images(specs: list[ImageSpec], unallocated: bool, failures: list[Failure]) -> list[EvidencePlan]:
    plans: list[EvidencePlan] = []
    for spec in specs:
        try:
            plans.append(plan_evidence(spec, unallocated))
        except ImageError as exc:
            failures.append(Failure(spec.path, str(exc)))
        except OSError as exc:
            failures.append(Failure(spec.path, f"cannot read: {one_line(exc)}"))
    return plans


def _run_units(req: ScanRequest, units: list[Unit], rule_set, journal, cluster: "BackgroundCluster | None",
               planned: list[Unit], say: Callable[[str], None]) -> str:
    """Every unit the journal lacks, with a progress display; how their results reached it."""
    options = ScanOptions(rule_set.compiled_bytes if rule_set else None, rule_set.sha256 if rule_set else None,
                          req.containers)
    progress = Progress(sum(u.nbytes for u in units), len(units), quiet=False, units=units)
    planned.extend(units)
    if req.while_units_run is not None and cluster is not None:
        threading.Thread(target=req.while_units_run, name="seized-meanwhile", daemon=True).start()
    try:
        return execute(units, options, journal, progress, say, cluster)
    finally:
        progress.close()
