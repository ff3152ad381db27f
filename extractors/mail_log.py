"""Postfix and exim main logs, counted per day and relay (table `mail_log`).

Why: a spam server's own mail log counts its spam. Per day, per MTA and per relay (the
next hop a message was handed to): messages sent, deferred and bounced; per day: messages
received (queued) and the sender domains they claimed. One row per (day, mta, relay) per
window, plus a totals row per (day, mta) with relay = None; rows of several windows (a large
log) add up per (evidence, path, member, day, mta, relay): `reports.operators.mail_totals`.

Line formats (as the MTAs write them):
* postfix, via syslog: `Mar 16 12:34:56 host postfix/smtp[123]: 3F2A1B: to=<a@b>,
  relay=mx.b.com[192.0.2.1]:25, ..., status=sent (250 2.0.0 Ok)`; `status=deferred`,
  `status=bounced`; `postfix/qmgr[..]: 3F2A1B: from=<s@d>, size=.., nrcpt=1 (queue active)`
  counts a received message once. RFC 3339 syslog stamps (`2024-03-16T12:34:56+00:00`) too.
* exim (`mainlog`): `2011-03-16 12:34:56 1pQx-000Ab-Cd <= s@d H=... P=esmtp S=1234`
  received; `=>` and `->` delivered; `==` deferred; `**` bounced (failed).
Syslog stamps have no year or zone and exim's no zone: see extractors._logtime; such rows
say `time_inferred`. Which files: `mail.log*`, `maillog*`, exim `mainlog*`/`main.log*`
(not `mail.info`/`mail.warn`/`mail.err` or `syslog`, which repeat the same lines).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from extractors._logtime import SYSLOG_STAMP, syslog_time, with_zone
from extractors.base import Extractor, Finding, LimitReached, Source

NAME = "mail_log"
VERSION = "1.0.0"
MAX_DOMAINS = 200  # distinct sender domains kept per row
MAX_ROWS = 20_000  # (day, mta, relay) keys per window

_NAME = re.compile(r"^(?:mail\.log|maillog|mainlog|main\.log)(?:[.-]\d{1,8})*$", re.IGNORECASE)
_POSTFIX = re.compile(rb"(?m)^" + SYSLOG_STAMP + rb"postfix(?:/[\w.-]+)*/(smtp|lmtp|local|virtual|pipe|error|qmgr|"
                      rb"discard|smtp-amavis|relay)\[\d+\]: [0-9A-Za-z]+: (.*)$")
_STATUS = re.compile(rb"\bstatus=(sent|deferred|bounced|expired)\b")
_RELAY = re.compile(rb"\brelay=([^,\s]+)")
_FROM = re.compile(rb"^from=<([^>]*)>, size=\d+, nrcpt=\d+ \(queue active\)")
_EXIM = re.compile(rb"(?m)^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?: ([+-]\d{4}))? "
                   rb"(?:\[\d+\] )?[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4} (<=|=>|->|\*\*|==) (\S+)(.*)$")
_EXIM_HOST = re.compile(rb" H=(\S+)(?: \([^)]*\))? ?(\[[0-9A-Fa-f.:]+\])?")


@dataclass(frozen=True, slots=True)
class MailLog(Finding):
    day: str  # YYYY-MM-DD (UTC when the log gave a zone; the log's own clock otherwise)
    time_inferred: bool  # the year (syslog) or the zone was assumed
    first: str  # ISO-8601 of the first and last line counted in this row
    last: str
    mta: str  # postfix, exim
    relay: str | None  # next hop (host[ip]); None on the day's totals row
    received: int  # messages queued (postfix qmgr from=..., exim <=); totals row only
    sent: int
    deferred: int
    bounced: int  # postfix bounced/expired, exim ** (failed)
    sender_domains: list[str]  # distinct domains of received messages' senders (<= MAX_DOMAINS), totals row


class _Agg:
    __slots__ = ("offset", "first", "last", "received", "sent", "deferred", "bounced", "domains", "inferred")

    def __init__(self, offset: int, t: str, inferred: bool) -> None:
        self.offset, self.first, self.last, self.inferred = offset, t, t, inferred
        self.received = self.sent = self.deferred = self.bounced = 0
        self.domains: set[str] = set()

    def receive(self, sender: bytes) -> None:
        """A message received from `sender`: counted, and its domain kept (up to MAX_DOMAINS)."""
        self.received += 1
        d = _domain(sender)
        if d and len(self.domains) < MAX_DOMAINS:
            self.domains.add(d)


def _count(total: "_Agg", per: "_Agg | None", field: str) -> None:
    """One delivery outcome (`sent`, `deferred`, `bounced`), in the day's total and its relay's row."""
    for a in (total, per):
        if a is not None:
            setattr(a, field, getattr(a, field) + 1)


def _domain(address: bytes) -> str | None:
    if b"@" not in address:
        return None
    return address.rsplit(b"@", 1)[1].decode("utf-8", "replace").lower().strip(".")[:253] or None


def _relay_of(value: bytes) -> str:
    text = value.decode("utf-8", "replace")
    return re.sub(r":\d+$", "", text)[:300]


def extract(data: bytes, source: Source) -> Iterator[Finding]:
    if not (source.name and _NAME.match(source.name)):
        return
    own_start = source.own_start
    own_end = len(data) if source.own_end is None else source.own_end
    rows: dict[tuple[str, str, str | None], _Agg] = {}
    limited = False

    def agg(t: str, inferred: bool, mta: str, relay: str | None, offset: int) -> _Agg | None:
        nonlocal limited
        key = (t[:10], mta, relay)
        a = rows.get(key)
        if a is None:
            if len(rows) >= MAX_ROWS:
                limited = True
                return None
            a = rows[key] = _Agg(offset, t, inferred)
        a.first, a.last = min(a.first, t), max(a.last, t)
        a.inferred = a.inferred or inferred
        return a

    if b"postfix" in data:
        for m in _POSTFIX.finditer(data, own_start):
            if m.start() >= own_end:
                break
            t, inferred = syslog_time(m, source.mtime)
            if t is None:
                continue
            rest = m.group(14)
            total = agg(t, inferred, "postfix", None, m.start())
            if total is None:
                continue
            if m.group(13) == b"qmgr":
                f = _FROM.match(rest)
                if f:
                    total.receive(f.group(1))
                continue
            s = _STATUS.search(rest)
            if not s:
                continue
            r = _RELAY.search(rest)
            per = agg(t, inferred, "postfix", _relay_of(r.group(1)) if r else "none", m.start())
            _count(total, per, {b"sent": "sent", b"deferred": "deferred"}.get(s.group(1), "bounced"))
    if b" <= " in data or b" => " in data or b" ** " in data or b" == " in data:
        for m in _EXIM.finditer(data, own_start):
            if m.start() >= own_end:
                break
            zone = m.group(7)
            t = with_zone(*(int(m.group(i)) for i in range(1, 7)), zone)
            if t is None:
                continue
            inferred = zone is None
            total = agg(t, inferred, "exim", None, m.start())
            if total is None:
                continue
            flag, rest = m.group(8), m.group(10)
            if flag == b"<=":
                total.receive(m.group(9))
                continue
            h = _EXIM_HOST.search(rest)
            relay = (h.group(1) + (h.group(2) or b"")).decode("utf-8", "replace")[:300] if h else "none"
            per = agg(t, inferred, "exim", relay, m.start())
            _count(total, per, {b"=>": "sent", b"->": "sent", b"==": "deferred"}.get(flag, "bounced"))
    for (day, mta, relay), a in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        yield MailLog(a.offset, day, a.inferred, a.first, a.last, mta, relay, a.received, a.sent, a.deferred,
                      a.bounced, sorted(a.domains))
    if limited:
        yield LimitReached(own_start, "mail_log (day, mta, relay) rows per window", MAX_ROWS)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="mail_log",
    finding=MailLog,
    extract=extract,
    description="postfix and exim main logs: messages received, sent, deferred, bounced per day and relay; "
                "sender domains",
)
