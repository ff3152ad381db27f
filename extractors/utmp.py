"""Binary login records: `wtmp`/`btmp`/`utmp`, `lastlog`, and utmp records carved from
unallocated space. All go to the `logins` table (see extractors.logins.LoginFinding).

Formats (glibc, Linux):
* `struct utmp`, 384 bytes on x86-64 (and every glibc with __WORDSIZE_TIME64_COMPAT32):
  ut_type (short + 2 pad), ut_pid, ut_line[32], ut_id[4], ut_user[32], ut_host[256],
  ut_exit (2 shorts), ut_session (int32), ut_tv (int32 sec, int32 usec), ut_addr_v6[4],
  20 reserved bytes. The 400-byte form has a 64-bit session and 64-bit timeval (musl, some
  64-bit ABIs). A file's form is told by its size and, when both divide it, by which form
  reads more valid records.
* `lastlog`: 292-byte records (int32 ll_time, ll_line[32], ll_host[256]) indexed by uid;
  the file is sparse, so only non-zero records are read (found by a C-speed search).
* Carving: in unallocated space (no path) a vectorised numpy pass over the 16-byte-aligned
  offsets and a compiled regex find candidate record heads (type 1-8 as int32, a pid below
  2^22, a printable ut_line, user and host), then each candidate
  is validated as bulk_extractor's scan_utmp does: every string NUL-terminated and NUL-padded
  with printable characters before the NUL, tv_sec in 1980..2100, tv_usec below 10^6, the
  reserved bytes zero.

Records are aligned on their offset in the object (Source.window_offset), so the pipeline's
overlapping windows read them exactly where `last -f` and `utmpdump` do.
"""
from __future__ import annotations

import ipaddress
import posixpath
import re
import struct
from typing import Iterator

import numpy as np

from extractors._unix import MAX_EPOCH, MIN_EPOCH, is_compressed, iso_utc, object_path
from extractors.base import Extractor, Source
from extractors.logins import LoginFinding

VERSION = "1.0.0"
CARVE_ALIGN = 16  # see extract_carved
UTMP_384 = struct.Struct("<h2xi32s4s32s256shhiII16s20s")
UTMP_400 = struct.Struct("<h2xi32s4s32s256shhqqq16s20s4x")
LASTLOG = struct.Struct("<I32s256s")
assert UTMP_384.size == 384 and UTMP_400.size == 400 and LASTLOG.size == 292

TYPES = {1: "RUN_LVL", 2: "BOOT_TIME", 3: "NEW_TIME", 4: "OLD_TIME", 5: "INIT_PROCESS", 6: "LOGIN_PROCESS",
         7: "USER_PROCESS", 8: "DEAD_PROCESS"}
_WTMP_NAME = re.compile(r"(wtmp|btmp|utmp)(?:[.-][A-Za-z0-9_.-]*)?")
_LASTLOG_NAME = re.compile(r"lastlog(?:[.-][A-Za-z0-9_.-]*)?")
_PRINTABLE = bytes(range(0x20, 0x7F))
_HOST_OK = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))  # ut_host may hold UTF-8 names
# A record's first 332 bytes (common to both forms): int32 type 1..8, a pid below 2^22, ut_line
# starting with a visible character, then line, user and host made of printable bytes and NULs
# only (ut_id is free). The whole test runs in C; Python validates the few candidates left.
_HEAD = re.compile(rb"[\x01-\x08]\x00\x00\x00[\x00-\xff]{2}[\x00-\x3f]\x00[\x21-\x7e][\x00\x20-\x7e]{31}"
                   rb"[\x00-\xff]{4}[\x00\x20-\x7e]{32}[\x00\x20-\xff]{256}")
_NONZERO = re.compile(rb"[^\x00]")


def _field(raw: bytes, allowed: bytes = _PRINTABLE) -> str | None:
    """A NUL-terminated char array as text; None when it is not a clean C string.

    Clean means printable up to the first NUL and nothing but NULs after it (what glibc's
    strncpy into a zeroed record writes); that is the carving test of bulk_extractor.
    """
    value, _, rest = raw.partition(b"\x00")
    if rest.strip(b"\x00") or value.translate(None, allowed):
        return None
    return value.decode("utf-8", "replace")


def _loose(raw: bytes) -> str:
    """A char array from a file known to be a utmp file: up to the first NUL, as `last` reads it."""
    return raw.split(b"\x00", 1)[0].decode("utf-8", "replace")


def _addr(addr: bytes) -> str | None:
    if addr == bytes(16):
        return None
    if addr[4:] == bytes(12):
        return str(ipaddress.IPv4Address(addr[:4]))
    return str(ipaddress.IPv6Address(addr))


def _result(kind: str, ut_type: int, user: str) -> str:
    if kind == "btmp":
        return "failed"
    if ut_type == 7:
        return "login"
    if ut_type == 8:
        return "logout"
    if ut_type == 2:
        return "boot"
    if ut_type == 1:
        return "shutdown" if user == "shutdown" else "runlevel"
    if ut_type in (3, 4):
        return "time_change"
    if ut_type == 5:
        return "init"
    return "login_process"


def _finding(off: int, kind: str, rec: tuple, strict: bool) -> LoginFinding | None:
    ut_type, pid, line, _id, user, host, _term, _exit, _session, sec, usec, addr, reserved = rec
    if ut_type not in TYPES or not 0 <= usec < 1_000_000:
        return None
    if strict:
        fields = (_field(line), _field(user), _field(host, _HOST_OK))
        if None in fields or reserved.strip(b"\x00") or not (MIN_EPOCH <= sec < MAX_EPOCH) or pid < 0:
            return None
        line_s, user_s, host_s = fields
    else:
        line_s, user_s, host_s = _loose(line), _loose(user), _loose(host)
    ip = _addr(addr)
    if ip is None and host_s:
        try:
            ip = str(ipaddress.ip_address(host_s))
        except ValueError:
            ip = None
    return LoginFinding(off, kind, iso_utc(sec), False, user_s or None, _result(kind, ut_type, user_s), None, ip,
                        None, None, None, line_s or None, None, TYPES[ut_type], None, pid or None,
                        host_s or None, None, None, None)


def utmp_kind(source: Source) -> str | None:
    name = posixpath.basename(object_path(source))
    if is_compressed(name) or not _WTMP_NAME.fullmatch(name):
        return None
    return name[:4]


def _valid_count(data: bytes, start: int, layout: struct.Struct, most: int = 8) -> int:
    n = 0
    for i in range(most):
        off = start + i * layout.size
        if off + layout.size > len(data):
            break
        rec = layout.unpack_from(data, off)
        n += rec[0] in TYPES and _field(rec[2]) is not None and _field(rec[4]) is not None
    return n


def _layout(data: bytes, source: Source) -> struct.Struct:
    size = source.object_size
    if size:
        fits = [lay for lay in (UTMP_384, UTMP_400) if size % lay.size == 0]
        if len(fits) == 1:
            return fits[0]
    starts = {lay: (-source.window_offset) % lay.size for lay in (UTMP_384, UTMP_400)}
    return max((UTMP_384, UTMP_400), key=lambda lay: (_valid_count(data, starts[lay], lay), lay is UTMP_384))


def extract_utmp(data: bytes, source: Source) -> Iterator[LoginFinding]:
    """Records of a wtmp/btmp/utmp file (rotated copies too), in file order."""
    kind = utmp_kind(source)
    if kind is None:
        return
    layout = _layout(data, source)
    size = layout.size
    start = (-source.window_offset) % size
    for off in range(start, len(data) - size + 1, size):
        rec = layout.unpack_from(data, off)
        if rec[0] == 0:  # EMPTY: an unused slot
            continue
        found = _finding(off, kind, rec, strict=False)
        if found is not None and (found.terminal or found.user) and _field(rec[2]) is not None:
            yield found


def extract_lastlog(data: bytes, source: Source) -> Iterator[LoginFinding]:
    """Every non-empty lastlog record: the uid's last login (time, tty, host)."""
    name = posixpath.basename(object_path(source))
    if is_compressed(name) or not _LASTLOG_NAME.fullmatch(name):
        return
    size = LASTLOG.size
    first = (-source.window_offset) % size
    pos = first
    while True:
        m = _NONZERO.search(data, pos)
        if m is None:
            break
        if m.start() < first:  # the tail of a record that began in the window before
            pos = first
            continue
        off = first + (m.start() - first) // size * size
        if off + size > len(data):
            break
        pos = off + size
        sec, line, host = LASTLOG.unpack_from(data, off)
        line_s, host_s = _field(line), _field(host, _HOST_OK)
        if not sec or line_s is None or host_s is None:
            continue
        ip = None
        try:
            ip = str(ipaddress.ip_address(host_s)) if host_s else None
        except ValueError:
            pass
        uid = (source.window_offset + off) // size
        yield LoginFinding(off, "lastlog", iso_utc(sec), False, None, "last_login", None, ip, None, None, None,
                           line_s or None, None, "lastlog", None, None, host_s or None, None, None, uid)


def _aligned_heads(data: bytes, window_offset: int) -> Iterator[int]:
    """Offsets in `data` of CARVE_ALIGN-aligned (in the object) candidate record heads.

    One vectorised pass over every aligned 16-byte row: type byte 1..8, three zero bytes (the
    int32 type), the pid's top byte zero, ut_line's first byte visible, then tv_sec in range
    for the rows left. Python sees only rows that pass; the regex and field checks run on those.
    """
    start = (-window_offset) % CARVE_ALIGN
    rows = (len(data) - start) // CARVE_ALIGN
    if rows <= 0:
        return iter(())
    a = np.frombuffer(data, dtype=np.uint8, count=rows * CARVE_ALIGN, offset=start).reshape(rows, CARVE_ALIGN)
    t = a[:, 0]
    mask = (t >= 1) & (t <= 8) & (a[:, 1] == 0) & (a[:, 2] == 0) & (a[:, 3] == 0) & (a[:, 7] == 0)
    mask &= (a[:, 8] >= 0x21) & (a[:, 8] <= 0x7E)
    idx = np.flatnonzero(mask)
    idx = idx[idx + UTMP_384.size // CARVE_ALIGN <= rows]
    if len(idx):  # tv_sec in range: at +340 (int32, 384-byte form) or +344 (int64, 400-byte form)
        u = np.frombuffer(data, dtype="<u4", count=rows * 4, offset=start).reshape(rows, 4)
        tv = idx + 340 // CARVE_ALIGN  # the row holding bytes 336..351
        t384, t400, t400_high = u[tv, 1], u[tv, 2], u[tv, 3]
        ok = ((t384 >= MIN_EPOCH) & (t384 < MAX_EPOCH)) | ((t400 >= MIN_EPOCH) & (t400 < MAX_EPOCH) & (t400_high == 0))
        idx = idx[ok]
    return (int(i) * CARVE_ALIGN + start for i in idx)


def extract_carved(data: bytes, source: Source) -> Iterator[LoginFinding]:
    """utmp records (384- and 400-byte forms) in unallocated space, validated field by field.

    Records are looked for at offsets aligned to CARVE_ALIGN in the object (the image, for
    unallocated space): a file's records lie at multiples of 384 or 400 from its start, and
    files start on block boundaries (at least 512-byte aligned), so every record that was
    written into one block lies 128- (384-byte form) or 16-byte (400-byte form) aligned.
    A record wholly inside the window is read; the pipeline keeps it in the window that owns
    its first byte (windows overlap by far more than a record).
    """
    if source.path is not None or source.member is not None:
        return
    end = len(data)
    head = _HEAD.match
    for off in _aligned_heads(data, source.window_offset):
        if head(data, off) is None:
            continue
        for layout in (UTMP_384, UTMP_400):
            if off + layout.size <= end:
                found = _finding(off, "carved-utmp", layout.unpack_from(data, off), strict=True)
                if found is not None:
                    yield found
                    break


UTMP = Extractor(
    name="utmp",
    version=VERSION,
    table="logins",
    finding=LoginFinding,
    extract=extract_utmp,
    description="wtmp/btmp/utmp records (glibc struct utmp, 384- and 400-byte forms)",
)
LASTLOG_EXTRACTOR = Extractor(
    name="lastlog",
    version=VERSION,
    table="logins",
    finding=LoginFinding,
    extract=extract_lastlog,
    description="lastlog records (last login per uid)",
)
CARVER = Extractor(
    name="utmp_carver",
    version=VERSION,
    table="logins",
    finding=LoginFinding,
    extract=extract_carved,
    description="utmp records carved from unallocated space, validated as bulk_extractor's scan_utmp",
)
