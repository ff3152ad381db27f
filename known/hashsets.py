"""User hash sets (`--known-hashes`, `--notable-hashes`): NSRL RDS v3 SQLite and plain lists.

Why 64-bit prefixes in sorted numpy arrays: twenty million SHA-256 digests as Python strings
would take gigabytes and seconds to build; as the first 8 bytes of each digest they take
160 MB, load from SQLite in C (`group_concat` over rowid ranges) and from text with Arrow's
CSV reader, and are searched for a whole `files` table at once with `np.searchsorted`. A
prefix hit is only a candidate: every candidate is confirmed on the full digest against the
set's own file before a file is called known or notable, so a match is a match of the whole
hash that seized computed.

The sets are read once, by the conductor, at assembly time (workers never see them).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from caseformat.atomic import atomic_file, make_dir, write_text

ALGOS = {32: "md5", 40: "sha1", 64: "sha256"}
ALGO_ORDER = ("sha256", "sha1", "md5")  # strongest first
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_CHUNK = 250_000  # rowids per group_concat query
_HEX = re.compile(r"^[0-9a-fA-F]+$")
CHECK_BYTES = 1 << 20  # what the CLI reads of a list to tell it is one

_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _LUT[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _LUT[_c] = 10 + _i


class HashSetError(Exception):
    """A hash set that cannot be used; `str()` is one line naming the file."""


@dataclass
class HashSet:
    name: str  # the file's name: what `known_source` says for its matches
    kind: str  # "known" or "notable"
    path: Path
    format: str  # "nsrl-rds-v3" or "list"
    sha256: str = ""  # of the set's file, for the manifest
    # algo -> sorted uint64 keys. "prefix" keys: the digest's first 64 bits. "rowid" keys (RDS
    # tables): the first 32 bits of the digest, then the row's SQLite rowid, so a hit is confirmed
    # on the whole digest by reading that one row.
    prefixes: dict[str, np.ndarray] = field(default_factory=dict)
    keys: str = "prefix"  # "prefix" or "rowid"
    column: str | None = None  # RDS: the column read (sha256, sha1 or md5)
    table: str | None = None  # RDS: the table or view read
    base: str | None = None  # RDS: the table holding the rows (FILE, or METADATA under the FILE view)
    rejected: int = 0  # lines or rows that hold no hash of a known length
    sha256_utc: str = ""  # when sha256 was computed over the file (earlier when it came from the cache)
    cache: str = "not used"  # "read", "written", or why neither

    def manifest(self) -> dict:
        return {"name": self.name, "kind": self.kind, "path": str(self.path), "format": self.format,
                "sha256": self.sha256, "sha256_computed_utc": self.sha256_utc, "cache": self.cache,
                "hashes": {a: int(v.size) for a, v in sorted(self.prefixes.items())},
                "rejected": self.rejected, **({"column": f"{self.table}.{self.column}"} if self.column else {})}


def hex_prefixes(ascii_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, >=16) uint8 hex text -> (uint64 of the first 16 hex digits, valid mask)."""
    nib = _LUT[ascii_rows[:, :16]]
    valid = (nib != 255).all(axis=1)
    out = np.zeros(len(nib), dtype=np.uint64)
    for i in range(16):
        out = (out << np.uint64(4)) | nib[:, i].astype(np.uint64)
    return out, valid


def arrow_prefixes(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Prefixes of a string column of hex digests; nulls and short or non-hex values are invalid."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.string())
    n = len(column)
    if n == 0:
        return np.zeros(0, np.uint64), np.zeros(0, bool)
    ok_len = pc.fill_null(pc.greater_equal(pc.utf8_length(column), 16), False)
    head = pc.if_else(ok_len, pc.utf8_slice_codeunits(column, 0, 16), "g" * 16)  # 'g': not hex, invalid
    head = head.cast(pa.string())
    offsets = np.frombuffer(head.buffers()[1], dtype=np.int32)[head.offset: head.offset + n + 1]
    data = np.frombuffer(head.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]].reshape(n, 16)
    values, valid = hex_prefixes(data)
    return values, valid & ok_len.to_numpy(zero_copy_only=False)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(16) == SQLITE_MAGIC


# ------------------------------------------------------------------ NSRL RDS v3 (SQLite)


def _connect(path: Path) -> sqlite3.Connection:
    # read-only and immutable: sqlite writes nothing beside the set (no -wal, no -shm, no lock)
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro&immutable=1", uri=True)


def _rds_source(con: sqlite3.Connection, path: Path) -> tuple[str, str, str]:
    """(table or view to query, base table for rowid ranges, column): FILE in RDS v3 (a view
    over METADATA in the full sets, a table in the minimal ones), else a table with hash columns."""
    objects = {name.upper(): (name, typ) for name, typ in
               con.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')")}
    for candidate in ("FILE", "METADATA", "DISTINCT_HASH"):
        if candidate in objects:
            name, typ = objects[candidate]
            cols = {r[1].lower(): r[1] for r in con.execute(f'PRAGMA table_info("{name}")')}
            for algo in ALGO_ORDER:
                if algo in cols:
                    base = name
                    if typ == "view" and "METADATA" in objects:
                        base = objects["METADATA"][0]
                        mcols = {r[1].lower(): r[1] for r in con.execute(f'PRAGMA table_info("{base}")')}
                        if algo not in mcols:
                            base = None
                    elif typ == "view":
                        base = None
                    return name, base or "", cols[algo]
    raise HashSetError(f"{path}: SQLite database without an NSRL RDS v3 FILE table (sha256/sha1/md5 columns)")


def _load_rds(hs: HashSet) -> None:
    try:
        con = _connect(hs.path)
        try:
            view, base, column = _rds_source(con, hs.path)
            hs.table, hs.column, hs.base = view, column, base or None
            algo = column.lower()
            width = {"md5": 32, "sha1": 40, "sha256": 64}[algo]
            lo = hi = None
            if base:
                lo, hi = con.execute(f'SELECT min(rowid), max(rowid) FROM "{base}"').fetchone()
            if lo is not None and 0 <= lo and hi < 1 << 32:
                hs.keys = "rowid"
                values, rows_read = _rds_rowid_keys(con, base, column, width, lo, hi)
            else:
                hs.keys = "prefix"
                values, rows_read = _rds_prefix_keys(con, view, column, width)
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise HashSetError(f"{hs.path}: not readable as an NSRL RDS v3 database ({exc})") from None
    hs.rejected = int(rows_read - values.size)
    values.sort()  # duplicates do no harm to np.searchsorted; not removing them saves a copy
    hs.prefixes[algo] = values


def _rds_rowid_keys(con: sqlite3.Connection, base: str, column: str, width: int, lo: int,
                    hi: int) -> tuple[np.ndarray, int]:
    """Keys (32-bit digest prefix, rowid) of every row, read by rowid range. Whole digests are
    concatenated in C by SQLite (its substr per row costs more than moving them) and cut by
    numpy; a range with gaps in its rowids or a value that is not a digest is read row by row."""
    values = np.empty(hi - lo + 1, dtype=np.uint64)  # the rowid span bounds the rows: filled in place
    good = rows_read = 0
    fast = f'SELECT group_concat("{column}", \'\'), count(*) FROM "{base}" WHERE rowid >= ? AND rowid < ?'
    slow = (f'SELECT rowid, "{column}" FROM "{base}" WHERE rowid >= ? AND rowid < ? '
            f'AND length("{column}") = {width}')
    for start in range(lo, hi + 1, SQLITE_CHUNK):
        end = min(start + SQLITE_CHUNK, hi + 1)
        text, count = con.execute(fast, (start, end)).fetchone()
        rows_read += count
        if not count:
            continue
        keys = None
        if count == end - start and text and len(text) == width * count and text.isascii():
            heads = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(count, width)[:, :8]
            try:
                top = np.frombuffer(bytes.fromhex(heads.tobytes().decode("ascii")), dtype=">u4").astype(np.uint64)
                keys = (top << np.uint64(32)) | np.arange(start, end, dtype=np.uint64)
            except ValueError:
                keys = None
        if keys is None:
            rows = con.execute(slow, (start, end)).fetchall()
            if not rows:
                continue
            text = "".join(r[1][:16] for r in rows)
            raw = np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8).reshape(len(rows), 16)
            prefix, valid = hex_prefixes(raw)
            rowids = np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))
            keys = ((prefix >> np.uint64(32)) << np.uint64(32) | rowids)[valid]
        values[good: good + keys.size] = keys
        good += keys.size
    return values[:good], rows_read


def _rds_prefix_keys(con: sqlite3.Connection, view: str, column: str, width: int) -> tuple[np.ndarray, int]:
    """64-bit prefixes of a FILE view without a rowid table under it (not the RDS layout)."""
    total = con.execute(f'SELECT count(*) FROM "{view}"').fetchone()[0]
    values = np.empty(total, dtype=np.uint64)
    good = 0
    cur = con.execute(f'SELECT substr("{column}", 1, 16) FROM "{view}" WHERE length("{column}") = {width}')
    while rows := cur.fetchmany(SQLITE_CHUNK):
        got = _prefixes_from_text("".join(r[0] for r in rows))[: total - good]
        values[good: good + got.size] = got
        good += got.size
    return values[:good], total


def _prefixes_from_text(text: str) -> np.ndarray:
    """Concatenated 16-hex-digit prefixes -> uint64; bytes.fromhex does it in C, the lookup
    table only when some digit is not hex (those prefixes are dropped)."""
    try:
        return np.frombuffer(bytes.fromhex(text), dtype=">u8").astype(np.uint64)
    except ValueError:
        raw = np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8)
        values, valid = hex_prefixes(raw[: raw.size - raw.size % 16].reshape(-1, 16))
        return values[valid]


def _rows_by_rowid(hs: HashSet, rowids: list[int]) -> dict[int, str]:
    """rowid -> lower-case digest, for the rows a key named (primary-key look-ups, no scan)."""
    out: dict[int, str] = {}
    con = _connect(hs.path)
    try:
        for i in range(0, len(rowids), 900):
            batch = rowids[i: i + 900]
            marks = ",".join("?" * len(batch))
            out.update((r, (d or "").lower()) for r, d in con.execute(
                f'SELECT rowid, "{hs.column}" FROM "{hs.base}" WHERE rowid IN ({marks})', batch))
    finally:
        con.close()
    return out


def _confirm_rds(hs: HashSet, algo: str, candidates: list[str]) -> set[str]:
    if algo != (hs.column or "").lower() or not candidates:
        return set()
    con = _connect(hs.path)
    try:
        con.execute("CREATE TEMP TABLE cand (h TEXT PRIMARY KEY)")
        both = {c.lower() for c in candidates} | {c.upper() for c in candidates}
        con.executemany("INSERT OR IGNORE INTO temp.cand VALUES (?)", [(c,) for c in both])
        rows = con.execute(f'SELECT DISTINCT lower("{hs.column}") FROM "{hs.table}" '
                           f'WHERE "{hs.column}" IN (SELECT h FROM temp.cand)').fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


# ------------------------------------------------------------------ plain lists


def _list_hashes(path: Path) -> pa.Array:
    """The first word of every line that is not blank or a comment (md5sum/sha1sum/sha256sum
    output, or one hash per line), read by Arrow's CSV reader in C."""
    opts = pcsv.ParseOptions(delimiter="\x01", quote_char=False, escape_char=False, newlines_in_values=False,
                             invalid_row_handler=lambda row: "skip")  # a line holding \x01 is no hash
    read = pcsv.ReadOptions(column_names=["line"], block_size=1 << 24)
    conv = pcsv.ConvertOptions(column_types={"line": pa.string()}, strings_can_be_null=False, check_utf8=False)
    try:
        lines = pcsv.read_csv(path, read_options=read, parse_options=opts, convert_options=conv).column("line")
    except pa.ArrowInvalid as exc:
        raise HashSetError(f"{path}: not a text hash list ({str(exc).splitlines()[0]})") from None
    lines = pc.utf8_trim_whitespace(lines)
    lines = lines.filter(pc.invert(pc.or_(pc.equal(lines, ""), pc.starts_with(lines, "#"))))
    first = pc.list_element(pc.split_pattern_regex(lines, r"\s+", max_splits=1), 0)
    return pc.ascii_lower(first).combine_chunks() if isinstance(first, pa.ChunkedArray) else pc.ascii_lower(first)


def _load_list(hs: HashSet) -> None:
    words = _list_hashes(hs.path)
    lengths = pc.utf8_length(words)
    used = 0
    for width, algo in ALGOS.items():
        picked = words.filter(pc.equal(lengths, width))
        if len(picked) == 0:
            continue
        values, valid = arrow_prefixes(picked)
        values = values[valid]
        values.sort()
        hs.prefixes[algo] = values
        used += int(valid.sum())
    hs.rejected = len(words) - used
    if not hs.prefixes:
        raise HashSetError(f"{hs.path}: no MD5, SHA-1 or SHA-256 hash found (one per line, or md5sum output)")


def _confirm_list(hs: HashSet, algo: str, candidates: list[str]) -> set[str]:
    words = _list_hashes(hs.path)
    found = words.filter(pc.is_in(words, value_set=pa.array([c.lower() for c in candidates], pa.string())))
    return set(found.to_pylist())


# ------------------------------------------------------------------ public


def check_hash_set(path: Path) -> None:
    """Cheap checks for the CLI (before a cluster starts): readable, and of a format we read."""
    if not path.is_file():
        raise HashSetError(f"{path}: not a file")
    try:
        if _is_sqlite(path):
            con = _connect(path)
            try:
                _rds_source(con, path)
            finally:
                con.close()
        else:
            with open(path, "rb") as fh:
                head = fh.read(CHECK_BYTES)
            words = (line.split(maxsplit=1)[0] for line in head.splitlines()[:-1 if len(head) == CHECK_BYTES else None]
                     if line.strip() and not line.lstrip().startswith(b"#"))
            if not any(len(w) in ALGOS and _HEX.match(w.decode("latin-1")) for w in words):
                raise HashSetError(f"{path}: no MD5, SHA-1 or SHA-256 hash in its first lines "
                                   "(not NSRL RDS v3 SQLite, nor one hash per line or md5sum output)")
    except sqlite3.Error as exc:
        raise HashSetError(f"{path}: not readable as an NSRL RDS v3 database ({exc})") from None
    except OSError as exc:
        raise HashSetError(f"{path}: {exc.strerror}") from None


def load_hash_set(path: Path, kind: str, cache: Path | None | bool = True) -> HashSet:
    """Read a set (or its cached arrays: `cache` True = cache_dir(), a Path, or False = none)."""
    path = Path(path)
    check_hash_set(path)
    hs = HashSet(name=path.name, kind=kind, path=path, format="nsrl-rds-v3" if _is_sqlite(path) else "list")
    folder = cache_dir() if cache is True else (cache or None)
    key = _cache_key(path)
    if folder is not None and _cache_read(hs, folder, key):
        return hs
    # the file's SHA-256 on a second thread while the hashes are read (hashlib and sqlite both
    # release the GIL): a 3 GB set costs the longer of the two, not their sum
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seized-set-sha256") as pool:
        digest = pool.submit(_file_sha256, path)
        (_load_rds if hs.format == "nsrl-rds-v3" else _load_list)(hs)
        hs.sha256 = digest.result()
    hs.sha256_utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if folder is not None:
        hs.cache = _cache_write(hs, folder, key)
    return hs


# ------------------------------------------------------------------ cache
#
# Why: the same NSRL set is used for every drive of a case (twenty, in Rustock), and reading
# 20M rows from SQLite costs seconds each time. The sorted prefixes are kept as .npy files and
# memory-mapped on later loads, with the set's SHA-256 computed when they were written. An
# entry is used only while the set's file is the same file, unchanged: device, inode, size,
# modification time and status-change time (which no user can set back) all equal. The cache
# holds hashes of public or examiner-made sets only, never anything from the evidence.

CACHE_FORMAT = 2


def cache_dir() -> Path:
    """$SEIZED_CACHE_DIR, else $XDG_CACHE_HOME/seized/hashsets, else ~/.cache/seized/hashsets."""
    if os.environ.get("SEIZED_CACHE_DIR"):
        return Path(os.environ["SEIZED_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "seized" / "hashsets"


def _cache_key(path: Path) -> str:
    st = path.stat()
    text = f"{CACHE_FORMAT}\0{path.resolve()}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _cache_read(hs: HashSet, folder: Path, key: str) -> bool:
    meta_path = folder / f"{key}.json"
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != hs.format or meta.get("cache_format") != CACHE_FORMAT:
            return False
        prefixes = {a: np.load(folder / f"{key}.{a}.npy", mmap_mode="r") for a in meta["algos"]}
    except (OSError, ValueError, KeyError):
        return False
    if _cache_key(hs.path) != key:  # changed while we read the entry
        return False
    hs.prefixes = prefixes
    hs.sha256, hs.sha256_utc, hs.rejected = meta["sha256"], meta["sha256_utc"], meta["rejected"]
    hs.column, hs.table, hs.base, hs.keys = meta.get("column"), meta.get("table"), meta.get("base"), meta["keys"]
    hs.cache = f"read ({folder})"
    return True


def _cache_write(hs: HashSet, folder: Path, key: str) -> str:
    try:
        make_dir(folder)
        for algo, values in hs.prefixes.items():
            with atomic_file(folder / f"{key}.{algo}.npy") as fh:
                np.save(fh, np.ascontiguousarray(values))
        meta = {"cache_format": CACHE_FORMAT, "path": str(hs.path.resolve()), "format": hs.format,
                "sha256": hs.sha256, "sha256_utc": hs.sha256_utc, "rejected": hs.rejected,
                "column": hs.column, "table": hs.table, "base": hs.base, "keys": hs.keys,
                "algos": sorted(hs.prefixes)}
        write_text(folder / f"{key}.json", json.dumps(meta, sort_keys=True))  # last: an entry without its json is never read
    except OSError as exc:
        return f"not written: {exc.strerror or exc}"
    return f"written ({folder})"


def match(hs: HashSet, algo: str, digests: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Boolean mask: which of `digests` (hex; nulls allowed) are in the set on the whole hash."""
    n = len(digests)
    table = hs.prefixes.get(algo)
    if table is None or table.size == 0 or n == 0:
        return np.zeros(n, dtype=bool)
    if isinstance(digests, pa.ChunkedArray):
        digests = digests.combine_chunks() if digests.num_chunks else pa.array([], pa.string())
    values, valid = arrow_prefixes(digests)
    if hs.keys == "rowid":
        low = (values >> np.uint64(32)) << np.uint64(32)
        left = np.searchsorted(table, low, side="left")
        right = np.searchsorted(table, low | np.uint64(0xFFFFFFFF), side="right")
        idx = np.flatnonzero(valid & (right > left))
        if idx.size == 0:
            return np.zeros(n, dtype=bool)
        mask32 = np.uint64(0xFFFFFFFF)
        wanted = {int(r) for i in idx for r in table[left[i]: right[i]] & mask32}  # about one row per hit
        stored = _rows_by_rowid(hs, sorted(wanted))
        files = pc.ascii_lower(digests.take(pa.array(idx))).to_pylist()
        out = np.zeros(n, dtype=bool)
        for i, digest in zip(idx, files):
            out[i] = any(stored.get(int(r)) == digest for r in table[left[i]: right[i]] & mask32)
        return out
    pos = np.searchsorted(table, values)
    hit = valid & (pos < table.size) & (table[np.minimum(pos, table.size - 1)] == values)
    if not hit.any():
        return hit
    idx = np.flatnonzero(hit)
    cand = pc.ascii_lower(digests.take(pa.array(idx)))
    unique = pc.unique(cand).to_pylist()
    confirmed = (_confirm_rds if hs.format == "nsrl-rds-v3" else _confirm_list)(hs, algo, unique)
    ok = pc.is_in(cand, value_set=pa.array(sorted(confirmed), pa.string())).to_numpy(zero_copy_only=False)
    out = np.zeros(n, dtype=bool)
    out[idx] = ok
    return out
