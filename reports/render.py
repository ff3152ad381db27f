"""`seized report`: CASE/report/ from manifest.json and the Parquet tables alone.

Writes summary.json, declaration.md/.html/.docx and charts/, the `correlations` table, and
records every report file's SHA-256 in manifest.json so `seized verify` can re-check them.
Re-rendering an unchanged case gives byte-identical files (the salt is kept, nothing reads
the clock except `generated_utc` in the manifest).
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from caseformat.atomic import write_bytes, write_json, write_text
from caseformat.duckcase import scratch_dir
from caseformat.manifest import file_sha256
from caseformat.tables import write_table
from reports.case import CaseData, load_case
from reports.charts import draw_charts, plan_charts
from reports.correlate import correlations
from reports.declaration import compose
from reports.known_section import known_summary
from reports.redact import Redactor, load_salt
from reports.summary import build_summary
from reports.timeline import build_timeline
from reports.to_docx import write_docx
from reports.to_html import to_html
from reports.to_md import to_markdown

REPORT_DIR = "report"
# `--reveal-secrets` writes here, never to REPORT_DIR: the filing copy stays as it was.
WORKING_DIR = "report-working"
WORKING_MARK = "EXAMINER'S WORKING COPY - CONTAINS SECRETS IN CLEAR TEXT - NOT FOR FILING OR DISCLOSURE"


class KnownSecrets:
    """Every secret value in the case's tables, to scrub from free text shown in the report,
    kept in DuckDB (a table of the report's connection, spilled past its memory limit), not
    in Python: a dense case holds millions of passwords. A text asks for the secrets that
    start with one of its 4-character windows (reports.redact.Redactor)."""

    TABLE = "__known_secrets"

    def __init__(self, tables) -> None:
        from caseformat.schema import secret_columns
        from reports.redact import MASK, MIN_SCRUB_LENGTH

        try:
            from caseformat.tables import finding_classes

            classes = finding_classes()
        except Exception:
            classes = {}
        self.tables = tables
        parts = []
        for name in tables.names():
            if not tables.num_rows(name):
                continue
            cols = set(secret_columns(classes[name])) if name in classes else set()
            if name == "credentials":
                cols.add("secret")
            sch = tables.schema(name)
            for col in sorted(cols & set(sch.names)):
                if pa.types.is_string(sch.field(col).type) or pa.types.is_large_string(sch.field(col).type):
                    parts.append(f'SELECT "{col}" AS value FROM {tables.ref(name)}')
        body = " UNION ALL ".join(parts) if parts else "SELECT NULL::VARCHAR AS value WHERE false"
        tables.fetch(f"CREATE TABLE {self.TABLE} AS SELECT DISTINCT value, left(value, {MIN_SCRUB_LENGTH}) AS prefix "
                     f"FROM ({body}) WHERE value IS NOT NULL AND length(value) >= {MIN_SCRUB_LENGTH} ORDER BY prefix")
        self._mask_char = MASK[0]
        self._with_mask: list | None = None

    def starting_with(self, prefixes: list[str]) -> list[str]:
        return [v for (v,) in self.tables.fetch(
            f"SELECT value FROM {self.TABLE} WHERE prefix IN (SELECT unnest(?::VARCHAR[]))", [prefixes])]

    def holding_mask(self) -> list[tuple[int, str]]:
        """(-length, value) of the secrets holding a mask character, sorted (Redactor's order)."""
        if self._with_mask is None:
            got = self.tables.fetch(f"SELECT value FROM {self.TABLE} WHERE contains(value, ?)", [self._mask_char])
            self._with_mask = sorted((-len(v), v) for (v,) in got)
        return self._with_mask


def _record(case_root: Path, report_dir: Path, corr_info: dict, reveal: bool, derived: dict | None = None) -> None:
    manifest_path = case_root / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    files = {}
    for path in sorted(report_dir.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(report_dir).parts):
            files[str(path.relative_to(case_root))] = file_sha256(path)
    manifest.setdefault("tables", {})["correlations"] = corr_info
    manifest["tables"].update(derived or {})
    # the working copy is listed apart, so the filing copy's entry (and `seized verify` of it) stays
    manifest["working_copy" if reveal else "report"] = {
        "files": files, "generated_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reveal_secrets": bool(reveal)}
    write_json(manifest_path, manifest)


def _mark_working_copy(blocks: list) -> list:
    """The working copy says what it is at the head of every section, not only on its first page."""
    from reports import doc

    out = []
    for block in blocks:
        out.append(block)
        if isinstance(block, doc.Heading):
            out.append(doc.Warning(WORKING_MARK))
    return out


def _html_banner(html: str) -> str:
    """A banner fixed to the top of the window and of every printed page."""
    style = ("<style>.working-copy{position:fixed;top:0;left:0;right:0;background:#b00000;color:#fff;"
             "font-weight:bold;text-align:center;padding:.2em;z-index:9}body{padding-top:2.2em}</style>")
    banner = f'<div class="working-copy" role="alert">{WORKING_MARK}</div>'
    return html.replace("</head>", style + "</head>", 1).replace("<body>", "<body>" + banner, 1)


def _docx_page_headers(path: Path) -> None:
    """WORKING_MARK in the header of every page of the DOCX (python-docx, zipped stably again)."""
    import io

    from docx import Document
    from docx.shared import RGBColor

    from reports.to_docx import _stable_zip

    d = Document(str(path))
    for section in d.sections:
        para = section.header.paragraphs[0] if section.header.paragraphs else section.header.add_paragraph()
        run = para.add_run(WORKING_MARK)
        run.bold = True
        run.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)
    buf = io.BytesIO()
    d.save(buf)
    write_bytes(path, _stable_zip(buf.getvalue()))


def render_report(case: Path, case_name: str | None = None, examiner: str | None = None,
                  reveal_secrets: bool = False) -> Path:
    case = Path(case)
    # DuckDB counts over the tables under a memory limit and spills into a folder of the
    # case's own, removed afterwards (never beside the evidence)
    with scratch_dir(case, ".report-tmp-") as scratch:
        data = load_case(case, case_name, examiner, scratch)
        with data.tables:
            report_dir = case / (WORKING_DIR if reveal_secrets else REPORT_DIR)
            report_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(report_dir, 0o700)
            # the filing copy's salt when there is one (equal tags in both copies); never created there
            from reports.redact import SALT_FILE

            filing_salt = case / REPORT_DIR / SALT_FILE
            salt = load_salt(filing_salt.parent if reveal_secrets and filing_salt.is_file() else report_dir)
            known = KnownSecrets(data.tables)
            redactor = Redactor(salt, reveal=reveal_secrets, known=known)
            timeline_path, timeline_rows = build_timeline(case)  # before the charts: one of them reads it
            derived = {"timeline": {"path": str(timeline_path.relative_to(case)), "rows": timeline_rows,
                                    "sha256": file_sha256(timeline_path)}}

            # The charts are worked out and drawn on a second thread while the counts are made and
            # the declaration written: Agg drawing and Arrow's kernels both release the GIL for much
            # of their time. Only the DOCX, which embeds the PNGs, waits for the drawing.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seized-charts") as pool:
                planned = pool.submit(plan_charts, data)
                drawn = pool.submit(lambda: draw_charts(planned.result(), report_dir))  # after `planned`: one thread
                corr = correlations(data.tables, Redactor(salt, reveal=False, known=known))
                corr_path = write_table(case, "correlations", corr)
                corr_info = {"path": str(corr_path.relative_to(case)), "rows": corr.num_rows,
                             "sha256": file_sha256(corr_path)}
                summary = build_summary(data)
                summary["known_files"] = known_summary(data)  # reports.known_section
                summary["correlations"] = {"value": corr.num_rows, "query": "correlations | count", "table": "correlations"}
                summary["reveal_secrets"] = bool(reveal_secrets)
                charts = [p.chart for p in planned.result()]
                declaration = compose(data, summary, redactor, charts, corr)
                blocks = declaration.blocks
                summary["queries"] = declaration.queries  # the numbered list behind the text's [Qn] markers
                title = f"Declaration of {data.examiner} - {data.case_name}"
                write_text(report_dir / "summary.json",
                            json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
                shown = _mark_working_copy(blocks) if reveal_secrets else blocks  # the working copy: marked throughout
                write_text(report_dir / "declaration.md", to_markdown(shown))
                html = to_html(shown, title)
                write_text(report_dir / "declaration.html", _html_banner(html) if reveal_secrets else html)
                drawn.result()
            write_docx(shown, report_dir / "declaration.docx", report_dir, title, data.examiner,
                       data.manifest.get("finished_utc"))
            if reveal_secrets:
                _docx_page_headers(report_dir / "declaration.docx")
            _record(case, report_dir, corr_info, reveal_secrets, derived)
            return report_dir
