"""cron_log: cron runs in syslog (Debian CRON, cronie crond/CROND) counted per day, user, command."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from extractors.base import Source
from extractors.cron_log import CronRun, extract
from seized.scanning import windows
from tests.operator_case import utc

SYSLOG = (b"Mar 16 03:20:01 srv1 CRON[3001]: (root) CMD (/root/.x/upd.sh >/dev/null 2>&1)\n"
          b"Mar 16 03:20:01 srv1 CRON[3002]: (www-data) CMD ([ -x /usr/lib/php/sessionclean ] && "
          b"/usr/lib/php/sessionclean)\n"
          b"Mar 16 03:25:01 srv1 CRON[3010]: (root) CMD (/root/.x/upd.sh >/dev/null 2>&1)\n"
          b"Mar 16 03:25:02 srv1 kernel: [   12.3] eth0: link up\n"
          b"Mar 17 00:00:01 srv1 CRON[4001]: (root) CMD (/root/.x/upd.sh >/dev/null 2>&1)\n")
CRONIE = b"2021-03-16T03:20:01+03:00 srv2 CROND[777]: (op) CMD (/home/op/run.sh)\n"


def rows(found) -> dict:
    return {(f.day, f.user, f.command): f for f in found if isinstance(f, CronRun)}


def test_debian_syslog():
    mtime = utc("2011-03-20T08:00:00")
    r = rows(extract(SYSLOG, Source("ev", "/var/log/syslog", None, "syslog", None, mtime=mtime)))
    up = r[("2011-03-16", "root", "/root/.x/upd.sh >/dev/null 2>&1")]
    assert (up.runs, up.first, up.last, up.time_inferred) == (2, "2011-03-16T03:20:01Z", "2011-03-16T03:25:01Z", True)
    assert r[("2011-03-17", "root", "/root/.x/upd.sh >/dev/null 2>&1")].runs == 1
    assert ("2011-03-16", "www-data", "[ -x /usr/lib/php/sessionclean ] && /usr/lib/php/sessionclean") in r
    assert len(r) == 3


def test_cronie_with_zone_and_other_files_silent():
    r = rows(extract(CRONIE, Source("ev", "/var/log/cron", None, "cron", None)))
    assert [(f.first, f.time_inferred, f.user) for f in r.values()] == [("2021-03-16T00:20:01Z", False, "op")]
    assert list(extract(SYSLOG, Source("ev", "/home/op/notes.txt", None, "notes.txt", None, mtime=0))) == []


def test_windows_count_each_run_once():
    data = SYSLOG * 200
    total = 0
    for w in windows([data[i:i + 700] for i in range(0, len(data), 700)], overlap=200):
        src = Source("ev", "/var/log/syslog", None, "syslog", len(data), w.data_start, utc("2011-03-20T00:00:00"),
                     w.own_start - w.data_start, w.own_end - w.data_start)
        total += sum(f.runs for f in extract(w.data, src) if isinstance(f, CronRun))
    assert total == 4 * 200


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4096) | st.text(alphabet="Mar 16 12:00:00 ()[]<>=:/.-+\"@TZ0123456789 abc\n").map(str.encode))
def test_damaged_bytes_never_raise_cron_log(data):
    """Bytes under the artefact's own name that are not (or not quite) the artefact."""
    from extractors.cron_log import extract as run_cron_log

    for f in run_cron_log(data, Source("ev", "/var/log/syslog", None, "syslog", len(data), 0, 1_300_000_000)):
        assert 0 <= f.offset <= len(data)
