"""E-mail addresses in raw bytes: ASCII/UTF-8 and UTF-16 (both byte orders).

Why this shape: the scan is anchored on the `@` byte (a literal, so `re` skips to it in C)
and matches the domain forwards in the same regex; the local part is found by looking back
at most 64 bytes with `bytes.translate`/`rfind`. Work is therefore bounded per `@`, and
pathological input (`a@a@a@...`, megabytes of `aaaa...@`) stays linear. Only candidates
are validated with email-validator (never DNS: check_deliverability=False), then checked for
a real public suffix with tldextract's bundled snapshot; results are cached per address
because harvest lists repeat the same domains.

Boundaries: an address never starts or ends in the middle of a token. The local part is the
whole run of local-part characters before `@` (so `xxjohn@` is `xxjohn`, never `john`);
the domain is the whole run of host characters after it, and if letters continue
(`john@example.comyy`) the candidate is rejected rather than cut short.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Iterator

import numpy as np

from email_validator import EmailNotValidError, validate_email

from extractors._text import utf16_runs
from extractors._tld import registered_domain
from extractors.base import Columns, Extractor, Finding, Source, TextColumn

NAME = "emails"
VERSION = "1.1.0"

_LOCAL_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-"
# Map local-part characters to themselves and everything else to a space, so that
# rfind(b" ") finds the left boundary of the local part in C.
_LOCAL_TABLE = bytes(c if c in _LOCAL_CHARS else 0x20 for c in range(256))
_MAX_LOCAL = 64
_LABEL = rb"[A-Za-z0-9\x80-\xff](?:[A-Za-z0-9\x80-\xff\-]{0,61}[A-Za-z0-9\x80-\xff])?"
# `@`, labels, a dot, the last label; not followed by more host characters.
_DOMAIN_AFTER_AT = (
    rb"((?:" + _LABEL + rb"\.){1,20}[A-Za-z\x80-\xff][A-Za-z0-9\x80-\xff\-]{0,62})(?![A-Za-z0-9_@\x80-\xff\-]|\.[A-Za-z0-9])"
)
_AT_DOMAIN = re.compile(rb"@" + _DOMAIN_AFTER_AT)
_ASCII_DOMAIN = re.compile(
    rb"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,20}[A-Za-z][A-Za-z0-9\-]{0,62}(?![A-Za-z0-9_@\-]|\.[A-Za-z0-9])"
)
# Two scans, each beginning with a literal so `re` skips to it in C.
# A hit needs a dot in the domain, so `a@a@a@...` in UTF-16 costs no Python work.
_UTF16_AT_LE = rb"\x00(?:[A-Za-z0-9\-]\x00){1,63}\.\x00[A-Za-z]\x00"  # after `@`, little-endian
_UTF16_AT_BE = rb"(?:\x00[A-Za-z0-9\-]){1,63}\x00\.\x00[A-Za-z]"  # after `\x00@`, big-endian
# Both in one pass over the `@` bytes: group 1 says LE matches at the `@`, group 2 or 3 that
# BE matches at the NUL before it (both can hold for the same `@`).
_UTF16_AT = (
    rb"(?=(" + _UTF16_AT_LE + rb"))(?:(?<=\x00@)(?=(" + _UTF16_AT_BE + rb")))?|(?<=\x00@)(?=(" + _UTF16_AT_BE + rb"))"
)
# The window's one pass over `@`: an ASCII/UTF-8 domain (group 1) or, where a NUL follows or
# precedes the `@` (never both kinds at one `@`), the UTF-16 hits of groups 2-4.
_AT_ANY = re.compile(rb"@(?:" + _DOMAIN_AFTER_AT + rb"|" + _UTF16_AT + rb")")
_UTF16_SPAN = 2 * (_MAX_LOCAL + 1)
_UTF16_TAIL = 2 * 256


@dataclass(frozen=True, slots=True)
class EmailFinding(Finding):
    address: str  # normalised: local part as found, domain lower-case ASCII (IDNA)
    raw: str  # as found in the bytes
    domain: str  # ASCII domain
    encoding: str  # "ascii", "utf-8", "utf-16le", "utf-16be"


_DOT_ATOM = re.compile(r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*")
_UNSEEN = object()
_SLOW = None


@lru_cache(maxsize=65536)
def _domain(domain: str) -> str | None:
    """ASCII (IDNA) lower-case domain if email-validator and the public suffix list accept it."""
    r = _validate(f"a@{domain}")
    if r is None:
        return None
    ascii_domain = (r.ascii_domain or r.domain).lower()
    return ascii_domain if registered_domain(ascii_domain) is not None else None


def _validate(candidate: str):
    try:
        return validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except (EmailNotValidError, UnicodeError, ValueError):
        return None


def normalise(candidate: str) -> tuple[str, str] | None:
    """(address, ascii_domain) for a valid address, None otherwise. Pure.

    Harvest lists hold millions of distinct addresses over few domains, so the domain is
    validated once (cached) and a plain ASCII dot-atom local part is checked by one regex;
    anything else (UTF-8 local parts, odd lengths) goes through email-validator whole.
    """
    local, _, dom = candidate.rpartition("@")
    domain = _domain(dom)
    if domain is None:
        return None
    if len(local) <= 64 and len(local) + len(domain) < 254 and _DOT_ATOM.fullmatch(local):
        return f"{local.lower()}@{domain}", domain
    r = _validate(candidate)
    if r is None:
        return None
    return f"{r.local_part.lower()}@{domain}", domain


def _local_start(text: bytes, at: int) -> int | None:
    """Index where the local part before text[at] == '@' starts, or None if there is none."""
    lo = max(0, at - _MAX_LOCAL - 1)
    seg = text[lo:at].translate(_LOCAL_TABLE)
    cut = seg.rfind(b" ")
    if cut < 0 and lo > 0:
        return None  # the run is longer than 64 bytes: not an address boundary
    start = lo + cut + 1
    while start < at and text[start] == 0x2E:  # a sentence dot before the address
        start += 1
    if start >= at or (start > 0 and text[start - 1] == 0x40):
        return None  # empty local part, or glued to a previous '@' (`a@b@c.com`)
    # UTF-8 local parts (RFC 6531): extend over preceding non-ASCII bytes if they decode.
    if start > 0 and text[start - 1] >= 0x80:
        ext = start
        while ext > 0 and text[ext - 1] >= 0x80 or (ext > 0 and text[ext - 1] in _LOCAL_CHARS and ext > lo):
            ext -= 1
        try:
            text[ext:at].decode("utf-8")
            start = ext
        except UnicodeDecodeError:
            pass
    return start


def _candidate(text: bytes, m: re.Match[bytes]) -> tuple[int, str, bool] | None:
    """(index in text, raw address, is_ascii) for one `@domain` match, None if no address."""
    at = m.start()
    start = _local_start(text, at)
    if start is None:
        return None
    try:
        dom = m.group(1).decode("utf-8")
    except UnicodeDecodeError:
        m2 = _ASCII_DOMAIN.match(text, at + 1)  # binary glued after an ASCII domain
        if m2 is None or text[m2.end()] < 0x80:
            return None
        dom = m2.group().decode("ascii")
    try:
        local = text[start:at].decode("utf-8")
    except UnicodeDecodeError:
        return None
    raw = f"{local}@{dom}"
    return start, raw, raw.isascii()


def _scan(text: bytes) -> Iterator[tuple[int, str, bool]]:
    """Every syntactic candidate in `text`."""
    for m in _AT_DOMAIN.finditer(text):
        c = _candidate(text, m)
        if c is not None:
            yield c


def extract(data: bytes, source: Source) -> Iterator[EmailFinding]:
    """Every valid address in `data`; see the module docstring for the rules."""
    if b"@" not in data:
        return
    utf16_hits: set[int] = set()
    # Per window: domain bytes -> (domain as found, ASCII domain or None, is ASCII), or _SLOW when
    # the bytes are not UTF-8 (`_candidate` then cuts an ASCII domain off the binary after it).
    domains: dict[bytes, tuple[str, str | None, bool] | None] = {}
    for m in _AT_ANY.finditer(data):
        f = _at_match(data, m, domains, utf16_hits)
        if f is not None:
            yield f
    yield from _utf16_tail(data, utf16_hits)


def _at_match(data: bytes, m: re.Match[bytes], domains: dict, utf16_hits: set[int]) -> EmailFinding | None:
    """The address of one `_AT_ANY` match of the window's scan, or None; a UTF-16 hit (no
    address yet) is noted in `utf16_hits` for `_extract_utf16`."""
    dom_b = m.group(1)
    if dom_b is None:  # UTF-16: LE at the `@`, BE at the NUL before it
        at = m.start()
        if m.group(2) is not None:
            utf16_hits.add(at)
        if m.group(3) is not None or m.group(4) is not None:
            utf16_hits.add(at - 1)
        return None
    # Fast path, the common case of a harvest list (`_fast_candidate`); anything else takes the
    # general path below.
    fast = _fast_candidate(data, m, domains)
    if fast is None:
        return None
    if fast is not _GENERAL:
        start, address, raw, domain, dom_ascii = fast
        return EmailFinding(start, address, raw, domain, "ascii" if dom_ascii else "utf-8")
    c = _candidate(data, m)
    if c is None:
        return None
    idx, raw, is_ascii = c
    norm = normalise(raw)
    if norm is None:
        return None
    return EmailFinding(idx, norm[0], raw, norm[1], "ascii" if is_ascii else "utf-8")


def _utf16_tail(data: bytes, utf16_hits: set[int]) -> Iterator[EmailFinding]:
    """The window's UTF-16 addresses, after its ASCII/UTF-8 ones."""
    if utf16_hits:
        yield from _extract_utf16(data, sorted(utf16_hits))
    if b"@\x00" in data or b"\x00@" in data:
        yield from _extract_utf16_idn(data)


def _extract_utf16(data: bytes, hits: list[int]) -> Iterator[EmailFinding]:
    """Addresses in UTF-16: `hits` are the `@` code units followed by a dotted domain (found by
    `extract`'s scan); nearby hits are merged into regions, and the narrowed UTF-16 runs of each
    region are scanned.

    ASCII text in UTF-16LE and UTF-16BE is the same byte sequence shifted by one; a run is
    read as BE only when the byte before it is NUL and the one before that is not (see
    `extractors._text.utf16_runs`), so LE (Windows) wins when the context cannot tell.
    """
    domains: dict[bytes, tuple[str, str | None, bool] | None] = {}  # as in `extract`
    # Merge [at - SPAN, at + TAIL] over the sorted hits, then clamp to the data.
    regions: list[tuple[int, int]] = []
    lo, hi = hits[0] - _UTF16_SPAN, hits[0] + _UTF16_TAIL
    for at in hits:
        if at - _UTF16_SPAN <= hi:
            hi = at + _UTF16_TAIL
        else:
            regions.append((lo, hi))
            lo, hi = at - _UTF16_SPAN, at + _UTF16_TAIL
    regions.append((lo, hi))
    n = len(data)
    for lo, hi in regions:
        lo, hi = max(0, lo), min(n, hi)
        for view in utf16_runs(data, lo, hi, 5):
            text = view.text
            for m in _AT_DOMAIN.finditer(text):
                fast = _fast_candidate(text, m, domains)
                if fast is None:
                    continue
                if fast is _GENERAL:
                    c = _candidate(text, m)
                    if c is None:
                        continue
                    idx, raw, is_ascii = c
                    norm = None
                else:
                    idx, address, raw, domain, is_ascii = fast
                    norm = address, domain
                off = view.offset(idx)
                if not is_ascii or data[off:off + 2 * len(raw)] != raw.encode(view.encoding):
                    continue
                if norm is None:
                    norm = normalise(raw)
                if norm is not None:
                    yield EmailFinding(off, norm[0], raw, norm[1], view.encoding)


_GENERAL = object()


def _judged_domain(domains: dict, dom_b: bytes):
    """A domain's (text, IDNA form, ASCII or not), judged once per window; `_SLOW` when its
    bytes are not UTF-8 (email-validator decides those)."""
    d = domains.get(dom_b, _UNSEEN)
    if d is _UNSEEN:
        try:
            dom = dom_b.decode("utf-8")
        except UnicodeDecodeError:
            d = domains[dom_b] = _SLOW
        else:
            d = domains[dom_b] = (dom, _domain(dom), dom.isascii())
    return d


def _fast_candidate(text: bytes, m: re.Match[bytes], domains: dict):
    """The fast path of `extract` and of the narrow UTF-16 views, the common case of a harvest
    list: `_local_start` and `normalise` inlined for an ASCII dot-atom local part after an ASCII
    byte, the domain judged once per window (and by `_domain`'s cache once per process).
    (index, address, raw, ASCII domain, raw is ASCII) for an address, None for no address, or
    _GENERAL when only `_candidate` and `normalise` can tell."""
    at = m.start()
    lo = at - _MAX_LOCAL - 1 if at > _MAX_LOCAL + 1 else 0
    cut = text[lo:at].translate(_LOCAL_TABLE).rfind(b" ")
    if cut < 0 and lo > 0:
        return None  # the run is longer than 64 bytes: not an address boundary
    start = lo + cut + 1
    if not (start < at and text[start] != 0x2E and (start == 0 or text[start - 1] < 0x80 and text[start - 1] != 0x40)):
        return _GENERAL
    dom_b = m.group(1)
    d = _judged_domain(domains, dom_b)
    if d is _SLOW:
        return _GENERAL
    dom, domain, dom_ascii = d
    if domain is None:
        return None
    local_b = text[start:at]
    if len(local_b) <= 64 and len(local_b) + len(domain) < 254 and local_b[-1] != 0x2E and b".." not in local_b:
        local = local_b.decode("ascii")
        return start, f"{local.lower()}@{domain}", f"{local}@{dom}", domain, dom_ascii
    return _GENERAL


# A UTF-16 `@` whose domain has a non-ASCII code unit before its first dot (IDN: `münchen.de`,
# `яндекс.рф`): the narrow ASCII views cannot hold these, so a small region is decoded.
_IDN_AT_LE = re.compile(rb"@\x00(?:[A-Za-z0-9\-]\x00){0,62}(?:[\x80-\xff]\x00|[\x00-\xff][\x01-\xd7])")
_IDN_AT_BE = re.compile(rb"\x00@(?:\x00[A-Za-z0-9\-]){0,62}(?:\x00[\x80-\xff]|[\x01-\xd7][\x00-\xff])")
_IDN_ADDRESS = re.compile(
    r"(?<![\w.%+\-@])([A-Za-z0-9._%+\-]{1,64}@(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.){1,20}[^\W\d_][\w\-]{0,62})"
    r"(?![\w@\-]|\.\w)"
)


def _extract_utf16_idn(data: bytes) -> Iterator[EmailFinding]:
    """Non-ASCII (IDN) addresses in UTF-16, each found once, offsets on the first code unit.

    Latin-1 letters (`ü` = `FC 00`) read the same in both byte orders one byte apart, like
    ASCII: such a pair is reported once, as little-endian unless a BE BOM opens the data.
    """
    prefer_be = data[:2] == b"\xfe\xff"
    found: dict[tuple[str, int], EmailFinding] = {}
    for pattern, encoding, label in ((_IDN_AT_LE, "utf-16-le", "utf-16le"), (_IDN_AT_BE, "utf-16-be", "utf-16be")):
        be = label == "utf-16be"
        dot = b"\x00." if be else b".\x00"
        for m in pattern.finditer(data):
            at = m.start()  # first byte of the `@` code unit
            # Necessary for an address through this `@` (checked on the bytes, before any decoding):
            # an ASCII local-part code unit right before it, and a `.` code unit after it in the tail.
            if at < 2 or data[at - 1 if be else at - 2] not in _LOCAL_CHARS or data[at - 2 if be else at - 1]:
                continue
            hi = min(len(data) - (len(data) - at) % 2, at + 2 * 256)
            j = data.find(dot, at + 4, hi)
            while j >= 0 and (j - at) & 1:
                j = data.find(dot, j + 1, hi)
            if j < 0:
                continue
            lo = max(at % 2, at - 2 * (_MAX_LOCAL + 1))
            text = data[lo:hi].decode(encoding, "replace")
            if len(text) * 2 != hi - lo:  # a surrogate pair breaks the unit-to-offset map
                continue
            for am in _IDN_ADDRESS.finditer(text):
                raw = am.group(1)
                off = lo + 2 * am.start(1)
                if raw.isascii() or not (off <= at < off + 2 * len(raw)):
                    continue
                key = (raw, off + 1 if label == "utf-16be" else off)  # the two readings of one text
                if key in found and (found[key].encoding == "utf-16be") == prefer_be:
                    continue
                norm = normalise(raw)
                if norm is not None:
                    found[key] = EmailFinding(off, norm[0], raw, norm[1], label)
    yield from sorted(found.values(), key=lambda f: f.offset)


# --- The columnar path (issue 17): the same findings as `extract`, as columns per window -------
#
# A dense window (a harvest list: 40,000 addresses per MiB) made one match object, one slice per
# part and one frozen finding per address. Here every `@` of the window is classified at once
# with numpy: the run of host bytes after it, the run of local-part bytes before it (bounded
# look-ups over the `@` positions, not passes over the bytes), and each DISTINCT run of host
# bytes is judged once by the very regex and `_judged_domain` that `extract` uses. What numpy
# cannot decide exactly (a NUL beside the `@`, bytes >= 0x80 near it, a leading or doubled dot,
# over-long runs, a glued `@`) goes to `_at_match`, `extract`'s own per-match code, so the
# findings are the same (tests/test_extractors_emails_columns.py); UTF-16 goes to the same code
# as `extract`'s after the window. The strings are cut out of the window with numpy gathers.

_COLUMNS_MIN = 1 << 16  # smaller windows: `extract` costs less than numpy's set-up
_AT_BLOCK = 1 << 16  # `@` positions classified at a time (bounds the work arrays)
_PAD = 320  # neutral bytes (spaces) around the window, so look-ups never leave the buffer
_MAX_DOMAIN_RUN = 256  # longer runs of host bytes take the per-match path
_IS_HOST = np.zeros(256, np.bool_)  # what a domain can hold: ASCII host bytes and UTF-8 (IDN)
_IS_HOST[list(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")] = True
_IS_HOST[0x80:] = True
_IS_LOCAL = np.zeros(256, np.bool_)
_IS_LOCAL[list(_LOCAL_CHARS)] = True
_LABEL_START = _IS_HOST.copy()  # a label's first byte: not a dot or a hyphen
_LABEL_START[[0x2E, 0x2D]] = False
_TLD_START = _LABEL_START.copy()  # the last label's first byte: not a digit either
_TLD_START[0x30:0x3A] = False
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[0x41:0x5B] += 0x20
_ENCODINGS = np.frombuffer(b"asciiutf-8", np.uint8)  # both 5 bytes: "ascii" at 0, "utf-8" at 5


_SAMPLE = 1 << 18  # bytes of the window whose candidates decide the path
_DENSE = 1024  # candidates in the sample from which the columnar path costs less (4,096 per MiB)


def extract_columns(data: bytes, source: Source) -> Iterator[Columns] | None:
    """`extract`'s findings as column blocks (see above), or None when `extract` is cheaper:
    small windows, and windows whose first 256 KiB hold few `@domain` candidates (binaries,
    logs: numpy's passes over the window cost more than the few matches)."""
    if len(data) < _COLUMNS_MIN or b"@" not in data:
        return None
    if len(_AT_DOMAIN.findall(data, 0, _SAMPLE)) < _DENSE * min(len(data), _SAMPLE) // _SAMPLE:
        return None
    return _column_blocks(data)


@dataclass
class _Runs:
    """Per window: each distinct run of host bytes after an `@`, judged once."""

    index: dict[bytes, int]
    match_len: list[int]  # length of `_AT_DOMAIN`'s domain in the run; -1: no match
    domain_len: list[int]  # length of the ASCII domain; -1: no address with this domain, -2: not UTF-8
    domain_at: list[int]  # where the ASCII domain starts in `blob`
    lower_same: list[bool]  # the ASCII domain is the domain as found, lower-cased
    utf8: list[bool]  # the domain as found is not ASCII
    blob: bytearray
    domains: dict  # `_judged_domain`'s per-window dict, as `extract` keeps it

    def judge(self, run: bytes) -> int:
        m = _AT_DOMAIN.match(b"@" + run + b" ")  # a space reads as the run's neutral end byte
        dom_b = m.group(1) if m is not None else None
        dom, domain, dom_ascii = "", None, True
        slow = False
        if dom_b is not None:
            d = _judged_domain(self.domains, dom_b)
            if d is _SLOW:  # not UTF-8: `_candidate` cuts an ASCII domain off it, per match
                slow = True
            else:
                dom, domain, dom_ascii = d
        i = self.index[run] = len(self.match_len)
        self.match_len.append(len(dom_b) if dom_b is not None else -1)
        self.domain_len.append(-2 if slow else len(domain) if domain is not None else -1)
        self.domain_at.append(len(self.blob))
        self.lower_same.append(domain is not None and domain == dom.lower())
        self.utf8.append(not dom_ascii)
        if domain is not None:
            self.blob += domain.encode("ascii")
        return i


def _column_blocks(data: bytes) -> Iterator[Columns]:
    n = len(data)
    buf = np.full(n + 2 * _PAD, 0x20, np.uint8)
    buf[_PAD:_PAD + n] = np.frombuffer(data, np.uint8)
    # The `@` positions found 1 MiB at a time: a window-sized boolean temporary (16 MiB per window)
    # left the allocator's heap fragmented (peak RSS +70 MiB on a 64 MiB list).
    step = 1 << 20
    ats = np.concatenate([np.flatnonzero(buf[i:i + step] == 0x40) + i for i in range(0, len(buf), step)])
    runs = _Runs({}, [], [], [], [], [], bytearray(), {})
    utf16_hits: set[int] = set()
    for i in range(0, len(ats), _AT_BLOCK):
        yield from _at_block(data, buf, ats[i:i + _AT_BLOCK], runs, utf16_hits)
    tail = _utf16_tail(data, utf16_hits)
    while chunk := list(islice(tail, _AT_BLOCK)):
        yield _finding_columns(chunk)


def _at_block(data: bytes, buf: np.ndarray, a: np.ndarray, runs: _Runs, utf16_hits: set[int]) -> Iterator[Columns]:
    """The addresses of some `@` positions `a` (in `buf`, ascending)."""
    P = _PAD
    prev, nxt = buf[a - 1], buf[a + 1]
    # A NUL beside the `@` (UTF-16): the per-match path.
    general = [a[(prev == 0) | (nxt == 0)]]
    at = a[(prev != 0) & _IS_HOST[nxt]]  # the rest: no match at all unless a host byte follows
    end = at + 1
    act = np.arange(len(at))
    # A domain needs a dot followed by a letter (or a UTF-8 byte): runs without one are no match.
    tld = np.zeros(len(at), np.bool_)
    for _ in range(_MAX_DOMAIN_RUN):  # the run of host bytes after the `@`
        b = buf[end[act]]
        host = _IS_HOST[b]
        tld[act[host & _TLD_START[b] & (buf[end[act] - 1] == 0x2E)]] = True
        act = act[host]
        if not len(act):
            break
        end[act] += 1
    t = buf[end]
    slow = (t == 0x5F) | (t == 0x40)  # an end byte that is not neutral for the regex
    slow[act] = True  # the run is too long
    general.append(at[slow])
    keep = ~slow & tld & _LABEL_START[buf[np.minimum(at + 1, len(buf) - 1)]]
    at, end = at[keep], end[keep]
    # Each distinct run is judged once: the regex's domain in it and the domain's verdict.
    index = runs.index
    keys = map(data.__getitem__, map(slice, (at - (P - 1)).tolist(), (end - P).tolist()))
    ids = np.fromiter((index[k] if k in index else runs.judge(k) for k in keys), np.int64, len(at))
    match_len = np.array(runs.match_len, np.int64)[ids]
    domain_len = np.array(runs.domain_len, np.int64)[ids]
    general.append(at[domain_len == -2])
    ok = domain_len >= 0  # no match, or a domain that no address can have
    at, ids, match_len, domain_len = at[ok], ids[ok], match_len[ok], domain_len[ok]
    start = at.copy()
    act = np.arange(len(at))
    doubled = np.zeros(len(at), np.bool_)
    for _ in range(_MAX_LOCAL + 1):  # the run of local-part bytes before the `@`
        b = buf[start[act] - 1]
        local = _IS_LOCAL[b]
        act = act[local]
        if not len(act):
            break
        doubled[act[(b[local] == 0x2E) & (buf[start[act]] == 0x2E)]] = True  # two dots in the run
        start[act] -= 1
    local_len = at - start
    # No address: an empty local part, or a run longer than 64 bytes (`extract`'s boundary rule).
    none = (local_len == 0) | ((local_len > _MAX_LOCAL) & (at - P > _MAX_LOCAL + 1))
    before, first, last = buf[start - 1], buf[start], buf[at - 1]
    # `extract`'s fast path: a local part after an ASCII byte (not `@`), no leading or trailing
    # dot, none doubled, at most 64 bytes, the address shorter than 254 bytes.
    fast = ~none & (before < 0x80) & (before != 0x40) & (first != 0x2E) & (last != 0x2E) & ~doubled \
        & (local_len <= _MAX_LOCAL) & (local_len + domain_len < 254)
    general.append(at[~none & ~fast])
    findings = []
    for p in np.sort(np.concatenate(general)).tolist():
        m = _AT_ANY.match(data, p - P)
        if m is not None:
            f = _at_match(data, m, runs.domains, utf16_hits)
            if f is not None:
                findings.append(f)
    same = np.array(runs.lower_same, np.bool_)[ids]
    for rows in (fast & same, fast & ~same):  # two blocks: order within a table is the sort's
        if rows.any():
            yield _fast_columns(buf, runs, start[rows], at[rows], ids[rows], match_len[rows], domain_len[rows])
    if findings:
        yield _finding_columns(findings)


def _fast_columns(buf: np.ndarray, runs: _Runs, start: np.ndarray, at: np.ndarray, ids: np.ndarray,
                  match_len: np.ndarray, domain_len: np.ndarray) -> Columns:
    """Columns of fast-path addresses: `raw` is the bytes as found, `address` the local part
    lower-cased with the ASCII domain, `domain` the ASCII domain."""
    n = len(start)
    raw = _gather(buf, start, at + 1 + match_len - start)
    blob = np.frombuffer(bytes(runs.blob), np.uint8)
    domain_at = np.array(runs.domain_at, np.int64)[ids]
    steps = np.arange(0, 5 * n + 1, 5, dtype=np.int32)
    if np.array(runs.lower_same, np.bool_)[ids[0]]:  # a block of ASCII domains as found: raw lower-cased
        address = TextColumn(raw.offsets, _LOWER[raw.data])
        encoding = TextColumn(steps, np.tile(_ENCODINGS[:5], n))
    else:  # IDN (or IDNA changed the domain): the local part lower-cased, then the ASCII domain
        address = _gather2(buf, start, at + 1 - start, blob, domain_at, domain_len)
        address = TextColumn(address.offsets, _LOWER[address.data])  # the ASCII domain is lower-case already
        utf8 = np.array(runs.utf8, np.bool_)[ids]
        encoding = TextColumn(steps, _ENCODINGS[_ranges(utf8.astype(np.int64) * 5, np.full(n, 5, np.int64), 5 * n)])
    return {"offset": start - _PAD, "address": address, "raw": raw, "domain": _gather(blob, domain_at, domain_len),
            "encoding": encoding}


def _ranges(starts: np.ndarray, lengths: np.ndarray, total: int) -> np.ndarray:
    """The concatenation of arange(s, s + l) over the rows, without a Python loop (int32: a
    window and its gathers are far below 2 GiB, and half the temporaries' size)."""
    heads = np.zeros(len(lengths), np.int64)
    np.cumsum(lengths[:-1], out=heads[1:])
    index = np.repeat((starts - heads).astype(np.int32), lengths)
    index += np.arange(total, dtype=np.int32)
    return index


def _gather(src: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> TextColumn:
    """Row i = src[starts[i]:starts[i] + lengths[i]]."""
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    return TextColumn(offsets.astype(np.int32), src[_ranges(starts, lengths, total)])


def _gather2(src1: np.ndarray, starts1: np.ndarray, lengths1: np.ndarray, src2: np.ndarray, starts2: np.ndarray,
             lengths2: np.ndarray) -> TextColumn:
    """Row i = src1[starts1[i]:+lengths1[i]] followed by src2[starts2[i]:+lengths2[i]]."""
    offsets = np.zeros(len(lengths1) + 1, np.int64)
    np.cumsum(lengths1 + lengths2, out=offsets[1:])
    out = np.empty(int(offsets[-1]), np.uint8)
    out[_ranges(offsets[:-1], lengths1, int(lengths1.sum()))] = src1[_ranges(starts1, lengths1, int(lengths1.sum()))]
    out[_ranges(offsets[:-1] + lengths1, lengths2, int(lengths2.sum()))] = \
        src2[_ranges(starts2, lengths2, int(lengths2.sum()))]
    return TextColumn(offsets.astype(np.int32), out)


def _finding_columns(findings: list[EmailFinding]) -> Columns:
    """Columns of findings made one at a time (the per-match path)."""
    return {"offset": np.array([f.offset for f in findings], np.int64),
            "address": [f.address for f in findings], "raw": [f.raw for f in findings],
            "domain": [f.domain for f in findings], "encoding": [f.encoding for f in findings]}


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="emails",
    finding=EmailFinding,
    extract=extract,
    columns=extract_columns,
    description="E-mail addresses (ASCII, UTF-8, UTF-16LE/BE), validated offline, IDNA-normalised",
)
