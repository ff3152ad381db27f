"""User hash sets: NSRL RDS v3 (SQLite, minimal and full layouts) and md5sum/sha*sum lists.
A file in a notable set is `notable` with the set's name; in a known set, `known`. Sets are
named with their SHA-256 in the manifest, and part of the case's identity."""
from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from bench.bench_hashsets import hashes_of, write_rds_v3
from known.hashsets import HashSetError, load_hash_set, match
from tests import knownsystem
from tests.conftest import run_seized


def _status(scan, path: str) -> tuple[str, str]:
    files = scan.files()
    row = files.filter(pc.equal(files.column("path"), path)).to_pylist()[0]
    return row["known_status"], row["known_source"]


def test_file_in_an_md5sum_list_is_notable(tmp_path_factory):
    scan = knownsystem.tampered_scan(tmp_path_factory)
    assert _status(scan, knownsystem.NOTABLE_LIST_FILE) == ("notable", "kelihos.md5")


def test_file_in_an_rds_v3_database_is_notable(tmp_path_factory):
    scan = knownsystem.tampered_scan(tmp_path_factory)
    assert _status(scan, knownsystem.NOTABLE_RDS_FILE) == ("notable", "rds_notable.db")


def test_file_in_a_known_set_is_known_by_the_set(tmp_path_factory):
    scan = knownsystem.tampered_scan(tmp_path_factory)
    assert _status(scan, knownsystem.KNOWN_SET_FILE) == ("known", "known.sha256")
    # no other file shares those bytes; the rest of the accounts stay unknown
    assert _status(scan, "/etc/passwd")[0] == "unknown"


def test_notable_files_are_listed_and_sets_named_in_manifest_and_declaration(tmp_path_factory):
    scan = knownsystem.tampered_scan(tmp_path_factory)
    sets = {s["name"]: s for s in scan.manifest()["known_files"]["hash_sets"]}
    for name, path in scan.sets.items():
        assert sets[name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sets["rds_notable.db"]["format"] == "nsrl-rds-v3" and sets["rds_notable.db"]["hashes"] == {"sha256": 5001}
    assert sets["kelihos.md5"]["kind"] == "notable" and sets["known.sha256"]["kind"] == "known"
    text = (scan.case / "report" / "declaration.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| notable")]
    assert len(rows) == 2 and all("harnig" in r or "kelihos" in r for r in rows)
    assert text.index("| modified") < text.index("| notable")  # modified first, then notable


def test_resume_with_other_sets_is_another_case(tmp_path_factory):
    scan = knownsystem.tampered_scan(tmp_path_factory)
    proc = run_seized("scan", scan.image, "-o", scan.case, *knownsystem.SCAN_ARGS)  # same case, no sets
    assert proc.returncode == 2 and "already holds a different case" in proc.stderr


def test_bad_set_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.db"
    import sqlite3

    sqlite3.connect(bad).execute("CREATE TABLE other (x)").connection.commit()
    proc = run_seized("scan", "/nonexistent.img", "-o", tmp_path / "case", "--notable-hashes", bad)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "NSRL RDS v3" in proc.stderr and "Traceback" not in proc.stderr


# -- the loader alone --------------------------------------------------------------------------


def _digests(*data: bytes) -> dict[str, pa.Array]:
    return {a: pa.array([hashlib.new(a, d).hexdigest() for d in data] + [None]) for a in ("md5", "sha1", "sha256")}


@pytest.mark.parametrize("full", [False, True], ids=["minimal", "full"])
def test_rds_v3_layouts(tmp_path, full):
    inside, outside = b"in the set\n", b"not in the set\n"
    db = write_rds_v3(tmp_path / "rds.db", 2000, [hashes_of(inside, "in.txt")], full=full)
    hs = load_hash_set(db, "known", cache=False)
    assert hs.prefixes["sha256"].size == 2001 and hs.column.lower() == "sha256"
    got = match(hs, "sha256", _digests(inside, outside)["sha256"])
    assert got.tolist() == [True, False, False]
    assert (tmp_path / "rds.db").stat().st_size == db.stat().st_size and not list(tmp_path.glob("*-wal"))


def test_plain_lists_in_every_form(tmp_path):
    a, b, c = b"alpha\n", b"bravo\n", b"charlie\n"
    text = ("# comment\n\n"
            f"{hashlib.md5(a).hexdigest()}  alpha.txt\n"  # md5sum
            f"{hashlib.sha1(b).hexdigest().upper()} *bravo.bin\n"  # sha1sum binary mode, upper case
            f"{hashlib.sha256(c).hexdigest()}\n"  # one hash per line
            "not-a-hash\n")
    (tmp_path / "set.txt").write_text(text)
    hs = load_hash_set(tmp_path / "set.txt", "notable", cache=False)
    assert {k: v.size for k, v in hs.prefixes.items()} == {"md5": 1, "sha1": 1, "sha256": 1} and hs.rejected == 1
    d = _digests(a, b, c)
    assert match(hs, "md5", d["md5"]).tolist() == [True, False, False, False]
    assert match(hs, "sha1", d["sha1"]).tolist() == [False, True, False, False]
    assert match(hs, "sha256", d["sha256"]).tolist() == [False, False, True, False]


def test_prefix_hit_is_confirmed_on_the_whole_hash(tmp_path):
    real = hashlib.sha256(b"x").hexdigest()
    twin = real[:16] + ("0" if real[16] != "0" else "1") + real[17:]  # same 64-bit prefix, another hash
    (tmp_path / "set.sha256").write_text(real + "\n")
    hs = load_hash_set(tmp_path / "set.sha256", "notable", cache=False)
    assert match(hs, "sha256", pa.array([twin, real])).tolist() == [False, True]


def test_not_a_set(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(HashSetError, match="no MD5, SHA-1 or SHA-256"):
        load_hash_set(tmp_path / "empty.txt", "known", cache=False)


def test_cache_is_used_only_for_the_same_unchanged_file(tmp_path):
    db = write_rds_v3(tmp_path / "rds.db", 3000, [hashes_of(b"x\n", "x")])
    first = load_hash_set(db, "known", cache=tmp_path / "cache")
    second = load_hash_set(db, "known", cache=tmp_path / "cache")
    assert first.cache.startswith("written") and second.cache.startswith("read")
    assert second.sha256 == first.sha256 == hashlib.sha256(db.read_bytes()).hexdigest()
    assert np.array_equal(first.prefixes["sha256"], second.prefixes["sha256"])
    assert match(second, "sha256", pa.array([hashlib.sha256(b"x\n").hexdigest()])).tolist() == [True]
    import sqlite3

    con = sqlite3.connect(db)
    con.execute("DELETE FROM FILE WHERE file_name = 'x'")
    con.commit()
    con.close()
    third = load_hash_set(db, "known", cache=tmp_path / "cache")  # the file changed: read again
    assert third.cache.startswith("written") and third.sha256 == hashlib.sha256(db.read_bytes()).hexdigest()
    assert match(third, "sha256", pa.array([hashlib.sha256(b"x\n").hexdigest()])).tolist() == [False]


def test_text_that_is_no_hash_list_is_refused_before_the_scan(tmp_path):
    (tmp_path / "notes.txt").write_text("hello world\nnot hashes\n")
    proc = run_seized("scan", "/nonexistent.img", "-o", tmp_path / "case", "--known-hashes", tmp_path / "notes.txt")
    assert proc.returncode == 2 and "no MD5, SHA-1 or SHA-256 hash" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and not (tmp_path / "case").exists()


def test_names_that_are_not_utf8_do_not_stop_a_list(tmp_path):
    (tmp_path / "latin1.md5").write_bytes(b"d41d8cd98f00b204e9800998ecf8427e  caf\xe9.txt\n"
                                          b"900150983cd24fb0d6963f7d28e17f72\tabc\n")
    hs = load_hash_set(tmp_path / "latin1.md5", "notable", cache=False)
    assert hs.prefixes["md5"].size == 2 and hs.rejected == 0


def test_rds_keys_find_rows_by_rowid_and_confirm_the_whole_digest(tmp_path):
    import sqlite3

    inside = b"in the set\n"
    db = write_rds_v3(tmp_path / "rds.db", 3000, [hashes_of(inside, "in.txt")])
    con = sqlite3.connect(db)
    con.execute("DELETE FROM FILE WHERE rowid % 7 = 0 AND file_name != 'in.txt'")  # gaps in the rowids
    con.execute("INSERT INTO FILE VALUES ('not-a-digest', '', '', 'bad', 0, 0)")
    con.commit()
    con.close()
    hs = load_hash_set(db, "known", cache=False)
    assert hs.keys == "rowid" and hs.rejected == 1
    real = hashlib.sha256(inside).hexdigest()
    twin64 = real[:16] + ("0" if real[16] != "0" else "1") + real[17:]  # same first 64 bits
    twin32 = real[:8] + ("0" if real[8] != "0" else "1") + real[9:]  # same first 32 bits only
    assert match(hs, "sha256", pa.array([real.upper(), twin64, twin32, None])).tolist() == [True, False, False, False]
