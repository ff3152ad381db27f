"""package_log: dpkg, yum and dnf install lines, with their times."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from extractors.base import Source
from extractors.package_log import extract
from tests.operator_case import utc


def run(data: bytes, name: str, mtime: int | None = None):
    return [(f.manager, f.time, f.time_inferred, f.action, f.package, f.version)
            for f in extract(data, Source("ev", f"/var/log/{name}", None, name, None, mtime=mtime))]


def test_dpkg():
    data = (b"2011-03-01 10:00:00 startup archives unpack\n"
            b"2011-03-01 10:00:01 install tor:amd64 <none> 0.2.1.30-1\n"
            b"2011-03-01 10:00:02 status half-installed tor:amd64 0.2.1.30-1\n"
            b"2011-03-01 10:00:05 upgrade openssl:amd64 0.9.8o-4 0.9.8o-4squeeze1\n"
            b"2011-03-02 09:00:00 remove exim4:all 4.72-6 <none>\n")
    assert run(data, "dpkg.log") == [
        ("dpkg", "2011-03-01T10:00:01Z", True, "install", "tor:amd64", "0.2.1.30-1"),
        ("dpkg", "2011-03-01T10:00:05Z", True, "upgrade", "openssl:amd64", "0.9.8o-4squeeze1"),
        ("dpkg", "2011-03-02T09:00:00Z", True, "remove", "exim4:all", None)]


def test_yum_year_from_mtime_and_dnf():
    yum = b"Mar 02 10:00:00 Installed: tor-0.2.1.30-1.el5.x86_64\nMar 02 10:05:00 Erased: sendmail\n"
    assert run(yum, "yum.log", utc("2011-03-21T09:00:00")) == [
        ("yum", "2011-03-02T10:00:00Z", True, "install", "tor", "0.2.1.30-1.el5"),
        ("yum", "2011-03-02T10:05:00Z", True, "remove", "sendmail", None)]
    dnf = b"2021-03-16T12:34:56+0300 SUBDEBUG Installed: tor-0.4.5.6-1.fc33.x86_64\n"
    assert run(dnf, "dnf.rpm.log") == [("dnf", "2021-03-16T09:34:56Z", False, "install", "tor", "0.4.5.6-1.fc33")]


def test_this_machines_dpkg_log_if_any():
    import os

    path = "/var/log/dpkg.log"
    if not os.path.isfile(path):
        return
    data = open(path, "rb").read()
    found = run(data, "dpkg.log")
    expected = sum(1 for line in data.split(b"\n") if line[20:].split(b" ", 1)[0] in (b"install", b"upgrade",
                                                                                         b"remove", b"purge"))
    assert len(found) == expected


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4096) | st.text(alphabet="Mar 16 12:00:00 ()[]<>=:/.-+\"@TZ0123456789 abc\n").map(str.encode))
def test_damaged_bytes_never_raise_package_log(data):
    """Bytes under the artefact's own name that are not (or not quite) the artefact."""
    from extractors.package_log import extract as run_package_log

    for f in run_package_log(data, Source("ev", "/var/log/dpkg.log", None, "dpkg.log", len(data), 0, 1_300_000_000)):
        assert 0 <= f.offset <= len(data)
