"""The declaration as a list of format-neutral blocks, written out by to_md, to_html, to_docx.

Why a block list: the three formats must say the same thing in the same order with the same
paragraph numbers; building the content once and only rendering it three times makes that
true by construction.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Heading:
    level: int  # 1 title, 2 section, 3 subsection
    text: str


@dataclass(frozen=True, slots=True)
class Para:
    text: str
    number: int | None = None  # numbered declaration paragraph
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Warning:
    text: str


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Image:
    file: str  # relative to the report folder
    caption: str


@dataclass(frozen=True, slots=True)
class Code:
    text: str


Block = Heading | Para | Warning | Table | Image | Code
