"""Storage layers under the file systems, one module each: LUKS, BitLocker, LVM2, Linux md.

`ingest.layers` recognises which one a volume holds (`probe`) and walks what is inside; each
module here reads its own on-disk format with `struct` into a `Layer` (`ingest.storage.layer`).
Nothing here decrypts or writes.
"""
