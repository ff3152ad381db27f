"""Long work shows a rich progress bar per image on a terminal, and no bar in logs (no tty)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO, SCAN_TIMEOUT, run_seized

_ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


@pytest.mark.skipif(not shutil.which("script"), reason="script (util-linux) gives the scan a terminal")
def test_terminal_shows_units_bytes_rate_and_eta_per_image(demo_image, tmp_path):
    second = tmp_path / "evidence" / "second.img"  # the case may not lie in an evidence folder
    second.parent.mkdir()
    shutil.copyfile(demo_image, second)
    with open(second, "r+b") as fh:  # different media (the same media twice is reported once)
        fh.truncate(demo_image.stat().st_size + (1 << 20))
    log = tmp_path / "tty.log"
    command = (f"{sys.executable} -m seized scan {demo_image} {second} -o {tmp_path / 'case'} --no-report "
               "--workers 2")
    proc = subprocess.run(["script", "-qec", command, str(log)], capture_output=True, cwd=REPO, timeout=SCAN_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-2000:]
    screen = _ANSI.sub("", log.read_text(errors="replace").replace("\r", "\n"))
    bars = [l for l in screen.splitlines() if re.search(r"\d+/\d+ units .*MB.*(/s|\?).*\d+:\d\d:\d\d", l)]
    assert any(l.strip().startswith("scanning") for l in bars), screen[-3000:]
    assert any(demo_image.name in l for l in bars) and any(second.name in l for l in bars), screen[-3000:]


def test_no_bar_without_a_terminal(demo_image, tmp_path):
    proc = run_seized("scan", demo_image, "-o", tmp_path / "case", "--no-report", "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    assert "━" not in proc.stdout + proc.stderr and "\x1b[" not in proc.stdout + proc.stderr
    assert all(l.startswith("seized: ") for l in proc.stdout.splitlines())
