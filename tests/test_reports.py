"""Reports from real scans: numbers recomputed from Parquet, secrets redacted, formats valid,
rendering deterministic, `verify` catching a changed byte in a table, report file or image.

The case scans two peer-corpus images that hold the same `passwords.txt` (a CSV whose
passwords include `superrich`) plus an ext4 image built from tests/data/trees/server, so
the correlation section has something to link.
"""
from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests import imaging
from tests.conftest import CORPUS, TREES, run_seized

PYTSK_IMAGE = CORPUS / "disk_images" / "pytsk" / "image.raw"
DFVFS_EWF = CORPUS / "disk_images" / "dfvfs" / "ext2.E01"
PLANTED = "superrich"  # a password in passwords.txt on both corpus images (not also a user name)
REPORT_FILES = ("declaration.md", "declaration.html", "summary.json", "declaration.docx")


def _need_corpus() -> None:
    for p in (PYTSK_IMAGE, DFVFS_EWF):
        if not p.is_file():
            pytest.skip(f"peer corpus image absent: {p} (see ../shared/corpus/SOURCES.md)")


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    _need_corpus()
    work = tmp_path_factory.mktemp("report-images")
    server = imaging.ext4_from_tree(TREES / "server", work / "server-ext4.img", 16)
    raw_copy = work / "image.raw"
    shutil.copyfile(PYTSK_IMAGE, raw_copy)  # a copy we may change to test image verification
    return [server, raw_copy, DFVFS_EWF]


@pytest.fixture(scope="module")
def case(images, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-case") / "case"
    proc = run_seized("scan", *images, "-o", out, "--workers", "0", "--examiner", "Jane Q. Examiner",
                      "--case-name", "United States v. John Does 1-11")
    if proc.returncode != 0:
        pytest.fail(f"seized scan exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return out


@pytest.fixture()
def fresh(case, tmp_path) -> Path:
    """A private copy of the scanned case (tests that change files work on it)."""
    dest = tmp_path / "case"
    shutil.copytree(case, dest)
    return dest


def _summary(case: Path) -> dict:
    return json.loads((case / "report" / "summary.json").read_text())


def _texts(case: Path, folder: str = "report") -> dict[str, str]:
    """Every report file as text (DOCX: all its XML parts)."""
    report = case / folder
    out = {name: (report / name).read_text(encoding="utf-8") for name in REPORT_FILES if name != "declaration.docx"}
    with zipfile.ZipFile(report / "declaration.docx") as z:
        out["declaration.docx"] = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()
                                            if n.endswith(".xml") or n.endswith(".rels"))
    return out


# -- an independent evaluator of the summary's query text -------------------------------------

_QUERY = re.compile(r"^(?P<table>\w+)(?: where (?P<where>.*?))? \| (?:count(?: distinct (?P<cols>[\w, ]+))?|sum (?P<sum>\w+))$")
_COND = re.compile(r"^(?P<col>\w+) (?:(?P<null>is (?:not )?null)|(?P<op>=|contains|has|lacks) "
                   r"(?:'(?P<s>(?:[^']|'')*)'|(?P<b>true|false)))$")


def _evaluate(case: Path, query: str) -> int:
    m = _QUERY.match(query)
    assert m, f"unparseable query {query!r}"
    path = case / "tables" / m["table"] / "part-0.parquet"
    if not path.is_file():
        return 0
    table = pq.read_table(path)
    for cond in re.split(r" and (?=\w+ (?:=|is|contains|has|lacks) )", m["where"]) if m["where"] else []:
        c = _COND.match(cond)
        assert c, f"unparseable condition {cond!r} in {query!r}"
        col = table.column(c["col"])
        if c["null"]:
            keep = pc.is_null(col) if c["null"] == "is null" else pc.is_valid(col)
        elif c["b"]:
            keep = pc.equal(col, c["b"] == "true")
        elif c["op"] == "contains":
            keep = pc.match_substring(col, c["s"].replace("''", "'"), ignore_case=True)
        elif c["op"] == "has":
            keep = [c["s"].replace("''", "'") in (v or []) for v in col.to_pylist()]
        elif c["op"] == "lacks":
            keep = [c["s"].replace("''", "'") not in (v or []) for v in col.to_pylist()]
        else:
            keep = pc.equal(col, c["s"].replace("''", "'"))
        table = table.filter(pc.fill_null(keep, False) if not isinstance(keep, list) else pa.array(keep, pa.bool_()))
    if m["sum"]:
        return sum(v or 0 for v in table.column(m["sum"]).to_pylist())
    if not m["cols"]:
        return table.num_rows
    cols = [c.strip() for c in m["cols"].split(",")]
    rows = list(zip(*(table.column(c).to_pylist() for c in cols)))
    if len(cols) == 1:
        return len({r for r in rows if r[0] is not None})
    return len(set(rows))


def _leaves(node, path=()):
    if isinstance(node, dict):
        if {"value", "query", "table"} <= node.keys():
            yield path, node
            return
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))


# -- tests ------------------------------------------------------------------------------------


def test_every_summary_count_recomputes_from_parquet(case):
    summary = _summary(case)
    manifest = json.loads((case / "manifest.json").read_text())
    checked = 0
    for path, leaf in _leaves(summary):
        if leaf["table"] is None:
            m = re.match(r"manifest\.json: (?:sum of )?accounting\.(\*|\w+)\.(\w+)$", leaf["query"])
            assert m, leaf
            accs = manifest["accounting"].values() if m[1] == "*" else [manifest["accounting"][m[1]]]
            assert leaf["value"] == sum(a.get(m[2], 0) for a in accs), path
        else:
            assert leaf["value"] == _evaluate(case, leaf["query"]), (path, leaf)
        checked += 1
    assert checked > 50
    # Spot checks written directly against the tables, not through the query text.
    creds = pq.read_table(case / "tables" / "credentials" / "part-0.parquet")
    assert summary["totals"]["findings"]["credentials"]["total"]["value"] == creds.num_rows > 0
    files = pq.read_table(case / "tables" / "files" / "part-0.parquet")
    for eid, ev in summary["evidence"].items():
        mine = files.filter(pc.equal(files["evidence_id"], eid))
        assert ev["files"]["seen"]["value"] == mine.num_rows == manifest["accounting"][eid]["files_seen"]


def test_no_planted_password_in_any_report_format(case):
    creds = pq.read_table(case / "tables" / "credentials" / "part-0.parquet")
    assert PLANTED in creds.column("secret").to_pylist(), "scan did not find the planted password"
    for name, text in _texts(case).items():
        assert PLANTED not in text, f"{name} shows a secret"
    assert PLANTED not in (case / "manifest.json").read_text()
    corr = pq.read_table(case / "tables" / "correlations" / "part-0.parquet")
    assert PLANTED not in json.dumps(corr.to_pylist())
    assert "#" in _texts(case)["declaration.md"]  # masked form + salted tag shown instead


def test_reveal_secrets_shows_them_with_a_warning_then_redacts_again(fresh):
    from reports.render import render_report

    filing = _texts(fresh)
    render_report(fresh, case_name=None, examiner=None, reveal_secrets=True)
    assert _texts(fresh) == filing, "the working copy touched the filing copy (issue 21)"
    texts = _texts(fresh, "report-working")
    for name in ("declaration.md", "declaration.html", "declaration.docx"):
        assert PLANTED in texts[name], name
        assert "WORKING COPY" in texts[name], name
        assert "NOT FOR FILING" in texts[name], name
    # The warning is on the first page: before the first numbered paragraph.
    md = texts["declaration.md"]
    assert md.index("WORKING COPY") < md.index("1\\.")
    assert json.loads((fresh / "manifest.json").read_text())["working_copy"]["reveal_secrets"] is True
    corr = pq.read_table(fresh / "tables" / "correlations" / "part-0.parquet")
    assert PLANTED not in json.dumps(corr.to_pylist())  # the table never holds secrets
    render_report(fresh, case_name=None, examiner=None, reveal_secrets=False)
    for name, text in _texts(fresh).items():
        assert PLANTED not in text and "WORKING COPY" not in text, name


def test_caption_examiner_and_case_toml(fresh):
    from reports.render import render_report

    md = (fresh / "report" / "declaration.md").read_text()
    assert "I, Jane Q. Examiner, declare:" in md and "United States v. John Does 1-11" in md
    manifest = json.loads((fresh / "manifest.json").read_text())
    manifest["case"] = {"name": None, "examiner": None}
    (fresh / "manifest.json").write_text(json.dumps(manifest))
    (fresh / "case.toml").write_text('case_name = "In re Rustock"\nexaminer = "R. Roe"\n')
    render_report(fresh, case_name=None, examiner=None, reveal_secrets=False)
    md = (fresh / "report" / "declaration.md").read_text()
    assert "I, R. Roe, declare:" in md and "In re Rustock" in md
    render_report(fresh, case_name="Override", examiner="A. Nother", reveal_secrets=False)
    assert "I, A. Nother, declare:" in (fresh / "report" / "declaration.md").read_text()


def test_declaration_content(case):
    md = (case / "report" / "declaration.md").read_text()
    summary = _summary(case)
    for eid, ev in summary["evidence"].items():
        assert f"Exhibit {ev['exhibit']} (evidence id {eid})" in md
        assert ev["sha256"] in md
    assert "## Links between the evidence items" in md
    assert "Appendix A" in md and ("icat -o" in md or "dd if=" in md)
    # The two corpus images hold the same passwords.txt: the link is stated.
    corr = pq.read_table(case / "tables" / "correlations" / "part-0.parquet")
    kinds = set(corr.column("kind").to_pylist())
    assert {"credential", "file_sha256"} <= kinds
    assert all(n >= 2 for n in corr.column("count").to_pylist())
    manifest = json.loads((case / "manifest.json").read_text())
    assert manifest["tables"]["correlations"]["rows"] == corr.num_rows


def test_docx_opens_and_html_is_well_formed(case):
    import docx

    d = docx.Document(str(case / "report" / "declaration.docx"))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "declare:" in text and len(d.tables) >= 2
    assert len(d.inline_shapes) >= 1  # charts embedded

    class Checker(html.parser.HTMLParser):
        VOID = {"meta", "img", "br", "hr", "link", "input"}

        def __init__(self):
            super().__init__()
            self.stack: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in self.VOID:
                self.stack.append(tag)

        def handle_startendtag(self, tag, attrs):
            pass

        def handle_endtag(self, tag):
            assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
            self.stack.pop()

    checker = Checker()
    page = (case / "report" / "declaration.html").read_text()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    for src in re.findall(r'<img src="([^"]+)"', page):
        assert (case / "report" / src).is_file(), src


def test_render_is_deterministic_and_private(fresh):
    from reports.render import render_report

    before = {n: (fresh / "report" / n).read_bytes() for n in REPORT_FILES}
    charts = {p.name: p.read_bytes() for p in (fresh / "report" / "charts").iterdir()}
    corr = (fresh / "tables" / "correlations" / "part-0.parquet").read_bytes()
    render_report(fresh, case_name=None, examiner=None, reveal_secrets=False)
    for n in REPORT_FILES:
        assert (fresh / "report" / n).read_bytes() == before[n], n
    assert {p.name: p.read_bytes() for p in (fresh / "report" / "charts").iterdir()} == charts
    assert (fresh / "tables" / "correlations" / "part-0.parquet").read_bytes() == corr
    for p in [fresh / "report", *(fresh / "report").rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))
    assert len((fresh / "report" / ".salt").read_bytes()) == 32


def test_verify_passes_then_catches_changes(fresh, images, tmp_path):
    from reports.verify import verify_case

    assert verify_case(fresh, check_images=True) == []

    def flip(path: Path, at: int = 100) -> None:
        data = bytearray(path.read_bytes())
        data[at] ^= 0x01
        path.write_bytes(bytes(data))

    table = fresh / "tables" / "files" / "part-0.parquet"
    flip(table)
    assert any("tables/files/part-0.parquet" in line for line in verify_case(fresh, check_images=False))
    flip(table)
    report = fresh / "report" / "declaration.html"
    flip(report)
    problems = verify_case(fresh, check_images=False)
    assert len(problems) == 1 and "report/declaration.html" in problems[0]
    flip(report)
    (fresh / "report" / "extra.txt").write_text("not from seized\n")
    assert any("extra.txt" in line and "not listed" in line for line in verify_case(fresh, check_images=False))
    (fresh / "report" / "extra.txt").unlink()
    (fresh / "report" / "summary.json").unlink()
    assert any("summary.json" in line and "missing" in line for line in verify_case(fresh, check_images=False))


def test_verify_catches_a_changed_image(images, tmp_path):
    from reports.verify import verify_case

    image = tmp_path / "ev" / "copy.raw"  # the case directory may not lie in an evidence folder
    image.parent.mkdir()
    shutil.copyfile(images[1], image)
    case = tmp_path / "case"
    proc = run_seized("scan", image, "-o", case, "--workers", "0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert verify_case(case, check_images=True) == []
    data = bytearray(image.read_bytes())
    data[4096] ^= 0xFF
    image.write_bytes(bytes(data))
    problems = verify_case(case, check_images=True)
    assert any("sha256" in line and str(image) in line for line in problems), problems
    proc = run_seized("verify", case)
    assert proc.returncode == 1 and "seized: error:" in proc.stderr


def test_html_renders_in_headless_chromium(case, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    shot = tmp_path / "page.png"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--no-first-run", "--window-size=1200,1600", f"--screenshot={shot}",
                           (case / "report" / "declaration.html").as_uri()],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert shot.is_file() and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
