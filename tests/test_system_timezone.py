"""system_timezone: the server's zone from /etc/timezone, /etc/sysconfig/clock, a TZif /etc/localtime."""
from __future__ import annotations

from pathlib import Path

import pytest

from hypothesis import given, settings, strategies as st

from extractors.base import Source
from extractors.system_timezone import extract

ZONEINFO = Path("/usr/share/zoneinfo")


def run(data: bytes, path: str):
    return [(f.source, f.zone, f.tz_string) for f in extract(data, Source("ev", path, None, path.rsplit("/", 1)[-1],
                                                                           len(data)))]


def test_debian_and_redhat_names():
    assert run(b"Europe/Moscow\n", "/etc/timezone") == [("/etc/timezone", "Europe/Moscow", None)]
    assert run(b'ZONE="America/New_York"\nUTC=true\n', "/etc/sysconfig/clock") == [
        ("/etc/sysconfig/clock", "America/New_York", None)]
    assert run(b"Europe/Moscow\n", "/home/op/timezone") == []
    assert run(b"<html>not a zone</html>", "/etc/timezone") == []


@pytest.mark.parametrize("zone, tz, name", [("Europe/Moscow", "MSK-3", "Etc/GMT-3"),
                                            ("Etc/UTC", "UTC0", "Etc/UTC"),
                                            ("America/New_York", "EST5EDT,M3.2.0,M11.1.0", None)])
def test_tzif_footer_from_this_machines_zoneinfo(zone, tz, name):
    path = ZONEINFO / zone
    if not path.is_file():
        pytest.skip(f"{path} not on this machine (tzdata)")
    assert run(path.read_bytes(), "/etc/localtime") == [("/etc/localtime", name, tz)]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4096) | st.text(alphabet="Mar 16 12:00:00 ()[]<>=:/.-+\"@TZ0123456789 abc\n").map(str.encode))
def test_damaged_bytes_never_raise_system_timezone(data):
    """Bytes under the artefact's own name that are not (or not quite) the artefact."""
    from extractors.system_timezone import extract as run_system_timezone

    for f in run_system_timezone(data, Source("ev", "/etc/localtime", None, "localtime", len(data), 0, 1_300_000_000)):
        assert 0 <= f.offset <= len(data)
