"""Is a file a harvested address list? A whole-file judgement over its `emails` findings.

Why a judgement and not an extractor: the decision needs every address of the file, while
extractors see one window at a time. The registry lists it (`JUDGEMENT`) as a per-object
judgement that consumes the `emails` table: the pipeline feeds an `AddressTally` each window's
`emails` findings and, after the last window, asks it for its verdict, which
`judge_harvest_list`'s rule makes from the file's normalised addresses (duplicates included) and size.

Rule (documented in the report): a file is a harvest list when addresses dominate it:
at least `MIN_UNIQUE` distinct addresses, and addresses (plus one separator byte each)
make up at least `MIN_DENSITY` of the file's bytes, and at least `MIN_BARE_SHARE` of the
addresses stand bare on their line (1.1.0): nothing but blanks, quotes or `<` before the
address, and after it at most one separator and one token (`addr:password`, `addr;us`).
A mailbox or a web page quoting a few dozen addresses fails the density test; a credits file
(`AUTHORS`, `THANKS`, a Debian `copyright`) fails the bare test, because names, roles and
years surround each address; a one-address-per-line dump passes both.
"""
from __future__ import annotations

from collections import Counter
import re
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Callable, Iterable, Sequence

import numpy as np

from extractors.base import Judgement

VERSION = "1.1.0"
MIN_UNIQUE = 10
MIN_DENSITY = 0.25
MIN_BARE_SHARE = 0.5
_BEFORE_BARE = re.compile(rb"[ \t\"'<(\[]*")
_AFTER_BARE = re.compile(rb"[>\"')\]]*[ \t]*(?:[:;,|\t][ \t]*[^ \t\r\n]*)?[ \t\r]*")
TOP_DOMAINS = 10


@dataclass(frozen=True, slots=True)
class HarvestList:
    addresses: int  # addresses found, duplicates included
    unique: int  # distinct addresses
    distinct_domains: int
    top_domains: list[str]  # up to 10, by count (descending) then name
    density: float  # share of the file's bytes that are addresses (+1 separator each)


def _line_around(data: bytes, start: int, end: int, wide: bool) -> tuple[bytes, bytes]:
    """The bytes of the line before `start` and after `end` (NULs of UTF-16 dropped)."""
    nl = b"\n\x00" if wide else b"\n"
    line_start = data.rfind(nl, 0, start)
    line_start = 0 if line_start < 0 else line_start + len(nl)
    line_end = data.find(nl, end)
    line_end = len(data) if line_end < 0 else line_end
    before, after = data[line_start:start], data[end:line_end]
    if wide:
        before, after = before.replace(b"\x00", b""), after.replace(b"\x00", b"")
    return before, after


def is_bare(data: bytes, offset: int, raw: str, encoding: str) -> bool:
    """True when the address at `offset` stands alone on its line (see the module docstring)."""
    wide = encoding.startswith("utf-16")
    length = len(raw.encode("utf-16-le" if wide else "utf-8"))
    return _span_is_bare(data, offset, offset + length, wide)


def _span_is_bare(data: bytes, start: int, end: int, wide: bool) -> bool:
    before, after = _line_around(data, start, end, wide)
    return _BEFORE_BARE.fullmatch(before) is not None and _AFTER_BARE.fullmatch(after) is not None


# `is_bare` for many ASCII/UTF-8 spans at once (the columnar path of issue 17): the two regexes as
# byte tables walked over all spans together, a bounded number of steps; a span still undecided
# after them (a long line) is judged by `_span_is_bare` itself.
_BARE_STEPS = 64
_BEFORE_OK = np.zeros(256, np.bool_)
_BEFORE_OK[list(b" \t\"'<([")] = True


def _after_dfa() -> np.ndarray:
    """`_AFTER_BARE` as a DFA over bytes (state 0: dead; every live state accepts): the subset
    construction of its NFA A = closers, B = blanks, D = blanks after a separator, E = the
    token, F = trailing blanks and CR."""
    closers, blanks, seps = set(b">\"')]"), set(b" \t"), set(b":;,|\t")
    eps = {"A": {"B"}, "B": {"F"}, "D": {"E"}, "E": {"F"}, "F": set()}

    def closure(states):
        out, todo = set(states), list(states)
        while todo:
            for nxt in eps[todo.pop()]:
                if nxt not in out:
                    out.add(nxt)
                    todo.append(nxt)
        return frozenset(out)

    def step(states, c):
        out = set()
        if "A" in states and c in closers:
            out.add("A")
        if "B" in states and c in blanks:
            out.add("B")
        if "B" in states and c in seps:
            out.add("D")
        if "D" in states and c in blanks:
            out.add("D")
        if "E" in states and c not in b" \t\r\n":
            out.add("E")
        if "F" in states and c in b" \t\r":
            out.add("F")
        return closure(out)

    ids = {frozenset(): 0, closure({"A"}): 1}
    todo, rows = [closure({"A"})], {}
    while todo:
        states = todo.pop()
        row = []
        for c in range(256):
            nxt = step(states, c) if c != 0x0A else frozenset()  # the line ends before the newline
            if nxt not in ids:
                ids[nxt] = len(ids)
                todo.append(nxt)
            row.append(ids[nxt])
        rows[ids[states]] = row
    table = np.zeros((len(ids), 256), np.int8)
    for i, row in rows.items():
        table[i] = row
    return table


_AFTER_NEXT = _after_dfa()


def bare_count(data: bytes, starts: np.ndarray, ends: np.ndarray) -> int:
    """How many of the ASCII/UTF-8 spans [starts[i], ends[i]) of `data` stand bare on their line:
    `sum(_span_is_bare(data, s, e, False))`, vectorised."""
    n = len(data)
    if not len(starts) or not n:
        return sum(_span_is_bare(data, s, e, False) for s, e in zip(starts.tolist(), ends.tolist()))
    buf = np.frombuffer(data, np.uint8)
    verdict = np.zeros(len(starts), np.int8)  # 1 bare, -1 not, 0 undecided
    # Before: blanks, quotes or `<` back to the line start (a newline or the data's start).
    pos = starts - 1
    act = np.arange(len(starts))
    ok = np.ones(len(starts), np.bool_)
    for _ in range(_BARE_STEPS):
        p = pos[act]
        at_start = p < 0
        b = buf[np.maximum(p, 0)]
        done = at_start | (b == 0x0A)
        bad = ~done & ~_BEFORE_OK[b]
        ok[act[bad]] = False
        act = act[~done & ~bad]
        if not len(act):
            break
        pos[act] -= 1
    undecided_before = np.zeros(len(starts), np.bool_)
    undecided_before[act] = True
    verdict[~ok] = -1
    # After: `_AFTER_BARE` up to the line end (a newline or the data's end).
    pos = ends.copy()
    state = np.ones(len(starts), np.int8)
    act = np.flatnonzero(ok)
    for _ in range(4 * _BARE_STEPS):
        p = pos[act]
        at_end = p >= n
        b = buf[np.minimum(p, n - 1)]
        done = at_end | (b == 0x0A)
        s = _AFTER_NEXT[state[act], b]
        dead = ~done & (s == 0)
        verdict[act[done]] = 1
        verdict[act[dead]] = -1
        live = ~done & ~dead
        act = act[live]
        if not len(act):
            break
        state[act] = s[live]
        pos[act] += 1
    verdict[undecided_before & (verdict == 1)] = 0  # after decided, before not: ask the regexes
    verdict[act] = 0
    count = int((verdict == 1).sum())
    for i in np.flatnonzero(verdict == 0).tolist():
        count += _span_is_bare(data, int(starts[i]), int(ends[i]), False)
    return count


DIGEST_BYTES = 16  # per address the tally keeps, for its distinct count
COMPACT_DIGESTS = 1 << 20  # digests gathered before duplicates among them are dropped


@dataclass
class AddressTally:
    """A file's addresses, over its windows, as what the verdict needs of them: how many,
    their bytes, their domains, how many stood bare on their line, and how many are distinct.

    Not the addresses themselves: a dense list of millions held as Python strings cost a
    worker hundreds of megabytes (issue 17). For the distinct count each address is kept as
    a 128-bit BLAKE2b digest (16 bytes, one numpy row, duplicates dropped as they gather);
    two different addresses of one file sharing a digest is a 2^-128 event per pair, as
    unlikely as anything this tool counts on. The verdict is `judge_harvest_list`'s.
    """

    count: int = 0
    bare: int = 0
    covered: int = 0  # UTF-8 bytes of the addresses, plus one separator each
    domains: Counter = field(default_factory=Counter)
    _pending: bytearray = field(default_factory=bytearray)
    _distinct: np.ndarray = field(default_factory=lambda: np.empty((0, 2), np.uint64))

    def _take(self, addresses: Iterable[str]) -> None:
        addresses = addresses if isinstance(addresses, list) else list(addresses)
        encoded = [a.encode("utf-8") for a in addresses]
        self.count += len(encoded)
        self.covered += sum(map(len, encoded)) + len(encoded)
        self.domains.update(a.rpartition("@")[2] for a in addresses)
        self._pending += b"".join([blake2b(e, digest_size=DIGEST_BYTES).digest() for e in encoded])
        if len(self._pending) >= COMPACT_DIGESTS * DIGEST_BYTES:
            self._compact()

    def _compact(self) -> None:
        if self._pending:
            fresh = np.frombuffer(bytes(self._pending), np.uint64).reshape(-1, 2)
            self._distinct = _unique_rows(np.concatenate([self._distinct, fresh]))
            self._pending = bytearray()

    def distinct(self) -> int:
        """How many different addresses the file held."""
        self._compact()
        return len(self._distinct)

    def add_spans(self, data: bytes, offsets: np.ndarray, lengths: np.ndarray, addresses: Iterable[str]) -> None:
        """`add` for ASCII/UTF-8 addresses given as columns: where each starts in `data`, its
        length there in bytes, and the normalised addresses."""
        self._take(addresses)
        self.bare += bare_count(data, offsets, offsets + lengths)

    def add(self, data: bytes, findings: Iterable) -> None:
        """Count the `emails` findings of one window (offsets relative to `data`)."""
        addresses = []
        for f in findings:
            addresses.append(f.address)
            self.bare += is_bare(data, f.offset, f.raw, f.encoding)
        self._take(addresses)

    def verdicts(self, object_size: int) -> list[HarvestList]:
        """The file's `HarvestList`, if it is one (see `judge_harvest_list`)."""
        if not self.count:
            return []
        verdict = _judge(self.count, self.distinct, self.covered, self.domains, object_size, self.bare)
        return [] if verdict is None else [verdict]


def _unique_rows(rows: np.ndarray) -> np.ndarray:
    """The distinct rows of an (n, 2) uint64 array, sorted."""
    if len(rows) < 2:
        return rows
    order = np.lexsort((rows[:, 1], rows[:, 0]))
    rows = rows[order]
    keep = np.ones(len(rows), np.bool_)
    keep[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    return rows[keep]


def judge_harvest_list(addresses: Sequence[str], object_size: int, bare: int | None = None) -> HarvestList | None:
    """A `HarvestList` summary when the addresses dominate the file, else None.

    `bare`: how many of the addresses stood bare on their line (None: not known, all count).
    """
    if not addresses:
        return None
    return _judge(len(addresses), lambda: len(set(addresses)), sum(len(a.encode("utf-8")) + 1 for a in addresses),
                  Counter(a.rpartition("@")[2] for a in addresses), object_size, bare)


def _judge(count: int, distinct: Callable[[], int], covered: int, domains: Counter, object_size: int,
           bare: int | None) -> HarvestList | None:
    """The rule, from what it needs of a file's addresses (`distinct`: asked only when needed)."""
    if not count or object_size <= 0:
        return None
    if bare is not None and bare < MIN_BARE_SHARE * count:
        return None
    unique = distinct()
    if unique < MIN_UNIQUE:
        return None
    density = min(1.0, covered / object_size)
    if density < MIN_DENSITY:
        return None
    top = sorted(domains.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_DOMAINS]
    return HarvestList(
        addresses=count,
        unique=unique,
        distinct_domains=len(domains),
        top_domains=[d for d, _ in top],
        density=round(density, 4),
    )


JUDGEMENT = Judgement(
    name="harvest_lists",
    version=VERSION,
    table="harvest_lists",
    finding=HarvestList,
    consumes="emails",
    tally=AddressTally,
    description="a file whose bytes are mostly bare e-mail addresses: a harvested address list",
)
