"""The shared text helpers: bulk UTF-16 run finding equals its regex definition; the per-window
cache of UTF-16 views never serves one window's views for another."""
from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st

from extractors import _text


def _reference_runs(data: bytes, lo: int, hi: int, min_units: int) -> list[tuple[int, int]]:
    run = re.compile(rb"(?:[\t\n\r\x20-\x7e]\x00){%d,}" % min_units)
    return [m.span() for m in run.finditer(data, lo, hi)]


@settings(max_examples=400, deadline=None)
@given(data=st.lists(st.sampled_from([0, 0, 0, 0x41, 0x7E, 0x7F, 0x09, 0x0A, 0x20, 0xC3, 0xFF]), max_size=120).map(bytes),
       cut=st.tuples(st.integers(0, 130), st.integers(0, 130)), min_units=st.sampled_from([1, 2, 5, 8]))
def test_pair_runs_equal_regex_definition(data, cut, min_units):
    lo, hi = min(cut[0], len(data)), min(max(cut), len(data))
    lo = min(lo, hi)
    assert _text._pair_runs(data, lo, hi, min_units) == _reference_runs(data, lo, hi, min_units)


def test_utf16_runs_both_byte_orders():
    le = b"\x01\x02" + "hello world".encode("utf-16-le") + b"\xff"
    be = b"\x01\x02" + "hello world".encode("utf-16-be") + b"\xff"
    (v,) = _text.utf16_runs(le, 0, len(le))
    assert (v.text, v.base, v.encoding) == (b"hello world", 2, "utf-16le")
    (v,) = _text.utf16_runs(be, 0, len(be))
    assert (v.text, v.base, v.encoding) == (b"hello world", 2, "utf-16be")


def test_views_cache_is_per_object():
    a = b"\x01" * 100 + "user:password on a line".encode("utf-16-le") * 50
    b = b"\x01" * 100 + "other:secret on a line".encode("utf-16-le") * 50
    va = [(v.text, v.base) for v in _text.utf16_views(a)]
    vb = [(v.text, v.base) for v in _text.utf16_views(b)]
    assert va and vb and va != vb
    assert [(v.text, v.base) for v in _text.utf16_views(a)] == va  # recomputed after b
    ba = bytearray(a)
    assert [(v.text, v.base) for v in _text.utf16_views(ba)] == va
    ba[100:102] = b"\x01\x01"  # a mutable buffer is never served from the cache
    assert [(v.text, v.base) for v in _text.utf16_views(ba)] != va
