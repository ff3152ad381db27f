"""Markdown rendering of the declaration blocks (for review and diffing in version control)."""
from __future__ import annotations

from reports import doc


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _para(text: str) -> str:
    # Keep paths and queries literal: escape the characters Markdown would act on mid-line.
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("<", "&lt;")


def to_markdown(blocks: list[doc.Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, doc.Heading):
            out.append("#" * b.level + " " + _para(b.text))
        elif isinstance(b, doc.Warning):
            out.append("> **WARNING: " + _para(b.text) + "**")
        elif isinstance(b, doc.Para):
            text = _para(b.text)
            if b.bold:
                text = f"**{text}**"
            out.append(f"{b.number}\\. {text}" if b.number is not None else text)
        elif isinstance(b, doc.Table):
            if b.caption:
                out.append(f"*{_para(b.caption)}*")
            lines = ["| " + " | ".join(_esc(h) for h in b.headers) + " |",
                     "|" + "|".join("---" for _ in b.headers) + "|"]
            lines += ["| " + " | ".join(_esc(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, doc.Image):
            out.append(f"![{_esc(b.caption)}]({b.file})\n\n*{_para(b.caption)}*")
        elif isinstance(b, doc.Code):
            out.append("```\n" + b.text + "\n```")
    return "\n\n".join(out) + "\n"
