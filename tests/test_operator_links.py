"""Operator links across drives: the shared key, login address, wallet and crontab line, named
in `correlations` and in the declaration's "Access and operators" with citations."""
from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import read_table
from tests.operator_case import CRON_COMMAND, SHARED_BTC, SHARED_IP, SHARED_PURSE, scanned

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="ssh-keygen (openssh-client) not installed"),
              pytest.mark.skipif(not shutil.which("mkfs.ext4"), reason="mkfs.ext4 (e2fsprogs) not installed")]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return scanned(tmp_path_factory.mktemp("operators"))


def _links(out) -> dict[tuple[str, str], dict]:
    return {(r["kind"], r["value"]): r for r in read_table(out, "correlations").to_pylist()}


def test_correlations_name_the_shared_key_ip_wallet_and_cron(case):
    made, out = case
    links = _links(out)
    evidence = sorted(read_table(out, "evidence").column("evidence_id").to_pylist())
    ids = {t: set(read_table(out, t).column("finding_id").to_pylist()) for t in ("ssh_keys", "logins", "identities")}
    expected = [("identity:bitcoin", SHARED_BTC), ("identity:webmoney_purse", SHARED_PURSE)]
    if "ssh_keys" in ids and ids["ssh_keys"]:
        expected += [("ssh_key", made.key_fingerprint), ("ssh_key_comment", made.key_comment),
                     ("login_ip", SHARED_IP), ("cron_command", CRON_COMMAND)]
    for key in expected:
        assert key in links, f"no operator link {key}"
        assert links[key]["evidence_ids"] == evidence
    key_link = links[("ssh_key", made.key_fingerprint)]
    assert set(key_link["finding_ids"]) & ids["ssh_keys"] and set(key_link["finding_ids"]) & ids["logins"]
    # a failed login's address is not a link (scanners knock on every server); an invalid address is no identity
    assert not any(k == "login_ip" and v == "198.51.100.9" for k, v in links)
    assert not any(v == "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb" for _k, v in links)


def test_declaration_access_and_operators(case):
    made, out = case
    text = (out / "report" / "declaration.md").read_text()
    section = text.split("## Access and operators", 1)[1].split("\n## ", 1)[0]
    links = _links(out)
    for value in (made.key_fingerprint, SHARED_IP, SHARED_BTC):
        para = next(p for p in section.split("\n\n") if value in p and "was found on 2 evidence items" in p)
        assert "Exhibit E1" in para and "Exhibit E2" in para and "first 2011-03" in para
        cited = set(re.findall(r"\b[0-9a-f]{20}\b", para))
        kind = next(k for k, v in links if v == value and not k.startswith("indicator:"))
        assert cited and cited <= {f for t in ("ssh_keys", "logins", "identities")
                                   for f in read_table(out, t).column("finding_id").to_pylist()}
        assert set(links[(kind, value)]["finding_ids"]) & cited
        appendix = text.split("## Appendix A", 1)[1]
        assert all(fid in appendix for fid in cited), "every cited finding is listed in Appendix A"
    # the key's times: authorised on E? 2011-03-01 / 03-05 (file mtimes), used 2011-03-16 and 2011-03-18
    key_para = next(p for p in section.split("\n\n") if made.key_fingerprint in p and "evidence items" in p)
    # drive b's /etc/timezone says Europe/Moscow: its 22:01:02 login line is 19:01:02 UTC
    assert "2011-03-16T03:14:15Z" in key_para and "2011-03-18T19:01:02Z" in key_para
    assert "The postfix mail log" in section and "The exim mail log" in section
    assert "1 messages received, 1 deliveries sent, 1 deferred and 1 bounced" in section


def test_one_drive_has_no_links(case, tmp_path):
    from tests.conftest import run_seized

    made, _out = case
    out = tmp_path / "one"
    proc = run_seized("scan", made.drives[0].image, "-o", out, "--workers", "0")
    assert proc.returncode == 0, proc.stderr
    assert not [r for r in read_table(out, "correlations").to_pylist() if r["kind"] in ("ssh_key", "login_ip")]
    section = (out / "report" / "declaration.md").read_text().split("## Access and operators", 1)[1]
    assert "Only one evidence item was examined" in section.split("\n## ", 1)[0]
