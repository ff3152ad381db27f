"""Shared text helpers: views of a window as ASCII-compatible bytes, for UTF-8 and UTF-16.

Why: evidence holds text in 8-bit encodings and in UTF-16 (Windows, mail clients, memory).
Every text extractor runs its byte regexes over *views*: the window itself, plus narrow
copies of the UTF-16 runs inside it (one byte per UTF-16 code unit), each with a linear map
back to offsets in `data` so findings always point at the value's first byte.
Scanning for UTF-16 costs nothing on text and random data: only 64 KiB blocks where NUL
bytes are frequent are searched, and the search itself is bulk C work (step slices, translate,
big-integer AND, `re` over the result); see `_pair_runs`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np

_BLOCK = 1 << 16
_MARGIN = 1 << 12
_PRINTABLE = frozenset(b"\t\n\r" + bytes(range(0x20, 0x7F)))


@dataclass(frozen=True, slots=True)
class View:
    """Bytes to search plus the map back: data offset of text[i] is base + step * i."""

    text: bytes
    base: int
    step: int
    encoding: str  # "utf-8" for the window itself, "utf-16le" / "utf-16be" for runs

    def offset(self, i: int) -> int:
        return self.base + self.step * i


# The views of the last window seen, shared by the extractors that run on it one after the other
# (credentials, spam_templates, tor, indicators): finding the NUL-heavy blocks is a full pass
# over 16 MiB, and the narrow copies of a UTF-16 file are half its size again. Keyed on the
# identity of an immutable `bytes` object; holds at most one window (and its views) alive.
_last: tuple[bytes, tuple[View, ...]] | None = None


def utf16_views(data: bytes) -> Iterator[View]:
    """Narrow copies of the UTF-16 (LE or BE) ASCII runs in NUL-heavy parts of `data`."""
    global _last
    last = _last
    if last is not None and last[0] is data:
        return iter(last[1])
    found = tuple(_utf16_views(data))
    if type(data) is bytes:
        _last = (data, found)
    return iter(found)


def _utf16_views(data: bytes) -> Iterator[View]:
    n = len(data)
    regions: list[list[int]] = []
    for start in range(0, n, _BLOCK):
        end = min(n, start + _BLOCK)
        if data.count(0, start, end) * 8 >= end - start:  # >= 12.5 % NUL bytes
            lo, hi = max(0, start - _MARGIN), min(n, end + _MARGIN)
            if regions and lo <= regions[-1][1]:
                regions[-1][1] = hi
            else:
                regions.append([lo, hi])
    for lo, hi in regions:
        yield from utf16_runs(data, lo, hi)


# Each byte as a 2-bit class: 1 printable ASCII, 2 NUL, 0 anything else; a (printable, NUL) pair
# read as one little-endian 16-bit number is then 0x0201.
_PAIR_CLASS = bytes(1 if c in _PRINTABLE else 2 if c == 0 else 0 for c in range(256))
_TEXT_PAIR = 0x0201
_U16LE = np.dtype("<u2")
_RUN_OF_ONES: dict[int, re.Pattern[bytes]] = {}


def _pair_runs(data: bytes, lo: int, hi: int, min_units: int) -> list[tuple[int, int]]:
    """Spans of the maximal runs of at least `min_units` (printable ASCII, NUL) byte pairs that
    lie in data[lo:hi], at either alignment, in order: what `finditer` of
    `(?:[\\t\\n\\r\\x20-\\x7e]\\x00){min_units,}` over data[lo:hi] yields, but in bulk C operations.

    The bytes are classed once (`translate`); per alignment, numpy reads the classes as 16-bit
    pairs and marks the text pairs (1 byte per pair), and the runs of marks are found by `re` on
    a single-byte repeat. Runs of the two alignments never overlap (a NUL is never printable).
    """
    run = _RUN_OF_ONES.get(min_units)
    if run is None:
        # Spelt out (not `\x01{n,}`) so that `re` finds the literal prefix and scans in C.
        run = _RUN_OF_ONES[min_units] = re.compile(re.escape(b"\x01" * min_units) + rb"\x01*")
    spans: list[tuple[int, int]] = []
    classes = data[lo:hi].translate(_PAIR_CLASS)
    for k in (0, 1):
        pairs = (hi - lo - k) // 2
        if pairs < min_units:
            continue
        good = (np.frombuffer(classes, _U16LE, pairs, k) == _TEXT_PAIR).tobytes()
        start = lo + k
        spans += [(start + 2 * a, start + 2 * b) for a, b in (m.span() for m in run.finditer(good))]
    spans.sort()
    return spans


def _bom(data: bytes) -> tuple[str, int] | None:
    """("le" or "be", parity of code-unit offsets) from a byte-order mark opening `data`.

    Only a BOM at the start counts: random bytes hold `FE FF` every 64 KiB or so.
    """
    head = data[:2]
    if head == b"\xff\xfe":
        return "le", 0
    if head == b"\xfe\xff":
        return "be", 0
    return None


def _is_big_endian(data: bytes, s: int, bom: tuple[str, int] | None) -> bool:
    """Whether the run starting at `s` is UTF-16BE (its code units start one byte earlier).

    ASCII text in UTF-16LE and UTF-16BE is the same bytes shifted by one, so only a BOM or the
    bytes before the run can tell. A NUL before the run means BE, unless that NUL ends a
    little-endian code unit of text going on before it (`m 00 FC 00` + run: `ü` in UTF-16LE).
    """
    if s < 1 or data[s - 1] != 0:
        return False
    if bom is not None:
        order, parity = bom
        return order == "be" and (s - 1) % 2 == parity
    if s >= 2 and data[s - 2] == 0:
        return False
    return not (s >= 4 and data[s - 3] == 0 and data[s - 4] != 0)


def utf16_runs(data: bytes, lo: int, hi: int, min_units: int = 8) -> Iterator[View]:
    """Views of the UTF-16 ASCII runs of at least `min_units` code units in data[lo:hi]."""
    n = len(data)
    bom = _bom(data)
    for s, e in _pair_runs(data, lo, min(hi, n), min_units):
        if _is_big_endian(data, s, bom):
            # Big-endian text: the run starts one byte late; include the last low byte.
            if e < n and data[e] in _PRINTABLE and data[e - 1] == 0:
                e += 1
            yield View(data[s:e:2], s - 1, 2, "utf-16be")
        else:
            yield View(data[s:e:2], s, 2, "utf-16le")


def views(data: bytes) -> Iterator[View]:
    """The window itself, then its UTF-16 runs."""
    yield View(data, 0, 1, "utf-8")
    yield from utf16_views(data)


def encode_as(value: str, encoding: str) -> bytes:
    """How `value` appears in `data` for a view of this encoding (used by tests and checks)."""
    return value.encode("utf-8" if encoding in ("utf-8", "ascii") else encoding)


class LineCounter:
    """1-based line numbers for increasing offsets into `data` in linear total time."""

    __slots__ = ("_data", "_pos", "_line")

    def __init__(self, data: bytes) -> None:
        self._data, self._pos, self._line = data, 0, 1

    def line_at(self, offset: int) -> int:
        if offset < self._pos:
            self._pos, self._line = 0, 1
        self._line += self._data.count(b"\n", self._pos, offset)
        self._pos = offset
        return self._line


def looks_binary(data: bytes, sample: int = 4096) -> bool:
    """True when the start of `data` is mostly not text (cheap gate for text-only parsers)."""
    head = data[:sample]
    if not head:
        return False
    if head.count(0) * 4 >= len(head):  # could be UTF-16; callers use utf16_views for that
        return True
    bad = len(head.translate(None, bytes(_PRINTABLE) + bytes(range(0x80, 0x100))))
    if bad * 10 > len(head):
        return True
    # Compressed or encrypted bytes are ~half high bytes and only ~12 % control bytes, close to
    # the bound above; text with that many high bytes is UTF-8, and they are not.
    high = len(head) - len(head.translate(None, bytes(range(0x80, 0x100))))
    if high * 4 > len(head):
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            return exc.start < len(head) - 4  # a character cut at the sample's end is fine
    return False
