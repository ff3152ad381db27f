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
from functools import lru_cache
from typing import Iterable, Iterator

from extractors._text import views
from extractors._tld import registered_domain, tlds
from extractors.base import Extractor, Finding, LimitReached, Source

NAME = "indicators"
VERSION = "1.2.0"
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
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\n\v\f\r"
IPV6_CONTEXT = 4  # printable bytes an IPv6 address needs on each side (see _in_text)

_TLD_TRIE = _trie_regex(frozenset(t for t in tlds() if t.isascii()))
_OCTET = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# A first octet of k digits (leading zeros allowed, at most 4 digits, value <= 255), as a
# fixed-width look-behind from just after its dot: group k matches when the run of digits
# before the dot is exactly k long and not preceded by a word character or a dot.
_FIRST_OCTET = (rb"[0-9]", rb"[0-9]{2}", rb"(?:[01][0-9][0-9]|2[0-4][0-9]|25[0-5])",
                rb"0(?:[01][0-9][0-9]|2[0-4][0-9]|25[0-5])")
_FIRST = b"|".join(rb"(?<=(?<![A-Za-z0-9_.])(" + d + rb")\.)" for d in _FIRST_OCTET)
# One pass over the dots of the lower-cased text finds both the last label of a domain (a
# public-suffix label; no group) and a dotted quad, matched from its first dot with the first
# octet checked by look-behind (`lastindex` = its length). The branches never overlap: a TLD
# dot is followed by a letter, a quad's dots by digits.
_QUAD_TAIL = _OCTET + rb"\." + _OCTET + rb"\." + _OCTET + rb"(?![0-9]|\.[0-9])"
_DOTTED = re.compile(  # the tail is tried first (as a look-ahead): most dots fail it at once
    rb"\.(?:(?=" + _QUAD_TAIL + rb")(?:" + _FIRST + rb")" + _QUAD_TAIL
    + rb"|(?:" + _TLD_TRIE + rb")(?![A-Za-z0-9\-_]|\.[A-Za-z0-9]))"
)
_IPV6 = re.compile(rb"::(?!:)|:(?:[0-9A-Fa-f]{1,4}:){6}[0-9A-Fa-f]{1,4}")
_URL = re.compile(rb"://[^\s\"'<>`\\{}|^\x00-\x1f\x7f-\xff]{1,2048}")
_SCHEMES = frozenset(b"http https ftp ftps sftp ws wss hxxp hxxps socks4 socks5 tcp smb irc".split())
_ONION = re.compile(rb"\.onion(?![a-z0-9\-])")  # on the lower-cased view: a 6-byte literal scan
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
    return _mask_secret_words(text)


def _mask_secret_words(text: str) -> str:
    low = text.lower()  # cheap necessary condition first: every secret word is in `low`
    if ("pass" in low or "pwd" in low or "secret" in low or "token" in low) and any(w in text for w in _SECRET_WORDS):
        text = _KV_PW.sub(r"\1***", text)
    return text


# A context is a slice of its view (control bytes made spaces, decoded with U+FFFD for bad
# bytes), so it can only hold `@` or a secret word that the view holds: when a view has many
# findings, four literal scans of the view spare the per-context checks.
_MASK_CHECK_AFTER = 256
_SECRET_LOWER = tuple(re.compile(w) for w in (b"pass", b"pwd", b"secret", b"token"))


def _may_need_masking(text: bytes, lower: bytes | None) -> tuple[bool, bool]:
    low = text.lower() if lower is None else lower
    return b"@" in text, any(r.search(low) is not None for r in _SECRET_LOWER)


def _left(text: bytes, end: int, table: bytes, limit: int) -> int:
    """Start of the run of `table` characters that ends at `end` (at most `limit` long)."""
    lo = max(0, end - limit)
    return lo + text[lo:end].translate(table).rfind(b" ") + 1


def _host_start(text: bytes, end: int) -> int:
    """`_left(text, end, _HOST_TABLE, 253)`, looking 64 bytes back first (hosts are short)."""
    if end > 64:
        cut = text[end - 64:end].translate(_HOST_TABLE).rfind(b" ")
        if cut >= 0:
            return end - 63 + cut
    return _left(text, end, _HOST_TABLE, 253)


def _domain(key: bytes) -> tuple[int, str] | None:
    """(leading bytes to skip, value) for the candidate host `key` (ending in a TLD), or None."""
    pre = key.rfind(b".")
    i = 0
    while i < pre and key[i] in b".-":
        i += 1
    value = key[i:].decode("ascii")
    host = value.lower()
    labels = host.split(".")
    if len(labels) < 2 or any(not l or len(l) > 63 or l[0] == "-" or l[-1] == "-" for l in labels):
        return None
    if len(labels) == 2 and labels[1] in _FILE_EXTS:
        return None
    if labels[1:] == ["onion"] or registered_domain(host) is None:
        return None
    if all(l.isdigit() for l in labels[:-1]):
        return None
    return i, value


# Hosts repeat across the windows of a unit and across units (a worker runs many): each distinct
# candidate is judged once per worker process, within a bounded cache.
_domain_cached = lru_cache(maxsize=65536)(_domain)


def _dotted(text: bytes, lower: bytes, seen_domain: set, seen_ipv4: set) -> tuple[list, list]:
    """New (start, end, value) domains and IPv4 addresses, each list in order of first occurrence.

    A quad is matched whole by `re`; for a domain only the left boundary is found in Python (a
    bounded `translate` + `rfind`) and a candidate host repeated in the window is judged once
    (`cache`). A value already reported is dropped before any further work.
    """
    domains: list[tuple[int, int, str]] = []
    ipv4: list[tuple[int, int, str]] = []
    cache: dict[bytes, tuple[int, str] | None] = {}
    word, table = _WORD, _HOST_TABLE
    for m in _DOTTED.finditer(lower):
        ms, me = m.span()
        k = m.lastindex
        if k:  # a dotted quad whose first octet is the k digits before the match
            start = ms - k
            value = text[start:me]
            if value in seen_ipv4:
                continue
            seen_ipv4.add(value)
            ipv4.append((start, me, value.decode("ascii")))
        else:
            # `_host_start(text, ms)` inlined (one call per TLD dot: a harvest list has one per line)
            cut = text[ms - 64:ms].translate(table).rfind(b" ") if ms > 64 else -1
            start = ms - 63 + cut if cut >= 0 else _left(text, ms, table, 253)
            if start > 0 and text[start - 1] in word or start == ms:
                continue
            key = text[start:me]
            r = cache.get(key, 0)
            if r == 0:
                r = cache[key] = _domain_cached(key)
            if r is None or r[1] in seen_domain:
                continue
            seen_domain.add(r[1])
            domains.append((start + r[0], me, r[1]))
    return domains, ipv4


# Word characters that cannot be part of an address: one of them right before the run of address
# characters that ends at a match means the match is glued to a word (`Foo::bar`, `std::`).
_WORD_NOT_HEX = _WORD - frozenset(_HEX6_CHARS)
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def _ipv6(text: bytes) -> Iterator[tuple[int, int, str]]:
    last_end = -1
    for m in _IPV6.finditer(text):
        ms = m.start()
        if ms < last_end or (ms > 0 and text[ms - 1] == 0x3A and m.group() == b"::"):
            continue
        # C++ and Rust scopes (`std::vector`, `Foo::bar`): the run of address characters before
        # the match is empty or one hex digit long and a word character precedes it, which the
        # boundary check below rejects; decided here on one or two bytes, without `_left`.
        if ms > 1:
            b = text[ms - 1]
            if b in _WORD_NOT_HEX or (b in _HEX_DIGITS and text[ms - 2] in _WORD_NOT_HEX):
                continue
        elif ms == 1 and text[0] in _WORD_NOT_HEX:
            continue
        start = _left(text, m.start(), _HEX6_TABLE, 45)
        end = m.start() + len(text[m.start():m.start() + 45].translate(_HEX6_TABLE).split(b" ", 1)[0])
        while end > start and text[end - 1] in b".:" and not text[start:end].endswith(b"::"):
            end -= 1
        if (start > 0 and text[start - 1] in _WORD) or (end < len(text) and text[end] in _WORD):
            continue
        if not (_in_text(text, start, True) and _in_text(text, end, False)):
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
        yield start, end, cand


def _in_text(text: bytes, at: int, before: bool) -> bool:
    """Whether an IPv6 address ending (or starting) at `at` stands in text, as `strings` sees it.

    `::1` is three bytes: random binary data holds it by chance every ~16 MiB, and an address
    found on several drives becomes a cross-drive link. Written addresses stand in text
    (/etc/hosts, logs, configuration) or are C strings; so the neighbour is a NUL, or the
    `IPV6_CONTEXT` bytes on that side are printable (or the data ends among printable bytes).
    """
    side = text[max(0, at - IPV6_CONTEXT):at] if before else text[at:at + IPV6_CONTEXT]
    if side and side[-1 if before else 0] == 0:
        return True
    return not side.translate(None, _PRINTABLE)


def _url(text: bytes, ms: int, me: int) -> tuple[int, int, str] | None:
    """(start, end, masked value) of the URL whose `://` is at text[ms], or None."""
    # The scheme is the whole run of host characters before `://` (at most 8 looked at), so
    # it is one set lookup; the byte before it must not be a word character either.
    lo = _left(text, ms, _HOST_TABLE, 8)
    if ms - lo > 6 or text[lo:ms].lower() not in _SCHEMES or (lo > 0 and text[lo - 1] in _WORD):
        return None
    end = me
    while end > ms + 3 and text[end - 1] in b".,;:!?)]}'\"":
        end -= 1
    if end - ms <= 3:
        return None
    return lo, end, mask(text[lo:end].decode("ascii"))


def _urls(text: bytes) -> Iterator[tuple[int, int, str]]:
    # What `_url` decides depends only on the 8 bytes before `://` and the match itself, so a
    # URL repeated in the window (web logs) is judged once.
    cache: dict[bytes, tuple[int, int, str] | None] = {}
    for m in _URL.finditer(text):
        ms, me = m.span()
        if ms < 8:
            r = _url(text, ms, me)
            if r is not None:
                yield r
            continue
        key = text[ms - 8:me]
        r = cache.get(key, 0)
        if r == 0:
            r = _url(text, ms, me)
            cache[key] = None if r is None else (r[0] - ms, r[1] - ms, r[2])
            if r is not None:
                yield r
        elif r is not None:
            yield ms + r[0], ms + r[1], r[2]


def _onions(text: bytes, lower: bytes) -> Iterator[tuple[int, int, str]]:
    for m in _ONION.finditer(lower):
        h = _ONION_HOST.search(text, max(0, m.start() - 56), m.start())
        if h is None:
            h = _ONION_HOST.search(text, max(0, m.start() - 16), m.start())
        if h is None or (h.start() > 0 and text[h.start() - 1] in b"abcdefghijklmnopqrstuvwxyz234567"):
            continue
        yield h.start(), m.end(), text[h.start():m.end()].decode("ascii")


def extract(data: bytes, source: Source) -> Iterator[IndicatorFinding | LimitReached]:
    """Distinct indicators in `data` and its UTF-16 runs, at most MAX_PER_WINDOW (then LimitReached).

    Order: per view, URLs, onions, domains, IPv4, IPv6, each at its first occurrence.
    """
    count = 0
    limit = MAX_PER_WINDOW
    seen: dict[str, set] = {k: set() for k in ("url", "onion", "domain", "ipv4", "ipv6")}
    for view in views(data):
        text = view.text
        groups: list[tuple[str, Iterable[tuple[int, int, str]]]] = []
        groups.append(("url", _urls(text)))  # anchored on `://`: finds nothing fast
        lower = text.lower() if b"." in text else None  # same offsets; ASCII case folded
        if lower is not None:
            groups.append(("onion", _onions(text, lower)))
            domains, ipv4 = _dotted(text, lower, seen["domain"], seen["ipv4"])
            groups += [("domain", domains), ("ipv4", ipv4)]
        if b":" in text:
            groups.append(("ipv6", _ipv6(text)))
        base, step = view.base, view.step
        masking = None  # after _MASK_CHECK_AFTER findings: (userinfo, secret words) possible in view
        in_view = 0
        for kind, found in groups:
            known = seen[kind]
            dotted = kind == "domain" or kind == "ipv4"  # already new values only
            for s, e, value in found:
                if not dotted:
                    if value in known:
                        continue
                    known.add(value)
                if count >= limit:
                    yield LimitReached(base + step * s, "indicators per window", limit)
                    return
                count += 1
                in_view += 1
                context = text[s - _CONTEXT if s > _CONTEXT else 0:e + _CONTEXT].translate(_CTRL_TABLE).decode("utf-8", "replace")
                if masking is None and in_view > _MASK_CHECK_AFTER:
                    masking = _may_need_masking(text, lower)
                if masking is None:
                    context = mask(context)
                else:
                    if masking[0] and "@" in context and "://" in context:
                        context = _USERINFO_PW.sub(r"\1***@", context)
                    if masking[1]:
                        context = _mask_secret_words(context)
                yield IndicatorFinding(base + step * s, kind, value, context)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="indicators",
    finding=IndicatorFinding,
    extract=extract,
    description="IPv4/IPv6 addresses, domains with a real public suffix, URLs and onion addresses",
)
