from pathlib import Path

import pytest

from extractors.base import Source
from extractors.spam_templates import brand_regex, extract, load_brands

S = Source("ev", "/x", None, "x", None)
CORPUS = Path("/work/shared/corpus/email")


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
        pytest.skip("corpus /work/shared/corpus not present")
    for p in (CORPUS / "templates").iterdir():
        (f,) = list(extract(p.read_bytes(), S))
        assert "{{.FirstName}}" in f.placeholders and "{{.URL}}" in f.placeholders
    for p in list((CORPUS / "spamassassin").rglob("*")) + [CORPUS / "yara-rules/davivienda.eml"]:
        if p.is_file():
            assert list(extract(p.read_bytes(), S)) == [], p
