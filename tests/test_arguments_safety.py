"""Arguments that must not mislead (issue 21): `--workers` below 0 is refused; `verify --no-images`
says what it did not check; `report --reveal-secrets` writes the working copy to
CASE/report-working/, marked on every section and page, and leaves CASE/report/ as it was."""
from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from reports.render import WORKING_MARK
from tests import imaging
from tests.conftest import TREES, run_seized

PASSWORD = "Sunshine2009"  # alice.smith@example.com's, in the server tree's combo.txt


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("args")
    image = imaging.ext4_from_tree(TREES / "server", work / "evidence" / "server.ext4", 16)
    out = work / "case"
    proc = run_seized("scan", image, "-o", out, "--workers", "0", "--no-default-rules", "--case-name", "Args v. Doe",
                      "--examiner", "A. Examiner")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("value", ["-1", "-8"])
def test_negative_workers_are_refused(tmp_path: Path, value: str) -> None:
    image = tmp_path / "ev" / "x.img"
    image.parent.mkdir()
    image.write_bytes(bytes(1 << 20))
    proc = run_seized("scan", image, "-o", tmp_path / "case", "--workers", value)
    assert proc.returncode == 2, proc.stderr
    assert "--workers" in proc.stderr and ">=0" in proc.stderr.replace(" ", ""), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "case").exists()


def test_workers_zero_is_accepted_and_recorded(case: Path) -> None:
    manifest = json.loads((case / "manifest.json").read_text())
    assert manifest["options"]["workers"] == 0


def test_verify_without_images_says_what_it_did_not_check(case: Path) -> None:
    proc = run_seized("verify", case, "--no-images")
    assert proc.returncode == 0, proc.stderr
    assert "NOT checked" in proc.stdout and "--no-images" in proc.stdout, proc.stdout
    assert "image match" not in proc.stdout and "images match" not in proc.stdout and "and image" not in proc.stdout, proc.stdout
    full = run_seized("verify", case)
    assert full.returncode == 0, full.stderr
    assert "1 evidence image match" in full.stdout and "NOT" not in full.stdout, full.stdout


def test_reveal_secrets_writes_the_working_copy_only(case: Path, tmp_path: Path) -> None:
    work = tmp_path / "case"
    shutil.copytree(case, work)
    filing = _hashes(work / "report")
    assert filing, "the scan wrote no filing copy"
    assert PASSWORD not in (work / "report" / "declaration.md").read_text()
    proc = run_seized("report", work, "--reveal-secrets")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "report-working" in proc.stdout
    assert _hashes(work / "report") == filing, "the filing copy was touched"
    wc = work / "report-working"
    md = (wc / "declaration.md").read_text()
    assert PASSWORD in md
    # every section is marked: each heading is followed by the working-copy mark
    lines, fenced = [], False
    for ln in md.splitlines():  # Markdown headings, not the `# finding id` comments of Appendix A's commands
        if ln.startswith("```"):
            fenced = not fenced
        elif ln.strip():
            lines.append(("" if fenced else "H") + ln)
    lines = [ln[1:] if ln.startswith("H") else "  " + ln for ln in lines]
    headings = [i for i, ln in enumerate(lines) if ln.startswith("#")]
    assert headings and all(WORKING_MARK in lines[i + 1] for i in headings), "a section without the mark"
    html = (wc / "declaration.html").read_text()
    assert 'class="working-copy"' in html and "position:fixed" in html
    with zipfile.ZipFile(wc / "declaration.docx") as z:
        headers = [n for n in z.namelist() if n.startswith("word/header")]
        assert headers and all(WORKING_MARK.encode() in z.read(n).replace(b"&apos;", b"'") for n in headers)
        document = z.read("word/document.xml").decode()
    assert document.count("<w:sectPr") >= 1 and document.count("headerReference") >= document.count("<w:sectPr")
    manifest = json.loads((work / "manifest.json").read_text())
    assert all(k.startswith("report/") for k in manifest["report"]["files"])
    assert all(k.startswith("report-working/") for k in manifest["working_copy"]["files"])
    verify = run_seized("verify", work, "--no-images")
    assert verify.returncode == 0, verify.stderr
    # rendering the filing copy again gives the same bytes as before
    again = run_seized("report", work)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _hashes(work / "report") == filing
