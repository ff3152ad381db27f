"""Binary login records (extractors.utmp): wtmp/btmp written by util-linux `utmpdump -r` and read
back by `utmpdump` and `last -f` as the oracles, record alignment across the pipeline's
overlapping windows, the 400-byte form, lastlog, and carving from unallocated space."""
from __future__ import annotations

import os
import random
import struct
import subprocess
import time
from pathlib import Path

import pytest

from extractors.base import Source
from extractors.utmp import CARVER, LASTLOG_EXTRACTOR, UTMP, UTMP_400, extract_carved, extract_lastlog, extract_utmp
from seized.scanning import NO_MAP, ObjectContext, Rows, scan_window, windows
from tests import imaging
from tests.operator_plants import lastlog_bytes, utmp_bytes

UNALLOCATED = Source(None, None, None, None)
TYPE_NAMES = {"1": "RUN_LVL", "2": "BOOT_TIME", "5": "INIT_PROCESS", "6": "LOGIN_PROCESS", "7": "USER_PROCESS",
              "8": "DEAD_PROCESS"}


def _src(path: str, data: bytes, window_offset: int = 0) -> Source:
    return Source(None, path, None, path.rsplit("/", 1)[-1], len(data), window_offset)


def _dump_lines(n: int, seed: int = 7) -> str:
    """`n` utmpdump text records: sessions from many hosts, logouts, boots."""
    rnd = random.Random(seed)
    out = []
    t = 1_790_000_000
    for i in range(n):
        t += rnd.randint(1, 5000)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f",{rnd.randint(0, 999999):06d}+00:00"
        kind = rnd.choice("7778821")
        pid = rnd.randint(1, 4_000_000) if kind != "2" else 0
        tty = f"pts/{rnd.randint(0, 40)}"
        if kind == "7":
            ip = f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
            user = rnd.choice(["root", "cosma", "bob", "deploy", "a" * 32])
            out.append(f"[7] [{pid:05d}] [ts/{i % 10}] [{user}] [{tty}] [{ip}] [{ip}] [{stamp}]")
        elif kind == "8":
            out.append(f"[8] [{pid:05d}] [ts/{i % 10}] [] [{tty}] [] [0.0.0.0] [{stamp}]")
        elif kind == "2":
            out.append(f"[2] [00000] [~~  ] [reboot] [~] [6.1.0-18-amd64] [0.0.0.0] [{stamp}]")
        else:
            out.append(f"[1] [00051] [~~  ] [runlevel] [~] [6.1.0-18-amd64] [0.0.0.0] [{stamp}]")
    return "\n".join(out) + "\n"


def _utmpdump(path: Path) -> list[list[str]]:
    out = subprocess.run([imaging.tool("utmpdump"), str(path)], capture_output=True, text=True, check=True).stdout
    return [[f.strip() for f in line.strip()[1:-1].split("] [")] for line in out.splitlines() if line.startswith("[")]


@pytest.fixture(scope="module")
def wtmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wtmp") / "wtmp"
    try:
        path.write_bytes(utmp_bytes(_dump_lines(600)))
    except imaging.ImagingError as exc:
        pytest.skip(str(exc))
    return path


def _same_as_utmpdump(found: list, dumped: list[list[str]]) -> None:
    assert len(found) == len(dumped)
    for r, (typ, pid, _id, user, line, host, addr, when) in zip(found, dumped):
        assert r.service == TYPE_NAMES[typ]
        assert (r.pid or 0) == int(pid)
        assert (r.user or "", r.terminal or "", r.remote_host or "") == (user, line, host)
        assert r.time == when[:19] + "Z"
        if addr != "0.0.0.0":
            assert r.remote_ip == addr


def test_every_record_agrees_with_utmpdump(wtmp: Path) -> None:
    data = wtmp.read_bytes()
    found = list(extract_utmp(data, _src("/var/log/wtmp", data)))
    assert [f.offset for f in found] == list(range(0, len(data), 384))
    _same_as_utmpdump(found, _utmpdump(wtmp))


def test_sessions_agree_with_last(wtmp: Path) -> None:
    data = wtmp.read_bytes()
    found = list(extract_utmp(data, _src("/var/log/wtmp", data)))
    out = subprocess.run([imaging.tool("last"), "-f", str(wtmp), "-w", "-i", "--time-format", "iso"],
                         capture_output=True, text=True, check=True).stdout
    last = []
    for line in out.splitlines():
        p = line.split()
        if len(p) < 4 or line.startswith("wtmp begins"):
            continue
        if p[0] == "reboot":  # reboot   system boot  KERNEL  START ...
            last.append(("reboot", "~", p[4][:19]))
        else:  # USER  TTY  HOST  START ...
            last.append((p[0], p[1], p[3][:19]))
    ours = [(f.user, f.terminal, f.time[:19]) for f in found if f.result in ("login", "boot")]
    assert sorted(last) == sorted(ours)


def test_btmp_records_are_failures(tmp_path: Path) -> None:
    data = utmp_bytes("[6] [05000] [    ] [admin   ] [ssh:notty   ] [198.51.100.9 ] [198.51.100.9 ] "
                      "[2026-12-01T10:05:09,000000+00:00]\n")
    (f,) = extract_utmp(data, _src("/var/log/btmp.1", data))
    assert (f.source, f.result, f.user, f.remote_ip) == ("btmp", "failed", "admin", "198.51.100.9")


@pytest.mark.parametrize("block", [1000, 4096, 384 * 7 + 5])
def test_windows_read_each_record_once_at_its_object_offset(wtmp: Path, block: int) -> None:
    data = wtmp.read_bytes()
    ctx = ObjectContext("v", 12, None, "/var/log/wtmp", None, "wtmp", len(data), NO_MAP)
    rows = Rows()
    blocks = (data[i:i + block] for i in range(0, len(data), block))
    for w in windows(blocks, overlap=500):
        scan_window(w, ctx, (UTMP,), rows)
    offsets = sorted(o for t in rows.batches["logins"] for o in t.column("offset").to_pylist())
    assert offsets == list(range(0, len(data), 384))


def test_400_byte_form() -> None:
    recs = b""
    for i, (typ, user, tty, host, sec) in enumerate([(7, b"cosma", b"pts/0", b"203.0.113.7", 1_796_000_000),
                                                     (8, b"", b"pts/0", b"", 1_796_000_600)]):
        recs += UTMP_400.pack(typ, 100 + i, tty, b"ts/0", user, host, 0, 0, 0, sec, 0, bytes([203, 0, 113, 7]) + bytes(12)
                              if typ == 7 else bytes(16), bytes(20))
    recs *= 24  # 19200 bytes: both 384 and 400 divide it, the content decides
    found = list(extract_utmp(recs, _src("/var/log/wtmp", recs)))
    assert len(found) == 48
    assert (found[0].user, found[0].terminal, found[0].remote_ip, found[0].time) == (
        "cosma", "pts/0", "203.0.113.7", "2026-11-30T00:53:20Z")
    assert found[1].result == "logout"


def test_bytes_that_are_not_utmp_yield_nothing() -> None:
    for data in (b"hello world\n" * 1000, os.urandom(384 * 20), bytes(384 * 20)):
        assert list(extract_utmp(data, _src("/var/log/wtmp", data))) == []
    data = utmp_bytes(_dump_lines(3))
    assert list(extract_utmp(data, _src("/var/log/wtmp.gz", data))) == []  # compressed copy's raw bytes
    assert list(extract_utmp(data, _src("/home/x/notes.txt", data))) == []


def test_lastlog_by_uid_and_across_windows() -> None:
    data = lastlog_bytes({0: (1_796_300_000, "pts/1", "2001:db8::5"), 1000: (1_796_320_000, "pts/0", "203.0.113.7"),
                          65534: (1_796_000_000, "tty1", "")})
    found = list(extract_lastlog(data, _src("/var/log/lastlog", data)))
    assert [(f.uid, f.terminal, f.remote_host, f.remote_ip) for f in found] == [
        (0, "pts/1", "2001:db8::5", "2001:db8::5"), (1000, "pts/0", "203.0.113.7", "203.0.113.7"), (65534, "tty1", None, None)]
    ctx = ObjectContext("v", 12, None, "/var/log/lastlog", None, "lastlog", len(data), NO_MAP)
    rows = Rows()
    for w in windows((data[i:i + 100_000] for i in range(0, len(data), 100_000)), overlap=1000):
        scan_window(w, ctx, (LASTLOG_EXTRACTOR,), rows)
    uids = sorted(u for t in rows.batches["logins"] for u in t.column("uid").to_pylist())
    assert uids == [0, 1000, 65534]


def test_carving_finds_aligned_records_and_validates_them(wtmp: Path) -> None:
    records = wtmp.read_bytes()[:384 * 50]
    rnd = random.Random(3)
    noise = bytes(rnd.getrandbits(8) for _ in range(5000))
    data = noise + b"\x00" * 8 + records + noise  # 5008: 16-byte aligned, as a block-aligned file's records are
    found = list(extract_carved(data, UNALLOCATED))
    assert [f.offset for f in found] == [5008 + 384 * i for i in range(50)]
    # the alignment is in the object (the image), whatever the window's start
    shifted = Source(None, None, None, None, None, 8)  # data[8:] starts at object offset 8
    assert [f.offset for f in extract_carved(data[8:], shifted)] == [5000 + 384 * i for i in range(50)]
    assert list(extract_carved(b"\x00" * 3 + data, UNALLOCATED)) == []  # not aligned: not a block-written record
    assert all(f.source == "carved-utmp" for f in found)
    _same_as_utmpdump(found, _utmpdump(wtmp)[:50])
    # a damaged string (garbage after its NUL) or an impossible time is not a record
    bad = bytearray(records[:384])
    bad[8 + 10] = 0x41
    assert list(extract_carved(bytes(bad), UNALLOCATED)) == []
    bad = bytearray(records[:384])
    struct.pack_into("<I", bad, 340, 5)
    assert list(extract_carved(bytes(bad), UNALLOCATED)) == []
    # files are not carved (their wtmp is read as a file)
    assert list(extract_carved(data, _src("/var/log/junk", data))) == []


def test_carving_is_silent_and_fast_on_real_binaries_and_traps() -> None:
    real = b"".join(Path(p).read_bytes()[:4 << 20] for p in ("/usr/bin/ssh", "/usr/bin/python3", "/bin/bash")
                    if Path(p).exists())
    traps = {
        "binaries": real,
        "zeros": bytes(16 << 20),
        "random": random.Random(1).randbytes(16 << 20),
        "int-runs": (b"\x01\x00\x00\x00\x00\x00\x00\x00a\x00" * 1_700_000),
        "near-records": (b"\x07\x00\x00\x00\x01\x00\x00\x00pts/0" + bytes(379)) * 40_000,  # no time: rejected
    }
    for name, data in traps.items():
        t0 = time.perf_counter()
        found = list(extract_carved(data, UNALLOCATED))
        assert time.perf_counter() - t0 < 3.0, name
        assert found == [], name
    assert CARVER.table == "logins"
