"""Report charts as PNG files: top address domains, findings per evidence item, file mtimes.

Deterministic on purpose: fixed size and dpi, the Agg backend, a fixed svg.hashsalt, and no
"Software" or date text chunk in the PNG, so a re-render gives the same bytes and the report
hashes in manifest.json stay valid.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from reports.activity_chart import activity_chart  # noqa: E402
from reports.case import CaseData  # noqa: E402

SIZE = (8.0, 4.5)
DPI = 100
TOP = 15
RC = {"svg.hashsalt": "seized", "font.family": "DejaVu Sans", "font.size": 9, "path.simplify": False}


@dataclass(frozen=True, slots=True)
class Chart:
    file: str  # relative to the report folder, e.g. "charts/top_domains.png"
    title: str
    caption: str  # what it shows and the query behind it


@dataclass(frozen=True, slots=True)
class PlannedChart:
    """A chart worked out from the tables (small lists, no table) and not yet drawn: the
    declaration is written from `chart` while `draw` runs on another thread."""
    chart: Chart
    draw: Callable[[Path], None]


def _save(fig, path: Path) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _top_domains(case: CaseData, file: str) -> PlannedChart | None:
    emails = case.tables.get("emails")
    if emails is None or emails.num_rows == 0:
        return None
    uniq = emails.select(["address", "domain"]).group_by(["address", "domain"], use_threads=False).aggregate([])
    counts = uniq.group_by("domain", use_threads=False).aggregate([("address", "count")])
    rows = sorted(zip(counts["domain"].to_pylist(), counts["address_count"].to_pylist()),
                  key=lambda r: (-r[1], r[0] or ""))[:TOP]

    def draw(path: Path) -> None:
        fig, ax = plt.subplots(figsize=SIZE)
        labels = [d or "(none)" for d, _ in rows][::-1]
        ax.barh(labels, [n for _, n in rows][::-1], color="#4a6fa5")
        ax.set_xlabel("distinct addresses")
        ax.set_title(f"Top {len(rows)} domains of found addresses (all evidence items)")
        fig.tight_layout()
        _save(fig, path)

    return PlannedChart(Chart(file, "Top domains of found addresses",
                              "Distinct addresses per domain: emails | count distinct address, grouped by domain."), draw)


def _per_evidence(case: CaseData, file: str) -> PlannedChart | None:
    names = [n for n in case.finding_tables if case.tables.get(n) is not None and case.tables[n].num_rows]
    if not names or not case.evidence_ids:
        return None
    ids = case.evidence_ids
    exhibits = [case.exhibit(e) for e in ids]
    series = []
    for name in names:
        tally = pc.value_counts(case.tables[name].column("evidence_id")).to_pylist()
        per_id = {item["values"]: item["counts"] for item in tally}
        series.append((name, [per_id.get(eid, 0) for eid in ids]))

    def draw(path: Path) -> None:
        fig, ax = plt.subplots(figsize=SIZE)
        width = 0.8 / len(series)
        for i, (name, counts) in enumerate(series):
            ax.bar([x + i * width for x in range(len(ids))], counts, width=width, label=name)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(ids))], exhibits)
        ax.set_yscale("symlog")
        ax.set_ylabel("findings (symmetric log scale)")
        ax.set_title("Findings per evidence item by category")
        ax.legend(fontsize=8, ncols=2)
        fig.tight_layout()
        _save(fig, path)

    return PlannedChart(Chart(file, "Findings per evidence item",
                              "Rows per finding table and exhibit: TABLE where evidence_id = '...' | count."), draw)


def _timeline(case: CaseData, file: str) -> PlannedChart | None:
    files = case.tables.get("files")
    if files is None or files.num_rows == 0:
        return None
    holding: set[tuple[str, str]] = set()
    for name in case.finding_tables:
        t = case.tables.get(name)
        if t is None or t.num_rows == 0:
            continue
        pairs = t.select(["evidence_id", "path"]).drop_null().group_by(["evidence_id", "path"]).aggregate([])
        holding.update(zip(pairs["evidence_id"].to_pylist(), pairs["path"].to_pylist()))
    if not holding:
        return None
    keys = pc.binary_join_element_wise(files.column("evidence_id"), files.column("path"), "\x00")
    wanted = pa.array(sorted(f"{e}\x00{p}" for e, p in holding), pa.string())
    picked = files.filter(pc.is_in(keys, value_set=wanted)).select(["evidence_id", "mtime"]).drop_null()
    if picked.num_rows == 0:
        return None
    lanes = [(i, case.exhibit(eid), sorted(picked.filter(pc.equal(picked.column("evidence_id"), eid))
                                           .column("mtime").to_pylist()))
             for i, eid in enumerate(case.evidence_ids)]
    exhibits = [case.exhibit(e) for e in case.evidence_ids]

    def draw(path: Path) -> None:
        fig, ax = plt.subplots(figsize=SIZE)
        for i, exhibit, times in lanes:
            if times:
                ax.plot(times, [i] * len(times), "|", markersize=14, label=exhibit)
        ax.set_yticks(range(len(exhibits)), exhibits)
        ax.set_xlabel("file modification time (UTC)")
        ax.set_title("Modification times of files holding findings")
        fig.autofmt_xdate()
        fig.tight_layout()
        _save(fig, path)

    return PlannedChart(Chart(file, "Timeline of files holding findings",
                              "mtime of each files row whose (evidence_id, path) appears in a finding table."), draw)


CHARTS = (("top_domains.png", _top_domains), ("findings_per_evidence.png", _per_evidence), ("timeline.png", _timeline))
CHARTS += (("activity_per_day.png", lambda case, file: activity_chart(case, file, PlannedChart, Chart, _save)),)


def plan_charts(case: CaseData) -> list[PlannedChart]:
    """The charts this case has, worked out from its tables (Arrow's work, no drawing)."""
    planned = (make(case, f"charts/{name}") for name, make in CHARTS)
    return [p for p in planned if p is not None]


def draw_charts(planned: list[PlannedChart], report_dir: Path) -> None:
    """Draw the planned charts into report_dir/charts/ and remove any other chart left there."""
    folder = report_dir / "charts"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    with matplotlib.rc_context(RC):
        for p in planned:
            p.draw(report_dir / p.chart.file)
    kept = {p.chart.file for p in planned}
    for name, _ in CHARTS:
        if f"charts/{name}" not in kept:
            (folder / name).unlink(missing_ok=True)

