"""`_extract_utf16_idn` skips an `@` match on its bytes (no ASCII local-part code unit before it,
no aligned dot code unit after it) before decoding; the findings must be exactly those of the
loop that decodes every match (`_reference`, the 1.1.0 code), on generated UTF-16 material:
IDN addresses in both byte orders, ASCII ones, and the binary `@\\x00` noise of executables.
"""
from hypothesis import given, settings, strategies as st

from extractors import emails
from extractors.emails import _IDN_ADDRESS, _IDN_AT_BE, _IDN_AT_LE, _MAX_LOCAL, EmailFinding, normalise


def _reference(data: bytes) -> list[EmailFinding]:
    """The loop without the byte checks: every match decoded and searched."""
    prefer_be = data[:2] == b"\xfe\xff"
    found: dict[tuple[str, int], EmailFinding] = {}
    for pattern, encoding, label in ((_IDN_AT_LE, "utf-16-le", "utf-16le"), (_IDN_AT_BE, "utf-16-be", "utf-16be")):
        for m in pattern.finditer(data):
            at = m.start()
            lo = max(at % 2, at - 2 * (_MAX_LOCAL + 1))
            hi = min(len(data) - (len(data) - at) % 2, at + 2 * 256)
            text = data[lo:hi].decode(encoding, "replace")
            if len(text) * 2 != hi - lo:
                continue
            for am in _IDN_ADDRESS.finditer(text):
                raw = am.group(1)
                off = lo + 2 * am.start(1)
                if raw.isascii() or not (off <= at < off + 2 * len(raw)):
                    continue
                key = (raw, off + 1 if label == "utf-16be" else off)
                if key in found and (found[key].encoding == "utf-16be") == prefer_be:
                    continue
                norm = normalise(raw)
                if norm is not None:
                    found[key] = EmailFinding(off, norm[0], raw, norm[1], label)
    return sorted(found.values(), key=lambda f: f.offset)


TEXTS = ["joerg@bücher.de", "ivan@яндекс.рф", "a.b@münchen.de", "x@example.com", "@", "@ü", "ü@ü.de", "a@b",
         "müller@", ".", "name@", "@bücher", "mail: a@ü.ü.de, b@c.de", "a+b@xn--bcher-kva.de"]
NOISE = [b"@\x00", b"\x00@", b"@\x00\x01", b"\x00@\x00\xfc", b"a\x00@\x00", b"\x00a\x00@", b".\x00", b"\x00.",
         b"\xfc\x00", b"\x00\xfc", b"\x00", b"\xd8\x00", b"\x00\xd8", b"\xff\xfe", b"\xfe\xff", b"A", b"\x01"]
pieces = st.one_of(
    st.sampled_from(TEXTS).flatmap(lambda t: st.sampled_from(["utf-16-le", "utf-16-be"]).map(lambda e: t.encode(e))),
    st.sampled_from(NOISE),
    st.binary(max_size=6),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(pieces, max_size=30).map(b"".join))
def test_precheck_keeps_every_finding(data: bytes) -> None:
    assert list(emails._extract_utf16_idn(data)) == _reference(data)


def test_precheck_on_a_mixed_buffer() -> None:
    data = (b"\x00" * 3 + " joerg@bücher.de ".encode("utf-16-le") + b"@\x00\x01\x02" * 50
            + " ivan@яндекс.рф ".encode("utf-16-be") + b"\x00@\x00\xfc" * 40 + " a.b@münchen.de".encode("utf-16-le"))
    got = list(emails._extract_utf16_idn(data))
    assert got == _reference(data)
    assert {f.raw for f in got} == {"joerg@bücher.de", "ivan@яндекс.рф", "a.b@münchen.de"}
