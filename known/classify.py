"""Classify every row of `files`: known, modified, modified-config, notable or unknown.

Pure and vectorised: the files table of one evidence item, the owned-path table its package
databases gave (known.evidence) and the loaded hash sets in; two columns out. Joins and
comparisons are Arrow's and numpy's, so a million files cost no per-file Python.

Order of precedence, strongest first:
- notable: its MD5, SHA-1 or SHA-256 is in a --notable-hashes set (source: the set's name);
- modified / modified-config: an allocated file at a path a package owns, whose content hash
  differs from the digest the package recorded (a conffile: modified-config);
- known: its content hash equals the digest a package recorded for that path, or for any path
  (a copy, an old version left deleted), or it is in a --known-hashes set;
- unknown: hashed and matched by nothing. Rows whose content was not hashed (directories,
  links, unread streams) have no status (null).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from known.hashsets import HashSet, match

STATUSES = (None, "unknown", "known", "modified-config", "modified", "notable")
UNKNOWN, KNOWN, MODIFIED_CONFIG, MODIFIED, NOTABLE = 1, 2, 3, 4, 5
MERGED_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
NO_DIGEST = " (owned; no digest recorded)"


def _merged_dirs(files: pa.Table) -> dict[str, list[str]]:
    """volume -> top-level dirs that are symlinks into /usr (merged /usr: dpkg lists /bin/ls,
    the file system holds /usr/bin/ls)."""
    tops = pa.array([f"/{d}" for d in MERGED_DIRS])
    keep = pc.and_(pc.is_in(files.column("path"), value_set=tops), pc.equal(files.column("type"), "symlink"))
    keep = pc.and_(keep, pc.fill_null(files.column("allocated"), False))
    out: dict[str, list[str]] = {}
    for row in files.filter(keep).select(["volume", "path"]).to_pylist():
        out.setdefault(row["volume"], []).append(row["path"][1:])
    return out


def _canonical(volumes: pa.ChunkedArray | pa.Array, paths: pa.ChunkedArray | pa.Array,
               merged: dict[str, list[str]]) -> pa.ChunkedArray | pa.Array:
    """Paths with /bin, /sbin, /lib... spelled /usr/bin... on volumes where those are links."""
    out = paths
    for volume, dirs in merged.items():
        pattern = "^/(" + "|".join(sorted(dirs)) + ")/"
        mapped = pc.replace_substring_regex(paths, pattern, r"/usr/\1/")
        out = pc.if_else(pc.fill_null(pc.equal(volumes, volume), False), mapped, out)
    return out


def _first_per_row(rows: np.ndarray) -> np.ndarray:
    """Positions of the first of each run of equal values in a sorted array."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))


def classify(files: pa.Table, owned: pa.Table, sets: list[HashSet]) -> pa.Table:
    """`files` with its known_status and known_source columns filled (same rows, same order)."""
    n = files.num_rows
    status = np.zeros(n, dtype=np.int8)
    source = np.full(n, None, dtype=object)  # filled from Arrow columns by index arrays, never row by row
    no_digest = np.zeros(n, dtype=bool)  # owned by a package that recorded no digest for it
    hashed = pc.is_valid(files.column("md5")).to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    status[hashed] = UNKNOWN
    row_ids = pa.array(np.arange(n, dtype=np.int64))

    if owned.num_rows and n:
        merged = _merged_dirs(files)
        # 1. by path: allocated default streams at a path a package owns
        cand_mask = pc.and_(pc.and_(pc.is_valid(files.column("md5")), pc.is_null(files.column("stream"))),
                            pc.fill_null(files.column("allocated"), False))
        cand = pa.table({
            "row": row_ids, "volume": files.column("volume"),
            "cpath": _canonical(files.column("volume"), files.column("path"), merged),
            "md5": files.column("md5"), "sha1": files.column("sha1"), "sha256": files.column("sha256"),
        }).filter(cand_mask)
        own = pa.table({
            "volume": owned.column("volume"),
            "cpath": _canonical(owned.column("volume"), owned.column("path"), merged),
            "package": owned.column("package"), "algo": owned.column("algo"), "digest": owned.column("digest"),
            "conffile": owned.column("conffile"),
        })
        joined = cand.join(own, keys=["volume", "cpath"], join_type="inner", use_threads=False)
        if joined.num_rows:
            algo, digest = joined.column("algo"), joined.column("digest")
            eq = pc.or_kleene(pc.or_kleene(
                pc.and_kleene(pc.equal(algo, "md5"), pc.equal(digest, joined.column("md5"))),
                pc.and_kleene(pc.equal(algo, "sha256"), pc.equal(digest, joined.column("sha256")))),
                pc.and_kleene(pc.equal(algo, "sha1"), pc.equal(digest, joined.column("sha1"))))
            joined = joined.append_column("eq", pc.fill_null(eq, False))
            joined = joined.append_column("has_digest", pc.is_valid(digest))
            joined = joined.sort_by([("row", "ascending"), ("eq", "descending"), ("has_digest", "descending"),
                                     ("conffile", "descending"), ("package", "ascending")])
            rows = joined.column("row").to_numpy()
            first = _first_per_row(rows)
            best = joined.take(pa.array(first))
            r = best.column("row").to_numpy()
            is_eq = best.column("eq").to_numpy(zero_copy_only=False)
            has = best.column("has_digest").to_numpy(zero_copy_only=False)
            conf = best.column("conffile").to_numpy(zero_copy_only=False)
            code = np.where(is_eq, KNOWN, np.where(has, np.where(conf, MODIFIED_CONFIG, MODIFIED), UNKNOWN))
            status[r] = code
            pkg = best.column("package")
            text = pc.if_else(best.column("has_digest"), pkg, pc.binary_join_element_wise(pkg, NO_DIGEST, ""))
            source[r] = text.to_numpy(zero_copy_only=False)
            no_digest[r] = ~has

        # 2. by content anywhere: a package's recorded digest, whatever the path (copies, deleted
        #    old versions); empty files are left out (every package has some)
        still = (status == UNKNOWN) & ~no_digest
        nonempty = pc.fill_null(pc.greater(files.column("size"), 0), False).to_numpy(zero_copy_only=False)
        for algo in ("md5", "sha256", "sha1"):
            sel = owned.filter(pc.fill_null(pc.equal(owned.column("algo"), algo), False))
            if sel.num_rows == 0:
                continue
            sel = sel.sort_by([("digest", "ascending"), ("package", "ascending")])
            digests = sel.column("digest").to_numpy(zero_copy_only=False)
            keep = _first_per_row(digests)
            uniq = sel.take(pa.array(keep))
            pos = pc.fill_null(pc.index_in(files.column(algo), value_set=uniq.column("digest")), -1)
            pos = pos.to_numpy(zero_copy_only=False).astype(np.int64)
            hit = still & nonempty & (pos >= 0)
            if hit.any():
                idx = np.flatnonzero(hit)
                status[idx] = KNOWN
                source[idx] = uniq.column("package").take(pa.array(pos[idx])).to_numpy(zero_copy_only=False)
                still &= ~hit

    # 3. hash sets: known sets settle what is still unknown; notable sets override everything
    for hs in sets:
        for algo in hs.prefixes:
            if algo not in files.column_names:
                continue
            hit = match(hs, algo, files.column(algo)) & hashed
            if hs.kind == "notable":
                hit &= status != NOTABLE
                status[hit] = NOTABLE
            else:
                hit &= status == UNKNOWN  # unknown rows have no source, or a package without a digest
                status[hit] = KNOWN
            source[hit] = hs.name

    status_col = pa.array(np.array(STATUSES, dtype=object)[status], pa.string())
    source_col = pa.array(source, pa.string())
    files = files.set_column(files.schema.get_field_index("known_status"), "known_status", status_col)
    return files.set_column(files.schema.get_field_index("known_source"), "known_source", source_col)
