"""LVM2's text metadata format: sections, `key = value`, strings, integers and lists."""
from __future__ import annotations

import re

_TOKEN = re.compile(rb'\s*(?:#[^\n]*\n?\s*)*("(?:[^"\\]|\\.)*"|-?\d+|[A-Za-z_][A-Za-z0-9_.+:-]*|[{}\[\]=,])')


def parse_lvm_config(text: str) -> dict:
    """LVM2's text metadata format (sections, `key = value`, strings, integers, lists)."""
    tokens = [m.group(1).decode("utf-8", "replace") for m in _TOKEN.finditer(text.encode("utf-8"))]
    pos = 0

    def value():
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError("unexpected end of metadata")
        tok = tokens[pos]
        pos += 1
        if tok == "[":
            items = []
            while pos < len(tokens) and tokens[pos] != "]":
                if tokens[pos] == ",":
                    pos += 1
                    continue
                items.append(value())
            pos += 1
            return items
        if tok.startswith('"'):
            return tok[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if re.fullmatch(r"-?\d+", tok):
            return int(tok)
        return tok

    def section(until_brace: bool) -> dict:
        nonlocal pos
        out: dict = {}
        while pos < len(tokens):
            tok = tokens[pos]
            if tok == "}":
                if not until_brace:
                    raise ValueError("unbalanced '}'")
                pos += 1
                return out
            pos += 1
            if pos < len(tokens) and tokens[pos] == "{":
                pos += 1
                out[tok] = section(True)
            elif pos < len(tokens) and tokens[pos] == "=":
                pos += 1
                out[tok] = value()
            else:
                raise ValueError(f"unexpected token {tok!r}")
        if until_brace:
            raise ValueError("unterminated section")
        return out

    return section(False)
