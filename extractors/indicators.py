"""Network indicators in text: IPv4, IPv6, domains, URLs and onion addresses.

Why the scans look the way they do: `re` only runs at C speed when a pattern begins with a
literal, so every scan is anchored on a literal that the indicator must contain (`://`,
`.onion`, `.` before a public-suffix label or a dotted quad, `::` or a full IPv6 form) and
the part before the anchor is found by a bounded look-back (`translate` + `rfind`).
Domains must end in a real public suffix from tldextract's *bundled* snapshot
(`suffix_list_urls=()`, `cache_dir=None`: never fetched); the suffix labels are compiled into
one trie-shaped regex so a dot that is not followed by a TLD costs a few C steps.

Not indicators: version strings (`1.2.3`), file names (`config.ini`, `index.php`,
`setup.py`, `README.md`), parts of longer dotted numbers (`1.2.3.4.5`), octets > 255.
One row per distinct (kind, value) per window, at its first occurrence: a 16 MiB web log
repeats the same addresses hundreds of thousands of times, and the first offset is enough to
find them all again. URL passwords are replaced by `***` in `value` and `context`, so secrets never reach a
report; `offset` still points at the first byte of the URL.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Iterator

from extractors._text import View, views
from extractors._tld import registered_domain, tlds
from extractors.base import Extractor, Finding, LimitReached, Source

NAME = "indicators"
VERSION = "1.0.0"
MAX_PER_WINDOW = 100_000
_CONTEXT = 40

# File extensions that are also TLDs: `name.ext` with two labels is a file name, not a domain.
_FILE_EXTS = frozenset(
    "py sh pl pm md zip mov rs cc so ps cs sb mp st sc am ai ax bz gz in ml to do rb ch lo ph "
    "mk im ms la al ac ad ar ba bo cx de dk ee es fm gs hs id io it jp ke li lt lu lv ly mo "
    "mr my nl no pe pk pt re ro ru se si sk sr sy tf th tk tm tv ua uk us vc ws".split()
) - frozenset("de dk ee es io it jp nl no ru se uk us".split())  # common ccTLDs stay domains


def _trie_regex(words: frozenset[str]) -> bytes:
    """An alternation of `words` shaped as a trie (one branch per letter)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = []
        for ch in sorted(k for k in node if k):
            cls = re.escape(ch)
            alts.append(cls + emit(node[ch]))
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie).encode("ascii")


_HOST_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."
_HOST_TABLE = bytes(c if c in _HOST_CHARS else 0x20 for c in range(256))
_HEX6_CHARS = b"0123456789abcdefABCDEF:."
_HEX6_TABLE = bytes(c if c in _HEX6_CHARS else 0x20 for c in range(256))
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_DIGITS = b"0123456789"
_DIGIT_TABLE = bytes(c if c in _DIGITS or c == 0x2E else 0x20 for c in range(256))

_DOMAIN_END = re.compile(rb"\.(?:" + _trie_regex(frozenset(t for t in tlds() if t.isascii())) + rb")(?![A-Za-z0-9\-_]|\.[A-Za-z0-9])")
_OCTET = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_TAIL = re.compile(rb"\." + _OCTET + rb"\." + _OCTET + rb"\." + _OCTET + rb"(?![0-9]|\.[0-9])")
_IPV6 = re.compile(rb"::(?!:)|:(?:[0-9A-Fa-f]{1,4}:){6}[0-9A-Fa-f]{1,4}")
_URL = re.compile(rb"://[^\s\"'<>`\\{}|^\x00-\x1f\x7f-\xff]{1,2048}")
_SCHEME = re.compile(rb"(?:https?|ftps?|sftp|wss?|hxxps?|socks[45]|tcp|smb|irc)\Z", re.IGNORECASE)
_ONION = re.compile(rb"\.onion(?![A-Za-z0-9\-])", re.IGNORECASE)
_ONION_HOST = re.compile(rb"(?:[a-z2-7]{56}|[a-z2-7]{16})\Z")
_USERINFO_PW = re.compile(r"(://[^\s:/@]{1,128}:)[^\s/@]{1,128}@")
_KV_PW = re.compile(r"(?i)((?:pass(?:word|wd)?|pwd|secret|token)\s*[=:]\s*)\S+")
_TRAILING = ".,;:!?)]}'\""


@dataclass(frozen=True, slots=True)
class IndicatorFinding(Finding):
    kind: str  # ipv4, ipv6, domain, url, onion
    value: str  # as found (URL passwords replaced by ***)
    context: str  # up to 40 characters either side, secrets masked


_CTRL_TABLE = bytes(0x20 if c < 0x20 or c == 0x7F else c for c in range(256))
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "PASS", "Pass", "PWD", "Secret", "SECRET", "Token", "TOKEN")


def mask(text: str) -> str:
    """Replace URL userinfo passwords and `password=...` values with `***`."""
    if "@" in text and "://" in text:
        text = _USERINFO_PW.sub(r"\1***@", text)
    if any(w in text for w in _SECRET_WORDS):
        text = _KV_PW.sub(r"\1***", text)
    return text


def _context(view: View, s: int, e: int) -> str:
    raw = view.text[max(0, s - _CONTEXT):e + _CONTEXT].translate(_CTRL_TABLE)
    return mask(raw.decode("utf-8", "replace"))


def _left(text: bytes, end: int, table: bytes, limit: int) -> int:
    """Start of the run of `table` characters that ends at `end` (at most `limit` long)."""
    lo = max(0, end - limit)
    return lo + text[lo:end].translate(table).rfind(b" ") + 1


def _domains(view: View) -> Iterator[tuple[int, int, str, str]]:
    text = view.text
    # Lower-case copy (same length, ASCII only) so the suffix trie is plain literals.
    for m in _DOMAIN_END.finditer(text.lower()):
        start = _left(text, m.start(), _HOST_TABLE, 253)
        if start > 0 and text[start - 1] in _WORD or start == m.start():
            continue
        while start < m.start() and text[start] in b".-":
            start += 1
        host = text[start:m.end()].decode("ascii").lower()
        labels = host.split(".")
        if len(labels) < 2 or any(not l or len(l) > 63 or l[0] == "-" or l[-1] == "-" for l in labels):
            continue
        if len(labels) == 2 and labels[1] in _FILE_EXTS:
            continue
        if labels[1:] == ["onion"] or registered_domain(host) is None:
            continue
        if all(l.isdigit() for l in labels[:-1]):
            continue
        yield start, m.end(), "domain", text[start:m.end()].decode("ascii")


def _ipv4(view: View) -> Iterator[tuple[int, int, str, str]]:
    text = view.text
    for m in _IPV4_TAIL.finditer(text):
        start = _left(text, m.start(), _DIGIT_TABLE, 4)
        first = text[start:m.start()]
        if not first or b"." in first or (start > 0 and (text[start - 1] in _WORD or text[start - 1] == 0x2E)):
            continue
        if int(first) > 255:
            continue
        yield start, m.end(), "ipv4", text[start:m.end()].decode("ascii")


def _ipv6(view: View) -> Iterator[tuple[int, int, str, str]]:
    text = view.text
    last_end = -1
    for m in _IPV6.finditer(text):
        if m.start() < last_end or (m.start() > 0 and text[m.start() - 1] == 0x3A and m.group() == b"::"):
            continue
        start = _left(text, m.start(), _HEX6_TABLE, 45)
        end = m.start() + len(text[m.start():m.start() + 45].translate(_HEX6_TABLE).split(b" ", 1)[0])
        while end > start and text[end - 1] in b".:" and not text[start:end].endswith(b"::"):
            end -= 1
        if (start > 0 and text[start - 1] in _WORD) or (end < len(text) and text[end] in _WORD):
            continue
        cand = text[start:end].decode("ascii")
        groups = [g for g in cand.split(":") if g]
        if len(groups) < 2 and cand != "::1":
            continue
        try:
            ipaddress.IPv6Address(cand)
        except ValueError:
            continue
        last_end = end
        yield start, end, "ipv6", cand


def _urls(view: View) -> Iterator[tuple[int, int, str, str]]:
    text = view.text
    for m in _URL.finditer(text):
        s = _SCHEME.search(text, max(0, m.start() - 6), m.start())
        if s is None:
            continue
        lo = _left(text, m.start(), _HOST_TABLE, 8)
        if lo != s.start() or (s.start() > 0 and text[s.start() - 1] in _WORD):
            continue
        end = m.end()
        while end > m.start() + 3 and text[end - 1] in b".,;:!?)]}'\"":
            end -= 1
        if end - m.start() <= 3:
            continue
        yield s.start(), end, "url", mask(text[s.start():end].decode("ascii"))


def _onions(view: View) -> Iterator[tuple[int, int, str, str]]:
    text = view.text
    for m in _ONION.finditer(text):
        h = _ONION_HOST.search(text, max(0, m.start() - 56), m.start())
        if h is None:
            h = _ONION_HOST.search(text, max(0, m.start() - 16), m.start())
        if h is None or (h.start() > 0 and text[h.start() - 1] in b"abcdefghijklmnopqrstuvwxyz234567"):
            continue
        yield h.start(), m.end(), "onion", text[h.start():m.end()].decode("ascii")


def extract(data: bytes, source: Source) -> Iterator[IndicatorFinding | LimitReached]:
    """Distinct indicators in `data` and its UTF-16 runs, at most MAX_PER_WINDOW (then LimitReached)."""
    count = 0
    seen: set[tuple[str, str]] = set()
    for view in views(data):
        text = view.text
        scans = []
        if b"://" in text:
            scans.append(_urls)
        if b".onion" in text or b".ONION" in text:
            scans.append(_onions)
        if b"." in text:
            scans += [_domains, _ipv4]
        if b":" in text:
            scans.append(_ipv6)
        for scan in scans:
            for s, e, kind, value in scan(view):
                if (kind, value) in seen:
                    continue
                seen.add((kind, value))
                if count >= MAX_PER_WINDOW:
                    yield LimitReached(view.offset(s), "indicators per window", MAX_PER_WINDOW)
                    return
                count += 1
                yield IndicatorFinding(view.offset(s), kind, value, _context(view, s, e))


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="indicators",
    finding=IndicatorFinding,
    extract=extract,
    description="IPv4/IPv6 addresses, domains with a real public suffix, URLs and onion addresses",
)
