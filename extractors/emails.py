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
from typing import Iterator

from email_validator import EmailNotValidError, validate_email

from extractors._tld import registered_domain
from extractors.base import Extractor, Finding, Source

NAME = "emails"
VERSION = "1.0.0"

_LOCAL_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-"
# Map local-part characters to themselves and everything else to a space, so that
# rfind(b" ") finds the left boundary of the local part in C.
_LOCAL_TABLE = bytes(c if c in _LOCAL_CHARS else 0x20 for c in range(256))
_MAX_LOCAL = 64
_LABEL = rb"[A-Za-z0-9\x80-\xff](?:[A-Za-z0-9\x80-\xff\-]{0,61}[A-Za-z0-9\x80-\xff])?"
# `@`, labels, a dot, the last label; not followed by more host characters.
_AT_DOMAIN = re.compile(
    rb"@((?:" + _LABEL + rb"\.){1,20}[A-Za-z\x80-\xff][A-Za-z0-9\x80-\xff\-]{0,62})(?![A-Za-z0-9_@\x80-\xff\-]|\.[A-Za-z0-9])"
)
_ASCII_DOMAIN = re.compile(
    rb"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,20}[A-Za-z][A-Za-z0-9\-]{0,62}(?![A-Za-z0-9_@\-]|\.[A-Za-z0-9])"
)
# Two scans, each beginning with a literal so `re` skips to it in C.
_UTF16_AT_LE = re.compile(rb"@\x00[A-Za-z0-9]\x00")
_UTF16_AT_BE = re.compile(rb"\x00@\x00[A-Za-z0-9]")
_UTF16_SPAN = 2 * (_MAX_LOCAL + 1)
_UTF16_TAIL = 2 * 256


@dataclass(frozen=True, slots=True)
class EmailFinding(Finding):
    address: str  # normalised: local part as found, domain lower-case ASCII (IDNA)
    raw: str  # as found in the bytes
    domain: str  # ASCII domain
    encoding: str  # "ascii", "utf-8", "utf-16le", "utf-16be"


@lru_cache(maxsize=200_000)
def normalise(candidate: str) -> tuple[str, str] | None:
    """(address, ascii_domain) for a valid address, None otherwise. Pure, cached."""
    try:
        r = validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except (EmailNotValidError, UnicodeError, ValueError):
        return None
    domain = (r.ascii_domain or r.domain).lower()
    if registered_domain(domain) is None:
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


def _scan(text: bytes) -> Iterator[tuple[int, str, bool]]:
    """(index in text, raw address, is_ascii) for every syntactic candidate."""
    for m in _AT_DOMAIN.finditer(text):
        at = m.start()
        start = _local_start(text, at)
        if start is None:
            continue
        dom_bytes = m.group(1)
        try:
            dom = dom_bytes.decode("utf-8")
        except UnicodeDecodeError:
            m2 = _ASCII_DOMAIN.match(text, at + 1)  # binary glued after an ASCII domain
            if m2 is None or text[m2.end()] < 0x80:
                continue
            dom = m2.group().decode("ascii")
        local_b = text[start:at]
        try:
            local = local_b.decode("utf-8")
        except UnicodeDecodeError:
            continue
        raw = f"{local}@{dom}"
        yield start, raw, raw.isascii()


def extract(data: bytes, source: Source) -> Iterator[EmailFinding]:
    """Every valid address in `data`; see the module docstring for the rules."""
    if b"@" not in data:
        return
    for idx, raw, is_ascii in _scan(data):
        norm = normalise(raw)
        if norm is not None:
            yield EmailFinding(idx, norm[0], raw, norm[1], "ascii" if is_ascii else "utf-8")
    if b"@\x00" in data or b"\x00@" in data:
        yield from _extract_utf16(data)


def _extract_utf16(data: bytes) -> Iterator[EmailFinding]:
    """Addresses in UTF-16: look around each `@` code unit, narrow that span, scan it.

    ASCII text in UTF-16LE and UTF-16BE is the same byte sequence shifted by one, so the
    byte order is ambiguous locally: both readings are tried and the longer address wins
    (it differs only at the edges of a string); on a tie LE (Windows) wins unless the
    window starts with a BE byte-order mark.
    """
    n = len(data)
    be_first = data[:2] == b"\xfe\xff"
    seen: set[int] = set()
    hits = sorted({m.start() for m in _UTF16_AT_LE.finditer(data)} | {m.start() + 1 for m in _UTF16_AT_BE.finditer(data)})
    for at in hits:  # byte offsets of '@'
        best: tuple[int, str, str] | None = None
        orders = (("utf-16be", at - 1), ("utf-16le", at)) if be_first else (("utf-16le", at), ("utf-16be", at - 1))
        for enc, unit in orders:
            if unit < 0 or (enc == "utf-16le" and (at + 1 >= n or data[at + 1] != 0)) or (enc == "utf-16be" and data[at - 1] != 0):
                continue
            found = _around(data, unit, enc)
            if found is not None and (best is None or len(found[1]) > len(best[1])):
                best = found
        if best is None or best[0] in seen:
            continue
        seen.add(best[0])
        norm = normalise(best[1])
        if norm is not None:
            yield EmailFinding(best[0], norm[0], best[1], norm[1], best[2])


def _around(data: bytes, unit: int, enc: str) -> tuple[int, str, str] | None:
    """(data offset, raw, encoding) of the address whose '@' code unit starts at `unit`."""
    lo = unit - 2 * min(_UTF16_SPAN // 2, unit // 2)
    hi = min(len(data), unit + _UTF16_TAIL)
    hi -= (hi - lo) % 2
    pair = data[lo:hi]
    narrow = pair[1::2] if enc == "utf-16be" else pair[0::2]
    rel_at = (unit - lo) // 2
    for idx, raw, is_ascii in _scan(narrow):
        if not is_ascii or idx > rel_at or idx + len(raw) <= rel_at:
            continue  # only the address around this '@'; others come from their own hit
        off = lo + 2 * idx
        if data[off:off + 2 * len(raw)] != raw.encode(enc):
            return None  # a non-ASCII code unit whose low byte looked like a letter
        return off, raw, enc
    return None


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="emails",
    extract=extract,
    description="E-mail addresses (ASCII, UTF-8, UTF-16LE/BE), validated offline, IDNA-normalised",
)
