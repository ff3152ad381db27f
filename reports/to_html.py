"""HTML rendering of the declaration blocks: one self-contained file, charts as files beside it.

Tables never break a number or a word: the browser may wrap a line only at spaces and at the
`<wbr/>` put after each `/` (so a long path wraps between its folders), and a cell that is a
number is never wrapped at all. `<wbr/>` adds no character: text copied from the page (a path,
a command of Appendix A) is the text as written.
"""
from __future__ import annotations

import re
from html import escape

from reports import doc

STYLE = """body{font-family:"Times New Roman",serif;max-width:60em;margin:2em auto;line-height:1.45}
p.num{margin-left:2.5em;text-indent:-2.5em}
.warning{border:4px solid #b00;background:#fee;color:#900;font-weight:bold;padding:1em;margin:1em 0}
table{border-collapse:collapse;font-size:80%;margin:1em 0}
th,td{border:1px solid #888;padding:2px 4px;vertical-align:top;text-align:left;word-break:normal;overflow-wrap:normal;hyphens:none}
td.num{white-space:nowrap;text-align:right}
.nw{white-space:nowrap}
pre{white-space:pre-wrap;font-size:80%;background:#f4f4f4;padding:.5em}
caption{font-style:italic;text-align:left}
figure img{max-width:100%}"""


NUMBER = re.compile(r"^[+-]?[0-9][0-9,.]*$")


_SPACES = re.compile(r"(\s+)")


def _piece(piece: str) -> str:
    # a browser may wrap after a hyphen: "2026-12-" / "05T23:56Z", "wt-" / "declaration"
    return f'<span class="nw">{escape(piece)}</span>' if "-" in piece else escape(piece)


def text(value: str) -> str:
    """Escaped text that wraps only at spaces and after each `/` (`<wbr/>`), never inside a
    word, a number, a date or a hyphenated name (those are kept whole in a nowrap span)."""
    out = []
    for token in _SPACES.split(value):
        if not token or token.isspace():
            out.append(escape(token))
        else:
            out.append("/<wbr/>".join(_piece(p) for p in token.split("/")))
    return "".join(out)


def _cell(value: str) -> str:
    if NUMBER.match(value):
        return f'<td class="num">{escape(value)}</td>'
    return f"<td>{text(value)}</td>"


def to_html(blocks: list[doc.Block], title: str) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8"/>',
           f"<title>{escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>"]
    for b in blocks:
        if isinstance(b, doc.Heading):
            out.append(f"<h{b.level}>{escape(b.text)}</h{b.level}>")
        elif isinstance(b, doc.Warning):
            out.append(f'<div class="warning" role="alert">WARNING: {escape(b.text)}</div>')
        elif isinstance(b, doc.Para):
            body = text(b.text)
            if b.bold:
                body = f"<strong>{body}</strong>"
            if b.number is not None:
                out.append(f'<p class="num" id="p{b.number}">{b.number}.&#160;&#160;{body}</p>')
            else:
                out.append(f"<p>{body}</p>")
        elif isinstance(b, doc.Table):
            rows = ["<table>"]
            if b.caption:
                rows.append(f"<caption>{escape(b.caption)}</caption>")
            rows.append("<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in b.headers) + "</tr></thead>")
            rows.append("<tbody>")
            rows += ["<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in b.rows]
            rows.append("</tbody></table>")
            out.append("\n".join(rows))
        elif isinstance(b, doc.Image):
            out.append(f'<figure><img src="{escape(b.file)}" alt="{escape(b.caption)}"/>'
                       f"<figcaption>{escape(b.caption)}</figcaption></figure>")
        elif isinstance(b, doc.Code):
            out.append(f"<pre>{text(b.text)}</pre>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
