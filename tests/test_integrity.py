"""Evidence integrity and secrets.

What proves the evidence is never written to (the scan runs as root, so file permissions
alone prove nothing): the scan runs under `strace -f -e trace=openat,open,creat,truncate`
and no open of an evidence file carries O_WRONLY, O_RDWR, O_CREAT or O_TRUNC, and nothing
is created in the evidence folder; in addition the image is chmod 0444 and owned by nobody,
and its SHA-256, mtime, ctime and its folder's listing are the same after the scan.

Secrets: a combo list and a Tor `hs_ed25519_secret_key` are scanned; neither the passwords
nor the key bytes (raw, hex, base64) appear on stdout/stderr, in the errors table, in the
manifest or in the report. Case directories are 0700 and every file in them 0600.
"""
from __future__ import annotations

import base64
import hashlib
import os
import pwd
import random
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests import hostile, imaging
from tests.accounting import assert_accounting
from tests.conftest import run_seized

PASSWORDS = ["Zq8!seizedPw-one", "hunter2-SEIZED-x9", "p@ssW0rd_7f3k2LmQ"]
COMBO = "".join(f"user{i}@mail.example.org:{pw}\n" for i, pw in enumerate(PASSWORDS)).encode()
KEY = random.Random(7).randbytes(64)
HS_KEY = b"== ed25519v1-secret: type0 ==\x00\x00\x00" + KEY


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integrity")


@pytest.fixture(scope="module")
def evidence(work: Path) -> dict[str, Path]:
    """A raw ext4 image and its E01, each alone in a folder, 0444 and owned by nobody."""
    files = {"home/spammer/combo.txt": COMBO, "var/lib/tor/hs/hs_ed25519_secret_key": HS_KEY,
             "var/lib/tor/hs/hostname": b"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion\n"}
    raw = hostile.ext4_with_files(work / "raw" / "secrets.ext4.raw", files, 4)
    e01 = imaging.ewf_from_raw(raw, work / "e01" / "secrets.E01")
    nobody = pwd.getpwnam("nobody")
    for image in (raw, *imaging.ewf_segments(e01)):
        os.chown(image, nobody.pw_uid, nobody.pw_gid)
        os.chmod(image, 0o444)
    return {"raw": raw, "e01": e01}


@pytest.fixture(scope="module")
def rules(work: Path) -> Path:
    return hostile.marker_rules(work / "marker.yar")


def _state(folder: Path) -> dict[str, tuple]:
    out = {}
    for p in sorted(folder.iterdir()):
        st = p.stat()
        out[p.name] = (st.st_size, st.st_mode, st.st_uid, st.st_mtime_ns, st.st_ctime_ns,
                       hashlib.sha256(p.read_bytes()).hexdigest())
    return out


_OPEN = re.compile(r'(?:openat|open|creat)\((?:AT_FDCWD, |\d+<[^>]*>, |\d+, )?"(?P<path>[^"]+)", (?P<flags>[A-Z_|0-9]+)')
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC")


@pytest.mark.parametrize("kind", ["raw", "e01"])
def test_evidence_is_only_ever_opened_read_only(evidence, rules: Path, work: Path, kind: str) -> None:
    strace = shutil.which("strace")
    if not strace:
        pytest.skip("strace is not installed (apt-get install strace) - cannot trace opens")
    image = evidence[kind]
    folder = image.parent
    before = _state(folder)
    trace = work / f"strace-{kind}.log"
    case = work / f"case-{kind}"
    m = hostile.run_measured(*hostile.scan_args([image], case, rules), timeout=240,
                             prefix=(strace, "-f", "-qq", "-e", "trace=openat,open,creat,truncate", "-o", str(trace)))
    assert m.returncode == 0, m.stderr[-3000:]
    assert_accounting(case)
    opened = []
    for line in trace.read_text(errors="replace").splitlines():
        if "truncate(" in line and str(folder) in line:
            pytest.fail(f"truncate on evidence: {line}")
        match = _OPEN.search(line)
        if match and match["path"].startswith(str(folder)):
            opened.append((match["path"], match["flags"]))
    assert any(p == str(image) for p, _ in opened), "the trace shows no open of the image at all"
    writes = [(p, f) for p, f in opened if any(w in f for w in _WRITE_FLAGS)]
    assert writes == [], f"evidence opened for writing: {writes}"
    assert _state(folder) == before, "the evidence folder changed (content, times, mode or listing)"


def _case_text(case: Path) -> list[tuple[str, bytes]]:
    out = [("manifest.json", (case / "manifest.json").read_bytes())]
    errors = ds.dataset(case / "tables" / "errors", format="parquet").to_table().to_pylist()
    out.append(("errors table", repr(errors).encode()))
    report = case / "report"
    if report.is_dir():
        out += [(str(p.relative_to(case)), p.read_bytes()) for p in report.rglob("*") if p.is_file()]
    return out


def test_secrets_never_in_logs_errors_manifest_or_report(evidence, work: Path) -> None:
    case = work / "case-secrets"
    image = evidence["raw"]
    m = run_seized("scan", image, "-o", case, "--workers", "0", timeout=240)  # default rules, report on
    assert m.returncode == 0, m.stderr[-3000:]
    needles = [pw.encode() for pw in PASSWORDS] + [KEY, KEY.hex().encode(), base64.b64encode(KEY),
                                                      base64.b64encode(HS_KEY)]
    haystacks = [("stdout", m.stdout.encode()), ("stderr", m.stderr.encode())] + _case_text(case)
    for where, text in haystacks:
        for needle in needles:
            assert needle not in text, f"secret {needle[:12]!r}... found in {where}"


def test_case_directory_is_private(evidence, work: Path) -> None:
    case = work / "case-secrets"
    if not case.is_dir():
        pytest.skip("depends on test_secrets_never_in_logs_errors_manifest_or_report")
    assert stat.S_IMODE(case.stat().st_mode) == 0o700
    loose = [(str(p.relative_to(case)), oct(stat.S_IMODE(p.stat().st_mode))) for p in case.rglob("*")
             if p.is_file() and stat.S_IMODE(p.stat().st_mode) != 0o600]
    assert loose == [], f"files not 0600: {loose}"


def test_every_folder_in_the_case_is_0700(evidence, work: Path) -> None:
    case = work / "case-secrets"
    if not case.is_dir():
        pytest.skip("depends on test_secrets_never_in_logs_errors_manifest_or_report")
    loose = [(str(p.relative_to(case)), oct(stat.S_IMODE(p.stat().st_mode))) for p in case.rglob("*")
             if p.is_dir() and stat.S_IMODE(p.stat().st_mode) != 0o700]
    assert loose == [], f"folders not 0700: {loose}"
