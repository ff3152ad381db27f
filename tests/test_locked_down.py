"""Scans where examiners run them: no network at all (`unshare -n`, loopback down), read-only
evidence on a read-only mount, the case on another file system, a non-root user."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO, SCAN_TIMEOUT, manifest, table_names

pytestmark = pytest.mark.slow  # namespaces without network, tmpfs as another user

# tables whose rows do not name the image's path (the evidence table does)
SAME_TABLES = ("credentials", "emails", "errors", "files", "harvest_lists", "indicators", "spam_templates", "tor",
               "volumes", "yara")


def _works(*cmd: str) -> bool:
    try:
        return subprocess.run([*cmd, "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _seized(*args) -> list[str]:
    return [sys.executable, "-m", "seized", *map(os.fspath, args)]


def _assert_same_tables(case: Path, reference: Path) -> None:
    report_only = {"correlations", "timeline"}  # written by `seized report`, which the reference case did not run
    assert set(table_names(case)) - report_only == set(table_names(reference)) - report_only
    for name in SAME_TABLES:
        got = pq.read_table(case / "tables" / name / "part-0.parquet")
        want = pq.read_table(reference / "tables" / name / "part-0.parquet")
        assert got.equals(want), name
    assert [e["sha256"] for e in manifest(case)["evidence"]] == [e["sha256"] for e in manifest(reference)["evidence"]]


@pytest.mark.skipif(not _works("unshare", "-n"), reason="unshare -n is not permitted here (needs root or user namespaces)")
def test_scan_without_any_network_gives_the_same_tables(demo_case, demo_image, tmp_path):
    probe = subprocess.run(["unshare", "-n", sys.executable, "-c",
                            "from seized.offline import loopback_works; print(loopback_works())"],
                           capture_output=True, text=True, cwd=REPO)
    assert probe.stdout.strip() == "False", probe.stderr  # loopback really is down in there
    case = tmp_path / "case"
    start = time.monotonic()
    proc = subprocess.run(["unshare", "-n", *_seized("scan", demo_image, "-o", case, "--no-report", "--workers", "2")],
                          capture_output=True, text=True, cwd=REPO, timeout=SCAN_TIMEOUT, stdin=subprocess.DEVNULL)
    took = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    notices = [l for l in proc.stdout.splitlines() if "no network" in l]
    assert len(notices) == 1 and "over pipes" in notices[0], proc.stdout
    assert took < 60, f"{took:.1f} s: a wait for a TCP cluster?"  # before: 30 s timeout, then exit 3
    _assert_same_tables(case, demo_case)
    assert "pipes" in manifest(case)["unit_results"]


_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
_SPAWNS = "import subprocess, sys; import seized.worker; subprocess.run([sys.executable, '-c', '0'], check=True)"


def _nobody_python() -> tuple[list[str], dict[str, str]] | None:
    """How `nobody` runs seized: this interpreter, or (when this one lives where nobody may not
    go, e.g. a venv made from a Python under /root) /usr/bin/python3.11 with the venv's
    site-packages on its path; None when neither works."""
    site = next((p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()), None)
    tries = [(sys.executable, {})]
    system = next((p for p in ("/usr/bin/python3.11", "/usr/local/bin/python3.11") if os.access(p, os.X_OK)), None)
    if site and system:
        tries.append((system, {"PYTHONPATH": os.pathsep.join([str(REPO), site])}))
    for python, env in tries:
        env = {**os.environ, "HOME": "/tmp", **env}
        try:
            ok = subprocess.run([*_NOBODY, python, "-c", _SPAWNS], env=env, cwd="/", capture_output=True,
                                timeout=60).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return [python, "-m", "seized"], env
    return None


@pytest.mark.skipif(os.geteuid() != 0 or not _works("unshare", "-m") or not _works(*_NOBODY),
                    reason="needs root to bind-mount read-only and setpriv to become nobody")
def test_read_only_evidence_mount_case_on_tmpfs_as_non_root(demo_case, demo_image):
    """The image is 0444 in a 0555 folder bind-mounted read-only; the scan runs as `nobody`;
    the case directory is on /dev/shm (tmpfs, another file system than the evidence)."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        pytest.skip("no /dev/shm")
    runner = _nobody_python()
    if runner is None:
        pytest.skip("user nobody cannot run this Python (nor /usr/bin/python3.11) with seized's packages")
    seized, env = runner
    evidence = Path(tempfile.mkdtemp(prefix="seized-ro-evidence-"))
    cases = Path(tempfile.mkdtemp(prefix="seized-case-", dir=shm))
    try:
        image = evidence / "demo.img"
        shutil.copyfile(demo_image, image)
        image.chmod(0o444)
        evidence.chmod(0o555)
        cases.chmod(0o777)
        assert os.stat(cases).st_dev != os.stat(evidence).st_dev
        before = (image.stat().st_mtime_ns, image.stat().st_size, _sha256(image))
        case = cases / "case"
        script = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"')
        proc = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(evidence), *_NOBODY,
                               *seized, "scan", str(image), "-o", str(case), "--workers", "2"],
                              capture_output=True, text=True, cwd="/", timeout=SCAN_TIMEOUT, stdin=subprocess.DEVNULL,
                              env=env)
        assert proc.returncode == 0, proc.stderr
        assert case.stat().st_uid != 0  # written by nobody
        _assert_same_tables(case, demo_case)
        assert (case / "report" / "declaration.md").is_file()
        assert (image.stat().st_mtime_ns, image.stat().st_size, _sha256(image)) == before
        assert sorted(p.name for p in evidence.iterdir()) == ["demo.img"]
        verify = subprocess.run([*_NOBODY, *seized, "verify", str(case)], capture_output=True, text=True, cwd="/",
                                timeout=SCAN_TIMEOUT, env=env)
        assert verify.returncode == 0, verify.stderr
    finally:
        evidence.chmod(0o755)
        shutil.rmtree(evidence, ignore_errors=True)
        shutil.rmtree(cases, ignore_errors=True)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
