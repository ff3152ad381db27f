"""Precision on a real system: a clean hosting server built from real Debian packages yields no
spam template, harvest list, active Tor directive or hidden service, credential or non-`software`
YARA hit; the same server with a spam operation planted on top yields every planted artefact.

The server (tests/realsystem.py) is apache2, php, postfix, exim4, openssh, tor, mariadb,
wordpress, spamassassin and roundcube unpacked from their .debs, with a dpkg database written
from their control data. Packages come from $SEIZED_DEB_CACHE or `apt-get download`; the
tests skip, saying why, when neither is available. Images are built once per session: the
clean image first, then the artefacts are planted into the same tree for the second.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.precision import false_findings, recall
from tests import realsystem
from tests.conftest import ScanCache, read_table

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def real_server_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return realsystem.server_tree(tmp_path_factory.mktemp("realsystem") / "server")
    except realsystem.RealSystemUnavailable as exc:
        pytest.skip(f"cannot build a server from Debian packages: {exc}")


@pytest.fixture(scope="session")
def real_server_image(real_server_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return realsystem.ext4_image(real_server_tree, tmp_path_factory.mktemp("realsystem-img") / "server-clean.img")


@pytest.fixture(scope="session")
def real_server_planted(real_server_tree: Path, real_server_image: Path,
                        tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, realsystem.Planted]:
    truth = realsystem.plant(real_server_tree)  # after the clean image exists: the tree is reused
    image = realsystem.ext4_image(real_server_tree, tmp_path_factory.mktemp("realsystem-img") / "server-planted.img")
    return image, truth


@pytest.fixture(scope="session")
def clean_case(scans: ScanCache, real_server_image: Path) -> Path:
    return scans.case("realsystem-server-clean", real_server_image, workers=None)


@pytest.fixture(scope="session")
def planted_case(scans: ScanCache, real_server_planted: tuple[Path, realsystem.Planted]) -> Path:
    return scans.case("realsystem-server-planted", real_server_planted[0], workers=None)


def _paths(case: Path, table: str, keep=lambda row: True) -> list[str]:
    return sorted({f"{r['path']}!{r['member']}" if r["member"] else r["path"]
                   for r in read_table(case, table).to_pylist() if keep(r)})


def test_the_server_is_a_real_debian_system(real_server_tree: Path):
    status = (real_server_tree / "var/lib/dpkg/status").read_text()
    for package in ("apache2", "postfix", "tor", "spamassassin", "wordpress", "mariadb-server"):
        assert f"Package: {package}\nStatus: install ok installed\n" in status
    assert (real_server_tree / "var/lib/dpkg/info/tor.md5sums").stat().st_size > 0
    assert "/etc/tor/torrc" in (real_server_tree / "var/lib/dpkg/info/tor.conffiles").read_text()
    assert (real_server_tree / "usr/share/spamassassin/20_drugs.cf").is_file()


@pytest.mark.parametrize("table", ["spam_templates", "harvest_lists", "tor", "credentials", "yara"])
def test_clean_server_has_no_false_findings(clean_case: Path, table: str):
    count = false_findings(clean_case)[table]
    if count:
        keep = {
            "tor": lambda r: r["kind"] in ("directive", "hidden_service") and r["active"],
            "yara": lambda r: "software" not in (r["tags"] or []),
        }.get(table, lambda r: True)
        pytest.fail(f"{count} false {table} rows on a clean server, in: {_paths(clean_case, table, keep)[:20]}")


def test_clean_server_software_rules_say_tor_is_installed(clean_case: Path):
    software = {(r["rule"], r["path"]) for r in read_table(clean_case, "yara").to_pylist()
                if "software" in (r["tags"] or [])}
    assert ("tor_user", "/usr/bin/tor") in software


def test_planted_server_recall_is_complete(planted_case: Path, real_server_planted):
    _, truth = real_server_planted
    got = recall(planted_case, truth)
    missed = {k: v for k, v in got.items() if v[0] != v[1]}
    assert not missed, f"recall below 100 %: {missed}"
    assert all(v[1] > 0 for v in got.values()), got


# -- this machine's own system files ----------------------------------------------------------


@pytest.fixture(scope="session")
def machine_case(scans: ScanCache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("realsystem-machine")
    try:
        tree = realsystem.machine_tree(root / "tree")
    except realsystem.RealSystemUnavailable as exc:
        pytest.skip(f"cannot copy this machine's system files: {exc}")
    image = realsystem.ext4_image(tree, root / "machine.img")
    return scans.case("realsystem-machine-clean", image, workers=None)


@pytest.mark.parametrize("table", ["spam_templates", "harvest_lists", "tor", "credentials", "yara"])
def test_this_machines_own_files_have_no_false_findings(machine_case: Path, table: str):
    count = false_findings(machine_case)[table]
    assert count == 0, f"{count} false {table} rows in this machine's own files: {_paths(machine_case, table)[:20]}"
