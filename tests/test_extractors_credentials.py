from pathlib import Path

import pytest

from extractors.base import Source
from extractors.credentials import extract

S = Source("ev", "/x", None, "x", None)
from tests.conftest import CORPUS  # $SEIZED_CORPUS


def creds(data):
    return list(extract(data, S))


def test_combo_list_shapes():
    data = b"alice@example.com:s3cret\nbob;hunter2\nroot:toor\nsmtp.example.com:587:u@example.com:pw:x\nmail.example.com|25|joe|pw\n"
    r = creds(data)
    assert [(c.kind, c.username, c.secret, c.host, c.port, c.line_no) for c in r] == [
        ("email_password", "alice@example.com", "s3cret", None, None, 1),
        ("user_password", "bob", "hunter2", None, None, 2),
        ("user_password", "root", "toor", None, None, 3),
        ("smtp_combo", "u@example.com", "pw:x", "smtp.example.com", 587, 4),
        ("smtp_combo", "joe", "pw", "mail.example.com", 25, 5),
    ]


def test_not_credentials():
    data = (b"status:ok\ntime: 12:30:45\n12:30:45\nC:\\path\\x\nfe80::1\n00:11:22:33:44:55\n"
            b"root:x:0:0:root:/root:/bin/bash\nkey: value\nDate: Mon, 12:30\nmailto:a@b.com\n")
    assert creds(data) == []


def test_single_pair_in_prose_is_not_a_combo_list():
    data = b"Some prose here.\nfoo:bar\nMore prose follows, and more.\nAnd more.\nThe end.\n"
    assert creds(data) == []


def test_url_password():
    r = creds(b"see ftp://bob:s3cret@ftp.example.com:21/x")
    assert [(c.kind, c.username, c.secret, c.host, c.port) for c in r] == [("url", "bob", "s3cret", "ftp.example.com", 21)]


def test_secret_field_marked():
    from dataclasses import fields
    from extractors.credentials import CredentialFinding
    assert {f.name for f in fields(CredentialFinding) if f.metadata.get("secret")} == {"secret"}


def test_utf16_combo_list():
    data = b"\xff\xfe" + "admin:admin\r\nroot:toor\r\nuser:letmein\r\n".encode("utf-16-le")
    assert [(c.username, c.secret) for c in creds(data)] == [("admin", "admin"), ("root", "toor"), ("user", "letmein")]


def test_seclists_corpus():
    d = CORPUS / "credentials/seclists"
    if not d.exists():
        pytest.skip(f"public corpus not found at {CORPUS}: set SEIZED_CORPUS")
    for name, n in (("ftp-betterdefaultpasslist.txt", 65), ("ssh-betterdefaultpasslist.txt", 73)):
        data = (d / name).read_bytes()
        r = creds(data)
        assert len(r) == n == len(data.splitlines())
        for c in r:
            assert data[c.offset:].startswith(c.username.encode())
    r = creds((d / "ftp-betterdefaultpasslist.txt").read_bytes())
    assert ("Root", "wago ") in [(c.username, c.secret) for c in r]  # trailing space kept
    r = creds((d / "ssh-betterdefaultpasslist.txt").read_bytes())
    pairs = [(c.username, c.secret) for c in r]
    assert ("cirros", "cubswin:)") in pairs and ("default", "") in pairs
    assert creds((d / "top-usernames-shortlist.txt").read_bytes()) == []


def test_password_csv_corpus():
    p = CORPUS / "disk_images/dfvfs/expected/password.txt"
    if not p.exists():
        pytest.skip(f"public corpus not found at {CORPUS}: set SEIZED_CORPUS")
    r = creds(p.read_bytes())
    assert [(c.kind, c.host, c.username, c.secret, c.line_no) for c in r] == [
        ("csv", "bank", "joesmith", "superrich", 2), ("csv", "alarm system", "-", "1234", 3),
        ("csv", "treasure chest", "-", "1111", 4), ("csv", "uber secret laire", "admin", "admin", 5)]


def test_torrc_examples_has_no_combo():
    p = CORPUS / "tor/whonix/torrc.examples"
    if not p.exists():
        pytest.skip(f"public corpus not found at {CORPUS}: set SEIZED_CORPUS")
    assert creds(p.read_bytes()) == []


def test_combo_runs_told_by_newline_gaps():
    # Runs allow one non-combo line between combo lines; a gap of two breaks the run.
    data = b"a:1\nb:2\n\nc:3\nq:4\n\n\nd:4\n"
    r = creds(data)
    assert [(c.username, c.line_no, data[c.offset:c.offset + 1]) for c in r] == [
        ("a", 1, b"a"), ("b", 2, b"b"), ("c", 4, b"c"), ("q", 5, b"q")]
    first_line = b"x:1\ny:2\nz:3\n"
    assert [c.offset for c in creds(first_line)] == [0, 4, 8]


# -- issue 16: field tables, paths and account files are not credentials -----------------------

@pytest.mark.parametrize("data", [
    b"".join(b"/usr/share/man/man3/Mail::DKIM::%d.3pm.gz\n" % i for i in range(20)),  # dpkg .list
    b"".join(b"FUNC:_ZNSt11logic_error%dEv@@GLIBCXX_3.4.%d\n" % (i, i) for i in range(20))
    + b"".join(b"OBJECT:_ZTVSt%d@@GLIBCXX_3.4\n" % i for i in range(20)),  # libstdc++ symbols
    b"root:*::\ndaemon:*::\nbin:*::\nsys:*::\nadm:*::admin\nmail:!::\nadmin:!::\n",  # gshadow
    b"root:!:19800:0:99999:7:::\ndaemon:*:19800:0:99999:7:::\nbin:*:19800:0:99999:7:::\n",  # shadow, locked
    b"$config_directory:d:root:-:755:u\n$daemon_directory:d:root:-:755:u\n$data_directory:d:$mail_owner:-:700:uc\n",
    b"a.button.icon:before,\nbutton.btn:before,\n.mce-visualblocks:not([dir=rtl]) p,\n",  # CSS
    b"Acquire::http::Proxy \"x\";\nAPT::Periodic::Update \"1\";\nDir::Cache \"/var\";\n",  # apt.conf
    b"2001:200::,2001:200:ffff:ffff::,JP\n2001:208::,2001:208:ffff::,SG\n2001:218::,2001:218:ffff::,JP\n",
    b"XRequest.1:X_CreateWindow\nXRequest.2:X_ChangeWindowAttributes\nXRequest.3:X_GetWindowAttributes\n"
    b"XRequest.4:X_DestroyWindow\nXRequest.5:X_DestroySubwindows\n",
])
def test_stock_system_files_are_not_credentials(data):
    assert creds(data) == []


def test_documentation_url_pairs_are_not_credentials():
    assert creds(b"new URL('https://user:pass@sub.example.com:8080/p')\nmysql://dbuser:dbpass@localhost/db\n") == []
    assert creds(b"http://www.cnn.com:USArticle1840@evil.example.com/\n") == []
    assert [c.username for c in creds(b"ftp://bob:s3cret@ftp.example.com/")] == ["bob"]
