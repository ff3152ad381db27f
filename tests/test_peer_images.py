"""The scan against the peer projects' own test images (/work/shared/corpus/disk_images).

Expectations come from SOURCES.md section 1 (summaries of the pytsk, dfvfs, plaso, sleuthkit
test suites and of the DFTT answer sheets); where a peer's expectation and TSK's fls agree,
both are checked. DFTT zips are unpacked into the session's tmp dir, never into the corpus.
"""
from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import oracle
from tests.conftest import (SECTOR, ScanCache, assert_files_match_fls, evidence_id, files_of, one_evidence,
                            read_table, run_seized, volumes_of, walked_volumes)

pytestmark = pytest.mark.slow  # the peer corpus' images, scanned whole

PASSWORDS_MD5 = "39cb097008d17660abd0539891a672af"


def _rows_by_path(case: Path, eid: str, volume: str | None = None) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in files_of(case, volume, eid):
        out.setdefault(row["path"], []).append(row)
    return out


def _one(rows: dict[str, list[dict]], path: str, stream: str | None = None) -> dict:
    matches = [r for r in rows.get(path, []) if r["stream"] == stream]
    assert len(matches) == 1, f"{path}:{stream}: {matches or sorted(rows)[:40]}"
    return matches[0]


@pytest.fixture(scope="session")
def disk_images(corpus: Path) -> Path:
    return corpus / "disk_images"


@pytest.fixture(scope="session")
def dftt(disk_images: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    """Unpack one DFTT zip (once per session) and return the path of its image inside."""
    root = tmp_path_factory.mktemp("dftt")
    cache: dict[str, Path] = {}

    def unpack(zip_name: str, member: str) -> Path:
        if zip_name not in cache:
            with zipfile.ZipFile(disk_images / "dftt" / zip_name) as zf:
                zf.extractall(root / zip_name)
            cache[zip_name] = root / zip_name
        return cache[zip_name] / member

    return unpack


PEERS = {
    "pytsk": "pytsk/image.raw",
    "sleuthkit": "sleuthkit/image.dd",
    "iso9660": "dfvfs/iso9660.raw",
    "hfsplus": "dfvfs/hfsplus.raw",
    "volume_system": "pytsk/tsk_volume_system.raw",
    "dfvfs_split": "dfvfs/ext2.splitraw.000",
}
DFTT = {"dftt6": ("6-undel-fat.zip", "6-undel-fat/6-fat-undel.dd"),
        "dftt7": ("7-undel-ntfs.zip", "7-undel-ntfs/7-ntfs-undel.dd"),
        "dftt1": ("1-extend-part.zip", "1-extend-part/ext-part-test-2.dd")}


@pytest.fixture(scope="session")
def peer(disk_images: Path, dftt: Callable[[str, str], Path]) -> dict[str, Path]:
    """Peer image paths by short name (DFTT ones unpacked)."""
    out = {name: disk_images / rel for name, rel in PEERS.items()}
    out.update({name: dftt(*where) for name, where in DFTT.items()})
    return out


@pytest.fixture(scope="session")
def peers_case(scans: ScanCache, peer: dict[str, Path]) -> Path:
    """One scan of every peer image with distinct media (Dask start-up is paid once)."""
    return scans.case("peers", *peer.values(), workers=None)


# ---------------------------------------------------------------------------------------------
# pytsk, dfvfs, sleuthkit ext2 / ISO9660 / HFS+ images


def test_pytsk_image_raw(peer: dict[str, Path], peers_case: Path) -> None:
    image, case = peer["pytsk"], peers_case
    eid = evidence_id(image)
    rows = files_of(case, evidence=eid)
    assert assert_files_match_fls(rows, image, None) == 3
    allocated = {r["inode"] for r in rows if r["allocated"]}
    assert allocated == {11, 12, 14, 15, 16, 17}
    by_path = _rows_by_path(case, eid)
    stale = _one(by_path, "/passwords.txt~")
    assert not stale["allocated"] and stale["inode"] == 0
    passwords = _one(by_path, "/passwords.txt")
    assert (passwords["inode"], passwords["size"], passwords["uid"], passwords["gid"]) == (15, 116, 151107, 5000)
    assert passwords["md5"] == PASSWORDS_MD5
    assert _one(by_path, "/a_directory/another_file")["sha256"] == \
        "c7fbc0e821c0871805a99584c6a384533909f68a6bbe9a2a687d28d9f3b10c16"
    assert _one(by_path, "/a_directory")["sha256"] is None  # a directory has no content hash
    ev = one_evidence(case, eid)
    assert ev["size"] == 102400 and ev["sha256"] == oracle.sha256_file(image)


def _dfvfs_checks(case: Path, eid: str) -> None:
    by_path = _rows_by_path(case, eid)
    passwords = _one(by_path, "/passwords.txt")
    assert (passwords["inode"], passwords["size"], passwords["md5"]) == (14, 116, PASSWORDS_MD5)
    another = _one(by_path, "/a_directory/another_file")
    assert (another["inode"], another["size"], another["uid"], another["gid"]) == (15, 22, 1000, 1000)
    assert another["mode"] & 0o777 == 0o664
    assert another["image_offset"] == 527360
    assert _one(by_path, "/a_directory/a_file")["inode"] == 13
    link = _one(by_path, "/a_link")
    assert (link["inode"], link["type"]) == (16, "symlink")
    root = sorted(p for p in by_path if p.count("/") == 1)
    assert root == ["/$OrphanFiles", "/a_directory", "/a_link", "/lost+found", "/passwords.txt"]


def test_dfvfs_split_raw_equals_e01(disk_images: Path, scans: ScanCache, peers_case: Path) -> None:
    segments = [disk_images / "dfvfs" / "ext2.splitraw.000", disk_images / "dfvfs" / "ext2.splitraw.001"]
    eid = evidence_id(*segments)
    split_case = peers_case
    e01_case = scans.case("dfvfs-e01", disk_images / "dfvfs" / "ext2.E01", workers=None)
    for case in (split_case, e01_case):
        _dfvfs_checks(case, eid)
    assert assert_files_match_fls(files_of(split_case, evidence=eid), segments, None) == 3
    split_ev, e01_ev = one_evidence(split_case, eid), one_evidence(e01_case, eid)
    assert split_ev["format"] == "split-raw" and len(split_ev["segments"]) == 2
    assert split_ev["sha256"] == oracle.sha256_file(segments)
    assert e01_ev["format"] == "ewf" and e01_ev["verified"] is True
    assert (e01_ev["sha256"], e01_ev["size"]) == (split_ev["sha256"], split_ev["size"]) == \
        (oracle.sha256_file(segments), 4 * 1024 * 1024)
    assert files_of(split_case, evidence=eid) == files_of(e01_case)  # same medium -> same id, same rows
    expected = (disk_images / "dfvfs" / "expected" / "password.txt").read_bytes()
    assert _one(_rows_by_path(e01_case, eid), "/passwords.txt")["sha256"] == hashlib.sha256(expected).hexdigest()


def test_dfvfs_iso9660(peer: dict[str, Path], peers_case: Path) -> None:
    image, case = peer["iso9660"], peers_case
    eid = evidence_id(image)
    assert assert_files_match_fls(files_of(case, evidence=eid), image, None) == 3
    by_path = _rows_by_path(case, eid)
    root = {p: _one(by_path, p)["inode"] for p in by_path if p.count("/") == 1}
    assert root == {"/A_DIRECTORY": 1, "/LOST_FOUND": 2, "/PASSWORDS.TXT": 3, "/$OrphanFiles": 6}
    another = _one(by_path, "/A_DIRECTORY/ANOTHER_FILE")
    assert (another["inode"], another["size"], another["image_offset"]) == (4, 22, 55296)
    assert _one(by_path, "/A_DIRECTORY/A_FILE")["inode"] == 5
    assert one_evidence(case, eid)["volume_system"] == "none"


def test_dfvfs_hfsplus(peer: dict[str, Path], peers_case: Path) -> None:
    image, case = peer["hfsplus"], peers_case
    eid = evidence_id(image)
    assert assert_files_match_fls(files_of(case, evidence=eid), image, None) > 0
    rows = files_of(case, evidence=eid)
    root_names = {r["name"] for r in rows if r["path"].count("/") == 1}
    assert {"$ExtentsFile", "$CatalogFile", "$BadBlockFile", "$AllocationFile", "$AttributesFile", ".fseventsd",
            ".HFS+ Private Directory Data\r", "a_directory", "a_link", "passwords.txt",
            "^^^^HFS+ Private Data"} <= root_names  # TSK itself maps the NULs to ^
    by_path = _rows_by_path(case, eid)
    assert _one(by_path, "/passwords.txt")["md5"] == PASSWORDS_MD5
    another = _one(by_path, "/a_directory/another_file")
    assert (another["inode"], another["image_offset"]) == (21, 1130496)
    assert (_one(by_path, "/a_directory")["inode"], _one(by_path, "/a_link")["inode"]) == (18, 22)
    fork = _one(by_path, "/a_directory/a_resourcefork", "rsrc")
    assert (fork["inode"], fork["size"]) == (25, len(b"My resource fork\n"))
    assert fork["sha256"] == oracle.icat_sha256(image, "25-4353-1")  # TSK's RSRC attribute


def test_sleuthkit_image_dd(peer: dict[str, Path], peers_case: Path) -> None:
    image, case = peer["sleuthkit"], peers_case
    eid = evidence_id(image)
    assert assert_files_match_fls(files_of(case, evidence=eid), image, None) == 3
    by_path = _rows_by_path(case, eid)
    link = _one(by_path, "/a_link")
    assert (link["inode"], link["type"], link["size"]) == (13, "symlink", 24)
    assert link["sha256"] is None  # a link is not content
    md5s = {p: _one(by_path, p)["md5"] for p in ("/passwords.txt", "/a_directory/a_file", "/a_directory/another_file")}
    assert md5s == {"/passwords.txt": PASSWORDS_MD5, "/a_directory/a_file": "85bebf486af24792085f769afa46717d",
                    "/a_directory/another_file": "d54ff73404ed6041a3bd66850b061bff"}


def test_tsk_volume_system(peer: dict[str, Path], peers_case: Path) -> None:
    image, case = peer["volume_system"], peers_case
    eid = evidence_id(image)
    assert one_evidence(case, eid)["volume_system"] == "mbr"
    volumes = {v["volume"]: v for v in volumes_of(case, eid)}
    expected = {0: (0, 1), 1: (0, 1), 2: (1, 350), 3: (351, 2529), 4: (351, 1), 5: (351, 1), 6: (352, 2528)}
    assert [p.index for p in oracle.mmls_entries(image)] == sorted(expected)
    for addr in (1, 2, 3, 5, 6):  # the two Linux partitions, the extended one and the unallocated runs
        v = volumes.get(f"mbr:{addr}")
        assert v is not None, f"mbr:{addr} missing from volumes: {sorted(volumes)}"
        start, length = expected[addr]
        assert (v["start"], v["length"]) == (start * SECTOR, length * SECTOR), v
    assert volumes["mbr:2"]["status"] == "no file system"
    assert volumes["mbr:6"]["status"] == "walked" and volumes["mbr:6"]["fs_type"].startswith("ext")
    assert volumes["mbr:1"]["status"] == "unallocated" and volumes["mbr:5"]["status"] == "unallocated"
    assert [v["volume"] for v in walked_volumes(case, eid)] == ["mbr:6"]
    rows = files_of(case, "mbr:6", eid)
    assert {(r["path"], r["inode"]) for r in rows} == {("/lost+found", 11), ("/$OrphanFiles", 161)}
    assert {r["volume_offset"] for r in rows} == {352 * SECTOR}
    errors = [e for e in read_table(case, "errors").to_pylist() if e["evidence_id"] == eid]
    assert any(e["volume"] == "mbr:2" for e in errors), errors


# ---------------------------------------------------------------------------------------------
# DFTT


def test_dftt6_deleted_fat_files(peer: dict[str, Path], peers_case: Path) -> None:
    image, case = peer["dftt6"], peers_case
    eid = evidence_id(image)
    rows = files_of(case, evidence=eid)
    assert assert_files_match_fls(rows, image, None) >= 1  # only the volume label entry is allocated
    by_path = _rows_by_path(case, eid)
    # pytsk3 (and icat) give the right MD5 for contiguous files and the "contiguous copy" MD5 for
    # fragmented ones, since FAT keeps no cluster chain for a deleted file.
    expected = {
        "/_ing.dat": (6, 780, "59b20779f69ff9f0ac5fcd2c38835a79"),
        "/_ult1.dat": (7, 3801, "ffd27bd782bdce67750b6b9ee069d2ef"),
        "/_ir1/mult2.dat": (870, 1715, "59cf0e9cd107bc1e75afb7374f6e05bb"),
        "/_rag1.dat": (4, 1584, "c4f3b9a0"),
        "/_rag2.dat": (5, 3873, "965370ac"),
        "/_ir1/dir2/frag3.dat": (965, 2027, "a7a14ac6"),
    }
    for path, (inode, size, md5) in expected.items():
        row = _one(by_path, path)
        assert not row["allocated"] and (row["inode"], row["size"]) == (inode, size), row
        assert row["md5"] is not None and row["md5"].startswith(md5), (path, row["md5"])
        assert row["md5"] == oracle.icat_md5(image, inode)
    assert not _one(by_path, "/_ir1")["allocated"]


def test_dftt7_ntfs_ads_and_resident(peer: dict[str, Path], peers_case: Path) -> None:
    image, case = peer["dftt7"], peers_case
    eid = evidence_id(image)
    assert assert_files_match_fls(files_of(case, evidence=eid), image, None) > 0
    by_path = _rows_by_path(case, eid)
    ads = _one(by_path, "/mult1.dat", "ADS")
    default = _one(by_path, "/mult1.dat")
    assert (ads["inode"], ads["size"], default["inode"], default["size"]) == (32, 1234, 32, 3801)
    assert ads["sha256"] == oracle.icat_sha256(image, "32-128-6")
    res = _one(by_path, "/res1.dat")
    assert (res["inode"], res["size"]) == (37, 101)
    assert res["sha256"] == oracle.icat_sha256(image, "37-128-1")
    inodes = {p: _one(by_path, p)["inode"] for p in
              ("/sing1.dat", "/frag1.dat", "/frag2.dat", "/dir1", "/dir1/dir2", "/dir1/dir2/frag3.dat", "/dir1/mult2.dat")}
    assert inodes == {"/sing1.dat": 31, "/frag1.dat": 29, "/frag2.dat": 30, "/dir1": 33, "/dir1/dir2": 34,
                      "/dir1/dir2/frag3.dat": 35, "/dir1/mult2.dat": 36}
    assert any(r["inode"] == 38 and r["name"] == "sing2.dat" for r in files_of(case, evidence=eid))
    for row in files_of(case, evidence=eid):
        if row["name"] in ("res1.dat", "sing1.dat", "mult1.dat") and row["mtime"] is not None:
            assert (row["mtime"].year, row["mtime"].month, row["mtime"].day) == (2004, 2, 29), row


def test_dftt1_extended_partitions(peer: dict[str, Path], peers_case: Path) -> None:
    image, case = peer["dftt1"], peers_case
    eid = evidence_id(image)
    walked = walked_volumes(case, eid)
    starts = sorted(v["start"] // SECTOR for v in walked)
    assert starts == [63, 52416, 104832, 157311, 209727, 262143]
    assert {v["fs_type"] for v in walked} == {"fat16"}
    found = {r["name"]: r["volume_offset"] // SECTOR for r in files_of(case, evidence=eid) if r["name"].endswith(".txt")}
    assert found == {"primary-1.txt": 63, "primary-2.txt": 52416, "primary-3.txt": 104832,
                     "second-1.txt": 157311, "second-2.txt": 209727, "second-3.txt": 262143}
    for name in found:
        row = next(r for r in files_of(case, evidence=eid) if r["name"] == name)
        assert row["size"] == 0 and row["md5"] == hashlib.md5(b"").hexdigest()


# ---------------------------------------------------------------------------------------------
# bad input from the peers


def test_pytsk_bogus_raw_is_one_line(disk_images: Path, tmp_path: Path, seized_cli: None) -> None:
    bogus = disk_images / "pytsk" / "bogus.raw"
    proc = run_seized("scan", bogus, "-o", tmp_path / "case")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "bogus.raw" in lines[0], proc.stderr
