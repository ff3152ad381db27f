"""DOCX rendering of the declaration blocks (counsel edit declarations in Word).

Made byte-stable: core properties take the scan's finish time, and the zip entries get a
fixed timestamp, so re-rendering an unchanged case gives the same file and hash.
"""
from __future__ import annotations

import io
import zipfile
from copy import deepcopy
from datetime import datetime, timezone
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor

from caseformat.atomic import write_bytes
from reports import doc

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZWSP = "\u200b"  # zero-width space: where Word may wrap a long path in a table cell


def cell_text(text: str) -> str:
    """A table cell's text with a break opportunity after each `/`: Word then wraps a long path
    between folders instead of inside a name or a number."""
    return text.replace("/", "/" + ZWSP)


def _stable_zip(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def _plain(text: str) -> bool:
    """Text python-docx writes as one `<w:t>` as it is (no tab, break or edge space)."""
    return bool(text) and text.replace(ZWSP, "").isprintable() and text == text.strip()


def _add_rows(table, rows: list[list[str]]) -> None:
    """Body rows in 8 pt. python-docx builds each cell through its element classes (about
    1 ms a cell, a second for an appendix); a row of plain texts is instead a copy of the
    first such row with the texts put in, which gives the same XML."""
    template = None
    for row in rows:
        if template is not None and len(row) == len(template) and all(_plain(text) for text in row):
            tr = deepcopy(template)
            for element, text in zip(tr.iter(qn("w:t")), row):
                element.text = text
            table._tbl.append(tr)
            continue
        cells = table.add_row().cells
        for cell, text in zip(cells, row):
            cell.text = text
            for r in cell.paragraphs[0].runs:
                r.font.size = Pt(8)
        if template is None and len(cells) == len(row) and all(_plain(text) for text in row):
            template = deepcopy(table._tbl.tr_lst[-1])


def write_docx(blocks: list[doc.Block], path: Path, report_dir: Path, title: str, author: str,
               when_utc: str | None) -> None:
    d = Document()
    style = d.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(11)
    for b in blocks:
        if isinstance(b, doc.Heading):
            d.add_heading(b.text, level=max(0, min(b.level, 4) - 1))
        elif isinstance(b, doc.Warning):
            p = d.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = p.add_run("WARNING: " + b.text)
            run.bold = True
            run.font.size = Pt(13)
            run.font.color.rgb = RGBColor(0xB0, 0x00, 0x00)
        elif isinstance(b, doc.Para):
            p = d.add_paragraph()
            if b.number is not None:
                p.paragraph_format.left_indent = Inches(0.4)
                p.paragraph_format.first_line_indent = Inches(-0.4)
                p.add_run(f"{b.number}.\t")
            run = p.add_run(b.text)
            run.bold = b.bold
        elif isinstance(b, doc.Table):
            if b.caption:
                cap = d.add_paragraph()
                cap.add_run(b.caption).italic = True
            t = d.add_table(rows=1, cols=len(b.headers))
            t.style = "Table Grid"
            for cell, text in zip(t.rows[0].cells, b.headers):
                cell.text = text
                for r in cell.paragraphs[0].runs:
                    r.bold = True
            _add_rows(t, [[cell_text(c) for c in row] for row in b.rows])
        elif isinstance(b, doc.Image):
            d.add_picture(str(report_dir / b.file), width=Inches(6.0))
            d.add_paragraph().add_run(b.caption).italic = True
        elif isinstance(b, doc.Code):
            run = d.add_paragraph().add_run(b.text)
            run.font.name = "Courier New"
            run.font.size = Pt(8)
    props = d.core_properties
    props.title = title
    props.author = author
    props.last_modified_by = author
    props.revision = 1
    when = datetime(2000, 1, 1, tzinfo=timezone.utc)
    if when_utc:
        try:
            when = datetime.fromisoformat(when_utc.replace("Z", "+00:00"))
        except ValueError:
            pass
    props.created = when
    props.modified = when
    buf = io.BytesIO()
    d.save(buf)
    write_bytes(path, _stable_zip(buf.getvalue()))
