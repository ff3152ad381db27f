"""mail_log: postfix and exim lines counted per day and relay; year-less stamps placed by mtime."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from extractors.base import Source
from extractors.mail_log import MailLog, extract
from tests.operator_case import utc

POSTFIX = (
    b"Mar 16 12:34:56 srv1 postfix/qmgr[812]: 3F2A1B2C3D: from=<promo@pharma-deals.example>, size=2345, nrcpt=1 "
    b"(queue active)\n"
    b"Mar 16 12:34:57 srv1 postfix/smtp[813]: 3F2A1B2C3D: to=<a@example.org>, relay=mx.example.org[192.0.2.25]:25, "
    b"delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ABC123)\n"
    b"Mar 16 12:35:00 srv1 postfix/smtp[813]: 4A1B2C3D4E: to=<b@example.net>, relay=none, delay=30, "
    b"delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.example.net[198.51.100.2]:25: Connection timed out)\n"
    b"Dec 31 23:59:59 srv1 postfix/smtp[900]: 5B1B2C3D4E: to=<c@example.com>, relay=mx.example.com[203.0.113.5]:25, "
    b"delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (host mx.example.com[203.0.113.5] said: 550 5.1.1 User "
    b"unknown (in reply to RCPT TO command))\n"
    b"Mar 16 12:40:00 srv1 postfix/smtpd[700]: connect from unknown[198.51.100.7]\n")
EXIM = (
    b"2011-03-18 12:00:00 1pQxyz-0001Ab-Cd <= spam@cheap-meds.example H=localhost (srv2) [127.0.0.1] P=esmtp "
    b"S=1234 id=1@srv2\n"
    b"2011-03-18 12:00:01 1pQxyz-0001Ab-Cd => v@example.org R=dnslookup T=remote_smtp H=mx.example.org "
    b"[192.0.2.25] X=TLS1.2 C=\"250 OK\"\n"
    b"2011-03-18 12:00:01 1pQxyz-0001Ab-Cd -> v2@example.org R=dnslookup T=remote_smtp H=mx.example.org "
    b"[192.0.2.25]\n"
    b"2011-03-18 12:00:02 1pQxyz-0001Ab-Cd ** w@example.net R=dnslookup T=remote_smtp H=mx.example.net "
    b"[198.51.100.2]: SMTP error from remote mail server after RCPT TO:<w@example.net>: 550 No such user\n"
    b"2011-03-18 12:00:03 +0300 1pQxyz-0001Ab-Cd == z@example.com R=dnslookup T=remote_smtp defer (-44) "
    b"H=mx.example.com [203.0.113.5]: SMTP error from remote mail server: 451 Try later\n"
    b"2011-03-18 12:00:04 1pQxyz-0001Ab-Cd Completed\n")


def by_key(found) -> dict:
    return {(f.day, f.mta, f.relay): f for f in found if isinstance(f, MailLog)}


def test_postfix_counts_and_year_from_mtime():
    mtime = utc("2011-03-20T08:00:00")
    r = by_key(extract(POSTFIX, Source("ev", "/var/log/mail.log", None, "mail.log", None, mtime=mtime)))
    day = r[("2011-03-16", "postfix", None)]
    assert (day.received, day.sent, day.deferred, day.bounced, day.sender_domains) == (
        1, 1, 1, 0, ["pharma-deals.example"])
    assert day.time_inferred and day.first == "2011-03-16T12:34:56Z" and day.last == "2011-03-16T12:35:00Z"
    assert r[("2011-03-16", "postfix", "mx.example.org[192.0.2.25]")].sent == 1
    assert r[("2011-03-16", "postfix", "none")].deferred == 1
    # December, in a log last written in March: the year before
    assert r[("2010-12-31", "postfix", "mx.example.com[203.0.113.5]")].bounced == 1


def test_postfix_without_mtime_places_nothing():
    assert list(extract(POSTFIX, Source("ev", "/var/log/mail.log", None, "mail.log", None))) == []


def test_exim_mainlog():
    r = by_key(extract(EXIM, Source("ev", "/var/log/exim4/mainlog", None, "mainlog", None)))
    total = r[("2011-03-18", "exim", None)]
    assert (total.received, total.sent, total.deferred, total.bounced) == (1, 2, 1, 1)
    assert total.sender_domains == ["cheap-meds.example"] and total.time_inferred
    assert r[("2011-03-18", "exim", "mx.example.org[192.0.2.25]")].sent == 2
    assert r[("2011-03-18", "exim", "mx.example.com[203.0.113.5]")].first == "2011-03-18T09:00:03Z"  # its zone


def test_only_main_logs():
    for name in ("mail.err", "syslog", "mail.warn", "notes.txt"):
        assert list(extract(POSTFIX + EXIM, Source("ev", f"/var/log/{name}", None, name, None, mtime=0))) == []
    for name in ("mail.log.1", "maillog-20110320", "mainlog.2"):
        assert list(extract(POSTFIX + EXIM, Source("ev", f"/var/log/{name}", None, name, None, mtime=10**9)))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4096) | st.text(alphabet="Mar 16 12:00:00 ()[]<>=:/.-+\"@TZ0123456789 abc\n").map(str.encode))
def test_damaged_bytes_never_raise_mail_log(data):
    """Bytes under the artefact's own name that are not (or not quite) the artefact."""
    from extractors.mail_log import extract as run_mail_log

    for f in run_mail_log(data, Source("ev", "/var/log/mail.log", None, "mail.log", len(data), 0, 1_300_000_000)):
        assert 0 <= f.offset <= len(data)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["e1", "e2"]), st.sampled_from(["/var/log/mail.log", "/var/log/mail.1"]),
                          st.sampled_from(["2011-03-16", "2011-03-17", "2011-03-18"]),
                          st.sampled_from(["postfix", "exim"]), st.sampled_from([None, "mx.example.org"]),
                          st.integers(0, 50), st.integers(0, 50), st.booleans(),
                          st.text("0123456789abcdef", min_size=20, max_size=20)),
                min_size=1, max_size=40))
def test_mail_totals_add_up_the_windows_rows(rows):
    """The report's per-(evidence, MTA) mail totals (SQL) are the delivery rows (no relay) added up:
    counts summed, distinct days, first and last day, any inferred year, and the three smallest
    of the per-(evidence, path, member, day, mta, relay) smallest finding ids."""
    import pyarrow as pa

    from reports.case import Tables
    from reports.operators import mail_totals

    table = pa.table({
        "finding_id": [r[8] for r in rows], "evidence_id": [r[0] for r in rows], "path": [r[1] for r in rows],
        "member": [None] * len(rows), "day": [r[2] for r in rows], "mta": [r[3] for r in rows],
        "relay": [r[4] for r in rows], "received": [r[5] for r in rows], "sent": [r[6] for r in rows],
        "deferred": [r[5] + 1 for r in rows], "bounced": [r[6] // 2 for r in rows],
        "time_inferred": [r[7] for r in rows]}, schema=pa.schema([
            ("finding_id", pa.string()), ("evidence_id", pa.string()), ("path", pa.string()), ("member", pa.string()),
            ("day", pa.string()), ("mta", pa.string()), ("relay", pa.string()), ("received", pa.int64()),
            ("sent", pa.int64()), ("deferred", pa.int64()), ("bounced", pa.int64()), ("time_inferred", pa.bool_())]))
    with Tables.from_arrow({"mail_log": table}) as tables:
        got = mail_totals(tables)
    want: dict = {}
    groups: dict = {}
    for eid, path, day, mta, relay, rec, sent, inferred, fid in rows:
        if relay is not None:
            continue
        w = want.setdefault((eid, mta), {"received": 0, "sent": 0, "deferred": 0, "bounced": 0, "days": set(),
                                         "inferred": False})
        w["received"] += rec
        w["sent"] += sent
        w["deferred"] += rec + 1
        w["bounced"] += sent // 2
        w["days"].add(day)
        w["inferred"] |= inferred
        key = (eid, path, day, mta)
        groups[key] = min(groups.get(key, fid), fid)
    for (eid, mta), w in want.items():
        days = w.pop("days")
        w.update(days=len(days), first_day=min(days), last_day=max(days),
                 finding_ids=sorted(f for k, f in groups.items() if (k[0], k[3]) == (eid, mta))[:3])
    assert got == want
