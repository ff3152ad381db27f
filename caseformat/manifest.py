"""What the manifest is made of, for its writers (the scan, reports, exports) and `seized verify`:
the time form, the versions of everything that produced a case, and the hash of a file.

Counsel cite the manifest's hashes and versions; `seized verify` re-checks them. The scan's
own manifest (`seized.manifest.write_case`) and every later entry are written through
`caseformat.atomic.write_json`.
"""
from __future__ import annotations

import hashlib
import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DEPENDENCIES = (
    "seized", "pytsk3", "libewf-python", "libfsxfs-python", "libvslvm-python", "yara-python", "dask",
    "distributed", "pyarrow", "email-validator", "tldextract", "click", "rich", "python-docx", "matplotlib",
    "psutil", "numpy", "duckdb",
)


def tool_version() -> str:
    """seized's own version, also when run from a source tree that is not installed."""
    try:
        return version("seized")
    except PackageNotFoundError:
        return "0.1.0"


def utc_now() -> str:
    """Now, to the second, in UTC: the form every time in the manifest takes."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dependency_versions() -> dict[str, str]:
    out = {}
    for name in DEPENDENCIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    import pyewf
    import pytsk3
    import yara

    out["libtsk (The Sleuth Kit)"] = pytsk3.TSK_VERSION_STR
    out["libewf"] = pyewf.get_version()
    out["libyara"] = yara.__version__
    out["python"] = platform.python_version()
    return out


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
