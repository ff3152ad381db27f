"""Shared helpers of the operator-artefact extractors (accounts, logins, history, keys, cron).

Why one module: each of them decides applicability from where a file lies (`/etc/shadow`,
`/home/bob/.bash_history`, `/var/spool/cron/crontabs/bob`), names users after home
directories, and writes times the same way (ISO-8601 UTC, `YYYY-MM-DDTHH:MM:SSZ`).
"""
from __future__ import annotations

import posixpath
import time
from typing import Iterator

from extractors.base import Source

# Bytes of a compressed or archived copy: the pipeline hands the raw file to extractors before
# it expands it, and the expanded member again under its own name (`auth.log.2.gz` -> `auth.log.2`).
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".z", ".tgz", ".7z")
# Times before this or after MAX_EPOCH are not believed (a zeroed or garbled field).
MIN_EPOCH = 315_532_800  # 1980-01-01
MAX_EPOCH = 4_102_444_800  # 2100-01-01


def object_path(source: Source) -> str:
    """The object's logical path: the file path; for a gzip'd copy, the member name in the file's
    directory (`/var/log/auth.log.2.gz` + `auth.log.2` -> `/var/log/auth.log.2`); for an archive
    member with directories, its path in the archive (`etc/shadow` in `backup.tar` -> `/etc/shadow`)."""
    path = source.path or ""
    if not source.member:
        return path
    inner = source.member.rsplit("!", 1)[-1]
    if "/" in inner.strip("/"):  # an archive's own tree: `etc/shadow` in backup.tar
        return "/" + inner.lstrip("/")
    return posixpath.join(posixpath.dirname(path) or "/", inner)


def is_compressed(name: str) -> bool:
    return name.lower().endswith(COMPRESSED_SUFFIXES)


def home_user(path: str | None) -> str | None:
    """The user whose home directory holds `path`: `/home/bob/...` -> bob, `/root/...` -> root.

    Also `/Users/X`, `/export/home/X`, `/usr/home/X` and `/var/home/X`; None elsewhere.
    """
    if not path:
        return None
    parts = [p for p in path.split("/") if p]
    if len(parts) > 1 and parts[0] == "root":
        return "root"
    for prefix in _HOME_PREFIXES:
        k = len(prefix)
        if len(parts) > k + 1 and tuple(parts[:k]) == prefix:
            return parts[k]
    return None


_HOME_PREFIXES = (("home",), ("Users",), ("export", "home"), ("usr", "home"), ("var", "home"))


def iso_utc(epoch: int | float | None) -> str | None:
    """`YYYY-MM-DDTHH:MM:SSZ` for a plausible epoch (1980..2100), else None."""
    if epoch is None or not (MIN_EPOCH <= epoch < MAX_EPOCH):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(offset of the line's first byte, the line without its newline and CR), for every line.

    C-speed splitting; the offsets come from the running sum of line lengths.
    """
    pos = 0
    for raw in data.split(b"\n"):
        n = len(raw)
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        yield pos, raw
        pos += n + 1


def content_lines(data: bytes, window_offset: int) -> Iterator[tuple[int, int, str]]:
    """(line number in the window, offset, stripped text) of every line that is not blank or a
    `#` comment; a window that starts inside the object drops its first line, which the window
    before owns."""
    skip_first = window_offset > 0
    for n, (off, raw) in enumerate(lines(data), 1):
        if skip_first:
            skip_first = False
            continue
        line = text(raw).strip()
        if line and not line.startswith("#"):
            yield n, off, line


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
