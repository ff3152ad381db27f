"""The dense bench generator's truth agrees with the files it wrote (bench/gen_dense.py, issue 17).

A small fill (a few MiB) goes through `Dense.fill_dense` into a temporary tree; the test reads
the lists back (plain files, lists to be deleted, .gz and .tar.gz members), parses them by the
format their name gives, and checks every count and set of the truth against that. No image
is built and nothing is timed.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import random
import re
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bench import content, gen_dense

FILL = 4 << 20
ADDRESS = re.compile(r"[^\s<>\";,:|]+@[^\s<>\";,:|]+")


def _plant(root: Path, seed: int = 7) -> tuple[gen_dense.Dense, list[str], dict]:
    manifest: dict = {}
    p = content.Planter(root, random.Random(seed), "ext4", manifest)
    dense = gen_dense.Dense(p, FILL)
    return dense, dense.fill_dense(), manifest


def _lists(root: Path, to_delete: list[str]) -> list[tuple[str, str, bytes]]:
    """(where, name, bytes) of every dense list, archive members expanded."""
    deleted = {root / d.lstrip("/") for d in to_delete}
    out = []
    for f in sorted((root / "home/spam/lists/dense").glob("*")) + sorted(deleted):
        out.append(("deleted" if f in deleted else "plain", f.name, f.read_bytes()))
    for f in sorted((root / "var/backups/lists").glob("*")):
        if f.name.endswith(".tar.gz"):
            with tarfile.open(fileobj=io.BytesIO(f.read_bytes()), mode="r:gz") as tf:
                for m in tf.getmembers():
                    out.append(("archive", Path(m.name).name, tf.extractfile(m).read()))
        else:
            out.append(("archive", f.name[:-3], gzip.decompress(f.read_bytes())))
    return out


def _parse(name: str, data: bytes) -> tuple[list[str], list[str], str | None]:
    """(addresses, logins, combo format) of one list, as its name says it is written."""
    if data.startswith(b"\xff\xfe"):
        text = data[2:].decode("utf-16-le")
    else:
        text = data.decode("utf-8")
    lines = [line for line in text.splitlines() if line]
    if name.startswith("harvest"):
        return [ADDRESS.search(line)[0] for line in lines], [], None
    slug = name.split("_", 1)[1].rsplit("_", 1)[0]
    fmt = {v: k for k, v in gen_dense.COMBO_SLUGS.items()}[slug]
    if fmt == "csv":
        assert lines[0] == "login,password"
        lines = lines[1:]
    split = {"email:pass": lambda s: s.split(":")[0], "user;pass": lambda s: s.split(";")[0],
             "host|port|user|pass": lambda s: s.split("|")[2], "host:port:user:pass": lambda s: s.split(":")[2],
             "csv": lambda s: s.split(",")[0]}[fmt]
    logins = [split(line) for line in lines]
    return [x for x in logins if "@" in x], logins, fmt


def test_truth_matches_the_files(tmp_path: Path) -> None:
    dense, to_delete, manifest = _plant(tmp_path / "tree")
    truth = dense.truth
    assert to_delete, "a deleted list is planted even at a small fill"
    emails: dict[str, set[str]] = {}
    logins: dict[tuple[str, str], set[str]] = {}
    address_rows = credential_rows = 0
    for where, name, data in _lists(tmp_path / "tree", to_delete):
        addrs, users, fmt = _parse(name, data)
        address_rows += len(addrs)
        if fmt:
            credential_rows += len(users)
            logins.setdefault((where, fmt), set()).update(users)
            category = "combo" if where == "plain" else where
        else:
            category = "utf16" if data.startswith(b"\xff\xfe") else where
        emails.setdefault(category, set()).update(addrs)
    # logs and HTML pages: rows counted as the generator wrote them
    log_rows = sum((tmp_path / "tree" / f["path"].lstrip("/")).read_bytes().count(b"to=<")
                   for f in manifest["files"] if f["kind"] == "log_mail")
    html_rows = 2 * sum(1 for f in manifest["files"] if f["kind"] == "html")
    assert truth.address_rows == address_rows + log_rows + html_rows
    assert truth.credential_rows == credential_rows > 0
    assert {k: v for k, v in truth.emails.items()} == emails
    assert truth.logins == logins
    # categories are disjoint, so recall per category is meaningful
    cats = list(emails.values())
    assert sum(len(c) for c in cats) == len(set().union(*cats))
    # a dense drive repeats itself: more rows than distinct addresses
    assert address_rows > sum(len(c) for c in cats)


def test_mix_follows_the_issue(tmp_path: Path) -> None:
    dense, _, manifest = _plant(tmp_path / "tree")
    by_kind: dict[str, int] = {}
    for f in manifest["files"]:
        k = f["kind"]
        key = ("bin" if k.startswith("binary") else "log" if k.startswith("log") else "arc" if k.startswith("archive")
               else "html" if k == "html" else "lists")
        by_kind[key] = by_kind.get(key, 0) + f["size"]
    total = sum(by_kind.values())
    assert total >= FILL
    assert by_kind["bin"] / total == pytest.approx(0.30, abs=0.08)
    assert by_kind["log"] / total == pytest.approx(0.25, abs=0.08)
    # lists: 12 % kept and 10 % deleted
    assert by_kind["lists"] / total == pytest.approx(0.22, abs=0.08)


def test_same_seed_same_tree_and_truth_files(tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        root = tmp_path / run
        dense, _, _ = _plant(root, seed=3)
        h = hashlib.sha256()
        for f in sorted(root.rglob("*")):
            if f.is_file():
                h.update(f.relative_to(root).as_posix().encode() + f.read_bytes())
        (tmp_path / f"truth-{run}").mkdir()
        counts = gen_dense.write_truth(dense.truth, tmp_path / f"truth-{run}")
        for name in (gen_dense.EMAILS_TRUTH, gen_dense.LOGINS_TRUTH):
            h.update((tmp_path / f"truth-{run}" / name).read_bytes())
        digests.append(h.hexdigest())
        t = pq.read_table(tmp_path / f"truth-{run}" / gen_dense.EMAILS_TRUTH)
        assert t.num_rows == counts["distinct_addresses"] == sum(len(v) for v in dense.truth.emails.values())
        assert pq.read_table(tmp_path / f"truth-{run}" / gen_dense.LOGINS_TRUTH).num_rows == counts["distinct_logins"]
    assert digests[0] == digests[1]
