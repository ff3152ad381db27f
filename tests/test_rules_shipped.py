"""The shipped rule set: it compiles cleanly, every rule is documented, and every rule is
checked against its own positive and negative samples (tests/data/yara/<rule>/)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yara

from extractors.yara_scan import YaraFinding, scan_yara, yara_externals
from rules import RULES_DIR, shipped_rule_files
from seized.ruleset import EXTERNAL_DEFAULTS, load_rule_set

SAMPLES = Path(__file__).resolve().parent / "data" / "yara"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
TOPICS = {"mailers", "webshells", "tor", "credentials", "spamkits"}
REQUIRED_META = ("description", "author", "reference", "license")


@pytest.fixture(scope="module")
def shipped() -> yara.Rules:
    return load_rule_set([], include_default=True).rules()


def _rule_names() -> list[str]:
    names = []
    for path in shipped_rule_files():
        names += [r.identifier for r in yara.compile(filepath=str(path), externals=EXTERNAL_DEFAULTS)]
    return names


def _samples() -> list[tuple[str, Path]]:
    out = []
    for rule in sorted(_rule_names()):
        for f in sorted((SAMPLES / rule).glob("*")) if (SAMPLES / rule).is_dir() else []:
            if f.name.startswith(("positive", "negative")):
                out.append((rule, f))
    return out


def _hits(rules: yara.Rules, data: bytes, filepath: str) -> set[str]:
    return {
        f.rule
        for f in scan_yara(rules, data, yara_externals(filepath, None, ""), timeout_s=30, cap_per_rule=100)
        if isinstance(f, YaraFinding)
    }


def test_shipped_files_are_sorted_yar_files_in_topic_folders():
    files = shipped_rule_files()
    assert files == shipped_rule_files()
    assert [p.relative_to(RULES_DIR).as_posix() for p in files] == sorted(
        p.relative_to(RULES_DIR).as_posix() for p in files
    )
    assert {p.parent.name for p in files} == TOPICS
    assert all(p.suffix == ".yar" for p in files)


@pytest.mark.parametrize("path", shipped_rule_files(), ids=lambda p: p.relative_to(RULES_DIR).as_posix())
def test_each_shipped_file_compiles_without_warnings(path: Path):
    # error_on_warning: a "may slow down scanning" string would fail here
    yara.compile(filepath=str(path), externals=EXTERNAL_DEFAULTS, error_on_warning=True)


def test_whole_set_compiles_with_pinned_yara_python():
    assert yara.__version__ == "4.5.4"
    rs = load_rule_set([], include_default=True)
    assert rs.rule_count == len(_rule_names()) > 30
    assert all(s.namespace.startswith("seized/") for s in rs.sources)


def test_rule_names_are_unique_and_documented():
    names = _rule_names()
    assert len(names) == len(set(names)), "sample folders are keyed by rule name"
    for path in shipped_rule_files():
        for rule in yara.compile(filepath=str(path), externals=EXTERNAL_DEFAULTS):
            missing = [k for k in REQUIRED_META if not str(rule.meta.get(k, "")).strip()]
            assert not missing, f"{path.name}:{rule.identifier} lacks meta {missing}"


def test_every_rule_has_positive_and_negative_samples():
    for rule in _rule_names():
        names = [f.name for f in (SAMPLES / rule).glob("*")] if (SAMPLES / rule).is_dir() else []
        assert any(n.startswith("positive") for n in names), f"{rule}: no positive sample"
        assert any(n.startswith("negative") for n in names), f"{rule}: no negative sample"


def test_licences_of_third_party_rules_are_shipped():
    sources_md = (RULES_DIR / "SOURCES.md").read_text()
    for path in shipped_rule_files():
        assert path.relative_to(RULES_DIR).as_posix() in sources_md
    assert {p.name for p in (RULES_DIR / "LICENSES").iterdir()} >= {
        "Apache-2.0_malcontent.txt",
        "Yara-Rules_GPL-2.0.txt",
        "signature-base_DRL-1.1.txt",
    }


@pytest.mark.parametrize("rule,sample", _samples(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_rule_on_its_samples(shipped: yara.Rules, rule: str, sample: Path):
    overrides_file = sample.parent / "externals.json"
    overrides = json.loads(overrides_file.read_text()) if overrides_file.exists() else {}
    filepath = overrides.get(sample.name, {}).get("filepath", f"/evidence/{rule}/{sample.name}")
    hit = rule in _hits(shipped, sample.read_bytes(), filepath)
    assert hit == sample.name.startswith("positive"), f"{rule} on {sample.name}: hit={hit}"


# Real public files from the shared corpus (read by path, skipped when absent).
CORPUS_CASES = [
    ("tor/whonix/torrc.examples", "torrc_hidden_service_config", True),
    ("tor/whonix/torrc.examples", "tor_user", True),
    ("tor/torrc.sample.in", "tor_user", True),
    ("tor/torrc.sample.in", "torrc_hidden_service_config", False),  # every line commented out
    ("tor/torrc.sample.in", "torrc_client_or_relay_config", False),
    ("tor/whonix/65_gateway.conf", "torrc_client_or_relay_config", True),
    ("tor/tor_conf_examples", "torrc_client_or_relay_config", False),
    ("email/templates/gophish_microsoft_onenote-shared-notebook.html", "gophish_template_placeholders", True),
    ("email/templates/gophish_ge-healthcare_migrate-to-ge-care.txt", "gophish_template_placeholders", True),
]


@pytest.mark.parametrize("rel,rule,expected", CORPUS_CASES)
def test_rule_on_corpus(shipped: yara.Rules, rel: str, rule: str, expected: bool):
    target = CORPUS / rel
    if not target.exists():
        pytest.skip(f"shared corpus file {target} not present")
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
    hits = [rule in _hits(shipped, f.read_bytes(), str(f)) for f in files]
    assert (any(hits) if expected else not any(hits)), f"{rule} on {rel}"


def test_no_shipped_rule_fires_on_ham_mail(shipped: yara.Rules):
    ham = CORPUS / "email" / "spamassassin" / "ham"
    if not ham.is_dir():
        pytest.skip(f"shared corpus folder {ham} not present")
    for f in sorted(ham.iterdir()):
        assert _hits(shipped, f.read_bytes(), str(f)) == set(), f.name
