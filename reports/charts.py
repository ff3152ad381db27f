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

from caseformat.atomic import atomic_path  # noqa: E402
from reports.activity_chart import activity_chart  # noqa: E402
from reports.case import CaseData  # noqa: E402
from reports.words import form  # noqa: E402

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
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(fig)


def _top_domains(case: CaseData, file: str) -> PlannedChart | None:
    tables = case.tables
    if tables.num_rows("emails") == 0:
        return None
    got = tables.fetch(f"SELECT domain, count(address) FROM (SELECT DISTINCT address, domain FROM "
                       f"{tables.ref('emails')}) GROUP BY domain")
    rows = sorted(((d, int(k)) for d, k in got), key=lambda r: (-r[1], r[0] or ""))[:TOP]

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
    tables = case.tables
    names = [n for n in case.finding_tables if tables.num_rows(n)]
    if not names or not case.evidence_ids:
        return None
    ids = case.evidence_ids
    exhibits = [case.exhibit(e) for e in ids]
    series = []
    for name in names:
        per_id = dict(tables.fetch(f"SELECT evidence_id, count(*) FROM {tables.ref(name)} GROUP BY evidence_id"))
        series.append((name, [int(per_id.get(eid, 0)) for eid in ids]))

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


TIMELINE_MIN_FILES = 5  # fewer files holding findings than this: no timeline
TIMELINE_TRIM = 0.02  # the span shown leaves out this share of the earliest and of the latest times
TIMELINE_MIN_SPAN_US = 60 * 1_000_000  # a span shorter than a minute shows nothing: one instant
TIMELINE_TARGET_BINS = 40
_STEPS = ((1, "second"), (5, "5 seconds"), (15, "15 seconds"), (60, "minute"), (300, "5 minutes"),
          (900, "15 minutes"), (3600, "hour"), (3 * 3600, "3 hours"), (6 * 3600, "6 hours"),
          (12 * 3600, "12 hours"), (86400, "day"), (7 * 86400, "week"), (30 * 86400, "30 days"),
          (91 * 86400, "91 days"), (365 * 86400, "365 days"))


def _utc(us: int) -> str:
    import datetime as dt

    return (dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=us)).strftime("%Y-%m-%d %H:%M:%S")


def timeline_bins(lanes: list[tuple[str, list[int]]]) -> dict | None:
    """Adaptive bins for the modification times (microseconds, UTC) of each exhibit's files.

    The span shown is the one that holds the data: the core between the TIMELINE_TRIM and
    1 - TIMELINE_TRIM quantiles, widened by half its length on each side; times farther out
    (a decoy dated years before the rest, which would squeeze all activity into one tick) are
    left out and counted in the caption. The bin width is the round unit
    (second ... year) that gives about TIMELINE_TARGET_BINS bins. None when there is too little
    to show: fewer than TIMELINE_MIN_FILES times, or a span under a minute.
    """
    every = sorted(t for _, times in lanes for t in times)
    if len(every) < TIMELINE_MIN_FILES:
        return None
    last = len(every) - 1
    core_lo = every[int(TIMELINE_TRIM * last)]
    core_hi = every[last - int(TIMELINE_TRIM * last)]
    margin = (core_hi - core_lo) // 2  # times this close to the core belong to it; farther ones are outliers
    kept = [t for t in every if core_lo - margin <= t <= core_hi + margin]
    lo, hi = kept[0], kept[-1]
    if hi - lo < TIMELINE_MIN_SPAN_US:
        return None
    want = (hi - lo) / TIMELINE_TARGET_BINS / 1_000_000
    seconds, unit = next(((s, u) for s, u in _STEPS if s >= want), _STEPS[-1])
    width = seconds * 1_000_000
    first = lo // width * width
    nbins = (hi - first) // width + 1
    series = []
    inside = 0
    for label, times in lanes:
        counts = [0] * nbins
        for t in times:
            if first <= t < first + nbins * width:
                counts[(t - first) // width] += 1
        inside += sum(counts)
        series.append((label, counts))
    return {"first": first, "width": width, "unit": unit, "series": series, "outside": len(every) - inside,
            "total": len(every), "lo": lo, "hi": hi}


def _timeline(case: CaseData, file: str) -> PlannedChart | None:
    tables = case.tables
    if tables.num_rows("files") == 0 or not tables.has("files", "evidence_id", "path", "mtime"):
        return None
    holding = [f"SELECT DISTINCT evidence_id, path FROM {tables.ref(name)} WHERE evidence_id IS NOT NULL "
               f"AND path IS NOT NULL" for name in case.finding_tables
               if tables.num_rows(name) and tables.has(name, "evidence_id", "path")]
    if not holding:
        return None
    # every files row (not one per path) whose (evidence_id, path) a finding table names, as before
    got = tables.fetch(
        f"SELECT f.evidence_id, epoch_us(f.mtime) FROM {tables.ref('files')} f "
        f"SEMI JOIN ({' UNION '.join(holding)}) h ON f.evidence_id = h.evidence_id AND f.path = h.path "
        f"WHERE f.mtime IS NOT NULL AND f.evidence_id IS NOT NULL")
    if not got:
        return None
    per: dict[str, list[int]] = {}
    for eid, us in got:
        per.setdefault(eid, []).append(int(us))
    lanes = [(case.exhibit(eid), sorted(per.get(eid, []))) for eid in case.evidence_ids]
    bins = timeline_bins(lanes)
    if bins is None:
        return None
    outside = ""
    if bins["outside"]:
        k = bins["outside"]
        outside = (f" {k:,} of the {bins['total']:,} files {form(k, 'lies', 'lie')} outside the span shown "
                   f"({_utc(bins['lo'])} to {_utc(bins['hi'])} UTC) and {form(k, 'is', 'are')} not drawn.")

    def draw(path: Path) -> None:
        import matplotlib.dates as mdates
        import datetime as dt

        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        width_days = bins["width"] / 86_400_000_000
        xs = [mdates.date2num(epoch + dt.timedelta(microseconds=bins["first"] + i * bins["width"]))
              for i in range(len(bins["series"][0][1]))]
        fig, ax = plt.subplots(figsize=SIZE)
        bottom = [0] * len(xs)
        for label, counts in bins["series"]:
            if any(counts):
                ax.bar(xs, counts, width=width_days, bottom=bottom, align="edge", label=label)
                bottom = [a + b for a, b in zip(bottom, counts)]
        ax.xaxis_date(tz=dt.timezone.utc)
        ax.set_xlabel("file modification time (UTC)")
        ax.set_ylabel(f"files per {bins['unit']}")
        ax.set_title("Modification times of files holding findings")
        ax.legend(fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        _save(fig, path)

    return PlannedChart(Chart(file, "Timeline of files holding findings",
                              f"Files per {bins['unit']} and exhibit, by mtime, of each files row whose "
                              f"(evidence_id, path) appears in a finding table.{outside}"), draw)


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

