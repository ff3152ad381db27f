"""The columnar e-mail path (issue 17) gives exactly `extract`'s findings, and rows made from
it are exactly the rows made from `extract`'s findings."""
from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors import emails, harvest
from extractors.base import Source, TextColumn
from extractors.harvest import AddressTally
from seized.scanning import NO_MAP, Judging, ObjectContext, OffsetMap, Rows, Window, scan_window

SRC = Source(None, "/lists/h.txt", None, "h.txt", None)


def column_findings(data: bytes) -> list[emails.EmailFinding]:
    """The columnar path's findings as EmailFinding objects (size threshold bypassed)."""
    out = []
    for block in emails._column_blocks(data):
        cols = {}
        for name, value in block.items():
            if isinstance(value, TextColumn):
                raw = value.data.tobytes()
                value = [raw[a:b].decode("utf-8") for a, b in zip(value.offsets[:-1].tolist(), value.offsets[1:].tolist())]
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            cols[name] = value
        assert len({len(v) for v in cols.values()}) == 1
        out += [emails.EmailFinding(*row) for row in zip(cols["offset"], cols["address"], cols["raw"], cols["domain"],
                                                         cols["encoding"])]
    return out


def assert_same(data: bytes) -> None:
    key = lambda f: (f.offset, f.address, f.raw, f.domain, f.encoding)  # noqa: E731
    expected = sorted(emails.extract(data, SRC), key=key)
    got = column_findings(data)
    assert sorted(got, key=key) == expected
    assert len({f.offset for f in got}) == len(got)


LOCALS = ["john", "J.Doe", "a", "x_y%z+tag", "Mary-Ann", ".lead", "trail.", "dou..ble", "a" * 64, "b" * 65,
          "jöhn", "日本", "\"quoted\"", "user", "o'neil", "UPPER.Case", "9"]
DOMAINS = ["example.com", "GMAIL.COM", "mail.example.co.uk", "münchen.de", "bücher.de", "яндекс.рф", "例え.jp",
           "localhost", "a.b", "ex-ample.org", "-bad.com", "bad-.com", "x.c_m", "example.com.", "foo.bar.baz.qux.info",
           ("l" * 63 + ".") * 4 + "com", "a" * 70 + ".com", "example.c0m", "123.45", "ex..ample.com", "ñandú.cl",
           "example.museum", "sub.example.invalid"]
GLUE = ["\n", " ", ", ", "<", ">", "\t", ";", ":pw\n", "\x00", "@", ".", "_", "-", "é", "\xff", "\r\n", "\"", "",
        "mailto:", "=", "x"]


@st.composite
def dense_windows(draw) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.integers(0, 9))
        if kind <= 6:
            local, domain = draw(st.sampled_from(LOCALS)), draw(st.sampled_from(DOMAINS))
            text = (draw(st.sampled_from(GLUE)) + local + "@" + domain + draw(st.sampled_from(GLUE)))
            parts.append(text.encode("utf-8"))
        elif kind == 7:  # UTF-16 of an address (either byte order), glued to the rest
            text = draw(st.sampled_from(LOCALS)) + "@" + draw(st.sampled_from(DOMAINS))
            parts.append(text.encode(draw(st.sampled_from(["utf-16-le", "utf-16-be"]))))
        elif kind == 8:
            parts.append(draw(st.binary(max_size=12)))
        else:
            parts.append(draw(st.sampled_from(GLUE)).encode("utf-8") * draw(st.integers(1, 3)))
    return b"".join(parts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dense_windows())
def test_columns_equal_extract_on_dense_windows(data):
    assert_same(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400).map(lambda b: bytes(c if c % 3 else 0x40 for c in b)))
def test_columns_equal_extract_on_adversarial_bytes(data):
    """Every third byte value made an `@`: glued `@`s, NULs and high bytes around them."""
    assert_same(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([b"a", b".", b"-", b"@", b"\x00", b"\xc3\xbc", b"com", b"x" * 70, b"\n", b"_", b"1"]),
                max_size=120).map(b"".join))
def test_columns_equal_extract_on_runs(data):
    """Runs of host and local bytes around `@`: over-long, dotted, hyphenated, at the window's edges."""
    assert_same(data)


def test_columns_on_a_harvest_list():
    lines = [f"user{i}.{'x' * (i % 7)}@{DOMAINS[i % len(DOMAINS)]}" for i in range(3000)]
    data = "\n".join(lines).encode("utf-8")
    assert_same(data)
    assert emails.extract_columns(data, SRC) is not None  # large enough for the columnar path
    assert emails.extract_columns(b"a@b.com", SRC) is None  # small: the generator


def _rows(window: Window, ctx: ObjectContext, columns: bool) -> tuple[pa.Table, int, list[str]]:
    ext = emails.EXTRACTOR if columns else dataclasses.replace(emails.EXTRACTOR, columns=None)
    rows, tally = Rows(), AddressTally()
    scan_window(window, ctx, (ext,), rows, Judging([dataclasses.replace(harvest.JUDGEMENT, tally=lambda: tally)]))
    t = pa.concat_tables(rows.batches["emails"]) if rows.batches.get("emails") else None
    if t is not None:
        t = t.sort_by([(c, "ascending") for c in t.column_names])
    return t, tally.bare, (tally.count, tally.covered, tally.distinct(), sorted(tally.domains.items()))


def test_rows_from_columns_equal_rows_from_findings():
    """Ownership at both edges of a window, image offsets through an OffsetMap (with a gap),
    provenance, and the harvest tally: the same from the columnar path as from `extract`."""
    lines = [f"\"Name {i}\" <n{i}@example.org>" if i % 5 == 0 else f"user{i}@{DOMAINS[i % 6]}:pw{i}" for i in range(9000)]
    data = ("\n".join(lines) + "\n x@\x00y.com a@münchen.de\n").encode("utf-8")
    runs = OffsetMap([(0, 4096, 50_000), (60_000, 900_000, len(data))])  # 50,000..60,000 unmapped
    ctx = ObjectContext("v1", 12, None, "/lists/h.txt", None, "h.txt", len(data), runs)
    for window in (Window(data, 0, 0, len(data), True, 0), Window(data, 1000, 1500, 1000 + len(data) - 700, False, 3)):
        a = _rows(window, ctx, True)
        b = _rows(window, ctx, False)
        assert a[0].num_rows > 8000
        assert a[0].equals(b[0])
        assert a[1:] == b[1:]
    ctx = dataclasses.replace(ctx, image_offset=NO_MAP)
    a, b = _rows(Window(data, 0, 0, len(data), True, 0), ctx, True), _rows(Window(data, 0, 0, len(data), True, 0), ctx, False)
    assert a[0].equals(b[0]) and a[0].column("image_offset").null_count == a[0].num_rows
