"""Appendix A's checks: for each cited finding, a shell command that prints its bytes.

Why commands and not prose: an opposing examiner must be able to paste the check into a
shell and see the bytes with tools that are not seized. So a finding in a plain file is
`icat` (The Sleuth Kit) piped into `dd`; one in unallocated space is `dd` on the image (or
TSK's `img_cat` for EWF and split images, which `dd` cannot read); one inside archives is
`icat` piped through one decompressor or extractor per nesting level (`gzip -dc`,
`bzip2 -dc`, `xz -dc`, `tar -xOf - MEMBER`, Python's own zipfile module for zip). Where no
such chain exists (a nested LVM or RAID volume, XFS, an NTFS alternate stream, an archive
level whose type the names do not tell), the check is `seized show FINDING_ID .`, run in
the case directory, which re-reads the evidence read-only and prints the bytes with their
provenance chain.

Pure: rows and case facts in, command text out (no evidence is opened here).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

SECTOR = 512
HEAD_BYTES = 256  # what a check shows of an object when the finding is the whole object
DD_SKIP_MAX = 1 << 20  # past this, `dd bs=1` on a pipe is slow: tail -c | head -c instead
ZIP_MEMBER_PY = ("import io,sys,zipfile; "
                 "sys.stdout.buffer.write(zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())).read(sys.argv[1]))")
ZIP_SUFFIXES = (".zip", ".jar", ".war", ".apk", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub", ".xpi")
STREAM_SUFFIXES = ((".tgz", ".tar", "gzip"), (".tbz2", ".tar", "bzip2"), (".txz", ".tar", "xz"),
                   (".gz", "", "gzip"), (".bz2", "", "bzip2"), (".xz", "", "xz"))
DECOMPRESS = {"gzip": "gzip -dc", "bzip2": "bzip2 -dc", "xz": "xz -dc"}


@dataclass(frozen=True, slots=True)
class ImageFacts:
    path: str
    format: str  # "raw", "split-raw", "ewf"


@dataclass(frozen=True, slots=True)
class VolumeFacts:
    id: str
    start: int | None
    fs_type: str | None


def finding_length(table: str, row: dict) -> int:
    """How many bytes from the finding's offset show it (an upper bound is fine: the bytes after
    it are evidence too). UTF-16 text takes two bytes a character."""
    wide = 2 if str(row.get("encoding") or "").startswith("utf-16") else 1
    if row.get("offset") is None:
        return HEAD_BYTES
    if table == "yara" and row.get("matched_length"):
        return int(row["matched_length"])
    if table == "emails" and isinstance(row.get("raw"), str):
        return len(row["raw"].encode("utf-8")) * wide
    if table == "indicators" and isinstance(row.get("value"), str):
        return 2 * len(row["value"].encode("utf-8"))  # 2x: found in a UTF-16 view as well as in plain text
    if table == "credentials":
        text = (row.get("username") or "") + (row.get("secret") or "") + (row.get("host") or "")
        return min(512, 2 * len(text.encode("utf-8")) + 16)
    if table == "tor" and "secret" in str(row.get("name") or ""):
        return 32  # the key file's header only: a check never prints private key material
    if table == "tor":
        text = " ".join(str(row.get(k) or "") for k in ("name", "value", "onion"))
        return min(512, 2 * len(text.encode("utf-8")) + 16)
    if table == "spam_templates":
        return 512
    return 64


def member_kind(parent: str, name: str) -> str | None:
    """The container type of the level that holds member `name`, told by the names alone
    (as ingest.containers names stream members), or None when the names do not tell."""
    base = parent.rsplit("/", 1)[-1]
    low = base.lower()
    for suffix, repl, kind in STREAM_SUFFIXES:
        if low.endswith(suffix) and name == base[: -len(suffix)] + repl:
            return kind
    for kind in DECOMPRESS:
        if name == f"{base or 'stream'}.{kind}-decompressed":
            return kind
    if low.endswith(ZIP_SUFFIXES):
        return "zip"
    if low.endswith(".tar"):
        return "tar"
    return None


def member_chain(path: str, member: str) -> list[str] | None:
    """One command per nesting level, each reading its container on stdin; None when a level's
    type cannot be told from the names."""
    out = []
    parent = path
    for name in member.split("!"):
        kind = member_kind(parent, name)
        if kind is None:
            return None
        if kind in DECOMPRESS:
            out.append(DECOMPRESS[kind])
        elif kind == "tar":
            out.append(f"tar -xOf - {shlex.quote(name)}")
        else:
            out.append(f"python3 -c {shlex.quote(ZIP_MEMBER_PY)} {shlex.quote(name)}")
        parent = name
    return out


def _slice(offset: int, length: int) -> str:
    if offset == 0:
        return f"head -c {length}"
    if offset <= DD_SKIP_MAX:
        return f"dd bs=1 skip={offset} count={length} status=none"
    return f"tail -c +{offset + 1} | head -c {length}"


def show_command(finding_id: str) -> str:
    return f"seized show {finding_id} ."


def check_command(table: str, row: dict, image: ImageFacts | None, volume: VolumeFacts | None) -> str:
    """The shell command that prints this finding's bytes (see the module's docstring)."""
    fid = str(row.get("finding_id"))
    if image is None:
        return show_command(fid)
    img = shlex.quote(image.path)
    length = finding_length(table, row)
    offset = int(row.get("offset") or 0)
    if row.get("path") is None:
        at = row.get("image_offset")
        if at is None:
            return show_command(fid)
        if image.format == "raw":
            return f"dd if={img} bs=1 skip={at} count={length} status=none"
        first, last = at // SECTOR, (at + length - 1) // SECTOR
        return f"img_cat -s {first} -e {last} {img} | dd bs=1 skip={at - first * SECTOR} count={length} status=none"
    plain_tsk = (volume is not None and volume.start is not None and volume.start % SECTOR == 0
                 and ">" not in volume.id and volume.fs_type not in (None, "xfs"))
    if not plain_tsk or row.get("inode") is None or row.get("stream") is not None:
        return show_command(fid)
    steps = [f"icat -o {volume.start // SECTOR} {img} {int(row['inode'])}"]
    if row.get("member"):
        chain = member_chain(str(row["path"]), str(row["member"]))
        if chain is None:
            return show_command(fid)
        steps += chain
    steps.append(_slice(offset, length))
    return " | ".join(steps)
