"""rpm's own record of what it installed: the header blobs of `rpmdb.sqlite` (RHEL/CentOS 8+,
Fedora 33+), parsed without librpm.

Why parse headers ourselves: librpm is not on an examiner's Debian box and must never open a
database from evidence in place. A header is big-endian: `il` (index entries) and `dl` (data
bytes), then `il` entries of (tag, type, offset, count), then the data. The database stores it
without the 8-byte magic that a `.rpm` file's header starts with; both forms are read.

The older Berkeley DB `Packages` file is not read (no maintained pure reader is pinned here);
known.evidence records that as an `errors` row.
"""
from __future__ import annotations

import sqlite3
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

HEADER_MAGIC = b"\x8e\xad\xe8\x01"
TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH = 1000, 1001, 1002, 1003, 1022
TAG_FILEDIGESTS, TAG_FILEFLAGS = 1035, 1037
TAG_DIRINDEXES, TAG_BASENAMES, TAG_DIRNAMES = 1116, 1117, 1118
TAG_FILEDIGESTALGO = 5011
RPMFILE_CONFIG = 1
# PGPHASHALGO values (rpm's FILEDIGESTALGO); absent means MD5 (rpm < 4.6)
DIGEST_ALGOS = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
_STRING, _STRING_ARRAY, _I18N, _INT32 = 6, 8, 9, 4
MAX_INDEX = 1 << 16


class HeaderError(ValueError):
    """A header blob that is not an rpm header (or is cut short)."""


@dataclass(frozen=True, slots=True)
class RpmFile:
    path: str
    digest: str | None  # hex, lower case; None when rpm recorded none (directories, symlinks, ghosts)
    config: bool


@dataclass(frozen=True, slots=True)
class RpmPackage:
    name: str
    version: str | None
    release: str | None
    arch: str | None
    digest_algo: str  # "md5", "sha256", ...
    files: tuple[RpmFile, ...]

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.name, "-".join(x for x in (self.version, self.release) if x)) if p)


def _strings(data: bytes, offset: int, count: int) -> list[str]:
    out = []
    for _ in range(count):
        end = data.index(b"\0", offset)
        out.append(data[offset:end].decode("utf-8", "surrogateescape"))
        offset = end + 1
    return out


def parse_header(blob: bytes) -> dict[int, object]:
    """Tag -> value (str, list[str] or list[int]) for the tags seized uses."""
    if blob[:4] == HEADER_MAGIC:
        blob = blob[8:]
    if len(blob) < 8:
        raise HeaderError("header shorter than its counts")
    il, dl = struct.unpack_from(">II", blob, 0)
    if il > MAX_INDEX or 8 + 16 * il + dl > len(blob):
        raise HeaderError(f"header counts out of range (il={il}, dl={dl}, {len(blob)} bytes)")
    data = blob[8 + 16 * il: 8 + 16 * il + dl]
    wanted = {TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_FILEDIGESTS, TAG_FILEFLAGS,
              TAG_DIRINDEXES, TAG_BASENAMES, TAG_DIRNAMES, TAG_FILEDIGESTALGO}
    out: dict[int, object] = {}
    for i in range(il):
        tag, typ, off, count = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        if tag not in wanted:
            continue
        if off < 0 or off >= dl:
            raise HeaderError(f"tag {tag}: offset {off} outside the data")
        try:
            if typ in (_STRING, _I18N) and count >= 1:
                out[tag] = _strings(data, off, 1)[0]
            elif typ == _STRING_ARRAY:
                out[tag] = _strings(data, off, count)
            elif typ == _INT32:
                if off + 4 * count > dl:
                    raise HeaderError(f"tag {tag}: {count} integers past the data")
                out[tag] = list(struct.unpack_from(f">{count}i", data, off))
        except ValueError as exc:
            raise HeaderError(f"tag {tag}: {exc}") from None
    return out


def package_from_header(blob: bytes) -> RpmPackage | None:
    """The package a header describes; None for headers without a name (e.g. gpg-pubkey is kept)."""
    h = parse_header(blob)
    name = h.get(TAG_NAME)
    if not isinstance(name, str):
        return None
    algo_ids = h.get(TAG_FILEDIGESTALGO) or [1]
    algo = DIGEST_ALGOS.get(algo_ids[0], f"algo-{algo_ids[0]}")
    bases = h.get(TAG_BASENAMES) or []
    dirs = h.get(TAG_DIRNAMES) or []
    index = h.get(TAG_DIRINDEXES) or []
    digests = h.get(TAG_FILEDIGESTS) or []
    flags = h.get(TAG_FILEFLAGS) or []
    if not (len(bases) == len(index)) or any(not 0 <= i < len(dirs) for i in index):
        raise HeaderError(f"{name}: file name tags disagree ({len(bases)} names, {len(index)} dir indexes)")
    files = []
    for k, base in enumerate(bases):
        digest = digests[k].lower() if k < len(digests) and digests[k] else None
        config = bool(flags[k] & RPMFILE_CONFIG) if k < len(flags) else False
        files.append(RpmFile(dirs[index[k]] + base, digest, config))
    epoch = h.get(TAG_EPOCH)
    version = h.get(TAG_VERSION)
    if epoch and isinstance(version, str):
        version = f"{epoch[0]}:{version}"
    return RpmPackage(name, version, h.get(TAG_RELEASE), h.get(TAG_ARCH), algo, tuple(files))


def read_rpmdb_sqlite(data: bytes, wal: bytes | None = None) -> tuple[list[RpmPackage], list[str]]:
    """Packages of an `rpmdb.sqlite` given as bytes, with its `-wal` file when the evidence
    has one (transactions not yet checkpointed live there). Both are copied to a temporary
    folder of our own: sqlite opens files, and the evidence is never opened in place.
    Returns (packages, problems)."""
    problems: list[str] = []
    packages: list[RpmPackage] = []
    with tempfile.TemporaryDirectory(prefix="seized-rpmdb-") as tmp:
        db = Path(tmp) / "rpmdb.sqlite"
        db.write_bytes(data)
        if wal:
            Path(tmp, "rpmdb.sqlite-wal").write_bytes(wal)
        try:
            con = sqlite3.connect(db)
            try:
                rows = con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
            finally:
                con.close()
        except sqlite3.Error as exc:
            return [], [f"rpmdb.sqlite not readable as SQLite: {exc}"]
    for hnum, blob in rows:
        try:
            pkg = package_from_header(bytes(blob))
        except (HeaderError, struct.error) as exc:
            problems.append(f"rpmdb.sqlite header {hnum}: {exc}")
            continue
        if pkg is not None:
            packages.append(pkg)
    return packages, problems
