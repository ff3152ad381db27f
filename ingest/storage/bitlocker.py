"""BitLocker volume headers: recognised and described (version, uuid, cipher), never decrypted."""
from __future__ import annotations

import struct

from ingest.images import ImageReader
from ingest.storage.layer import Layer
from ingest.volumes import VolumeSpec, read_volume

SIGNATURE = b"-FVE-FS-"  # at offset 3


_FVE_METHODS = {
    0x8000: "AES-128-CBC with diffuser", 0x8001: "AES-256-CBC with diffuser", 0x8002: "AES-128-CBC",
    0x8003: "AES-256-CBC", 0x8004: "AES-128-XTS", 0x8005: "AES-256-XTS",
}


def bitlocker_layer(reader: ImageReader, volume: VolumeSpec, head: bytes) -> Layer:
    fields: dict[str, object] = {"format": "BitLocker"}
    offsets = struct.unpack_from("<3Q", head, 0xB0)
    for off in offsets:
        if not off or off >= volume.length:
            continue
        block = read_volume(reader, volume, off, 128)
        if block[:8] != b"-FVE-FS-":
            continue
        fields["version"] = struct.unpack_from("<H", block, 10)[0]
        guid = block[64 + 16:64 + 32]
        if len(guid) == 16:
            fields["uuid"] = _guid(guid)
        method = struct.unpack_from("<H", block, 64 + 36)[0] if len(block) >= 102 else None
        if method is not None:
            fields["cipher"] = _FVE_METHODS.get(method, f"0x{method:04x}")
        break
    return Layer("bitlocker", "bitlocker", "BitLocker encrypted volume", encrypted=True,
                 fields=tuple(fields.items()))


def _guid(raw: bytes) -> str:
    a, b, c = struct.unpack_from("<IHH", raw)
    return f"{a:08x}-{b:04x}-{c:04x}-{raw[8:10].hex()}-{raw[10:16].hex()}"
