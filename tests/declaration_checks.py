"""Helpers (no tests) for tests/test_declaration.py: Appendix A's checks read back from the
declaration, run in bash, and the bytes each finding must show."""
from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

_BLOCK = re.compile(r"```\n(.*?)\n```", re.S)


def appendix_checks(markdown: str) -> list[tuple[str, str]]:
    """(finding id, command) for every check in Appendix A of declaration.md."""
    appendix = markdown[markdown.index("## Appendix A"):]
    appendix = appendix[:appendix.index("## Appendix C")] if "## Appendix C" in appendix else appendix
    out = []
    for block in _BLOCK.findall(appendix):
        lines = block.split("\n")
        for comment, command in zip(lines[0::2], lines[1::2]):
            assert comment.startswith("# "), comment
            out.append((comment[2:].strip(), command))
    return out


def shell_env() -> dict[str, str]:
    """PATH with this interpreter's `seized` and the sbin folders (TSK's tools live in /usr/bin)."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bindir, os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}


def run_check(command: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, timeout=timeout,
                          env=shell_env(), stdin=subprocess.DEVNULL)


def _forms(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-le"), text.lower().encode("utf-8"),
            text.lower().encode("utf-16-le")]


def shows_finding(table: str, row: dict, out: bytes) -> bool:
    """Whether `out` holds what the finding says is there."""
    low = out.lower()
    if not out:
        return False
    if table == "emails":
        codec = "utf-16-le" if str(row.get("encoding") or "").startswith("utf-16") else "utf-8"
        return row["raw"].encode(codec) in out
    if table == "yara":
        return row.get("offset") is None or len(out) == int(row["matched_length"])
    if table == "tor" and row.get("kind") == "key_file":
        if "secret" in str(row.get("name")):
            return out.startswith(b"== ed25519v1-secret") and len(out) == 32  # header only, no key material
        key = base64.b32decode(row["onion"].removesuffix(".onion").upper())[:32]  # v3 onion = key + checksum + version
        return out.startswith(b"== ed25519v1-public") and key in out
    if table == "harvest_lists":
        return b"@" in out or "@".encode("utf-16-le") in out
    value = {"indicators": row.get("value"), "credentials": row.get("username"),
             "tor": row.get("onion") or row.get("value") or row.get("name")}.get(table)
    if value:
        return any(f in out or f in low for f in _forms(value))
    if table == "spam_templates":
        clues = list(row.get("placeholders") or []) + list(row.get("urls") or []) + [row.get("subject") or ""]
        return any(c and (c.encode("utf-8") in out) for c in clues)
    return True
