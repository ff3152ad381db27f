"""timeline: every timestamped row of the case in one sorted table; `seized timeline` filters and CSV."""
from __future__ import annotations

import csv
import shutil

import pyarrow.compute as pc
import pytest

from tests.conftest import read_table, run_seized
from tests.operator_case import scanned

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="ssh-keygen (openssh-client) not installed")]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return scanned(tmp_path_factory.mktemp("timeline"))


def _iso(ts) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_sorted(case):
    _made, out = case
    rows = read_table(out, "timeline").to_pylist()
    key = [(r["time"], r["evidence_id"], r["source_table"], r["kind"], r["description"], r["finding_id"],
            r["user"] or "") for r in rows]
    assert key == sorted(key)
    assert all(r["time"] for r in rows)


def _evidence_of(out, image) -> str:
    return next(e["evidence_id"] for e in read_table(out, "evidence").to_pylist() if e["path"] == str(image))


def _minus_3h(iso: str) -> str:
    from datetime import datetime, timedelta

    return (datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ") - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_complete(case):
    """Every time of every source row is on the timeline, found by its finding id (files by path)."""
    made, out = case
    tl = read_table(out, "timeline").to_pylist()
    got = {}
    for r in tl:
        got.setdefault(r["source_table"], []).append(r)
    # files: one row per file and distinct time, MACB flags as mactime writes them
    expected_files = set()
    for f in read_table(out, "files").to_pylist():
        for t in {f[c] for c in ("mtime", "atime", "ctime", "crtime") if f[c] is not None}:
            flags = "".join(x if f[c] == t else "." for x, c in zip("macb", ("mtime", "atime", "ctime", "crtime")))
            expected_files.add((f["evidence_id"] + ":" + f["path"], _iso(t), "file " + flags))
    assert {(r["finding_id"], r["time"], r["kind"]) for r in got["files"]} == expected_files
    moscow = _evidence_of(out, made.drives[1].image)  # drive b: /etc/timezone Europe/Moscow (UTC+3 in 2011)
    for table in ("logins", "package_log", "shell_history"):
        t = read_table(out, table)
        timed = [r for r in t.to_pylist() if r["time"]]
        assert timed, f"the planted {table} rows have times"
        expected = {(r["finding_id"], _minus_3h(r["time"]) if r["evidence_id"] == moscow and r.get("time_inferred")
                     else r["time"]) for r in timed}
        assert {(r["finding_id"], r["time"]) for r in got[table]} == expected
        for r in got[table]:
            assert ("[local time in Europe/Moscow]" in r["description"]) == (r["evidence_id"] == moscow
                                                                             and r["time_inferred"])
    mail = read_table(out, "mail_log").to_pylist()
    days = {(m["evidence_id"], m["path"], m["day"], m["mta"]) for m in mail if m["relay"] is None}
    assert len(got["mail_log"]) == len(days) == 3
    assert {r["time"][:10] for r in got["mail_log"]} == {"2011-03-16", "2011-03-17", "2011-03-18"}
    runs = read_table(out, "cron_runs").to_pylist()
    groups = {(r["evidence_id"], r["path"], r["day"], r["user"], r["command"]) for r in runs}
    assert len(got["cron_runs"]) == len(groups) == 2 and sum(r["runs"] for r in runs) == 3
    keys = read_table(out, "ssh_keys").to_pylist()
    assert {r["finding_id"] for r in got.get("ssh_keys", [])} == {k["finding_id"] for k in keys
                                                                 if k["kind"] == "authorized_key"}
    tasks = read_table(out, "scheduled_tasks")
    assert {r["finding_id"] for r in got.get("scheduled_tasks", [])} == set(tasks.column("finding_id").to_pylist())
    assert any(r["time_inferred"] for r in got["logins"]) and not any(r["time_inferred"] for r in got["files"])


def _exhibit_of(out, image) -> str:
    ids = sorted(read_table(out, "evidence").column("evidence_id").to_pylist())
    return f"E{ids.index(_evidence_of(out, image)) + 1}"


def test_cli_filters_and_csv(case, tmp_path):
    made, out = case
    ex = _exhibit_of(out, made.drives[0].image)  # drive a: auth.log with the 2011-03-16 login
    proc = run_seized("timeline", out, "--from", "2011-03-16", "--to", "2011-03-16", "--evidence", ex)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and all(line.startswith("2011-03-16T") and f" {ex} " in line for line in lines)
    assert any("203.0.113.66" in line and "accepted" in line for line in lines)
    proc = run_seized("timeline", out, "--user", "root", "--csv", tmp_path / "t.csv")
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "t.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["user"] == "root" for r in rows) and {"logins", "files"} <= {r["source_table"] for r in rows}
    all_rows = read_table(out, "timeline")
    assert len(rows) == pc.sum(pc.equal(all_rows.column("user"), "root")).as_py()
    bad = run_seized("timeline", out, "--from", "yesterday")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--from" in bad.stderr


def test_cli_without_report_computes_on_the_fly(case, tmp_path):
    made, _out = case
    out = tmp_path / "noreport"
    assert run_seized("scan", made.drives[1].image, "-o", out, "--no-report", "--workers", "0").returncode == 0
    proc = run_seized("timeline", out)
    assert proc.returncode == 0, proc.stderr
    assert "package install" in proc.stdout and not (out / "tables" / "timeline").exists()
    assert not list(out.glob(".timeline-tmp*"))


def test_report_is_reproducible_and_verified(case):
    _made, out = case
    before = (out / "tables" / "timeline" / "part-0.parquet").read_bytes()
    assert run_seized("report", out).returncode == 0
    assert (out / "tables" / "timeline" / "part-0.parquet").read_bytes() == before
    assert (out / "report" / "charts" / "activity_per_day.png").is_file()
    proc = run_seized("verify", out, "--no-images")
    assert proc.returncode == 0, proc.stderr
