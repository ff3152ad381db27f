from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from extractors.base import Source
from extractors.spam_templates import brand_regex, extract, load_brands

S = Source("ev", "/x", None, "x", None)
from tests.conftest import CORPUS as _ROOT  # $SEIZED_CORPUS

CORPUS = _ROOT / "email"


def test_mailer_template():
    t = (b"Subject: {Hello|Hi|Hey} [-emailuser-]\nBuy V1agra and C-i-a-l-i-s at our {online|web} pharmacy "
         b"http://x.example.com/[-randomstring-] VlAGRA %RND_NUM[2,2]% Microsoft")
    (f,) = list(extract(t, S))
    assert {"[-emailuser-]", "[-randomstring-]", "%RND_NUM[2,2]%"} <= set(f.placeholders)
    assert f.spintax_count == 2 and f.subject.startswith("{Hello")
    assert {"Viagra", "Cialis", "Microsoft"} <= set(f.brands) and f.score >= 3


def test_plain_html_and_docs_are_not_templates():
    assert list(extract(b"<html><body>{{ title }} <a href='https://example.com'>x</a> Microsoft</body></html>", S)) == []
    assert list(extract(b"Use {a|b} syntax in the shell docs.", S)) == []


def test_brand_list_extensible(tmp_path):
    extra = tmp_path / "brands.txt"
    extra.write_text("# comment\nAcmeBank\n")
    brands = load_brands(str(extra))
    assert "AcmeBank" in brands and "Pfizer" in brands
    assert brand_regex(brands).search(b"log in to A-c-m-e-B-a-n-k now")


def test_corpus():
    if not CORPUS.exists():
        pytest.skip(f"public corpus not found at {CORPUS}: set SEIZED_CORPUS")
    for p in (CORPUS / "templates").iterdir():
        (f,) = list(extract(p.read_bytes(), S))
        assert "{{.FirstName}}" in f.placeholders and "{{.URL}}" in f.placeholders
    for p in list((CORPUS / "spamassassin").rglob("*")) + [CORPUS / "yara-rules/davivienda.eml"]:
        if p.is_file():
            assert list(extract(p.read_bytes(), S)) == [], p


def test_compressed_bytes_are_binary_and_utf8_text_is_not():
    import zlib

    from extractors._text import looks_binary

    packed = zlib.compress(bytes(range(256)) * 64 + "{a|b} ".encode() * 500, 1) * 8
    assert looks_binary(packed)
    assert not looks_binary("Привет, как дела? Скидки на {часы|сумки} сегодня.\n".encode() * 80)


def test_large_objects_are_not_judged_as_templates():
    from extractors.spam_templates import MAX_TEMPLATE_BYTES, extract

    letter = b"Subject: {Hi|Hello} [-emailuser-]\nBuy V1agra now at http://x.example/ [-email-]\n"
    assert list(extract(letter, S))
    big = letter + b"x" * MAX_TEMPLATE_BYTES
    assert list(extract(big, S)) == []


from hypothesis import given, settings, strategies as st_  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st_.lists(st_.sampled_from(["Viagra", "V1agra", "v-i-a-g-r-a", "MICRO$OFT", "hotmai1", "pay pal", "x", " ",
                                   "-", "Ci4L1S", "vvia", "bing", "\n", "é", "0", "|"]), max_size=60))
def test_fast_brand_scan_equals_the_brand_regex(parts):
    from extractors import spam_templates as mod

    text = "".join(parts).encode()
    want = [(m.start(), m.end()) for m in mod._BRANDS_RE.finditer(text)]
    assert [(m.start(), m.end()) for m in mod._brand_hits(text, mod._BRANDS_RE)] == want


# -- issue 16: what a stock Debian system holds is not a template ------------------------------

def test_programs_and_docs_with_brands_and_braces_are_not_templates():
    shell = (b"#!/bin/sh\n# xdg-open: opens a file or URL in the user's preferred application\n"
             b"for f in {a,b}/{c|d}.txt {x|y}; do echo \"${name}\" https://www.microsoft.com Apple Google; done\n")
    perl = (b"package Mail::SpamAssassin::Conf;\nuse strict;\nmy $x = $self->{$name};\nmy $y = {a|b};\n"
            b"# see http://wiki.apache.org/ Viagra PayPal Microsoft\nsub new {\n  return {$domain};\n}\n1;\n")
    changelog = (b"tor (0.4.9) unstable; urgency=medium\n\n  * {Fix|Fixes} a crash on Windows and Apple {mac|ios}.\n"
                 b"  * Winner of congratulations https://bugs.torproject.org/1 Google iPhone\n\n -- Maint <m@d.org>\n")
    html_doc = (b"<!DOCTYPE html><html><body><p>Use template literals:</p><pre><code>`Hello ${name}`</code></pre>"
                b"<a href='https://nodejs.org/'>Node</a> on Windows and Google Chrome</body></html>")
    for data in (shell, perl, changelog, html_doc):
        assert list(extract(data, S)) == [], data[:40]


def test_a_message_with_mailer_macros_is_a_template():
    headers = (b"From: \"Pfizer\" <[-email-]>\nTo: %TO_EMAIL%\nSubject: V1agra for [-name-]\n\n"
               b"<html><body><a href=\"http://rx.example.ru/\">Viagra</a></body></html>\n")
    (f,) = list(extract(headers, S))
    assert f.reasons[0] == "message headers" and "Viagra" in f.brands and "Pfizer" in f.brands


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b";", b"{", b"}", b"};", b"},", b"})", b" ", b"\t", b"\r", b"\n", b"\r\n", b",", b")",
                                 b"x", b"|"]), max_size=40).map(b"".join))
def test_code_lines_count_the_line_end_pattern(text: bytes) -> None:
    """The literal-led count equals the matches of the one pattern that defines a code line."""
    from extractors.spam_templates import _CODE_LINE_END, code_lines
    assert code_lines(text) == sum(1 for _ in _CODE_LINE_END.finditer(text))
