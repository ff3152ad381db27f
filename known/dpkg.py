"""dpkg's own record of what it installed: `status`, `info/*.md5sums`, `info/*.list`.

Pure parsers, bytes in, typed records out. Why dpkg's files and not a vendor hash list: the
evidence carries the exact versions it had installed, and the MD5s dpkg wrote when it
unpacked them. seized never trusts these digests as findings: they are only compared with
the hashes seized itself computed over the files' content (known.classify).

Multiarch: a package installed for one architecture with `Multi-Arch: same` has its info
files named `NAME:ARCH.md5sums`; others use `NAME.md5sums`. Both map to the status entry of
that name (and architecture, when the info file names one).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_MD5 = re.compile(rb"^[0-9a-fA-F]{32}$")


@dataclass(frozen=True, slots=True)
class DpkgPackage:
    name: str
    architecture: str | None
    version: str | None
    status: str  # e.g. "install ok installed"
    conffiles: tuple[tuple[str, str], ...]  # (absolute path, md5 hex) as dpkg recorded them

    @property
    def installed(self) -> bool:
        """Files on disk belong to it: unpacked, half-configured or installed (not config-files/not-installed)."""
        state = self.status.split()[-1] if self.status else ""
        return state in ("installed", "unpacked", "half-configured", "half-installed", "triggers-awaited",
                         "triggers-pending")

    @property
    def label(self) -> str:
        """What `known_source` says: 'NAME VERSION'."""
        return f"{self.name} {self.version}" if self.version else self.name


def _stanzas(text: str):
    """RFC 822-like stanzas of dpkg's status file: fields with continuation lines."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip()
            fields[key] = value.strip()
    if fields:
        yield fields


def parse_status(data: bytes) -> list[DpkgPackage]:
    """Every package stanza of `/var/lib/dpkg/status` (or `available`)."""
    out = []
    for fields in _stanzas(data.decode("utf-8", "replace")):
        name = fields.get("Package")
        if not name:
            continue
        conffiles = []
        for line in fields.get("Conffiles", "").splitlines():
            parts = line.split()
            # " /etc/foo md5 [obsolete|remove-on-upgrade]"; "newconffile" stands for a not-yet-known md5
            if len(parts) >= 2 and parts[0].startswith("/") and _MD5.match(parts[1].encode()):
                conffiles.append((parts[0], parts[1].lower()))
        out.append(DpkgPackage(name, fields.get("Architecture"), fields.get("Version"), fields.get("Status", ""),
                               tuple(conffiles)))
    return out


def parse_md5sums(data: bytes) -> list[tuple[str, str]]:
    """`info/PKG.md5sums`: lines 'MD5  relative/path' -> [(absolute path, md5 hex)]; bad lines skipped."""
    out = []
    for line in data.split(b"\n"):
        digest, _, path = line.partition(b" ")
        path = path.lstrip(b" *").rstrip(b"\r")
        if not path or not _MD5.match(digest):
            continue
        text = path.decode("utf-8", "surrogateescape")
        out.append(("/" + text.lstrip("/"), digest.decode().lower()))
    return out


def parse_list(data: bytes) -> list[str]:
    """`info/PKG.list`: one absolute path per line (directories included); '/.' dropped."""
    out = []
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"/") and line != b"/.":
            out.append(line.decode("utf-8", "surrogateescape"))
    return out


def info_package(file_name: str) -> tuple[str, str | None, str] | None:
    """'libc6:amd64.md5sums' -> ('libc6', 'amd64', 'md5sums'); None for other info files."""
    for kind in ("md5sums", "list"):
        if file_name.endswith("." + kind):
            stem = file_name[: -len(kind) - 1]
            name, _, arch = stem.partition(":")
            return (name, arch or None, kind) if name else None
    return None
