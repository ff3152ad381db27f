"""A window of NUL bytes skips the extractors (seized.scanning.is_blank): they must all be silent
on such bytes, whatever the file's path, and YARA still sees them."""
from __future__ import annotations

import pytest

from extractors.base import Source
from extractors.registry import EXTRACTORS
from seized.scanning import is_blank

# Paths that wake the path-aware extractors (accounts, logins, utmp, cron, tor, shell history ...).
PATHS = (
    "/etc/passwd", "/etc/shadow", "/etc/group", "/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog",
    "/var/run/utmp", "/etc/localtime", "/etc/timezone", "/root/.bash_history", "/etc/crontab",
    "/var/spool/cron/crontabs/root", "/etc/tor/torrc", "/var/log/auth.log", "/var/log/mail.log",
    "/var/log/apache2/access.log", "/var/log/dpkg.log", "/var/log/cron.log", "/root/.ssh/authorized_keys",
    "/home/a/.ssh/id_rsa", "/home/a/list.txt", None,
)


@pytest.mark.parametrize("size", [0, 1, 383, 4096, 65_537, 1 << 20])
def test_every_extractor_is_silent_on_nul_bytes(size: int) -> None:
    data = bytes(size)
    for path in PATHS:
        name = path.rsplit("/", 1)[-1] if path else None
        source = Source(None, path, None, name, size, 0, None, 0, size)
        for ext in EXTRACTORS:
            assert list(ext.extract(data, source)) == [], (ext.name, path, size)


def test_is_blank() -> None:
    assert is_blank(b"") and is_blank(bytes(1)) and is_blank(bytes(1 << 20))
    assert not is_blank(b"a") and not is_blank(bytes(100) + b"\x01" + bytes(100))
    assert not is_blank(b"\x00x\x00") and not is_blank(b"x" + bytes(10)) and not is_blank(bytes(10) + b"x")


def test_scan_of_nul_bytes_still_runs_yara_and_finds_what_is_between(tmp_path) -> None:
    """A raw image of zeros with one address in its middle: the zero windows skip the
    extractors, the rules still see them (a user rule that matches NUL bytes fires), and the
    address between them is found at its offset."""
    import pyarrow.parquet as pq

    from tests.pipeline_support import scan_ok

    address_at = 40 << 20
    image = tmp_path / "evidence" / "zeros.raw"
    image.parent.mkdir()
    with open(image, "wb") as fh:
        fh.truncate(64 << 20)
        fh.seek(address_at)
        fh.write(b"contact: blank.window@example.org\n")
    rule = tmp_path / "zeros.yar"
    rule.write_text("rule nul_run { strings: $z = { 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 } "
                    "condition: $z }\n")
    case = tmp_path / "case"
    scan_ok(case, image, "--workers", "0", "--rules", rule, "--no-default-rules")
    yara = pq.read_table(case / "tables" / "yara" / "part-0.parquet").to_pylist()
    assert {r["rule"] for r in yara} == {"nul_run"} and len(yara) >= 4  # every 16 MiB window of zeros
    emails = pq.read_table(case / "tables" / "emails" / "part-0.parquet").to_pylist()
    assert [(r["address"], r["image_offset"]) for r in emails] == [("blank.window@example.org", address_at + 9)]
