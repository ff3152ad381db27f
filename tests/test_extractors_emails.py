from pathlib import Path

import pytest

from extractors.base import Source
from extractors.emails import extract
from extractors.harvest import judge_harvest_list

S = Source("ev", "/x", None, "x", None)
from tests.conftest import CORPUS  # $SEIZED_CORPUS


def found(data):
    return [(f.offset, f.address, f.raw, f.encoding) for f in extract(data, S)]


def test_basic_and_normalised():
    r = found(b"mail Bob.Smith@Sub.Example.CO.UK. now")
    assert r == [(5, "bob.smith@sub.example.co.uk", "Bob.Smith@Sub.Example.CO.UK", "ascii")]


@pytest.mark.parametrize("bad", [b"a@localhost", b"a..b@example.com", b"a@@example.com", b"x@-a.com",
                                 b"x@a.comyy", b"xxjohn@example.comyy", b"a@b@example.com", b"a@example.invalidtld"])
def test_rejected(bad):
    assert found(b" " + bad + b" ") == []


def test_glued_left_keeps_whole_local_part():
    assert [a for _, a, _, _ in found(b"xxjohn@example.com")] == ["xxjohn@example.com"]


def test_idn_utf8():
    r = found("kontakt jörg@bücher.de".encode())
    assert r and r[0][1] == "jörg@xn--bcher-kva.de" and r[0][3] == "utf-8"


@pytest.mark.parametrize("enc,bom", [("utf-16-le", b""), ("utf-16-be", b""), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16(enc, bom):
    data = b"\x01\x02" + bom + "to: alice@example.org, x".encode(enc)
    r = list(extract(data, S))
    assert [f.address for f in r] == ["alice@example.org"]
    assert data[r[0].offset:].startswith("alice@example.org".encode(enc))


def test_binary_boundary():
    assert [f.address for f in extract(b"\xe9\x01john@example.com\xe9zz", S)] == ["john@example.com"]


def test_harvest_judgement():
    addrs = [f"user{i}@example{i % 3}.com" for i in range(100)]
    size = sum(len(a) + 1 for a in addrs)
    h = judge_harvest_list(addrs, size)
    assert h is not None and h.unique == 100 and h.distinct_domains == 3
    assert h.top_domains == ["example0.com", "example1.com", "example2.com"]
    assert judge_harvest_list(addrs[:5], 100) is None
    assert judge_harvest_list(addrs, size * 100) is None


def test_spamassassin_corpus():
    p = CORPUS / "email/spamassassin/spam/011.eml"
    if not p.exists():
        pytest.skip(f"public corpus not found at {CORPUS}: set SEIZED_CORPUS")
    addrs = [f.address for f in extract(p.read_bytes(), S)]
    assert sum(a.startswith("webmaster@") for a in addrs) >= 6


@pytest.mark.parametrize("enc,bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b"")])
def test_utf16_idn_addresses_once_at_their_first_code_unit(enc, bom):
    # IDN domains break the narrow ASCII views; each address is still found once, in its byte order
    label = enc.replace("utf-16-", "utf-16")
    data = bom + "x sandrad709@münchen.de\r\nbob@example.org\r\nbrian.bianchi@яндекс.рф\r\n".encode(enc)
    r = list(extract(data, S))
    assert sorted(f.address for f in r) == sorted(
        ["sandrad709@xn--mnchen-3ya.de", "bob@example.org", "brian.bianchi@xn--d1acpjx3f.xn--p1ai"])
    for f in r:
        assert f.encoding == label and data[f.offset:].startswith(f.raw.encode(enc)), f


def test_utf16le_after_a_latin1_letter_stays_little_endian():
    # `ü` is FC 00 in UTF-16LE: the NUL before the next ASCII run must not make it big-endian
    data = b"\xff\xfe" + "Grüße an alice@example.org und bob@example.net".encode("utf-16-le")
    r = list(extract(data, S))
    assert [(f.address, f.encoding) for f in r] == [("alice@example.org", "utf-16le"), ("bob@example.net", "utf-16le")]
    assert all(data[f.offset:].startswith(f.raw.encode("utf-16-le")) for f in r)


def test_credits_files_are_not_harvest_lists():
    """Issue 16: names, roles and years around each address make a credits file, not a list."""
    from extractors import emails
    from extractors.base import Source
    from extractors.harvest import AddressTally

    def verdict(data: bytes):
        tally = AddressTally()
        tally.add(data, emails.extract(data, Source("ev", "/x", None, "x", len(data))))
        return next(iter(tally.verdicts(len(data))), None)

    credits = b"".join(b"Copyright 19%02d Developer Number%d <dev%d@example%d.org>\n" % (i, i, i, i) for i in range(30))
    authors = b"".join(b"Person %d <p%d@ex%d.com>   (translations)\n" % (i, i, i) for i in range(30))
    bare = b"".join(b"p%d@ex%d.com\n" % (i, i) for i in range(30))
    combos = b"".join(b"p%d@ex%d.com:secret%d\n" % (i, i, i) for i in range(30))
    assert verdict(credits) is None and verdict(authors) is None
    assert verdict(bare) is not None and verdict(combos) is not None
