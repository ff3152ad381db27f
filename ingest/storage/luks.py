"""LUKS1 and LUKS2 headers: recognised and described (cipher, mode, hash, uuid), never decrypted.

An encrypted container's bytes are scanned as unallocated only; the volume row says why.
"""
from __future__ import annotations

import json
import struct

from ingest.images import ImageReader
from ingest.storage.layer import SECTOR, Layer, cstr
from ingest.volumes import VolumeSpec, read_volume

MAGIC = b"LUKS\xba\xbe"  # at offset 0


def luks_layer(reader: ImageReader, volume: VolumeSpec, head: bytes) -> Layer:
    version = struct.unpack_from(">H", head, 6)[0]
    fields: dict[str, object] = {"format": "LUKS", "version": version}
    if version == 1:
        fields.update(cipher=cstr(head[8:40]), mode=cstr(head[40:72]), hash=cstr(head[72:104]),
                      payload_offset=struct.unpack_from(">I", head, 104)[0] * SECTOR,
                      key_bytes=struct.unpack_from(">I", head, 108)[0], uuid=cstr(head[168:208]))
    elif version == 2:
        hdr_size = struct.unpack_from(">Q", head, 8)[0]
        fields.update(uuid=cstr(head[168:208]), label=cstr(head[24:72]) or None,
                      checksum=cstr(head[72:104]))
        area = read_volume(reader, volume, 4096, max(0, min(hdr_size, 4 * 1024 * 1024) - 4096))
        try:
            meta = json.loads(area.split(b"\0", 1)[0].decode("utf-8"))
            segment = next(iter(meta.get("segments", {}).values()), {})
            spec = str(segment.get("encryption", ""))
            cipher, _, mode = spec.partition("-")
            fields.update(cipher=cipher or None, mode=mode or None,
                          hash=next((d.get("hash") for d in meta.get("digests", {}).values()), None),
                          payload_offset=int(segment.get("offset", 0) or 0),
                          keyslots=len(meta.get("keyslots", {})))
        except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
            fields["header_error"] = f"LUKS2 JSON area unreadable: {exc.__class__.__name__}"
    desc = f"LUKS{version} encrypted container" if version in (1, 2) else f"LUKS header (version {version})"
    return Layer("luks", f"luks{version}", desc, encrypted=True, fields=tuple(fields.items()))
