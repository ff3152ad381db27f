"""The e-mail fast path (ASCII dot-atom local part, domain judged once) decides exactly as
email-validator does on every input it decides.

`extract` takes the fast path for an ASCII local part after an ASCII boundary byte; the
general path (`normalise`: email-validator for anything but a plain dot-atom) is the
reference. Both are run on the same generated addresses and must agree byte for byte.
"""
from hypothesis import given, settings, strategies as st

from extractors.base import Source
from extractors.emails import _validate, _domain, extract

S = Source("ev", "/x", None, "x", None)
LOCAL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-"
DOMAINS = ["example.com", "Example.CO.UK", "sub.example.org", "mail.ru", "gmail.com", "a.b.c.d.example.net",
           "xn--bcher-kva.de", "bücher.de", "localhost.invalidtld", "-bad.com", "x.museum", "a" * 63 + ".com"]

local_parts = st.text(alphabet=LOCAL_CHARS, min_size=1, max_size=70)


def reference(local: str, domain: str) -> tuple[str, str] | None:
    """email-validator's verdict on the address, normalised as the extractor normalises it."""
    dom = _domain(domain)
    if dom is None:
        return None
    r = _validate(f"{local}@{domain}")
    if r is None:
        return None
    return f"{r.local_part.lower()}@{dom}", dom


@settings(max_examples=400, deadline=None)
@given(local=local_parts, domain=st.sampled_from(DOMAINS), before=st.sampled_from([b"", b" ", b"\n", b"<", b":"]))
def test_fast_path_agrees_with_email_validator(local, domain, before):
    data = before + f"{local}@{domain}".encode() + b"\n"
    found = [(f.offset, f.address, f.domain) for f in extract(data, S)]
    # What the scan cuts out as the candidate: the local part without leading sentence dots.
    stripped = local.lstrip(".")
    if not stripped:
        assert found == []
        return
    want = reference(stripped, domain)
    if want is None:
        assert found == []
    else:
        assert found == [(len(before) + len(local) - len(stripped), want[0], want[1])]


def test_repeated_domains_in_one_window():
    lines = b"".join(f"user{i}@Example.COM\n".encode() for i in range(1000))
    found = list(extract(lines, S))
    assert len(found) == 1000 and {f.domain for f in found} == {"example.com"}
    assert found[7].address == "user7@example.com" and found[7].raw == "user7@Example.COM"


@settings(max_examples=500, deadline=None)
@given(local=st.text(alphabet=LOCAL_CHARS, min_size=1, max_size=20).filter(lambda s: not s.startswith(".")))
def test_dot_atom_shortcut_is_the_regex(local):
    from extractors.emails import _DOT_ATOM

    assert bool(_DOT_ATOM.fullmatch(local)) == (not local.endswith(".") and ".." not in local)
