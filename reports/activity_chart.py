"""Chart: activity per day per drive, from the `timeline` table.

Why: when twenty drives were worked by one operator, their busy days line up. Each exhibit
is one line: timeline rows per UTC day, file-system times (MACB) drawn apart from the
operator's own traces (logins, commands, packages, crontabs, mail days, web hits) because
an installation touches thousands of files in a day. Counts come from DuckDB over the
Parquet table (two small lists reach Python, never the table).
"""
from __future__ import annotations

from pathlib import Path  # days with no rows are left empty (no line joins busy days across gaps)


def _daily(case) -> list[tuple[str, str, bool, int]]:
    path = Path(case.root) / "tables" / "timeline" / "part-0.parquet"
    if not path.is_file():
        return []
    from reports.timeline import connect

    con = connect()
    try:
        lit = "'" + str(path).replace("'", "''") + "'"
        return con.execute(
            f"SELECT evidence_id, left(time, 10) AS day, source_table = 'files' AS fs, count(*) "
            f"FROM read_parquet({lit}) WHERE time >= '1971' GROUP BY ALL ORDER BY ALL").fetchall()
    finally:
        con.close()


def activity_chart(case, file: str, planned_cls, chart_cls, save):
    """A PlannedChart (reports.charts) of rows per day per exhibit, or None without a timeline."""
    rows = _daily(case)
    if not rows:
        return None
    from datetime import date

    series: dict[tuple[str, bool], tuple[list, list]] = {}
    for eid, day, fs, n in rows:
        xs, ys = series.setdefault((eid, fs), ([], []))
        xs.append(date.fromisoformat(day))
        ys.append(n)
    order = sorted(series, key=lambda k: (case.exhibit(k[0]), k[1]))

    def draw(out: Path) -> None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8.0, 4.5))
        for eid, fs in order:
            xs, ys = series[(eid, fs)]
            label = f"{case.exhibit(eid)} {'file times' if fs else 'operator traces'}"
            ax.plot(xs, ys, "o" if fs else "s", markersize=4 if fs else 5, linestyle="none", alpha=0.8, label=label)
        ax.set_yscale("symlog")
        ax.set_ylabel("timeline rows per day (symmetric log)")
        ax.set_xlabel("day (UTC)")
        ax.set_title("Activity per day per exhibit")
        ax.legend(fontsize=7, ncols=2)
        fig.autofmt_xdate()
        fig.tight_layout()
        save(fig, out)

    caption = ("Rows of the timeline table per UTC day and exhibit, file-system times (source_table = 'files') "
               "apart from the rest: timeline where evidence_id = '...' | count, grouped by day.")
    return planned_cls(chart_cls(file, "Activity per day per exhibit", caption), draw)
