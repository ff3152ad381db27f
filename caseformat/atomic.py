"""The one way a case file is written: a temporary name beside it, fsync, rename.

A reader (or a scan killed half way) sees the old file or the new one, never a part. Files
are 0600 and folders 0700: a case holds evidence-derived data and, before redaction,
secrets. The temporary name is the file's name with one leading dot and `.tmp` appended
(`manifest.json` -> `.manifest.json.tmp`, `.salt` -> `.salt.tmp`), which the case-directory
checks know as the case's own (seized.casedir).
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

FILE_MODE = 0o600
DIR_MODE = 0o700


def temporary_name(path: Path) -> Path:
    """Where `path` is written before it is renamed into place."""
    return path.with_name("." + path.name.lstrip(".") + ".tmp")


def make_dir(path: Path) -> Path:
    """`path` and its missing parents, created 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return path


def commit(tmp: Path, path: Path) -> Path:
    """Put a finished temporary file in place: 0600, on disk (fsync), renamed over `path`."""
    os.chmod(tmp, FILE_MODE)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """The temporary name for a writer that wants a file name (Parquet, matplotlib, numpy);
    committed when the block ends, removed when it raises."""
    tmp = temporary_name(path)
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_file(path: Path, text: bool = False, errors: str = "strict") -> Iterator[IO]:
    """An open file (binary, or UTF-8 text with "\\n" line ends and the given `errors`
    handler) that becomes `path` when the block ends; created 0600 from the start, so no
    other user ever sees its content."""
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with (os.fdopen(fd, "w", encoding="utf-8", newline="\n", errors=errors) if text
              else os.fdopen(fd, "wb")) as fh:
            yield fh


def write_bytes(path: Path, data: bytes) -> Path:
    with atomic_file(path) as fh:
        fh.write(data)
    return path


def write_text(path: Path, text: str) -> Path:
    with atomic_file(path, text=True) as fh:
        fh.write(text)
    return path


def write_json(path: Path, data: dict) -> Path:
    """JSON as the case writes it: sorted keys, indent 2, UTF-8 as is, a final newline."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
