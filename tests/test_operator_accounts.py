"""Accounts (extractors.accounts): passwd, shadow, group, gshadow; the hash algorithm from real
hashes (openssl passwd, libxcrypt), never the hash; credentials leaves these files alone."""
from __future__ import annotations

import dataclasses

import pytest

from extractors import credentials
from extractors.accounts import account_file, extract, hash_algorithm
from extractors.base import Source
from tests.operator_plants import openssl_hash, xcrypt_hash


def _src(path: str, member: str | None = None) -> Source:
    return Source(None, path, member, (member or path).rsplit("/", 1)[-1])


@pytest.fixture(scope="module")
def hashes() -> dict[str, str]:
    return {
        "md5crypt": openssl_hash("1", "pw", "saltsalt"),
        "sha256crypt": openssl_hash("5", "pw", "saltsalt"),
        "sha512crypt": openssl_hash("6", "pw", "saltsalt"),
        "yescrypt": xcrypt_hash("$y$j9T$7f/bLCX8Ht1yExbDdH0Gq.$", "pw"),
        "bcrypt": xcrypt_hash("$2b$05$abcdefghijklmnopqrstuu", "pw"),
        "descrypt": xcrypt_hash("ab", "pw"),
    }


def test_algorithms_of_real_hashes_and_locks(hashes: dict[str, str]) -> None:
    for algo, h in hashes.items():
        assert hash_algorithm(h) == (algo, False), h
        assert hash_algorithm("!" + h) == (algo, True)
    assert hash_algorithm("") == ("none", False)
    assert hash_algorithm("!") == ("locked", True)
    assert hash_algorithm("*") == ("locked", True)
    assert hash_algorithm("!*") == ("locked", True)


def test_shadow_rows_hold_no_hash(hashes: dict[str, str]) -> None:
    data = "".join(f"u{i}:{h}:20423:0:99999:7:::\n" for i, h in enumerate(hashes.values())).encode()
    found = list(extract(data, _src("/etc/shadow")))
    assert [f.hash_algorithm for f in found] == list(hashes)
    assert {f.last_change for f in found} == {"2025-12-01"}
    for f in found:
        for value in dataclasses.astuple(f):
            for h in hashes.values():
                assert h[-10:] not in str(value)


def test_passwd_group_gshadow() -> None:
    (root, bob) = extract(b"root:x:0:0:root:/root:/bin/bash\nbob:x:1001:1001:Bob,,,:/home/bob:/bin/sh\n",
                          _src("/etc/passwd"))
    assert (bob.user, bob.uid, bob.gid, bob.home, bob.shell, bob.gecos, bob.hash_algorithm) == (
        "bob", 1001, 1001, "/home/bob", "/bin/sh", "Bob,,,", None)
    (sudo,) = extract(b"sudo:x:27:cosma,bob\n", _src("/etc/group"))
    assert (sudo.group, sudo.gid, sudo.members, sudo.user) == ("sudo", 27, ["cosma", "bob"], None)
    (gs,) = extract(b"sudo:!:admin:cosma,bob\n", _src("/etc/gshadow-"))
    assert (gs.source, gs.group, gs.locked, gs.members) == ("gshadow", "sudo", True, ["cosma", "bob", "admin"])


@pytest.mark.parametrize("path, member, kind", [
    ("/etc/shadow", None, "shadow"), ("/etc/shadow-", None, "shadow"), ("/etc/passwd", None, "passwd"),
    ("/root/backup.tar", "etc/shadow", "shadow"), ("/srv/chroot/etc/group", None, "group"),
    ("/home/a/passwd", None, None), ("/etc/shadow.gz", None, None), ("/etc/passwd.bak", None, "passwd"),
    ("/etc/shadow.old", None, "shadow"), ("/etc/passwdqc.conf", None, None), ("/etc/group.bak.gz", None, None),
])
def test_which_files(path: str, member: str | None, kind: str | None) -> None:
    assert account_file(_src(path, member)) == kind


def test_lines_that_do_not_fit_are_skipped() -> None:
    assert list(extract(b"not:an:account\nroot:x:zero:0:root:/root:/bin/bash\n", _src("/etc/passwd"))) == []
    assert list(extract(b"\x00\x01binary", _src("/etc/shadow"))) == []


def test_credentials_no_longer_reports_account_files() -> None:
    gshadow = b"root:*::\ndaemon:*::\nsudo:!::cosma,bob\nadm:*::syslog\ncosma:!::\n"
    assert list(credentials.extract(gshadow, _src("/etc/gshadow"))) == []
    # locked entries are no credentials wherever they stand (extractors/credentials.py); real pairs still are
    assert list(credentials.extract(gshadow, _src("/home/a/list.txt"))) == []
    combos = b"bob:Sunshine2009\nalice:hunter22x\ncarol:Passw0rd!\ndave:qwerty123\n"
    assert list(credentials.extract(combos, _src("/home/a/list.txt")))
