"""Offline checksum validators for identity strings: Bitcoin, Monero, OpenPGP.

Why here and not a library: the tool runs with no network and few dependencies, and each
check is a page of arithmetic from a public specification:
* Base58Check (Bitcoin legacy P2PKH/P2SH): version byte + 20-byte hash + the first 4 bytes
  of double SHA-256.
* Bech32 (BIP-173, witness v0) and Bech32m (BIP-350, witness v1+), with the witness
  program length rules of BIP-141.
* Monero's base58 (8-byte blocks as 11 characters) and its checksum, the first 4 bytes of
  Keccak-256 (the original Keccak padding 0x01, not SHA3's 0x06, so hashlib cannot do it).
* OpenPGP v4 fingerprint (RFC 4880 12.2): SHA-1 over 0x99, the two-byte body length and
  the public key packet body; the key id is its last 8 bytes. The ASCII armor's CRC-24
  (RFC 4880 6.1) is checked too.
"""
from __future__ import annotations

import base64
import binascii
import hashlib

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(B58)}


# ------------------------------------------------------------------------- Base58Check

def _b58_number(text: str) -> int | None:
    """The number base58 digits spell (Bitcoin's alphabet, Monero's too); None on a foreign character."""
    num = 0
    for c in text:
        i = _B58_INDEX.get(c)
        if i is None:
            return None
        num = num * 58 + i
    return num


def b58decode(text: str) -> bytes | None:
    num = _b58_number(text)
    if num is None:
        return None
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + body


def bitcoin_base58_valid(address: str) -> bool:
    """A mainnet P2PKH (`1...`, version 0x00) or P2SH (`3...`, 0x05) address whose checksum holds."""
    raw = b58decode(address)
    if raw is None or len(raw) != 25 or raw[0] not in (0x00, 0x05):
        return False
    return hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:]


# ------------------------------------------------------------------------ Bech32(m)

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= gen[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def bech32_create_checksum(hrp: str, data: list[int], const: int) -> list[int]:
    poly = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ const
    return [(poly >> 5 * (5 - i)) & 31 for i in range(6)]


def _convertbits(data: list[int], frombits: int, tobits: int, pad: bool) -> list[int] | None:
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def segwit_valid(address: str, hrp: str = "bc") -> bool:
    """BIP-173/350: mainnet segwit address, bech32 for witness v0 and bech32m for v1..16."""
    if address.lower() != address and address.upper() != address:
        return False  # mixed case is invalid
    addr = address.lower()
    pos = addr.rfind("1")
    if addr[:pos] != hrp or pos + 7 > len(addr) or len(addr) > 90:
        return False
    try:
        data = [BECH32_CHARSET.index(c) for c in addr[pos + 1:]]
    except ValueError:
        return False
    const = _polymod(_hrp_expand(hrp) + data)
    if const not in (_BECH32_CONST, _BECH32M_CONST):
        return False
    version, program = data[0], _convertbits(data[1:-6], 5, 8, False)
    if program is None or version > 16 or not 2 <= len(program) <= 40:
        return False
    if version == 0 and len(program) not in (20, 32):
        return False
    return (const == _BECH32_CONST) == (version == 0)


def segwit_encode(version: int, program: bytes, hrp: str = "bc") -> str:
    """For tests and documentation: the address BIP-173/350 gives a witness program."""
    data = [version] + _convertbits(list(program), 8, 5, True)
    const = _BECH32_CONST if version == 0 else _BECH32M_CONST
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + bech32_create_checksum(hrp, data, const))


# ---------------------------------------------------------------------- Keccak-256

_RC = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
_M64 = (1 << 64) - 1


def _rol(x: int, n: int) -> int:
    return ((x << n) | (x >> (64 - n))) & _M64 if n else x


def _keccak_f(a: list[list[int]]) -> None:
    for rc in _RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        for x in range(5):
            for y in range(5):
                a[x][y] ^= d[x]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rol(a[x][y], _ROT[x][y])
        for x in range(5):
            for y in range(5):
                a[x][y] = b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y])
        a[0][0] ^= rc


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Monero and Ethereum use it (pad 0x01 ... 0x80, rate 136 bytes)."""
    rate = 136
    msg = bytearray(data) + b"\x01"
    msg += b"\x00" * (-len(msg) % rate)
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        block = msg[off:off + rate]
        for i in range(rate // 8):
            a[i % 5][i // 5] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        _keccak_f(a)
    out = b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(rate // 8))
    return out[:32]


# -------------------------------------------------------------------------- Monero

_XMR_BLOCK_CHARS = {0: 0, 1: 2, 2: 3, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11}
_XMR_CHARS_BLOCK = {v: k for k, v in _XMR_BLOCK_CHARS.items()}
# network byte (varint, one byte for these) -> kind; mainnet standard, integrated, subaddress
MONERO_PREFIXES = {18: "standard", 19: "integrated", 42: "subaddress"}


def monero_b58decode(text: str) -> bytes | None:
    out = bytearray()
    for start in range(0, len(text), 11):
        chunk = text[start:start + 11]
        size = _XMR_CHARS_BLOCK.get(len(chunk))
        if size is None:
            return None
        num = _b58_number(chunk)
        if num is None or num >> (8 * size):
            return None
        out += num.to_bytes(size, "big")
    return bytes(out)


def monero_b58encode(raw: bytes) -> str:
    """For tests: Monero's block-wise base58."""
    out = []
    for start in range(0, len(raw), 8):
        block = raw[start:start + 8]
        num = int.from_bytes(block, "big")
        chars = []
        for _ in range(_XMR_BLOCK_CHARS[len(block)]):
            num, r = divmod(num, 58)
            chars.append(B58[r])
        out.append("".join(reversed(chars)))
    return "".join(out)


def monero_valid(address: str) -> bool:
    """Mainnet Monero address (95 chars; 106 integrated) whose Keccak-256 checksum holds."""
    raw = monero_b58decode(address)
    if raw is None or len(raw) not in (69, 77) or raw[0] not in MONERO_PREFIXES:
        return False
    if (len(raw) == 77) != (raw[0] == 19):
        return False
    return keccak256(raw[:-4])[:4] == raw[-4:]


# ------------------------------------------------------------------------- OpenPGP

def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def dearmor(block: str) -> bytes | None:
    """The bytes of an ASCII-armored block (header lines skipped), None if its CRC-24 fails."""
    lines = [ln.strip() for ln in block.strip().splitlines()]
    if len(lines) < 3:
        return None
    body = lines[1:-1]
    while body and ":" in body[0] and not body[0].endswith("="):  # armor headers (Version: ...)
        body = body[1:]
    body = [ln for ln in body if ln]
    checksum = None
    if body and body[-1].startswith("=") and len(body[-1]) == 5:
        checksum = body.pop()
    try:
        raw = base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError):
        return None
    if checksum is not None:
        try:
            expected = int.from_bytes(base64.b64decode(checksum[1:], validate=True), "big")
        except (binascii.Error, ValueError):
            return None
        if crc24(raw) != expected:
            return None
    return raw


def pgp_packets(raw: bytes):
    """(tag, body) of each OpenPGP packet, old and new formats; stops at the first damaged one."""
    pos = 0
    while pos < len(raw):
        head = raw[pos]
        if not head & 0x80:
            return
        if head & 0x40:  # new format
            tag = head & 0x3F
            if pos + 1 >= len(raw):
                return
            first = raw[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                if pos + 2 >= len(raw):
                    return
                length, pos = ((first - 192) << 8) + raw[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(raw[pos + 2:pos + 6], "big"), pos + 6
            else:
                return  # partial lengths never occur in key packets
        else:
            tag = (head >> 2) & 0x0F
            ltype = head & 3
            if ltype == 3:
                return
            size = (1, 2, 4)[ltype]
            length, pos = int.from_bytes(raw[pos + 1:pos + 1 + size], "big"), pos + 1 + size
        if pos + length > len(raw):
            return
        yield tag, raw[pos:pos + length]
        pos += length


def pgp_primary_key(raw: bytes) -> tuple[str, str, str | None] | None:
    """(v4 fingerprint hex, key id hex, first user id) of the first public key packet, or None."""
    fingerprint = keyid = None
    uid = None
    for tag, body in pgp_packets(raw):
        if tag == 6 and fingerprint is None:
            if not body or body[0] != 4:
                return None  # v3/v5/v6 keys: not computed here
            digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
            fingerprint, keyid = digest, digest[-16:]
        elif tag == 13 and fingerprint is not None and uid is None:
            uid = body.decode("utf-8", "replace")
            break
    return (fingerprint, keyid, uid) if fingerprint else None
