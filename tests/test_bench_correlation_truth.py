"""bench.case20's truth: which values the twenty drives share, and how the case's correlations
are held against it (a link missing, a link naming the wrong drives, a link nobody planted)."""
from __future__ import annotations

from bench.case20 import PLAN, compare, shared_truth


def test_shared_truth_keeps_values_on_two_or_more_drives() -> None:
    per_drive = {
        "drive01": {"email": {"a@x.com", "b@x.com"}, "ssh_key": {"SHA256:k"}},
        "drive02": {"email": ["b@x.com", "c@x.com"], "ssh_key": []},
        "drive03": {"email": {"b@x.com", "c@x.com"}, "ssh_key": ["SHA256:k"]},
    }
    assert shared_truth(per_drive) == {
        ("email", "b@x.com"): ("drive01", "drive02", "drive03"),
        ("email", "c@x.com"): ("drive02", "drive03"),
        ("ssh_key", "SHA256:k"): ("drive01", "drive03"),
    }


def test_one_kinds_value_is_not_anothers() -> None:
    per_drive = {"drive01": {"email": {"v"}}, "drive02": {"identity:telegram": {"v"}}}
    assert shared_truth(per_drive) == {}


def test_compare_names_missing_wrong_and_unexpected_links() -> None:
    truth = {("email", "a"): ("d1", "d2"), ("email", "b"): ("d1", "d3"), ("email", "c"): ("d2", "d3"),
             ("onion", "o"): ("d1", "d2")}
    found = {("email", "a"): ("d1", "d2"), ("email", "b"): ("d1", "d2", "d3"), ("email", "z"): ("d1", "d4"),
             ("onion", "o"): ("d1", "d2"), ("indicator:domain", "x.com"): ("d1", "d2")}
    got = compare(truth, found, ("email", "onion", "cron_command"))
    assert got["email"] == {"planted": 3, "found": 3, "correct": 1, "missing": 1, "wrong_drives": 1,
                            "unexpected": 1, "ok": False,
                            "examples": {"missing": ["c"], "wrong_drives": [("b", ("d1", "d3"), ("d1", "d2", "d3"))],
                                         "unexpected": ["z"]}}
    assert got["onion"]["ok"] and got["onion"]["correct"] == 1
    assert got["cron_command"] == {"planted": 0, "found": 0, "correct": 0, "missing": 0, "wrong_drives": 0,
                                   "unexpected": 0, "ok": True,
                                   "examples": {"missing": [], "wrong_drives": [], "unexpected": []}}


def test_the_plan_links_drives_of_the_case() -> None:
    for artefact, drives in PLAN.items():
        assert len(drives) >= 2 and set(drives) <= set(range(1, 21)), artefact
    assert set(PLAN["key_login"]) <= set(PLAN["ssh_key"])
