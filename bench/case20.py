"""A case at real scale: twenty small drives scanned as one case, its report timed, its links checked.

Usage: `python -m bench.case20 [--workers 2] [--rebuild]` (`make bench`).

The Rustock seizure was twenty drives: one held the spam software and data (templates with the
abused brands, big address lists, combo lists), one was a launch point for attacks, eighteen
ran Tor; one operator set them up. This bench builds twenty ~40 MiB GPT/ext4 images of that
shape with `bench.content` (a seed per drive) and plants on top what ties drives together,
each on a chosen set of drives (`PLAN`): part of one master address list, one SMTP combo list,
one SSH key authorised for root (made by ssh-keygen; its `ssh-keygen -l` fingerprint is the
oracle) and logins with it from one address, one hidden service's onion, a Bitcoin address, a
WebMoney purse and a Telegram handle in notes, one crontab line, one mailer binary.

It then times `sha256sum` of the twenty images (the floor) and `seized scan` of all twenty as ONE case (`--no-report`; wall, CPU s of the
process tree, peak RSS, via `bench.run.measure`) and `seized report` of that case, and checks
the case's `correlations` table against the truth computed from what was written, whatever
the generators drew by chance too: for every checked kind, each value on two or more drives
must be a row naming exactly those drives, and no row may name a value the drives do not share.
Checked kinds: email, credential, onion, ssh_key, ssh_key_comment, login_ip, identity:*,
cron_command, file_sha256 (every written file hashed). Indicator rows (domains and IPs the
logs share by chance) are counted, not checked. Output: a table on stdout and
`bench/out/case20.json`; the images (cached by GENERATOR_VERSION) and the case stay in
`bench/out/case20/`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from bench import content
from bench.gen_image import MIB, REPO, ext4_4k_from_tree, pin_ctimes

GENERATOR_VERSION = 1
OUT = REPO / "bench" / "out" / "case20"
DRIVES = 20
EXT4_MIB = 38  # + GPT's 1 MiB at each end: 40 MiB images
FILL_BYTES = 22 * MIB
SPAM_DRIVE, ATTACK_DRIVE = 1, 2
TOR_DRIVES = tuple(range(3, DRIVES + 1))  # "the other 18 ran Tor"

SHARED_IP = "203.0.113.66"  # the operator's address, logging in with the key
SCANNER_IP = "198.51.100.9"  # failed logins everywhere: not a link
BTC = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"  # a well-known valid legacy address
PURSE = "Z104859673021"
TELEGRAM = "@cosma2k"
CRON_COMMAND = "/root/.x/upd.sh >/dev/null 2>&1"
KEY_COMMENT = "cosma2k@builder"
MASTER_ADDRESSES = 2000

# What ties the drives together: artefact -> the drives (1..20) that hold it.
PLAN: dict[str, tuple[int, ...]] = {
    "master_list": (1, 3, 7, 11),  # drive 1 the whole list, the others overlapping slices
    "smtp_combo": (1, 4, 9),  # drive 9 a 10-line excerpt
    "ssh_key": (3, 4, 5, 6, 7, 8),  # authorised for root
    "key_login": (3, 5, 7),  # auth.log: accepted publickey from SHARED_IP with that key
    "panel_onion": (10, 11, 12),  # one hidden service's key and hostname copied to three servers
    "wallet": (2, 13, 20),  # notes naming the Bitcoin address and the WebMoney purse
    "telegram": (13, 14),
    "crontab": (15, 16, 17),
    "mailer": (1, 2),  # the same spam-assembly binary
}
MASTER_SLICES = {1: slice(0, MASTER_ADDRESSES), 3: slice(0, 800), 7: slice(400, 1200), 11: slice(1000, 2000)}
CHECKED_KINDS = ("email", "credential", "onion", "ssh_key", "ssh_key_comment", "login_ip", "identity:bitcoin",
                 "identity:webmoney_purse", "identity:telegram", "cron_command", "file_sha256")


def label(n: int) -> str:
    return f"drive{n:02d}"


# -- the truth: pure -------------------------------------------------------------------------


def shared_truth(per_drive: Mapping[str, Mapping[str, Iterable[str]]]) -> dict[tuple[str, str], tuple[str, ...]]:
    """(kind, value) -> the sorted drives holding it, for every value on two or more drives.

    `per_drive` is drive -> kind -> values (what was written on that drive)."""
    where: dict[tuple[str, str], set[str]] = defaultdict(set)
    for drive, kinds in per_drive.items():
        for kind, values in kinds.items():
            for value in values:
                where[(kind, value)].add(drive)
    return {key: tuple(sorted(drives)) for key, drives in sorted(where.items()) if len(drives) > 1}


def compare(truth: Mapping[tuple[str, str], tuple[str, ...]], found: Mapping[tuple[str, str], tuple[str, ...]],
            kinds: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per kind: planted links, rows found, rows naming exactly the right drives, links missing,
    rows with the wrong drives, rows for a value the drives do not share (up to 5 examples each)."""
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        t = {v: d for (k, v), d in truth.items() if k == kind}
        f = {v: d for (k, v), d in found.items() if k == kind}
        missing = sorted(set(t) - set(f))
        unexpected = sorted(set(f) - set(t))
        wrong = sorted(v for v in set(t) & set(f) if t[v] != f[v])
        out[kind] = {"planted": len(t), "found": len(f), "correct": len(t) - len(missing) - len(wrong),
                     "missing": len(missing), "wrong_drives": len(wrong), "unexpected": len(unexpected),
                     "examples": {"missing": missing[:5], "wrong_drives": [(v, t[v], f[v]) for v in wrong[:5]],
                                  "unexpected": unexpected[:5]},
                     "ok": not (missing or wrong or unexpected)}
    return out


# -- building the drives ---------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """What the operator's drives share, made once per build."""

    master: list[str]
    smtp_pairs: list[list[str]]
    key_line: str
    key_fingerprint: str
    panel_key: bytes
    mailer: bytes


def make_operation(workdir: Path) -> Operation:
    from tests.operator_case import ssh_key  # ssh-keygen makes the key and prints the oracle fingerprint

    rng = random.Random(4242)
    p = content.Planter(workdir / "unused", rng, "ext4", {})
    master = [p.address() for _ in range(MASTER_ADDRESSES)]
    smtp = [[p.address(idn_share=0.0), p.password()] for _ in range(30)]
    (workdir / "key").mkdir()
    line, fingerprint = ssh_key(workdir / "key", KEY_COMMENT)
    body = rng.randbytes(300_000)
    mailer = content._ELF_HEADER + b"\x00" * 32 + body + content._ELF_STRINGS
    return Operation(master, smtp, line, fingerprint, rng.randbytes(32), mailer)


def _address_list(p: content.Planter, rel: str, addrs: list[str], category: str) -> None:
    p.manifest["emails"].setdefault(category, []).extend(addrs)
    p.manifest["email_files"].append({"volume": p.volume, "path": rel, "count": len(addrs), "encoding": "utf-8",
                                      "category": category})
    p.write(rel, ("\n".join(addrs) + "\n").encode(), "harvest_list")


def _smtp_combo(p: content.Planter, rel: str, pairs: list[list[str]]) -> None:
    lines = [f"smtp.{login.split('@', 1)[1]}|587|{login}|{pw}" for login, pw in pairs]
    p.manifest["emails"].setdefault("combo", []).extend(login for login, _ in pairs)
    p.manifest["combo_files"].append({"volume": p.volume, "path": rel, "format": "host|port|user|pass",
                                      "where": "plain", "pairs": pairs})
    p.write(rel, ("\n".join(lines) + "\n").encode(), "combo_list")


def _auth_log(host: str, fingerprint: str | None) -> bytes:
    lines = []
    if fingerprint:
        lines += [f"Mar 16 03:14:15 {host} sshd[2211]: Accepted publickey for root from {SHARED_IP} port 50122 "
                  f"ssh2: ED25519 {fingerprint}",
                  f"Mar 16 03:14:15 {host} sshd[2211]: pam_unix(sshd:session): session opened for user root(uid=0) "
                  f"by (uid=0)"]
    lines.append(f"Mar 16 03:20:01 {host} sshd[2301]: Failed password for invalid user admin from {SCANNER_IP} "
                 f"port 40022 ssh2")
    return ("\n".join(lines) + "\n").encode()


def _panel_service(p: content.Planter, key: bytes) -> str:
    onion = content.onion_v3(key)
    p.write("/var/lib/tor/panel/hostname", (onion + "\n").encode(), "tor_hostname")
    p.write("/var/lib/tor/panel/hs_ed25519_public_key", b"== ed25519v1-public: type0 ==\x00\x00\x00" + key, "tor_key")
    p.write("/etc/tor/torrc.d/panel.conf",
            b"HiddenServiceDir /var/lib/tor/panel/\nHiddenServicePort 80 127.0.0.1:8081\n", "torrc")
    p.manifest["onions"].append({"volume": p.volume, "path": "/var/lib/tor/panel/hostname", "onion": onion,
                                 "valid": True})
    return onion


def _fill(p: content.Planter, n: int, target: int) -> None:
    """Ordinary server bulk (logs, binaries, pages, small files) up to `target` bytes written;
    unlike content.fill_bulk no templates, so drive 1 alone holds spam templates."""
    r = p.rng
    i = 0
    while p.bytes_written < target:
        i += 1
        left = target - p.bytes_written
        roll = r.random()
        if roll < 0.35:
            content.log_file(p, f"/var/log/apache2/access.log.{i}", min(left, r.randrange(200_000, 2 << 20)), "apache")
        elif roll < 0.45:
            content.log_file(p, f"/var/log/mail.log.{i}", min(left, r.randrange(100_000, 1 << 20)), "mail")
        elif roll < 0.75:
            content.binary_file(p, f"/opt/data/blob_{i:04d}.bin", min(left, r.randrange(50_000, 2 << 20)) + 1,
                                elf=False)
        elif roll < 0.85:
            content.html_page(p, f"/var/www/html/srv{n}/page_{i}.html", min(left, r.randrange(3000, 40_000)))
        else:
            content.small_text(p, i)


def plant_drive(n: int, tree: Path, op: Operation) -> dict[str, Any]:
    """Write drive `n`'s tree; return its manifest, with `operator` (kind -> values planted here)."""
    manifest: dict[str, Any] = {"generator": "bench.case20", "generator_version": GENERATOR_VERSION, "drive": n}
    p = content.Planter(tree, random.Random(1000 + n), "ext4", manifest)
    host = f"srv{n:02d}"
    operator: dict[str, list[str]] = defaultdict(list)
    content.harvest_list(p, f"/home/{host}/lists/list_a.txt", 400)
    content.combo_list(p, f"/home/{host}/combos/combo_a.txt", 60, content.COMBO_FORMATS[n % 5])
    content.log_file(p, "/var/log/mail.log", 60_000, "mail")
    content.log_file(p, "/var/log/apache2/access.log", 60_000, "apache")
    if n == SPAM_DRIVE:  # the spam software and data
        for i in range(12):
            content.spam_template(p, f"/home/spam/templates/tpl_{i:02d}.txt")
        content.harvest_list(p, "/home/spam/lists/harvest_big.txt", 20_000)
        content.harvest_list(p, "/home/spam/lists/harvest_win.txt", 3_000, encoding="utf-16-le")
        for i, fmt in enumerate(content.COMBO_FORMATS):
            content.combo_list(p, f"/home/spam/combos/combo_{i:02d}.txt", 300, fmt)
    if n in TOR_DRIVES:
        content.tor_setup(p)
    if n in PLAN["master_list"]:
        _address_list(p, f"/home/{host}/lists/master.txt", op.master[MASTER_SLICES[n]], "shared")
    if n in PLAN["smtp_combo"]:
        _smtp_combo(p, "/root/smtp.txt", op.smtp_pairs if n != 9 else op.smtp_pairs[:10])
    if n in PLAN["ssh_key"]:
        p.write("/root/.ssh/authorized_keys", (op.key_line + "\n").encode(), "ssh_key")
        operator["ssh_key"].append(op.key_fingerprint)
        operator["ssh_key_comment"].append(KEY_COMMENT)
    p.write("/var/log/auth.log", _auth_log(host, op.key_fingerprint if n in PLAN["key_login"] else None), "log_auth")
    if n in PLAN["key_login"]:
        operator["login_ip"].append(SHARED_IP)
    if n in PLAN["panel_onion"]:
        _panel_service(p, op.panel_key)
    notes = []
    if n in PLAN["wallet"]:
        notes += [f"payments: WMZ purse {PURSE}", f"btc {BTC}"]
        operator["identity:bitcoin"].append(BTC)
        operator["identity:webmoney_purse"].append(PURSE)
    if n in PLAN["telegram"]:
        notes.append(f"telegram: {TELEGRAM}")
        operator["identity:telegram"].append(TELEGRAM)
    if notes:
        p.write("/root/notes.txt", ("\n".join(notes) + "\n").encode(), "notes")
    if n in PLAN["crontab"]:
        p.write("/var/spool/cron/crontabs/root", f"# m h dom mon dow command\n*/5 * * * * {CRON_COMMAND}\n".encode(),
                "crontab")
        operator["cron_command"].append(CRON_COMMAND)
    if n in PLAN["mailer"]:
        p.write("/usr/local/bin/mailer", op.mailer, "binary_elf")
    _fill(p, n, FILL_BYTES)
    manifest["operator"] = dict(operator)
    return manifest


def file_hashes(tree: Path) -> list[str]:
    """SHA-256 of every non-empty regular file under `tree` (what `files.sha256` will hold)."""
    out = []
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink() and path.stat().st_size > 0:
                out.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def drive_values(manifest: Mapping[str, Any], hashes: Iterable[str]) -> dict[str, set[str]]:
    """Kind -> values written on one drive, in the form the correlations table gives them
    (addresses normalised as bench.run does; credentials as `login<TAB>password`)."""
    from bench.run import _norm_addr

    values: dict[str, set[str]] = defaultdict(set)
    for addrs in manifest.get("emails", {}).values():
        values["email"].update(_norm_addr(a) for a in addrs)
    for cf in manifest.get("combo_files", []):
        values["credential"].update(f"{login}\t{pw}" for login, pw in cf["pairs"])
    values["onion"].update(o["onion"] for o in manifest.get("onions", []) if o["valid"])
    for kind, vals in manifest.get("operator", {}).items():
        values[kind].update(vals)
    values["file_sha256"].update(hashes)
    return dict(values)


def build(out: Path, quiet: bool = False) -> dict[str, Any]:
    """The twenty images in `out/images` and `out/truth.json` (drive -> kind -> values)."""
    from tests import imaging

    images = out / "images"
    if images.exists():
        shutil.rmtree(images)
    images.mkdir(parents=True)
    t0 = time.monotonic()
    per_drive: dict[str, dict[str, list[str]]] = {}
    with tempfile.TemporaryDirectory(dir=out, prefix=".build-") as tmp:
        work = Path(tmp)
        op = make_operation(work)
        for n in range(1, DRIVES + 1):
            tree = work / label(n)
            manifest = plant_drive(n, tree, op)
            ext4 = ext4_4k_from_tree(tree, work / f"{label(n)}.ext4", EXT4_MIB, label=f"srv{n:02d}")
            pin_ctimes(ext4, tree)
            imaging.partitioned_disk(images / f"{label(n)}.img", [ext4], label="gpt")
            per_drive[label(n)] = {k: sorted(v) for k, v in drive_values(manifest, file_hashes(tree)).items()}
            ext4.unlink()
            shutil.rmtree(tree)
            if not quiet:
                print(f"  {label(n)}: {len(manifest['files'])} files", file=sys.stderr)
    truth = {"generator_version": GENERATOR_VERSION, "key_fingerprint": op.key_fingerprint, "plan": PLAN,
             "spam_templates_on": label(SPAM_DRIVE), "drives": per_drive,
             "build_seconds": round(time.monotonic() - t0, 1)}
    (out / "truth.json").write_text(json.dumps(truth, sort_keys=True) + "\n", encoding="utf-8")
    return truth


def ensure(out: Path, rebuild: bool = False) -> dict[str, Any]:
    truth_path = out / "truth.json"
    if not rebuild and truth_path.is_file():
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        if truth.get("generator_version") == GENERATOR_VERSION and all(
                (out / "images" / f"{label(n)}.img").is_file() for n in range(1, DRIVES + 1)):
            return truth
    out.mkdir(parents=True, exist_ok=True)
    print(f"building {DRIVES} drives in {out}/images ...", file=sys.stderr)
    return build(out)


# -- reading the case ------------------------------------------------------------------------


def found_links(case: Path) -> tuple[dict[tuple[str, str], tuple[str, ...]], dict[str, int]]:
    """(kind, value) -> sorted drives, from the case's correlations table; and rows per kind.

    Credential rows name `user #tag` (the secret never leaves the credentials table): their
    example finding id is looked up there to give `login<TAB>password`."""
    import pyarrow.dataset as ds

    from bench.run import _norm_addr

    def table(name: str):
        return ds.dataset(case / "tables" / name, format="parquet").to_table()

    drive_of = {e: Path(p).stem for e, p in zip(*(table("evidence").column(c).to_pylist()
                                                  for c in ("evidence_id", "path")))}
    creds = table("credentials")
    pair_of = {f: f"{u}\t{s}" for f, u, s in zip(*(creds.column(c).to_pylist()
                                                   for c in ("finding_id", "username", "secret")))}
    links: dict[tuple[str, str], tuple[str, ...]] = {}
    per_kind: dict[str, int] = defaultdict(int)
    for row in table("correlations").to_pylist():
        kind, value = row["kind"], row["value"]
        per_kind[kind] += 1
        if kind == "email":
            value = _norm_addr(value)
        elif kind == "credential":
            value = pair_of.get(row["finding_ids"][0], value) if row["finding_ids"] else value
        links[(kind, value)] = tuple(sorted(drive_of.get(e, e) for e in row["evidence_ids"]))
    return links, dict(per_kind)


def template_drives(case: Path) -> list[str]:
    import pyarrow.dataset as ds

    ev = ds.dataset(case / "tables" / "evidence", format="parquet").to_table()
    drive_of = dict(zip(ev.column("evidence_id").to_pylist(), (Path(p).stem for p in ev.column("path").to_pylist())))
    where = case / "tables" / "spam_templates"
    if not where.exists():
        return []
    ids = ds.dataset(where, format="parquet").to_table(columns=["evidence_id"]).column("evidence_id").to_pylist()
    return sorted({drive_of.get(e, e) for e in ids})


# -- the run ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from bench.run import measure

    ap = argparse.ArgumentParser(prog="python -m bench.case20", description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the twenty images even when cached")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    truth = ensure(args.out, args.rebuild)
    images = [args.out / "images" / f"{label(n)}.img" for n in range(1, DRIVES + 1)]
    total = sum(i.stat().st_size for i in images)
    case = args.out / "case"
    if case.exists():
        shutil.rmtree(case)
    for image in images:  # the page cache warm, as bench.run does
        image.read_bytes()
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC",
           "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}
    seized = [sys.executable, "-m", "seized"]
    floor = measure("sha256sum (20 images)", ["sha256sum", *map(str, images)], env=env)  # one read, one hash
    scan = measure("seized scan (20 images)", [*seized, "scan", *map(str, images), "-o", str(case), "--workers",
                                               str(args.workers), "--no-report", "--case-name", "Rustock, 20 drives",
                                               "--examiner", "Bench"], env=env)
    rows = [floor, scan]
    result: dict[str, Any] = {"images": len(images), "bytes": total, "workers": args.workers,
                              "build_seconds": truth.get("build_seconds")}
    if scan.exit_code == 0:
        rows.append(measure("seized report", [*seized, "report", str(case)], env=env))
    for t in rows:
        if t.exit_code != 0:
            print(f"{t.name} failed (exit {t.exit_code}):\n{t.stderr_tail}", file=sys.stderr)
    result["timings"] = [{k: v for k, v in t.__dict__.items() if k != "argv"} for t in rows]
    ok = all(t.exit_code == 0 for t in rows)
    if ok:
        expected = shared_truth(truth["drives"])
        found, per_kind = found_links(case)
        checked = compare(expected, found, CHECKED_KINDS)
        result["correlations"] = checked
        result["rows_per_kind"] = per_kind
        result["unchecked_rows"] = {k: n for k, n in per_kind.items() if k not in CHECKED_KINDS}
        result["spam_templates_on"] = template_drives(case)
        ok = all(c["ok"] for c in checked.values()) and result["spam_templates_on"] == [truth["spam_templates_on"]]
    result["ok"] = ok
    print_table(result)
    (args.out.parent / "case20.json").write_text(json.dumps(result, indent=1, sort_keys=True, default=str) + "\n")
    print(f"\nwrote {args.out.parent / 'case20.json'}; case in {case}")
    return 0 if ok else 1


def print_table(result: dict[str, Any]) -> None:
    mb = result["bytes"] / 1e6
    print(f"\n{result['images']} images, {mb:.0f} MB, --workers {result['workers']}")
    print(f"{'command':<26} {'wall s':>7} {'MB/s':>6} {'x sha256':>8} {'CPU s':>7} {'peak RSS MiB':>12} {'load':>5} "
          f"{'exit':>4}")
    floor = result["timings"][0]["wall_s"]
    for t in result["timings"]:
        rate = f"{mb / t['wall_s']:.1f}" if "(20 images)" in t["name"] else "-"
        ratio = f"{t['wall_s'] / floor:.1f}" if rate != "-" else "-"
        print(f"{t['name']:<26} {t['wall_s']:>7.1f} {rate:>6} {ratio:>8} {t['cpu_s']:>7.1f} "
              f"{t['peak_rss_bytes'] / MIB:>12.0f} {t['load_before']:>5.2f} {t['exit_code']:>4}")
    if "correlations" in result:
        print(f"\n{'correlation kind':<26} {'planted':>7} {'found':>6} {'correct':>7} {'missing':>7} "
              f"{'wrong':>5} {'extra':>5}")
        for kind, c in result["correlations"].items():
            print(f"{kind:<26} {c['planted']:>7} {c['found']:>6} {c['correct']:>7} {c['missing']:>7} "
                  f"{c['wrong_drives']:>5} {c['unexpected']:>5}")
            for what, ex in c["examples"].items():
                if ex:
                    print(f"    {what}: {ex[:3]}")
        print(f"not checked (chance shares in logs): {result['unchecked_rows']}")
        print(f"spam templates found on: {result['spam_templates_on']}")
    print(f"\ncorrelations correct: {'yes' if result['ok'] else 'NO'}")


if __name__ == "__main__":
    sys.exit(main())
