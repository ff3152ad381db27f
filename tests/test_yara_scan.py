"""Rule-set loading (seized.ruleset) and the scanner (extractors.yara_scan) with real libyara.

User rule files are data under tests/data/yara/_user/; a test that needs to change a rule file
copies it to a temporary folder first.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from extractors.base import LimitReached
from extractors.yara_scan import YaraFinding, YaraScanError, scan_yara, yara_externals
from rules import shipped_rule_files
from seized.ruleset import RuleCompileError, RuleSetError, load_compiled, load_rule_set

USER = Path(__file__).resolve().parent / "data" / "yara" / "_user"
EXT = yara_externals(None, None, "")


def _rules_of(rs) -> set[str]:
    return {r.identifier for r in rs.rules()}


def test_broken_user_rule_gives_one_line_file_and_line():
    broken = USER / "broken.yar"
    with pytest.raises(RuleCompileError) as exc:
        load_rule_set([broken], include_default=True)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg == f"{broken}:9: syntax error, unexpected '}}'"


def test_missing_user_path_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(RuleSetError) as exc:
        load_rule_set([tmp_path / "nope.yar"], include_default=False)
    assert str(exc.value) == f"{tmp_path / 'nope.yar'}: no such rule file or folder"
    with pytest.raises(RuleSetError):
        load_rule_set([], include_default=False)


def test_user_rules_in_a_folder_add_rules():
    default = load_rule_set([], include_default=True)
    both = load_rule_set([USER / "folder"], include_default=True)
    added = _rules_of(both) - _rules_of(default)
    assert added == {"user_spam_word", "user_marker", "user_condition_only"}
    user_ns = [s.namespace for s in both.sources if s.namespace.startswith("user/")]
    assert user_ns == ["user/folder/nested/marker", "user/folder/spam_words"]
    assert both.sha256 != default.sha256


def test_no_default_rules_leaves_shipped_rules_out():
    rs = load_rule_set([USER / "folder"], include_default=False)
    assert _rules_of(rs) == {"user_spam_word", "user_marker", "user_condition_only"}
    assert all(s.namespace.startswith("user/") for s in rs.sources)


def test_repeated_and_overlapping_paths_compile_each_file_once():
    rs = load_rule_set([USER / "folder", USER / "folder" / "spam_words.yar", USER / "every_a.yar"], False)
    assert [s.namespace for s in rs.sources] == [
        "user/folder/nested/marker",
        "user/folder/spam_words",
        "user/every_a",
    ]


def test_rule_set_hash_is_stable_and_follows_file_content(tmp_path: Path):
    assert load_rule_set([], True).sha256 == load_rule_set([], True).sha256
    folder = tmp_path / "mine"
    shutil.copytree(USER / "folder", folder)
    before = load_rule_set([folder], include_default=False)
    assert load_rule_set([folder], include_default=False).sha256 == before.sha256
    target = folder / "spam_words.yar"
    target.write_text(target.read_text().replace("unsubscribe-now", "unsubscribe-today"))
    after = load_rule_set([folder], include_default=False)
    assert after.sha256 != before.sha256
    changed = {s.namespace for s in after.sources} - {None}
    assert changed == {s.namespace for s in before.sources}


def test_compiled_bytes_load_once_per_process():
    rs = load_rule_set([], include_default=True)
    first = load_compiled(rs.compiled_bytes)
    assert load_compiled(bytes(rs.compiled_bytes)) is first
    assert {r.identifier for r in first} == _rules_of(rs)
    assert len(shipped_rule_files()) == len(rs.sources)


def test_rule_using_filepath_external():
    rules = load_rule_set([USER / "filepath_rule.yar"], include_default=False).rules()
    hit = list(scan_yara(rules, b"SocksPort 9050\n", yara_externals("/etc/tor/torrc", None, ""), 10, 10))
    assert [(f.rule, f.offset, f.string_id) for f in hit] == [("user_torrc_by_path", None, None)]
    miss = list(scan_yara(rules, b"SocksPort 9050\n", yara_externals("/etc/tor/torrc.bak", None, ""), 10, 10))
    assert miss == []


def test_yara_externals():
    assert yara_externals("/var/www/a/Mailer.PHP", None, "text") == {
        "filename": "Mailer.PHP", "filepath": "/var/www/a/Mailer.PHP", "extension": "php", "filetype": "text"}
    assert yara_externals(None, "kit.tar.gz", "") == {
        "filename": "kit.tar.gz", "filepath": "", "extension": "gz", "filetype": ""}
    assert yara_externals(None, None, "")["extension"] == ""
    assert yara_externals("/home/u/.bashrc", None, "")["extension"] == ""


def test_offsets_equal_find_of_planted_marker():
    rules = load_rule_set([USER / "folder"], include_default=True).rules()
    marker = b"SEIZED-MARKER-7f3a"
    data = bytes(range(256)) * 1000 + marker + b"\n" * 333 + marker
    found = [f for f in scan_yara(rules, data, EXT, 10, 100) if isinstance(f, YaraFinding)]
    mine = [f for f in found if f.rule == "user_marker"]
    assert [f.offset for f in mine] == [data.find(marker), data.rfind(marker)]
    assert all(f.matched_length == len(marker) and f.string_id == "$m" for f in mine)
    assert mine[0].namespace == "user/folder/nested/marker"
    assert [f.offset for f in found] == sorted(f.offset for f in found)


def test_condition_only_rule_gives_one_row_without_offset():
    rules = load_rule_set([USER / "folder"], include_default=False).rules()
    out = list(scan_yara(rules, b"x" * 17, EXT, 10, 10))
    assert out == [YaraFinding(None, "user_condition_only", "user/folder/nested/marker", [], "{}", None, None)]


def test_meta_and_tags_from_a_shipped_rule():
    rules = load_rule_set([], include_default=True).rules()
    data = b"<?php @eval($_POST['x']);?>"
    (f,) = [f for f in scan_yara(rules, data, EXT, 10, 10) if f.rule == "ChinaChopper_Generic"]
    assert f.meta.startswith('{"author": "Florian Roth (Nextron Systems)"')
    assert f.tags == []
    (t,) = {tuple(f.tags) for f in scan_yara(rules, b"HiddenServicePort 80 127.0.0.1:80", EXT, 10, 10)
            if f.rule == "tor_user"}
    assert t == ("high", "software")  # software: says which software uses Tor (issue 16)


def test_per_rule_cap_yields_limit_reached():
    rules = load_rule_set([USER / "every_a.yar"], include_default=False).rules()
    data = b"xa" * 50
    out = list(scan_yara(rules, data, EXT, 10, 7))
    findings = [f for f in out if isinstance(f, YaraFinding)]
    assert [f.offset for f in findings] == [1, 3, 5, 7, 9, 11, 13]
    assert out[-1] == LimitReached(offset=15, limit="yara matches per rule", value=7)
    assert out == list(scan_yara(rules, data, EXT, 10, 7))  # deterministic


def test_million_matches_finish_fast_with_limit():
    rules = load_rule_set([USER / "every_a.yar"], include_default=False).rules()
    start = time.monotonic()
    out = list(scan_yara(rules, b"a" * (20 << 20), EXT, 60, 1000))
    assert time.monotonic() - start < 10
    limits = [f for f in out if isinstance(f, LimitReached)]
    assert {x.limit for x in limits} == {"yara matches per rule", "yara engine matches per string"}
    assert sum(isinstance(f, YaraFinding) for f in out) == 1000


def test_timeout_raises_yara_scan_error():
    rules = load_rule_set([USER / "slow_loop.yar"], include_default=False).rules()
    with pytest.raises(YaraScanError) as exc:
        list(scan_yara(rules, bytes(64 << 20), EXT, 1, 10))  # ~5 s of loop on this machine: well past 1 s
    assert str(exc.value) == "yara scan timed out after 1 s"
