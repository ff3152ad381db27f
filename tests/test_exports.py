"""`seized export`: each format read by its real consumer (bulk_extractor's own reader, the
DFXML schema with xmllint, mactime, case_validate), recorded in the manifest for verify."""
from __future__ import annotations

import csv
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exports.bulk_extractor import escape
from tests.conftest import manifest, read_table, run_seized


@pytest.fixture(scope="module")
def case(demo_case, tmp_path_factory) -> Path:
    """A copy of the demo case: exports write its manifest."""
    copy = tmp_path_factory.mktemp("export-case") / "case"
    shutil.copytree(demo_case, copy)
    return copy


def _export(case: Path, fmt: str, out: Path, *extra: str) -> Path:
    proc = run_seized("export", case, "--format", fmt, "-o", out, *extra)
    assert proc.returncode == 0, proc.stderr
    return out


def _evidence_id(case: Path) -> str:
    (ev,) = manifest(case)["evidence"]
    return ev["evidence_id"]


def test_escaping_is_bulk_extractors():
    assert escape("plain@example.com") == "plain@example.com"
    assert escape("a\nb\tc\\d") == "a\\012b\\011c\\134d"
    assert escape("caf\udce9") == "caf\\351"  # a Latin-1 byte read with surrogateescape
    assert escape("müller@example.de") == "müller@example.de"  # valid UTF-8 stays


def test_bulk_extractor_reader_reads_every_file(case, corpus, tmp_path):
    reader_dir = corpus / "formats" / "bulk_extractor"
    sys.path.insert(0, str(reader_dir))
    try:
        reader = importlib.import_module("bulk_extractor_reader")
    finally:
        sys.path.remove(str(reader_dir))
    out = _export(case, "bulk_extractor", tmp_path / "be")
    report = reader.BulkReport(str(out / _evidence_id(case)))
    assert set(report.feature_files()) == {"email.txt", "domain.txt", "url.txt", "ip.txt"}
    assert set(report.histogram_files()) == {"email_histogram.txt", "domain_histogram.txt"}
    emails = read_table(case, "emails")
    assert report.count_lines("email.txt") == emails.num_rows
    features = list(report.read_features("email.txt"))
    assert len(features) == emails.num_rows and all(len(f) == 3 for f in features)
    assert any(b"-GZIP-" in f[0] or b"-ZIP-" in f[0] for f in features)  # container members
    histogram = report.read_histogram("email_histogram.txt")
    assert sum(histogram.values()) == emails.num_rows
    indicators = read_table(case, "indicators").column("kind").to_pylist()
    assert report.count_lines("url.txt") == indicators.count("url")
    assert report.count_lines("ip.txt") == indicators.count("ipv4") + indicators.count("ipv6")
    assert report.image_size() == manifest(case)["evidence"][0]["size"]
    # the same header lines, in the same order, as a real bulk_extractor 2 email.txt
    def headers(path: Path) -> list[str]:
        return [l.split(":")[0] for l in path.read_text(errors="replace").splitlines() if l.startswith("#")]
    assert headers(out / _evidence_id(case) / "email.txt") == headers(reader_dir / "nps-email.txt")


def test_dfxml_validates_against_the_schema(case, corpus, tmp_path):
    if not shutil.which("xmllint"):
        pytest.skip("xmllint not installed (libxml2-utils)")
    out = _export(case, "dfxml", tmp_path / "dfxml")
    proc = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", str(corpus / "formats" / "dfxml" / "dfxml.xsd"),
                           str(out / "seized.dfxml")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (out / "seized.dfxml").read_text()
    files = [r for r in read_table(case, "files").to_pylist() if r["name"] not in (".", "..")]
    assert text.count("<fileobject>") == len(files)
    assert text.count('<hashdigest type="SHA256">') == sum(1 for r in files if r["sha256"]) + 1  # + the image
    assert manifest(case)["evidence"][0]["sha256"] in text
    assert '<library name="pytsk3"' in text and "img_offset=" in text


def test_bodyfile_gives_the_same_mactime_timeline_as_fls(case, demo_image, tmp_path):
    for tool in ("fls", "mactime"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed (sleuthkit)")
    out = _export(case, "bodyfile", tmp_path / "body")
    eid = _evidence_id(case)
    fls_body = tmp_path / "fls.body"
    with open(fls_body, "wb") as fh:
        for vol in read_table(case, "volumes").to_pylist():
            if vol["status"] == "walked":
                fh.write(subprocess.run(["fls", "-r", "-m", f"{eid}/{vol['volume']}", "-o", str(vol["start"] // 512),
                                         str(demo_image)], capture_output=True, check=True).stdout)

    def timeline(body: Path) -> list[str]:
        proc = subprocess.run(["mactime", "-b", str(body), "-d", "-y", "-z", "UTC"], capture_output=True, text=True,
                              errors="replace", check=True)
        return sorted(proc.stdout.splitlines())

    ours, theirs = timeline(out / "seized.body"), timeline(fls_body)
    assert len(ours) > 100
    assert ours == theirs


@pytest.mark.slow  # case_validate (case-utils) loads the CASE/UCO ontologies: tens of CPU s
def test_case_uco_passes_case_validate_offline(case, tmp_path):
    validate = Path(sys.executable).with_name("case_validate")
    if not validate.exists():
        pytest.skip("case_validate not installed (pip install -e '.[test]': case-utils)")
    out = _export(case, "case-uco", tmp_path / "uco", "--table", "tor")
    doc = json.loads((out / "seized-case.jsonld").read_text())
    types = [o["@type"] for o in doc["@graph"]]
    assert types.count("case-investigation:InvestigativeAction") >= 1
    assert types.count("uco-observable:File") == 1 + sum(
        1 for r in read_table(case, "files").column("name").to_pylist() if r not in (".", ".."))
    offline = ["unshare", "-n"] if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0 else []
    proc = subprocess.run([*offline, str(validate), str(out / "seized-case.jsonld")], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Conforms: True" in proc.stdout


@pytest.mark.slow  # not a large image: ~20 CPU s exporting every demo table; left out of test-fast for time
def test_csv_and_jsonl_redact_secrets_unless_revealed(case, tmp_path):
    secrets = {s for s in read_table(case, "credentials").column("secret").to_pylist() if s and len(s) >= 4}
    out = _export(case, "csv", tmp_path / "csv")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.csv" for n in manifest(case)["tables"])
    with open(out / "credentials.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == read_table(case, "credentials").num_rows
    assert not secrets & {r["secret"] for r in rows}
    assert all("*****" in r["secret"] for r in rows if r["secret"])
    with open(out / "emails.csv", newline="") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == read_table(case, "emails").num_rows
    out = _export(case, "jsonl", tmp_path / "jsonl", "--table", "credentials")
    text = (out / "credentials.jsonl").read_text()
    assert not any(f'"secret": {json.dumps(s)}' in text for s in secrets)
    out = _export(case, "jsonl", tmp_path / "revealed", "--table", "credentials", "--reveal-secrets")
    found = {json.loads(l)["secret"] for l in (out / "credentials.jsonl").read_text().splitlines()}
    assert secrets <= found
    entry = next(e for e in manifest(case)["exports"] if e["folder"] == str(out.resolve()))
    assert entry["reveal_secrets"] is True and entry["tables"] == ["credentials"]


def test_every_export_is_in_the_manifest_and_verified(case, tmp_path):
    out = _export(case, "jsonl", tmp_path / "verified", "--table", "tor")
    entry = next(e for e in manifest(case)["exports"] if e["folder"] == str(out.resolve()))
    assert entry["format"] == "jsonl" and list(entry["files"]) == [str((out / "tor.jsonl").resolve())]
    inside = _export(case, "bodyfile", case / "exports" / "body")
    assert any(e["folder"] == "exports/body" and "exports/body/seized.body" in e["files"]
               for e in manifest(case)["exports"])
    proc = run_seized("verify", case, "--no-images")
    assert proc.returncode == 0, proc.stderr
    with open(out / "tor.jsonl", "a") as fh:
        fh.write("{}\n")
    proc = run_seized("verify", case, "--no-images")
    assert proc.returncode == 1 and "tor.jsonl" in proc.stderr and "does not match" in proc.stderr
    (out / "tor.jsonl").unlink()
    (inside / "seized.body").unlink()
    proc = run_seized("verify", case, "--no-images")
    assert proc.returncode == 1 and proc.stderr.count("missing") == 2


def test_bad_export_targets_are_one_line_exit_2(case, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine\n")
    for args, word in ((("--format", "csv", "-o", full), "not empty"),
                       (("--format", "csv", "-o", case / "tables" / "x"), "inside the case"),
                       (("--format", "csv", "--table", "nope", "-o", tmp_path / "n"), "no table nope"),
                       (("--format", "xml", "-o", tmp_path / "x"), "")):
        proc = run_seized("export", case, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert word in proc.stderr and "Traceback" not in proc.stderr
    assert (full / "keep.txt").read_text() == "mine\n" and sorted(p.name for p in full.iterdir()) == ["keep.txt"]

