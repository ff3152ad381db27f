"""SSH keys (extractors.ssh_keys) against ssh-keygen: fingerprints and bits as `ssh-keygen -l -E
sha256` prints them, private keys recorded (type, encrypted, public fingerprint) and never copied."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from extractors.base import Source
from extractors.ssh_keys import extract, text_kind
from tests import imaging
from tests.operator_plants import Key, make_key, run

KEYS = [("ed25519", None, "", False), ("rsa", 1024, "", False), ("rsa", 4096, "long-passphrase", False),
        ("ecdsa", 256, "", False), ("ecdsa", 384, "long-passphrase", False), ("ecdsa", 521, "", False),
        ("rsa", 2048, "", True), ("rsa", 2048, "long-passphrase", True), ("ecdsa", 256, "", True),
        ("ecdsa", 384, "", True), ("rsa", 2048, "", "PKCS8"), ("ecdsa", 521, "", "PKCS8"),
        ("rsa", 2048, "long-passphrase", "PKCS8")]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Key, str, bool]]:
    work = tmp_path_factory.mktemp("keys")
    out = []
    try:
        for i, (kind, bits, passphrase, pem) in enumerate(KEYS):
            out.append((make_key(work, f"k{i}", kind, f"user{i}@host{i}", passphrase, bits, pem), passphrase, pem))
    except imaging.ImagingError as exc:
        pytest.skip(str(exc))
    return out


def _run(path: str | None, data: bytes, member: str | None = None) -> list:
    name = None if path is None else (member or path).rsplit("/", 1)[-1]
    return list(extract(data, Source(None, path, member, name)))


def test_public_keys_match_ssh_keygen(keys) -> None:
    for key, _, _ in keys:
        (f,) = _run("/home/u/.ssh/id.pub", key.public_line.encode() + b"\n")
        assert (f.kind, f.fingerprint, f.bits, f.key_type, f.comment, f.user) == (
            "public_key", key.fingerprint, key.bits, key.key_type, key.comment, "u")


def test_authorized_keys_with_options(keys) -> None:
    k0, k1 = keys[0][0], keys[1][0]
    data = (f'from="203.0.113.0/24,!10.0.0.1",command="/usr/bin/rsync --server -e \\"x y\\"",no-pty {k0.public_line}\n'
            f"\n# comment\n{k1.public_line}\nssh-rsa AAAAnot-base64!! junk\nssh-ed25519 AAAAC3NzaC1yc2EAAAADAQAB bad\n")
    found = _run("/root/.ssh/authorized_keys", data.encode())
    assert [(f.fingerprint, f.line_no) for f in found] == [(k0.fingerprint, 1), (k1.fingerprint, 4)]
    assert found[0].options == 'from="203.0.113.0/24,!10.0.0.1",command="/usr/bin/rsync --server -e \\"x y\\"",no-pty'
    assert found[1].options is None and found[0].user == "root"


def test_known_hosts_plain_hashed_and_marked(keys, tmp_path: Path) -> None:
    k = keys[3][0]
    blob = k.public_line.rsplit(" ", 1)[0]
    hashed = tmp_path / "kh"
    hashed.write_text(f"secret-host.example {blob}\n")
    run("ssh-keygen", "-H", "-f", str(hashed))
    data = f"c2.example.net,203.0.113.7 {blob}\n@cert-authority *.example.org {blob}\n" + hashed.read_text()
    found = _run("/home/u/.ssh/known_hosts", data.encode())
    assert [(f.hosts, f.hashed_host, f.options, f.fingerprint) for f in found[:2]] == [
        ("c2.example.net,203.0.113.7", False, None, k.fingerprint), ("*.example.org", False, "@cert-authority", k.fingerprint)]
    assert found[2].hashed_host is True and "secret-host" not in found[2].hosts


def test_private_keys_recorded_never_copied(keys) -> None:
    for key, passphrase, pem in keys:
        data = key.path.read_bytes()
        (f,) = _run("/home/u/.ssh/" + key.path.name, data)
        assert f.kind == "private_key" and f.encrypted is bool(passphrase)
        if pem and passphrase:  # an encrypted PEM key shows nothing of its public half
            assert f.fingerprint is None and f.bits is None
            assert f.key_type in (None, key.key_type)
        else:  # OpenSSH format: the public half in clear; unencrypted PEM/PKCS#8: its public fields
            assert (f.fingerprint, f.key_type, f.bits) == (key.fingerprint, key.key_type, key.bits)
        body = [line for line in data.decode().splitlines() if line and not line.startswith("-----")]
        for value in dataclasses.astuple(f):
            assert not any(b in str(value) for b in body if len(b) > 20)


def test_where_private_keys_are_looked_for(keys) -> None:
    openssh = next(k for k, _, pem in keys if not pem).path.read_bytes()
    pem = next(k for k, _, p in keys if p).path.read_bytes()
    assert len(_run(None, b"\x00" * 100 + openssh + b"\x00" * 100)) == 1  # unallocated: unambiguous armour
    assert _run(None, pem) == []  # a PEM key outside an SSH place is probably TLS
    assert _run("/etc/ssl/private/server.key", pem) == []
    assert len(_run("/etc/ssh/ssh_host_rsa_key", pem)) == 1
    assert len(_run("/root/backup.tar", openssh, member="root/.ssh/id_rsa")) == 1


@pytest.mark.parametrize("path, kind", [
    ("/root/.ssh/authorized_keys", "authorized_key"), ("/home/a/.ssh/authorized_keys2", "authorized_key"),
    ("/etc/ssh/authorized_keys.d/bob", "authorized_key"), ("/home/a/.ssh/known_hosts", "known_host"),
    ("/etc/ssh/ssh_known_hosts", "known_host"), ("/etc/ssh/ssh_host_ed25519_key.pub", "public_key"),
    ("/home/a/.ssh/id_rsa", None), ("/home/a/notes.txt", None), ("/home/a/key.pub.gz", None),
])
def test_text_kinds(path: str, kind: str | None) -> None:
    assert text_kind(Source(None, path, None, path.rsplit("/", 1)[-1])) == kind
