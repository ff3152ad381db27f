"""The harvest tally's vectorised bare test (`bare_count`, issue 17) agrees with `is_bare`."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.harvest import _BARE_STEPS, AddressTally, bare_count, is_bare

ALPHABET = list(b" \t\r\n:;,|>\"')]<([ab@.x\x00\xc3")


@st.composite
def spans(draw):
    data = bytes(draw(st.lists(st.sampled_from(ALPHABET + [ord("y")] * 4), min_size=1, max_size=4 * _BARE_STEPS + 40)))
    starts = sorted(draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=20)))
    lengths = draw(st.lists(st.integers(0, 12), min_size=len(starts), max_size=len(starts)))
    ends = [min(len(data), s + n) for s, n in zip(starts, lengths)]
    return data, np.array(starts, np.int64), np.array(ends, np.int64)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spans())
def test_bare_count_equals_is_bare(case):
    data, starts, ends = case
    expected = sum(is_bare(data, s, "x" * (e - s), "ascii")  # only the length of raw matters
                   for s, e in zip(starts.tolist(), ends.tolist()))
    assert bare_count(data, starts, ends) == expected


def test_long_lines_fall_back_to_the_regexes():
    pad = b" " * (3 * _BARE_STEPS)
    data = pad + b"a@b.com" + pad + b":" + b"p" * (5 * _BARE_STEPS) + b"\n" + b"x" * 100 + b" c@d.com\n"
    starts = np.array([len(pad), data.index(b"c@d")], np.int64)
    assert bare_count(data, starts, starts + 7) == 1


def test_add_spans_counts_like_add():
    data = b"a@b.com\n  <c@d.org>\nName e@f.net\ng@h.io:secret\n"
    starts = np.array([0, 11, 25, 33], np.int64)
    tally = AddressTally()
    tally.add_spans(data, starts, np.array([7, 7, 7, 6], np.int64), ["a@b.com", "c@d.org", "e@f.net", "g@h.io"])
    assert tally.bare == 3 and tally.count == 4 and tally.distinct() == 4 and tally.covered == 3 * 8 + 7
