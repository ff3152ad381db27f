"""Hostile file content, end to end through a scan: bombs, deep nesting, huge lines, floods.

Everything is planted as ordinary files in real ext4 images (mkfs.ext4 -d) and scanned with
`--workers 0`; what each test proves:
  * every decompression bomb ends as an `errors` row naming the bound that was hit (ratio,
    size or depth), within the memory bound, and the scan goes on;
  * a single 200 MB line is scanned in bounded memory (the worker reads 16 MiB blocks and
    scans overlapping windows, so a 2 GiB line costs the same memory: only time grows), and
    a value planted deep inside it is found at its true offset;
  * NUL floods, invalid UTF-8/UTF-16 and pathological inputs for every registered extractor
    finish within the time bound, and a control file next to them still yields its findings;
  * a user YARA rule on "a" over 50 MB of a's hits libyara's per-string match limit: bounded
    time and memory, and an `errors` row saying which bound was hit.
Bounds are stated per test (peak RSS of the scan process tree, sampled; wall time).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests import hostile
from tests.accounting import assert_accounting

pytestmark = pytest.mark.slow  # a 200 MB line and hostile content

MIB = 1024 * 1024
MARKER = b"SEIZED-HOSTILE-MARKER"
CONTROL = b"From: pharma@spam-sender.example\nTo: victim@example.org\nSubject: cheap pills\n\nSEIZED-HOSTILE-MARKER\n"

# Peak RSS of the scan process. The largest single allocation allowed by design is one
# expanded container member (ingest/containers.py: at most 200 x its compressed size,
# 256 MiB absolute); the 1 GiB-of-zeros gzip (~1 MiB) is stopped at ~200 MiB.
SMALL_RSS_BOUND = 768 * MIB
SMALL_TIME_BOUND = 120
# 16 MiB blocks + 64 KiB overlaps: a 200 MB line needs a few blocks at once, never the line.
# The "a" rule dominates: libyara keeps up to 1,000,000 matches per string per 16 MiB window
# and yara-python turns each into an object before the cap per rule drops them (~500 MiB);
# measured peak 732 MiB on 2 cores.
BIG_RSS_BOUND = 1024 * MIB
BIG_TIME_BOUND = 240


def _pathological() -> dict[str, bytes]:
    """About 1 MB each of what makes regex-based extractors slow or noisy."""
    n = 1_000_000
    return {
        "patho/at_flood.txt": b"a@" * (n // 2),
        "patho/dots_then_at.txt": b"a." * (n // 2) + b"@example.com",
        "patho/long_local_part.txt": b"a" * n + b"@example.com\n",
        "patho/only_ats.txt": b"@" * n,
        "patho/long_domain.txt": b"user@" + b"b." * (n // 2) + b"com\n",
        "patho/colons.txt": b":" * n,
        "patho/combo_lines.txt": b"user:pass\n" * (n // 10),
        "patho/ip_fragments.txt": b"1.1.1." * (n // 6),
        "patho/urls.txt": b"http://" * (n // 7),
        "patho/onions.txt": (b"a" * 56 + b".onion ") * (n // 63),
        "patho/torrc_directives.txt": b"HiddenServiceDir /x\nHiddenServicePort 80 127.0.0.1:80\n" * (n // 52),
        "patho/mime_boundaries.eml": b"Content-Type: multipart/mixed; boundary=\"b\"\n--b\n" * (n // 48),
        "patho/utf16_at.txt": "a@".encode("utf-16-le") * (n // 4),
    }


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-content")


@pytest.fixture(scope="module")
def small_case(work: Path) -> tuple[Path, hostile.Measured, dict[str, bytes]]:
    files = {
        "bombs/42.zip": hostile.zip_bomb_42(levels=3, fanout=4, leaf_bytes=64 * MIB),
        "bombs/zeros.gz": hostile.gzip_of_zeros(1 << 30),
        "nest/deep20.gz": hostile.deep_nesting(20, CONTROL),
        "nul/flood.bin": bytes(16 * MIB) + MARKER + bytes(4096),
        "text/invalid.txt": hostile.invalid_text(MIB) + b"\n" + CONTROL,
        "control/mail.eml": CONTROL,
        **_pathological(),
    }
    image = hostile.ext4_with_files(work / "small" / "content.ext4.raw", files, 40)
    rules = hostile.marker_rules(work / "marker.yar")
    case = work / "case-small"
    m = hostile.run_measured(*hostile.scan_args([image], case, rules), timeout=SMALL_TIME_BOUND)
    return case, m, files


@pytest.fixture(scope="module")
def big_case(work: Path) -> tuple[Path, hostile.Measured, int]:
    line = b"lorem.ipsum-dolor_sit+met~" * (200_000_000 // 26)
    at = 150_000_003
    line = line[:at] + b" spam-king@mailer.example.org " + MARKER + b" " + line[at:]
    files = {"big/line.txt": line, "big/a.txt": b"a" * (50 * MIB)}
    image = hostile.ext4_with_files(work / "big" / "big.ext4.raw", files, 300)
    rules = work / "rules.yar"
    rules.write_text(f'rule hostile_marker {{ strings: $m = "{MARKER.decode()}" condition: $m }}\n'
                     'rule every_a { strings: $a = "a" condition: $a }\n')
    case = work / "case-big"
    m = hostile.run_measured(*hostile.scan_args([image], case, rules), timeout=BIG_TIME_BOUND)
    marker_offset = at + len(b" spam-king@mailer.example.org ")
    return case, m, marker_offset


def _rows(case: Path, name: str) -> list[dict]:
    return ds.dataset(case / "tables" / name, format="parquet").to_table().to_pylist()


def _finished(m: hostile.Measured, rss_bound: int, time_bound: float) -> None:
    assert not m.timed_out, f"scan did not finish in {time_bound} s"
    assert m.returncode == 0, f"exit {m.returncode}: {m.stderr[-3000:]}"
    assert "Traceback" not in m.stderr
    assert m.max_rss < rss_bound, f"peak RSS {m.max_rss / MIB:.0f} MiB over {rss_bound / MIB:.0f} MiB"


# ---------------------------------------------------------------------------------------------


def test_small_hostile_content_scan_finishes_bounded(small_case) -> None:
    case, m, _ = small_case
    _finished(m, SMALL_RSS_BOUND, SMALL_TIME_BOUND)
    acc = assert_accounting(case)
    (only,) = acc.values()
    assert only["files_errored"] == 0
    print(f"hostile content scan: {m.seconds:.1f} s, peak RSS {m.max_rss / MIB:.0f} MiB")


def test_every_file_is_hashed_whatever_its_content(small_case) -> None:
    case, _, files = small_case
    rows = {r["path"]: r for r in _rows(case, "files")}
    for rel, content in files.items():
        row = rows["/" + rel]
        assert row["status"] == "scanned" and row["sha256"] == hashlib.sha256(content).hexdigest(), rel


def _container_errors(case: Path, path: str) -> list[str]:
    return [e["error"] for e in _rows(case, "errors") if e["path"] == path and e["stage"] == "container"]


def test_42_style_zip_bomb_is_stopped_at_the_ratio_bound(small_case) -> None:
    case, _, _ = small_case
    errors = _container_errors(case, "/bombs/42.zip")
    assert errors, "no errors row for the 42-style zip"
    assert all("compression ratio over 200:1" in e or "nested deeper" in e for e in errors), errors
    assert any("0.bin" in e for e in errors), errors  # the leaf that would expand to 64 MiB


def test_gzip_of_a_gibibyte_of_zeros_is_stopped(small_case) -> None:
    case, _, _ = small_case
    errors = _container_errors(case, "/bombs/zeros.gz")
    assert len(errors) == 1 and "compression ratio over 200:1" in errors[0], errors


def test_twenty_levels_of_nesting_stop_at_the_depth_bound(small_case) -> None:
    case, _, _ = small_case
    errors = _container_errors(case, "/nest/deep20.gz")
    assert len(errors) == 1 and "nested deeper than" in errors[0], errors
    row = next(e for e in _rows(case, "errors") if e["path"] == "/nest/deep20.gz")
    assert row["member"] and row["member"].count("!") >= 4, row  # the depth it reached is traceable


def test_nul_flood_is_scanned_through(small_case) -> None:
    case, _, _ = small_case
    hits = [y for y in _rows(case, "yara") if y["path"] == "/nul/flood.bin"]
    assert [h["offset"] for h in hits] == [16 * MIB], hits


def test_control_file_beside_the_hostile_ones_keeps_its_findings(small_case) -> None:
    case, _, _ = small_case
    assert any(y["path"] == "/control/mail.eml" for y in _rows(case, "yara"))
    assert any(y["path"] == "/text/invalid.txt" for y in _rows(case, "yara"))
    emails = [r for r in _rows(case, "emails") if r["path"] == "/control/mail.eml"]
    assert {"victim@example.org"} <= {r["address"] for r in emails}, emails


def test_single_200_mb_line_is_windowed_and_bounded(big_case) -> None:
    case, m, marker_offset = big_case
    _finished(m, BIG_RSS_BOUND, BIG_TIME_BOUND)
    assert_accounting(case)
    print(f"200 MB line + 50 MiB of 'a': {m.seconds:.1f} s, peak RSS {m.max_rss / MIB:.0f} MiB")
    hits = [y for y in _rows(case, "yara") if y["path"] == "/big/line.txt" and y["rule"] == "hostile_marker"]
    assert [h["offset"] for h in hits] == [marker_offset]
    emails = [r for r in _rows(case, "emails") if r["path"] == "/big/line.txt"]
    assert "spam-king@mailer.example.org" in {r["address"] for r in emails}


def test_yara_rule_hitting_millions_of_times_is_capped_and_recorded(big_case) -> None:
    case, _, _ = big_case
    hits = [y for y in _rows(case, "yara") if y["path"] == "/big/a.txt" and y["rule"] == "every_a"]
    assert 0 < len(hits) <= 1000 * 4, len(hits)  # cap per rule per window; 50 MiB = 4 windows
    limits = [e for e in _rows(case, "errors") if e["path"] == "/big/a.txt"]
    assert limits, "no errors row for the capped rule"
    assert all("limit" in e["error"] for e in limits), limits
    assert any("yara engine matches per string" in e["error"] or "yara matches per rule" in e["error"]
               for e in limits), limits
