"""Rows are made per window in bulk (vectorised image offsets, ownership filtered in one pass):
the same values as the per-finding rules they replace."""
import random

from extractors.base import LimitReached
from extractors.emails import EmailFinding
from seized.scanning import NO_MAP, OffsetMap, Rows, Window, ObjectContext, _owned


def test_offset_map_many_is_offset_map_per_offset():
    m = OffsetMap([(0, 1000, 50), (50, 5000, 10), (100, 9000, 1000)])
    r = random.Random(1)
    offsets = [r.choice([None, r.randrange(-5, 1300)]) for _ in range(5000)]
    assert m.many(offsets) == [None if o is None else m(o) for o in offsets]
    known = [o for o in offsets if o is not None]
    assert m.many(known) == [m(o) for o in known]
    assert NO_MAP.many([1, None]) == [None, None]


def test_owned_in_bulk_is_owned_per_finding():
    r = random.Random(2)
    ctx = ObjectContext("v", 1, None, "/p", None, "p", None, NO_MAP)
    findings = [EmailFinding(r.randrange(0, 3000), "a@b.com", "a@b.com", "b.com", "ascii") for _ in range(2000)]
    window = Window(b"", 1000, 1500, 3200, False, 0)
    want = [f for f in findings if 1500 <= 1000 + f.offset < 3200]
    assert _owned(findings, window, Rows(), ctx, "x") == want
    rows = Rows()
    mixed = findings[:10] + [LimitReached(5, "indicators per window", 3)] + findings[10:]
    assert _owned(mixed, window, rows, ctx, "x") == want and len(rows.errors) == 1
    assert _owned(findings, Window(b"", 0, 0, 0, True, 0), Rows(), ctx, "x") == findings
