"""Handles, accounts and wallets in text: what names an operator (table `identities`).

Why each rule (the Rustock operator was tied to "Cosma2k" through payment accounts):
* Checksummed values are accepted anywhere, and only when the checksum holds: Bitcoin
  legacy (Base58Check, mainnet versions 0x00 and 0x05), Bitcoin segwit (bech32 for witness
  v0, bech32m for v1+), Monero (Keccak-256 checksum; standard, subaddress, integrated).
  A string of the right shape whose checksum fails is not an identity and is not reported.
* WebMoney purses have no checksum: a type letter (Z R E C D G U B Y K) and 12 digits,
  standing alone (not inside a longer word or number). WMIDs (12 digits), ICQ UINs (5-10
  digits) and Telegram @handles are just numbers or words, so they count only after their
  keyword ("WMID:", "ICQ", "telegram") on the same line; Telegram `t.me/NAME` links stand alone.
* Jabber IDs only inside XMPP client configurations (Pidgin accounts.xml, Psi accounts,
  Gajim's config): an e-mail-like string elsewhere is an e-mail address (table `emails`).
* PGP public key blocks: the armor's CRC-24 must hold; the v4 fingerprint is computed from
  the key packet (SHA-1 over 0x99, length, body) and the key id is its last 16 hex digits.
  Keys that the system and its packages ship (anything under `/usr/`, apt's and rpm's trust
  stores) are left out: they name the distribution or a vendor, not an operator (a clean Debian
  server holds SpamAssassin's update key in /usr/share/spamassassin/).

`valid` is True when the value passed every check its kind has (a checksum, or the shape
and context rules above); nothing that fails a checksum is reported at all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from extractors import _checksums as ck
from extractors._text import View, views
from extractors.base import Extractor, Finding, Source

NAME = "identities"
VERSION = "1.0.0"
CONTEXT = 40  # characters either side kept as context
MAX_PER_WINDOW = 20_000
PGP_BLOCK_MAX = 256 * 1024

_B58 = rb"[1-9A-HJ-NP-Za-km-z]"
_NOT_ALNUM_AFTER = rb"(?![A-Za-z0-9])"
# Each pattern starts with a literal or a small set of bytes, so `re` finds candidates with its
# fast prefix search; "not inside a longer word" on the left is checked in Python on the few
# matches (a lookbehind in front of the pattern made it 4x slower).
_BTC_SEGWIT = re.compile(rb"(?:bc1|BC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{11,87}" + _NOT_ALNUM_AFTER)
_WMID = re.compile(rb"(?i:\bwmid|\bwm[ _-]?id\b|\bwebmoney(?:[ _-]?id)?\b)[^0-9\n]{0,20}?([0-9]{12})(?![0-9])")
_ICQ = re.compile(rb"(?i:\bicq\b(?:[ \t]*(?:uin|number|no\.?|#))?|\bicq[ _-]?uin\b)[ \t]*[:=#-]?[ \t]*([0-9]{5,10})"
                  rb"(?![0-9])")
_ICQ_PIDGIN = re.compile(rb"<protocol>prpl-icq</protocol>\s*<name>([0-9]{5,10})</name>")
_TME = re.compile(rb"\.me/([A-Za-z][A-Za-z0-9_]{4,31})(?![A-Za-z0-9_/])")
_TME_HOST = re.compile(rb"(?:https?://)?(?:t|telegram)\Z")
_TG_HANDLE = re.compile(rb"(?i:\btelegram\b)[^\n@]{0,30}?(?<![A-Za-z0-9._%+-])@([A-Za-z][A-Za-z0-9_]{4,31})"
                        rb"(?![A-Za-z0-9_.@-])")
_JID = rb"([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)"
_JID_PIDGIN = re.compile(rb"<protocol>prpl-jabber</protocol>\s*<name>" + _JID + rb"(?:/[^<]*)?</name>")
_JID_PSI = re.compile(rb"<jid(?:\s[^>]*)?>" + _JID + rb"</jid>")
_GAJIM_NAME = re.compile(rb"(?m)^accounts\.([^.\s]+)\.name = ([A-Za-z0-9._%+-]{1,64})[ \t]*\r?$")
_GAJIM_HOST = re.compile(rb"(?m)^accounts\.([^.\s]+)\.hostname = ([A-Za-z0-9.-]{1,253})[ \t]*\r?$")
_PGP_BEGIN = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"
_PGP_END = b"-----END PGP PUBLIC KEY BLOCK-----"
# Where an operating system and its packages keep the keys they ship: everything under /usr
# (e.g. /usr/share/keyrings, spamassassin's sa-update key in /usr/share/spamassassin) and the
# package managers' trust stores.
_SYSTEM_KEY_DIRS = ("/usr/", "/etc/apt/", "/etc/pki/rpm-gpg/", "/var/lib/apt/", "/etc/spamassassin/sa-update-keys/")
_TG_RESERVED = frozenset({"joinchat", "share", "addstickers", "proxy", "socks", "iv", "setlanguage"})


@dataclass(frozen=True, slots=True)
class Identity(Finding):
    kind: str  # bitcoin, monero, webmoney_purse, wmid, jabber, icq, telegram, pgp_key
    value: str  # as an examiner would search for it (addresses as written; handles lower-case)
    context: str  # up to CONTEXT characters either side, one line, printable
    valid: bool  # passed every check this kind has (checksum, shape, context)


def _context(text: bytes, start: int, end: int) -> str:
    lo = max(0, start - CONTEXT)
    hi = min(len(text), end + CONTEXT)
    left = text[lo:start].rsplit(b"\n", 1)[-1]
    right = text[end:hi].split(b"\n", 1)[0]
    snippet = (left + text[start:end] + right).decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in snippet).strip()


def _system_key_path(source: Source) -> bool:
    path = source.path or ""
    # the specific trust stores also inside a copied tree (a backup of /etc); /usr/ only at the root
    return any(path.startswith(d) or (d != "/usr/" and d in path) for d in _SYSTEM_KEY_DIRS)


def _found(view: View, m: re.Match, group: int, kind: str, value: str) -> Identity:
    return Identity(view.offset(m.start(group)), kind, value, _context(view.text, m.start(), m.end()), True)


def _at(view: View, start: int, end: int, kind: str, value: str) -> Identity:
    return Identity(view.offset(start), kind, value, _context(view.text, start, end), True)


_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_WORDISH = _ALNUM | frozenset(b"_")


def _alone(text: bytes, start: int, left: frozenset[int] = _ALNUM) -> bool:
    """The match does not continue a longer word to its left."""
    return start == 0 or text[start - 1] not in left


_B58_MASK = bytes(0x31 if chr(i) in ck.B58 else 0x2E for i in range(256))  # base58 -> "1", else "."
_DIGIT_MASK = bytes(0x39 if 0x30 <= i <= 0x39 else 0x2E for i in range(256))  # digit -> "9", else "."
_B58_RUN = b"1" * 26
_DIGIT_RUN = b"9" * 12
_PURSE_LETTERS = frozenset(b"ZRECDGUBYK")
_BTC_FIRST = frozenset(b"13")
_XMR_FIRST = frozenset(b"48")


def _runs(mask: bytes, needle: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of every maximal run of marked bytes at least len(needle) long.

    Why not a regex: a character-class pattern is tried at every byte (about 100 MB/s each);
    `bytes.translate` and `bytes.find` run at memory speed, and long runs are rare in text
    and in random bytes alike, so Python sees only the candidates.
    """
    pos = mask.find(needle)
    while pos >= 0:
        end = mask.find(b".", pos + len(needle))
        end = len(mask) if end < 0 else end
        yield pos, end
        pos = mask.find(needle, end)


def _checksummed(view: View, lower: bytes) -> Iterator[Identity]:
    text = view.text
    for start, end in _runs(text.translate(_B58_MASK), _B58_RUN):
        n, first = end - start, text[start]
        if not ((n <= 35 and first in _BTC_FIRST) or (n in (95, 106) and first in _XMR_FIRST)):
            continue  # most runs are long words and base64: judged on length and first byte alone
        if not _alone(text, start) or (end < len(text) and text[end] in _ALNUM):
            continue
        value = text[start:end].decode("ascii")
        if n <= 35 and ck.bitcoin_base58_valid(value):
            yield _at(view, start, end, "bitcoin", value)
        elif n > 35 and ck.monero_valid(value):
            yield _at(view, start, end, "monero", value)
    if b"bc1" in lower and (b"bc1" in text or b"BC1" in text):  # one pass over the bytes, not two
        for m in _BTC_SEGWIT.finditer(text):
            value = m.group().decode("ascii")
            if _alone(text, m.start()) and ck.segwit_valid(value):
                yield _found(view, m, 0, "bitcoin", value.lower())


def _purses(view: View) -> Iterator[Identity]:
    text = view.text
    for start, end in _runs(text.translate(_DIGIT_MASK), _DIGIT_RUN):
        s = start - 1
        if end - start == 12 and s >= 0 and text[s] in _PURSE_LETTERS and _alone(text, s, _WORDISH) and \
                (end == len(text) or text[end] not in _WORDISH):
            yield _at(view, s, end, "webmoney_purse", text[s:end].decode("ascii"))


def _after_keyword(text: bytes, lower: bytes, keyword: bytes, pattern: re.Pattern,
                   pos: int | None = None) -> Iterator[re.Match]:
    """Matches of `pattern` (which starts with its keyword) at each place the keyword occurs
    (`pos`: its first place, when the caller has looked already).

    Anchored tries at `bytes.find` hits instead of a case-insensitive scan of every byte.
    """
    if pos is None:
        pos = lower.find(keyword)
    while pos >= 0:
        m = pattern.match(text, pos)
        if m:
            yield m
        pos = lower.find(keyword, m.end() if m else pos + 1)


def _in_context(view: View, lower: bytes) -> Iterator[Identity]:
    text = view.text
    yield from _purses(view)
    for keyword in (b"wm", b"webmoney"):
        for m in _after_keyword(text, lower, keyword, _WMID):
            yield _found(view, m, 1, "wmid", m.group(1).decode("ascii"))
    icq = lower.find(b"icq")
    if icq >= 0:  # both ICQ rules need it (`prpl-icq` in the bytes is `icq` in `lower`)
        for m in _after_keyword(text, lower, b"icq", _ICQ, icq):
            yield _found(view, m, 1, "icq", m.group(1).decode("ascii"))
        if b"prpl-icq" in text:
            for m in _ICQ_PIDGIN.finditer(text):
                yield _found(view, m, 1, "icq", m.group(1).decode("ascii"))
    if b".me/" in text:
        for m in _TME.finditer(text):
            name = m.group(1).decode("ascii").lower()
            host = _TME_HOST.search(text, max(0, m.start() - 16), m.start())
            if host and _alone(text, host.start(), _ALNUM | frozenset(b"._-")) and name not in _TG_RESERVED:
                yield Identity(view.offset(host.start()), "telegram", "@" + name,
                               _context(text, host.start(), m.end()), True)
    for m in _after_keyword(text, lower, b"telegram", _TG_HANDLE):
        yield _found(view, m, 1, "telegram", "@" + m.group(1).decode("ascii").lower())


def _jabber(view: View) -> Iterator[Identity]:
    text = view.text
    if b"prpl-jabber" in text:
        for m in _JID_PIDGIN.finditer(text):
            yield _found(view, m, 1, "jabber", m.group(1).decode("ascii").lower())
    if b"<jid" in text:
        for m in _JID_PSI.finditer(text):
            yield _found(view, m, 1, "jabber", m.group(1).decode("ascii").lower())
    if b".hostname = " in text:
        hosts = {m.group(1): m.group(2) for m in _GAJIM_HOST.finditer(text)}
        for m in _GAJIM_NAME.finditer(text):
            host = hosts.get(m.group(1))
            if host:
                jid = (m.group(2) + b"@" + host).decode("ascii").lower()
                yield _found(view, m, 2, "jabber", jid)


def _pgp(data: bytes, source: Source) -> Iterator[Identity]:
    if _PGP_BEGIN not in data or _system_key_path(source):
        return
    pos = data.find(_PGP_BEGIN)
    while pos >= 0:
        end = data.find(_PGP_END, pos, pos + PGP_BLOCK_MAX)
        if end < 0:
            return
        block = data[pos:end + len(_PGP_END)].decode("ascii", "replace")
        raw = ck.dearmor(block)
        key = ck.pgp_primary_key(raw) if raw else None
        if key is not None:
            fingerprint, keyid, uid = key
            context = f"key id {keyid}" + (f", user id {uid[:80]}" if uid else "")
            yield Identity(pos, "pgp_key", fingerprint, "".join(c if c.isprintable() else " " for c in context), True)
        pos = data.find(_PGP_BEGIN, end)


def extract(data: bytes, source: Source) -> Iterator[Identity]:
    count = 0
    for view in views(data):
        lower = view.text.lower()
        for finding in (*_checksummed(view, lower), *_in_context(view, lower), *_jabber(view)):
            count += 1
            yield finding
            if count >= MAX_PER_WINDOW:
                from extractors.base import LimitReached

                yield LimitReached(finding.offset, "identities per window", MAX_PER_WINDOW)
                return
    yield from _pgp(data, source)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="identities",
    finding=Identity,
    extract=extract,
    description="Bitcoin/Monero addresses (checksums verified), WebMoney purses and WMIDs, ICQ, Telegram, "
                "Jabber IDs in XMPP configs, PGP public keys (v4 fingerprint)",
)
