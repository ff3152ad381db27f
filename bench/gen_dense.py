"""The dense benchmark image of issue 17: a spam server's drive that is mostly address and combo lists.

Usage: `python -m bench.gen_dense [--size 1G] [--seed 1] [OUT.img]` (default OUT is the cache,
`bench/out/images/dense-<size>-s<seed>/dense.img`).

Why a second generator: the ordinary bench image (`bench.gen_image`) is a server with some
lists on it (1.5 % of its bytes); issue 17 measured a drive that is mostly lists, where the
scan's cost and memory follow the number of findings, not the number of bytes. By volume of
the ext4 content (`MIX`): 30 % binaries, 25 % logs, 15 % gzip and tar.gz archives (of lists),
12 % harvest and combo lists, 8 % HTML, 10 % lists deleted kernel-style (their content only
in unallocated blocks). At 1 GiB that is about 18 million address rows and 3 million
credential rows, as in the issue.

Addresses come from `bench.content` (`Planter.address`), but a dense drive repeats itself:
harvest lists overlap, so each location category (plain, utf16, combo, archive, deleted) draws
its lines from a pool of its own distinct addresses, about `REPEAT` lines per address. The
pools are disjoint, so recall per category means something (a deleted list's addresses exist
nowhere but in unallocated space). Millions of addresses do not fit planted.json, so the
truth is written beside it as Parquet: `planted_emails.parquet` (address, category; one row
per distinct address) and `planted_logins.parquet` (login, where, format; one row per distinct
login). planted.json keeps everything else in `bench.content`'s format (the spam-server core,
onions, templates, files, deleted, partitions) plus `summary.address_rows` and
`summary.credential_rows`, the numbers of lines planted.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import content, gen_image
from tests import imaging

GENERATOR_VERSION = 1
MIX = {"bin": 0.30, "log": 0.25, "arc": 0.15, "lists": 0.12, "html": 0.08, "deleted": 0.10}
COMBO_SHARE = 0.25  # of the bytes of every list budget (plain, archived, deleted): combo lists
REPEAT = 6  # lines per distinct address in a category: harvest lists overlap
UTF16_SHARE = 0.10  # of plain harvest lists, written UTF-16LE with BOM as Windows tools do
FILL = 0.85  # of the ext4 partition: a spam server's data disk is full (the bench image: 0.80)
# file-name slug of each combo format (the name tells a reader, and the test, how to parse it)
COMBO_SLUGS = {"email:pass": "email_pass", "user;pass": "user_pass", "host|port|user|pass": "smtp",
               "host:port:user:pass": "ftp", "csv": "csv"}
LINE_BYTES = 29  # average harvest line, for sizing the pools
COMBO_LINE_BYTES = 40
CACHE = gen_image.CACHE
EMAILS_TRUTH = "planted_emails.parquet"
LOGINS_TRUTH = "planted_logins.parquet"


@dataclass
class Truth:
    """Distinct addresses per category and logins per (where, format); line counts."""

    emails: dict[str, set[str]] = field(default_factory=dict)
    logins: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    address_rows: int = 0
    credential_rows: int = 0


def _ext(name: str) -> str:
    return "csv" if name.endswith("_csv") else "txt"


class Dense:
    """Writes dense lists through a `content.Planter` and keeps their truth in `Truth`."""

    def __init__(self, p: content.Planter, fill_bytes: int) -> None:
        self.p = p
        self.fill = fill_bytes
        self.truth = Truth()
        self.pools: dict[str, list[str]] = {}
        self.user_pools: dict[str, list[str]] = {}
        self.passwords = [p.password() for _ in range(20_000)]

    # -- pools ---------------------------------------------------------------------------

    def pool(self, category: str, budget: int, line_bytes: int = LINE_BYTES) -> list[str]:
        """Distinct addresses of `category`, about budget / line_bytes / REPEAT of them (made once)."""
        if category not in self.pools:
            n = max(50, budget // line_bytes // REPEAT)
            self.pools[category] = [self.p.address() for _ in range(n)]
        return self.pools[category]

    def users(self, where: str, budget: int) -> list[str]:
        if where not in self.user_pools:
            n = max(50, budget // COMBO_LINE_BYTES // REPEAT)
            seen: set[str] = set()
            out = []
            while len(out) < n:
                u = self.p.username() + str(self.p.rng.randrange(1000))
                if u not in seen:
                    seen.add(u)
                    out.append(u)
            self.user_pools[where] = out
        return self.user_pools[where]

    # -- list bodies ---------------------------------------------------------------------

    def harvest_text(self, category: str, pool: list[str], n: int, *, utf16: bool = False) -> bytes:
        r = self.p.rng
        addrs = r.choices(pool, k=n)
        self.truth.emails.setdefault(category, set()).update(addrs)
        self.truth.address_rows += n
        lines = addrs
        if n > 20:  # a few lines as scrapers leave them: a display name, a country suffix
            lines = list(addrs)
            for i in r.sample(range(n), n // 12):
                a = lines[i]
                lines[i] = f'"{a.split("@", 1)[0].replace(".", " ").title()}" <{a}>' if i % 2 else f"{a};us"
        if utf16:
            return b"\xff\xfe" + ("\r\n".join(lines) + "\r\n").encode("utf-16-le")
        return ("\n".join(lines) + "\n").encode("utf-8")

    def combo_text(self, where: str, fmt: str, n: int, budget: int) -> bytes:
        r = self.p.rng
        by_address = fmt in ("email:pass", "host|port|user|pass", "csv")
        category = {"plain": "combo"}.get(where, where)
        if by_address:
            logins = r.choices(self.pool(category, budget, COMBO_LINE_BYTES), k=n)
            self.truth.emails.setdefault(category, set()).update(logins)
            self.truth.address_rows += n
        else:
            logins = r.choices(self.users(where, budget), k=n)
        self.truth.logins.setdefault((where, fmt), set()).update(logins)
        self.truth.credential_rows += n
        pws = r.choices(self.passwords, k=n)
        if fmt == "email:pass":
            lines = [f"{u}:{pw}" for u, pw in zip(logins, pws)]
        elif fmt == "user;pass":
            lines = [f"{u};{pw}" for u, pw in zip(logins, pws)]
        elif fmt == "host|port|user|pass":
            ports = r.choices((25, 465, 587), k=n)
            lines = [f"smtp.{u.split('@', 1)[1]}|{port}|{u}|{pw}" for u, pw, port in zip(logins, pws, ports)]
        elif fmt == "host:port:user:pass":
            ips = [self.p.ip() for _ in range(200)]
            ports = r.choices((21, 22, 2082, 2083, 3306), k=n)
            hosts = r.choices(ips, k=n)
            lines = [f"{h}:{port}:{u}:{pw}" for u, pw, port, h in zip(logins, pws, ports, hosts)]
        elif fmt == "csv":
            lines = ["login,password"] + [f"{u},{pw}" for u, pw in zip(logins, pws)]
        else:
            raise ValueError(f"unknown combo format {fmt!r}")
        return ("\n".join(lines) + "\n").encode("utf-8")

    def list_file(self, where: str, budget: int, size: int) -> tuple[str, bytes]:
        """One harvest or combo list of about `size` bytes for `where` (plain, archive, deleted)."""
        r = self.p.rng
        if r.random() < COMBO_SHARE:
            fmt = r.choice(content.COMBO_FORMATS)
            data = self.combo_text(where, fmt, max(10, size // COMBO_LINE_BYTES), budget)
            return f"combo_{COMBO_SLUGS[fmt]}", data
        utf16 = where == "plain" and r.random() < UTF16_SHARE
        category = "utf16" if utf16 else where
        data = self.harvest_text(category, self.pool(category, budget), max(10, size // LINE_BYTES), utf16=utf16)
        return "harvest" + ("_win" if utf16 else ""), data

    # -- the drive -----------------------------------------------------------------------

    def fill_dense(self) -> list[str]:
        """Write the mix; return the paths of the lists to delete after the file system is built."""
        p, r = self.p, self.p.rng
        start = p.bytes_written
        budget = {k: int(self.fill * v) for k, v in MIX.items()}
        done = dict.fromkeys(MIX, 0)
        to_delete: list[str] = []
        i = 0
        while p.bytes_written - start < self.fill:
            kind = min(MIX, key=lambda k: (done[k] / MIX[k], k))
            left = max(4096, budget[kind] - done[kind])
            before = p.bytes_written
            i += 1
            if kind == "bin":
                size = min(left, int(r.lognormvariate(13, 1.5)) + 4096)
                content.binary_file(p, f"/opt/data/blob_{i:05d}.{r.choice(['bin', 'dat', 'db'])}", size,
                                    elf=r.random() < 0.15)
            elif kind == "log":
                lk = r.choice(["apache", "nginx", "mail", "mail"])
                text = content.log_text(p, min(left, r.randrange(1 << 20, 16 << 20)), lk)
                if lk == "mail":
                    self.truth.address_rows += text.count(b"to=<")
                sub = {"apache": "apache2/access.log", "nginx": "nginx/error.log", "mail": "mail.log"}[lk]
                p.write(f"/var/log/{sub}.{i}", text, f"log_{lk}")
            elif kind == "html":
                content.html_page(p, f"/var/www/html/site{i // 500}/{r.choice(content.WORDS)}_{i}.html",
                                  min(left, int(r.lognormvariate(9.5, 0.8))))
                self.truth.address_rows += 2  # the contact, as link and as text
            elif kind == "lists":
                name, data = self.list_file("plain", budget["lists"], min(left, r.randrange(1 << 20, 12 << 20)))
                p.write(f"/home/spam/lists/dense/{name}_{i:05d}.{_ext(name)}", data, name.split("_")[0] + "_list")
            elif kind == "deleted":
                name, data = self.list_file("deleted", budget["deleted"], min(left, r.randrange(4 << 20, 12 << 20)))
                to_delete.append(p.write(f"/home/spam/lists/old/{name}_{i:05d}.{_ext(name)}", data, name.split("_")[0] + "_list"))
            else:
                self.archive(i, left, budget["arc"])
            done[kind] += p.bytes_written - before
        return to_delete

    def archive(self, i: int, left: int, budget: int) -> None:
        """A tar.gz of lists (a few members) or a lone .gz list; about 1-8 MiB compressed."""
        p, r = self.p, self.p.rng
        # lists compress about 3.5x: budget the expanded bytes accordingly
        expanded_budget = budget * 7 // 2
        want = min(left * 7 // 2, r.randrange(4 << 20, 28 << 20))
        if r.random() < 0.25:
            name, data = self.list_file("archive", expanded_budget, want)
            blob = gzip.compress(data, compresslevel=6, mtime=content.T_END - 86400 * 20)
            rel = p.write(f"/var/backups/lists/{name}_{i:05d}.{_ext(name)}.gz", blob, "archive_gz")
            p.manifest["archives"].append({"volume": p.volume, "path": rel, "format": "gz",
                                           "members": [f"{name}_{i:05d}.{_ext(name)}"]})
            return
        members = []
        got = 0
        j = 0
        while got < want:
            j += 1
            name, data = self.list_file("archive", expanded_budget, min(want - got, r.randrange(1 << 20, 8 << 20)))
            members.append((f"lists/{name}_{j:03d}.{_ext(name)}", data))
            got += len(data)
        rel = p.write(f"/var/backups/lists/lists_{i:05d}.tar.gz", content._tar_gz(members, level=6), "archive_tar_gz")
        p.manifest["archives"].append({"volume": p.volume, "path": rel, "format": "tar.gz",
                                       "members": [m for m, _ in members]})


def plant(p: content.Planter, fill_bytes: int) -> tuple[Truth, list[str]]:
    """The spam-server core of `bench.content` (onions, templates, decoys, small lists) and the dense mix.

    Returns the truth of the dense part and the paths to delete once the file system exists.
    The core's own addresses and pairs stay in the manifest (`emails`, `combo_files`) until
    `merge_manifest_truth` adds them.
    """
    content.plant_core(p, 500)
    dense = Dense(p, max(0, fill_bytes - p.bytes_written))
    to_delete = dense.fill_dense()
    return dense.truth, to_delete


def merge_manifest_truth(t: Truth, manifest: dict[str, Any]) -> None:
    """Add what `bench.content`'s own generators recorded in the manifest to `t`.

    Those generators (the core, HTML pages, mail logs, the FAT) plant each address once;
    their lines count as rows, except HTML pages and logs, whose rows `Dense` counted itself.
    """
    for cat, addrs in manifest["emails"].items():
        t.emails.setdefault(cat, set()).update(addrs)
        if cat not in ("log", "html"):
            t.address_rows += len(addrs)
    for cf in manifest["combo_files"]:
        t.logins.setdefault((cf["where"], cf["format"]), set()).update(login for login, _ in cf["pairs"])
        t.credential_rows += len(cf["pairs"])


def normal_address(addr: str) -> str:
    """As the emails table holds it: domain in IDNA (ASCII) form, lower case."""
    local, _, domain = addr.strip().lower().rpartition("@")
    if not domain.isascii():  # the idna codec is slow; only IDN domains need it
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return f"{local}@{domain}"


def write_truth(t: Truth, where: Path) -> dict[str, int]:
    """planted_emails.parquet and planted_logins.parquet in `where`, sorted (same seed, same bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = sorted((normal_address(a), cat) for cat, addrs in t.emails.items() for a in addrs)
    pq.write_table(pa.table({"address": [a for a, _ in rows], "category": [c for _, c in rows]}),
                   where / EMAILS_TRUTH, compression="zstd")
    logins = sorted((login.lower(), w, f) for (w, f), ls in t.logins.items() for login in ls)
    pq.write_table(pa.table({"login": [x for x, _, _ in logins], "where": [w for _, w, _ in logins],
                             "format": [f for _, _, f in logins]}), where / LOGINS_TRUTH, compression="zstd")
    return {"distinct_addresses": len(rows), "distinct_logins": len(logins)}


def build(out: Path, size: int, seed: int = 1, *, quiet: bool = False) -> dict[str, Any]:
    """Build the dense image at `out`, planted.json and the two truth files beside it."""
    lay = gen_image.layout_for(size, FILL)
    t0 = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    manifest: dict[str, Any] = {"generator": "bench.gen_dense", "generator_version": GENERATOR_VERSION,
                                "seed": seed, "size": size, "image": out.name, "mix": MIX,
                                "truth": {"emails": EMAILS_TRUTH, "logins": LOGINS_TRUTH}}
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".build-") as tmp:
        work = Path(tmp)
        p = content.Planter(work / "ext4", rng, "ext4", manifest)
        truth, to_delete = plant(p, lay.fill_bytes)
        fp = p.for_volume(work / "fat", "fat")
        content.fat_content(fp)
        merge_manifest_truth(truth, manifest)
        t_content = time.monotonic()
        ext4 = gen_image.ext4_4k_from_tree(p.root, work / "ext4.img", lay.ext4_mib)
        gen_image.pin_ctimes(ext4, p.root)
        gen_image.delete_files(p, ext4, to_delete)
        shutil.rmtree(p.root)
        fat = imaging.fat_from_tree(fp.root, work / "fat.img", lay.fat_mib)
        t_fs = time.monotonic()
        tmp_out = out.with_name(out.name + ".part")
        imaging.partitioned_disk(tmp_out, [ext4, fat], label="gpt")
        ext4.unlink()
        if tmp_out.stat().st_size < size:
            with open(tmp_out, "r+b") as fh:
                fh.truncate(size)
        os.replace(tmp_out, out)
    gen_image.record_partitions(manifest, out, ["ext4", "fat"])
    # the core's and the FAT's credential pairs are in the truth file too; planted.json stays small
    counts = write_truth(truth, out.parent)
    for cf in manifest["combo_files"]:
        cf["pairs"] = cf["pairs"][:20]
        cf["pairs_truncated"] = True
    manifest["emails"] = {}
    manifest["build_seconds"] = {"content": round(t_content - t0, 1), "file_systems": round(t_fs - t_content, 1),
                                 "total": round(time.monotonic() - t0, 1)}
    s = content.summary(manifest)  # counts of the JSON lists; the dense counts come from the truth
    s.update(counts)
    s.update(address_rows=truth.address_rows, credential_rows=truth.credential_rows,
             emails={cat: len(addrs) for cat, addrs in sorted(truth.emails.items())},
             emails_total=counts["distinct_addresses"], credentials=counts["distinct_logins"])
    manifest["summary"] = s
    (out.parent / "planted.json").write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n",
                                             encoding="utf-8")
    if not quiet:
        print(f"{out}: {gen_image.size_label(out.stat().st_size)} in {manifest['build_seconds']['total']} s; "
              f"{s['files']} files, {s['bytes'] >> 20} MiB content, {s['address_rows']:,} address rows "
              f"({s['distinct_addresses']:,} distinct), {s['credential_rows']:,} credential rows "
              f"({s['distinct_logins']:,} distinct logins), {s['deleted']} deleted", file=sys.stderr)
    return manifest


def default_path(size: int, seed: int) -> Path:
    return CACHE / f"dense-{gen_image.size_label(size)}-s{seed}" / "dense.img"


def cached(out: Path, size: int, seed: int) -> bool:
    """True when `out`, planted.json and the truth files were built with this (size, seed, version)."""
    planted = out.parent / "planted.json"
    if not (out.is_file() and planted.is_file() and (out.parent / EMAILS_TRUTH).is_file()
            and (out.parent / LOGINS_TRUTH).is_file()):
        return False
    try:
        head = json.loads(planted.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (head.get("size") == size and head.get("seed") == seed and head.get("generator") == "bench.gen_dense"
            and head.get("generator_version") == GENERATOR_VERSION and out.stat().st_size == size)


def ensure(size: int, seed: int = 1, out: Path | None = None, *, quiet: bool = False) -> Path:
    """The dense image for (size, seed): reused when cached, built otherwise."""
    out = out or default_path(size, seed)
    if cached(out, size, seed):
        if not quiet:
            print(f"{out}: cached", file=sys.stderr)
        return out
    build(out, size, seed, quiet=quiet)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gen_dense", description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, help="image path (default: the cache under bench/out/images)")
    ap.add_argument("--size", default="1G", help="image size, e.g. 256M, 1G (default 1G)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = ap.parse_args(argv)
    try:
        size = gen_image.parse_size(args.size)
        out = args.out or default_path(size, args.seed)
        if args.force:
            build(out, size, args.seed)
        else:
            ensure(size, args.seed, out)
    except (ValueError, imaging.ImagingError, OSError) as exc:
        print(f"gen_dense: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
