"""SSH keys: who was let in (`authorized_keys`), where the server connected to (`known_hosts`),
which keys it had (`*.pub`), and which private keys lay on it.

Fingerprints are as `ssh-keygen -l -E sha256` prints them: `SHA256:` + base64 (no padding)
of the SHA-256 of the key blob; key types as ssh-keygen names them (RSA, ED25519, ECDSA, DSA,
ED25519-SK, ECDSA-SK, *-CERT), which is also how sshd logs them (`logins.key_type`), so a
login and the authorised key it used join on the fingerprint. Bits as ssh-keygen counts them.

Private keys are recorded as existing and never copied: their type, whether they are
encrypted (OpenSSH format: cipher name not `none`; PEM: `Proc-Type: 4,ENCRYPTED`; PKCS#8:
`ENCRYPTED PRIVATE KEY`), and, for the OpenSSH format, which carries the public key in
clear ahead of the private part, the public fingerprint; for unencrypted PEM and PKCS#8 RSA
and EC keys, the fingerprint of the public fields they hold (RSA n and e, the EC point). No
byte of the private part, and nothing derived from it, enters a finding. OpenSSH-format keys are found in any file and in
unallocated space (the armour is unambiguous); PEM keys only in files whose name or place
says SSH (`id_*`, `ssh_host_*`, `.ssh/`): elsewhere a PEM key is usually a TLS key.

Applicability of the text forms: `authorized_keys`, `authorized_keys2` (and files under an
`authorized_keys.d` directory), `known_hosts`, `ssh_known_hosts`, `*.pub`; a line is a key
only when its base64 decodes to a blob that names the same key type.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import re
import struct
from dataclasses import dataclass
from typing import Iterator

from extractors._unix import content_lines, home_user, is_compressed, object_path
from extractors.base import Extractor, Finding, Source

NAME = "ssh_keys"
VERSION = "1.0.0"
COMMENT_MAX = 200
OPTIONS_MAX = 500

_KEYTYPE = re.compile(
    r"(?:ssh-rsa|ssh-dss|ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|sk-ecdsa-sha2-nistp256@openssh\.com"
    r"|sk-ssh-ed25519@openssh\.com|ssh-ed448|[a-z0-9.@-]+-cert-v01@openssh\.com|x509v3-[a-z0-9-]+)")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,3}")
_BEGIN = re.compile(rb"-----BEGIN (OPENSSH|RSA|DSA|EC|ENCRYPTED|) ?PRIVATE KEY-----[\r\n]+")
_END = b"-----END "
ARMOUR_MAX = 20000  # bytes between BEGIN and END: far more than any key
_OPENSSH_MAGIC = b"openssh-key-v1\x00"
_CURVE_BITS = {b"nistp256": 256, b"nistp384": 384, b"nistp521": 521}


@dataclass(frozen=True, slots=True)
class SshKeyFinding(Finding):
    """One key; `offset` is the first byte of its line (or of a private key's armour)."""

    kind: str  # authorized_key, known_host, public_key, private_key
    user: str | None  # owner of the home directory the file lies in
    key_type: str | None  # RSA, ED25519, ECDSA, DSA, ED25519-SK, ECDSA-SK, RSA-CERT ...
    bits: int | None
    fingerprint: str | None  # SHA256:... as ssh-keygen prints it
    comment: str | None  # often user@host
    options: str | None  # authorized_keys options (from=, command=, ...); known_hosts marker
    hosts: str | None  # known_hosts host patterns (hashed `|1|...` entries stay hashed)
    hashed_host: bool
    encrypted: bool | None  # private keys: passphrase-protected; None for public keys
    line_no: int | None = None


def fingerprint(blob: bytes) -> str:
    """`SHA256:...` exactly as ssh-keygen -l prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def _strings(blob: bytes, count: int) -> list[bytes] | None:
    """The first `count` SSH wire-format strings of `blob`, None if it is shorter."""
    out, pos = [], 0
    for _ in range(count):
        if pos + 4 > len(blob):
            return None
        (n,) = struct.unpack_from(">I", blob, pos)
        if pos + 4 + n > len(blob):
            return None
        out.append(blob[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def _mpint_bits(b: bytes) -> int:
    return int.from_bytes(b, "big").bit_length()


def describe(blob: bytes) -> tuple[str, int | None] | None:
    """(key type as ssh-keygen names it, bits) of a public key blob; None if it is not one."""
    head = _strings(blob, 1)
    if head is None:
        return None
    try:
        name = head[0].decode("ascii")
    except UnicodeDecodeError:
        return None
    if not _KEYTYPE.fullmatch(name):
        return None
    if name == "ssh-rsa":
        f = _strings(blob, 3)
        return ("RSA", _mpint_bits(f[2])) if f else None
    if name == "ssh-dss":
        f = _strings(blob, 2)
        return ("DSA", _mpint_bits(f[1])) if f else None
    if name.startswith("ecdsa-sha2-"):
        f = _strings(blob, 2)
        return ("ECDSA", _CURVE_BITS.get(f[1])) if f else None
    if name == "ssh-ed25519":
        return "ED25519", 256
    if name == "ssh-ed448":
        return "ED448", 456
    if name.startswith("sk-ecdsa"):
        return "ECDSA-SK", 256
    if name.startswith("sk-ssh-ed25519"):
        return "ED25519-SK", 256
    if name.endswith("-cert-v01@openssh.com"):
        base = name.removesuffix("-cert-v01@openssh.com")
        kind = {"ssh-rsa": "RSA", "ssh-dss": "DSA", "ssh-ed25519": "ED25519"}.get(
            base, "ECDSA" if base.startswith("ecdsa") else base.upper())
        return f"{kind}-CERT", None
    return name, None


def _key(keytype: str, b64: str) -> tuple[str, int | None, str] | None:
    if not _BASE64.fullmatch(b64):
        return None
    try:
        blob = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    head = _strings(blob, 1)
    if head is None or head[0] != keytype.encode("ascii"):
        return None
    desc = describe(blob)
    if desc is None:
        return None
    return desc[0], desc[1], fingerprint(blob)


def _split_options(line: str) -> tuple[str | None, str]:
    """(options, rest) of an authorized_keys line: options end at the first blank outside quotes."""
    quoted = escaped = False
    for i, c in enumerate(line):
        if escaped:
            escaped = False
        elif c == "\\" and quoted:  # sshd takes \" inside a quoted value as a quote
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c in " \t" and not quoted:
            return line[:i], line[i:].lstrip()
    return None, line


def text_kind(source: Source) -> str | None:
    path = object_path(source)
    name = posixpath.basename(path)
    if is_compressed(name):
        return None
    parent = posixpath.basename(posixpath.dirname(path))
    if name in ("authorized_keys", "authorized_keys2") or parent in ("authorized_keys", "authorized_keys.d"):
        return "authorized_key"
    if name in ("known_hosts", "known_hosts2", "ssh_known_hosts", "ssh_known_hosts2") or name.startswith("known_hosts."):
        return "known_host"
    if name.endswith(".pub"):
        return "public_key"
    return None


def _ssh_place(path: str) -> bool:
    name = posixpath.basename(path)
    return "/.ssh/" in f"/{path}" or name.startswith(("id_", "ssh_host_")) or "/etc/ssh/" in f"/{path}"


def _public_lines(data: bytes, source: Source, kind: str, user: str | None) -> Iterator[SshKeyFinding]:
    for n, off, line in content_lines(data, source.window_offset):
        options = hosts = None
        if kind == "known_host":
            marker = None
            if line.startswith("@"):
                marker, _, line = line.partition(" ")
                line = line.lstrip()
            hosts, _, line = line.partition(" ")
            line = line.lstrip()
            options = marker
        parts = line.split(None, 2)
        if kind == "authorized_key" and (not parts or not _KEYTYPE.fullmatch(parts[0])):
            options, rest = _split_options(line)
            parts = rest.split(None, 2)
        if len(parts) < 2 or not _KEYTYPE.fullmatch(parts[0]):
            continue
        key = _key(parts[0], parts[1])
        if key is None:
            continue
        comment = parts[2].strip()[:COMMENT_MAX] if len(parts) > 2 and parts[2].strip() else None
        yield SshKeyFinding(off, kind, user, key[0], key[1], key[2], comment,
                            options[:OPTIONS_MAX] if options else None, hosts,
                            bool(hosts and hosts.startswith("|1|")), None, n)


def _openssh_private(body: bytes) -> tuple[bool | None, str | None, int | None, str | None]:
    """(encrypted, key type, bits, fingerprint) from the clear header of an OpenSSH private key."""
    try:
        blob = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None, None, None, None
    if not blob.startswith(_OPENSSH_MAGIC):
        return None, None, None, None
    head = _strings(blob[len(_OPENSSH_MAGIC):], 3)
    if head is None:
        return None, None, None, None
    cipher = head[0]
    pos = len(_OPENSSH_MAGIC) + sum(4 + len(s) for s in head)
    if pos + 4 > len(blob):
        return cipher != b"none", None, None, None
    (nkeys,) = struct.unpack_from(">I", blob, pos)
    pub = _strings(blob[pos + 4:], 1) if nkeys >= 1 else None
    if not pub:
        return cipher != b"none", None, None, None
    desc = describe(pub[0])
    if desc is None:
        return cipher != b"none", None, None, None
    return cipher != b"none", desc[0], desc[1], fingerprint(pub[0])


_PEM_TYPES = {b"RSA": "RSA", b"DSA": "DSA", b"EC": "ECDSA", b"": None, b"ENCRYPTED": None}
_RSA_OID = bytes.fromhex("2a864886f70d010101")
_EC_OID = bytes.fromhex("2a8648ce3d0201")
_CURVES = {bytes.fromhex("2a8648ce3d030107"): "nistp256", bytes.fromhex("2b81040022"): "nistp384",
           bytes.fromhex("2b81040023"): "nistp521"}


def _der(buf: bytes, pos: int) -> tuple[int, bytes, int] | None:
    """(tag, content, position after) of the DER element at `pos`; None when it does not fit."""
    if pos + 2 > len(buf):
        return None
    tag, n = buf[pos], buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + k > len(buf):
            return None
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        return None
    return tag, buf[pos:pos + n], pos + n


def _der_children(buf: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(buf):
        el = _der(buf, pos)
        if el is None:
            break
        out.append(el[:2])
        pos = el[2]
    return out


def _ssh_string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def _pem_public_blob(der: bytes, label: bytes) -> bytes | None:
    """The SSH public key blob of an unencrypted PEM/PKCS#8 RSA or EC key, from its public
    fields only (RSA n and e; the EC public point). None for anything else."""
    top = _der(der, 0)
    if top is None or top[0] != 0x30:
        return None
    fields = _der_children(top[1])
    if label == b"" and len(fields) >= 3 and fields[1][0] == 0x30:  # PKCS#8: unwrap
        alg = _der_children(fields[1][1])
        if not alg or fields[2][0] != 0x04:
            return None
        if alg[0][1] == _RSA_OID:
            return _pem_public_blob(fields[2][1], b"RSA")
        if alg[0][1] == _EC_OID and len(alg) > 1:
            inner = _der(fields[2][1], 0)
            if inner is None or inner[0] != 0x30:
                return None
            return _ec_blob(_der_children(inner[1]), alg[1][1])
        return None
    if label == b"RSA" and len(fields) >= 3 and all(t == 0x02 for t, _ in fields[:3]):
        n, e = fields[1][1], fields[2][1]
        return _ssh_string(b"ssh-rsa") + _ssh_string(e) + _ssh_string(n)
    if label == b"EC":
        return _ec_blob(fields, None)
    return None


def _ec_blob(fields: list[tuple[int, bytes]], curve_oid: bytes | None) -> bytes | None:
    point = None
    for tag, content in fields:
        if tag == 0xA0:  # [0] parameters: the curve
            inner = _der(content, 0)
            curve_oid = inner[1] if inner and inner[0] == 0x06 else curve_oid
        elif tag == 0xA1:  # [1] the public key, a BIT STRING
            inner = _der(content, 0)
            if inner and inner[0] == 0x03 and inner[1][:1] == b"\x00":
                point = inner[1][1:]
    curve = _CURVES.get(curve_oid or b"")
    if curve is None or point is None:
        return None
    name = b"ecdsa-sha2-" + curve.encode()
    return _ssh_string(name) + _ssh_string(curve.encode()) + _ssh_string(point)


def _pem_blob(body: bytes, label: bytes) -> bytes | None:
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _pem_public_blob(der, label)


def _private_keys(data: bytes, source: Source, user: str | None) -> Iterator[SshKeyFinding]:
    if b"PRIVATE KEY-----" not in data:
        return
    path = object_path(source)
    ssh_place = bool(path) and _ssh_place(path)
    next_end = -2  # position of the first END at or after the current BEGIN (found once, reused)
    for m in _BEGIN.finditer(data):
        start = m.end()
        if next_end != -1 and next_end < start:
            next_end = data.find(_END, start)
        if next_end == -1 or next_end - start > ARMOUR_MAX:
            continue
        label = m.group(1)
        trailer = (b"-----END " + label + b" PRIVATE KEY-----") if label else b"-----END PRIVATE KEY-----"
        if not data.startswith(trailer, next_end):
            continue
        body = data[start:next_end]
        if b"-----BEGIN" in body:
            continue
        if label == b"OPENSSH":
            encrypted, key_type, bits, fp = _openssh_private(body)
            if encrypted is None:
                continue
        else:
            if not ssh_place:
                continue
            encrypted = label == b"ENCRYPTED" or b"Proc-Type: 4,ENCRYPTED" in body[:200]
            key_type, bits, fp = _PEM_TYPES.get(label), None, None
            if not encrypted:  # the public half is derivable from the public fields
                blob = _pem_blob(body, label)
                desc = describe(blob) if blob else None
                if desc is not None:
                    key_type, bits, fp = desc[0], desc[1], fingerprint(blob)
        line_no = data.count(b"\n", 0, m.start()) + 1
        yield SshKeyFinding(m.start(), "private_key", user, key_type, bits, fp, None, None, None, False,
                            encrypted, line_no)


def extract(data: bytes, source: Source) -> Iterator[SshKeyFinding]:
    kind = text_kind(source)
    user = home_user(object_path(source))
    if kind is not None and b"\x00" not in data[:4096]:
        yield from _public_lines(data, source, kind, user)
    yield from _private_keys(data, source, user)


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="ssh_keys",
    finding=SshKeyFinding,
    extract=extract,
    description="authorized_keys, known_hosts, *.pub; private keys recorded as existing (never copied)",
)
