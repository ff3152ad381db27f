"""The declaration's content: numbered factual paragraphs, built from summary.json data.

Style of an expert declaration: first person, plain statements of what was examined, how,
and what was found. Each number carries a short marker (`[Q12]`) that points into the
numbered list of queries at the end (Appendix C, and `queries` in summary.json), where the
table and the query that recompute it are given; the prose stays readable and every
number stays reproducible. A count that a bound cut short says so next to the number
("at least 1,296 ..."). Secrets are shown only through the `Redactor`.

The declaration is a list of sections (`SECTIONS`), each a function of the `Builder`:
a new section is one function and one entry in that tuple.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from reports import doc
from reports.bounds import bounds_for, where_hit
from reports.case import CaseData
from reports.charts import Chart
from reports.checks import ImageFacts, VolumeFacts, check_command
from reports.operators_section import operators_section
from reports.redact import Redactor
from reports.known_section import add_known_section
from reports.words import count, form, listing, n

APPENDIX_PER_CATEGORY = 50
HARVEST_IN_BODY = 10  # harvest lists named in the body per exhibit; the rest are summed, all in Appendix B
CATEGORIES_IN_BODY = 12
PROVENANCE = {"finding_id", "evidence_id", "volume", "inode", "stream", "path", "member", "offset",
              "image_offset", "extractor", "extractor_version"}
FREE_TEXT = {"context", "value", "snippet", "sample", "subject", "line", "text", "excerpt", "raw", "command",
             "description"}
# table -> (singular, plural) of what one row is
TABLE_WORDS = {
    "emails": ("e-mail address occurrence", "e-mail address occurrences"),
    "credentials": ("credential entry (a user name with a password or other secret)",
                    "credential entries (user names with passwords or other secrets)"),
    "harvest_lists": ("file judged to be a harvested address list", "files judged to be harvested address lists"),
    "spam_templates": ("spam template", "spam templates"),
    "tor": ("Tor configuration finding", "Tor configuration findings"),
    "indicators": ("network indicator (IP address, domain, URL or onion address)",
                   "network indicators (IP addresses, domains, URLs, onion addresses)"),
    "yara": ("YARA rule match", "YARA rule matches"),
}
# summary key of a distinct count -> (singular, plural)
DISTINCT_WORDS = {
    ("emails", "distinct_address"): ("distinct address", "distinct addresses"),
    ("emails", "distinct_domain"): ("domain", "domains"),
    ("credentials", "distinct_username_secret"): ("distinct user name and secret pair",
                                                  "distinct user name and secret pairs"),
    ("credentials", "distinct_username"): ("distinct user name", "distinct user names"),
    ("indicators", "distinct_kind_value"): ("distinct value", "distinct values"),
    ("yara", "distinct_rule"): ("distinct rule", "distinct rules"),
    ("yara", "distinct_path"): ("file", "files"),
    ("harvest_lists", "distinct_path_member"): ("distinct file or archive member", "distinct files or archive members"),
    ("tor", "distinct_onion"): ("distinct onion address", "distinct onion addresses"),
    ("tor", "distinct_hs_dir"): ("hidden service directory", "hidden service directories"),
    ("spam_templates", "distinct_path_member"): ("distinct file or archive member", "distinct files or archive members"),
    ("spam_templates", "distinct_subject"): ("distinct subject line", "distinct subject lines"),
}
SPECIAL_WORDS = {
    "onions_valid": ("distinct onion address whose checksum (v3) or format (v2) is valid",
                     "distinct onion addresses whose checksum (v3) or format (v2) is valid"),
    "onions_invalid": ("distinct onion address whose checksum or format is NOT valid",
                       "distinct onion addresses whose checksum or format is NOT valid"),
    "active_hidden_services": ("active (not commented-out) hidden service, counted by distinct HiddenServiceDir",
                               "active (not commented-out) hidden services, counted by distinct HiddenServiceDir"),
    "onions": ("distinct onion address", "distinct onion addresses"),
}
CATEGORY_WORDS = {"brands": "brand"}
DEP_ORDER = ("seized", "libtsk (The Sleuth Kit)", "pytsk3", "libyara", "yara-python", "dask", "distributed",
             "pyarrow", "libewf", "libewf-python", "email-validator", "tldextract", "python")
WORKING_COPY = ("EXAMINER'S WORKING COPY - CONTAINS SECRETS (PASSWORDS) IN CLEAR TEXT. NOT FOR FILING, "
                "NOT FOR DISCLOSURE. Render the report without --reveal-secrets for any copy that leaves "
                "the examiner's hands.")


def words(value: int | None, pair: tuple[str, str]) -> str:
    return count(value, pair[0], pair[1])


def command_text(argv: list) -> str:
    """The command line as a shell reads it back: shell-quoted, so it re-runs as printed."""
    return shlex.join(str(a) for a in argv)


@dataclass
class Citations:
    """The numbered queries behind the text: one marker per distinct query, in order of first use."""

    entries: list[dict] = field(default_factory=list)
    _index: dict[str, str] = field(default_factory=dict)

    def mark(self, counted: dict) -> str:
        """`[Qn]` for a summary.json number ({"value", "query", "table"})."""
        text = counted["query"]
        if text not in self._index:
            ref = f"Q{len(self.entries) + 1}"
            self._index[text] = ref
            self.entries.append({"ref": ref, "query": text, "table": counted.get("table"),
                                 "value": counted.get("value")})
        return f"[{self._index[text]}]"


class Builder:
    """What the sections write into: numbered paragraphs, blocks, citations, cited finding ids."""

    def __init__(self, case: CaseData, summary: dict, redactor: Redactor, charts: list[Chart],
                 correlations: pa.Table) -> None:
        self.case, self.summary, self.red, self.charts, self.corr = case, summary, redactor, charts, correlations
        self.blocks: list[doc.Block] = []
        self.number = 0
        self.cited: dict[str, list[str]] = {}  # table -> finding ids cited in the text
        self.citations = Citations()

    def para(self, text: str) -> None:
        self.number += 1
        self.blocks.append(doc.Para(text, self.number))

    def add(self, block: doc.Block) -> None:
        self.blocks.append(block)

    def q(self, counted: dict) -> str:
        """A number's citation marker, e.g. "[Q12]"."""
        return self.citations.mark(counted)

    def num(self, counted: dict, pair: tuple[str, str] | None = None, bounds: list[dict] | None = None) -> str:
        """A number as the text states it: "1,296 YARA rule matches [Q20]", or, when bounds cut
        it short, "at least 1,296 YARA rule matches [Q20] (the per-rule cap ... in 1 file [Q21])"."""
        value = counted["value"]
        text = n(value) if pair is None else words(value, pair)
        if bounds and value:
            return f"at least {text} {self.q(counted)} ({self.bound_text(bounds)})"
        return f"{text} {self.q(counted)}"

    def bound_text(self, bounds: list[dict]) -> str:
        parts = []
        for b in bounds:
            refs = " ".join(self.q(b[k]) for k in ("files", "unallocated") if b[k]["value"])
            parts.append(f"{b['text']} in {where_hit(b)} {refs}".rstrip())
        return "; ".join(parts)

    def first_ids(self, table: str, eid: str, k: int = 3) -> list[str]:
        tables = self.case.tables
        if tables.num_rows(table) == 0 or not tables.has(table, "finding_id", "evidence_id"):
            return []
        ids = [f for (f,) in tables.fetch(f"SELECT finding_id FROM {tables.ref(table, positions=True)} "
                                          f"WHERE evidence_id = ? ORDER BY file_row_number LIMIT {int(k)}", [eid])]
        self.cited.setdefault(table, []).extend(ids)
        return ids

    def exhibits_phrase(self) -> str:
        labels = [self.case.exhibit(e) for e in self.case.evidence_ids]
        if len(labels) == 1:
            return f"Exhibit {labels[0]}"
        if len(labels) <= 3:
            return f"Exhibits {listing(labels)}"
        return f"Exhibits {labels[0]} to {labels[-1]}"


# -- sections ---------------------------------------------------------------------------------


def caption(b: Builder) -> None:
    m = b.case.manifest
    if b.red.reveal:
        b.add(doc.Warning(WORKING_COPY))
    b.add(doc.Heading(1, f"Declaration of {b.case.examiner}"))
    b.add(doc.Para(f"In the matter of: {b.case.case_name}", bold=True))
    b.add(doc.Para(f"Examination by seized {m.get('tool', {}).get('version', '?')}; scan finished "
                   f"{m.get('finished_utc', '?')} (UTC)."))
    if not b.red.reveal:
        b.add(doc.Para("Passwords and other secrets are not reproduced in this declaration. Each is shown "
                       "as a masked form (at most its first and last character, length hidden) followed by "
                       "#TAG, a hash of the secret salted with a value kept only in the case directory; equal "
                       "tags mean equal secrets. Private key material is never shown."))
    b.add(doc.Para(f"I, {b.case.examiner}, declare:"))


def evidence(b: Builder) -> None:
    b.add(doc.Heading(2, "Evidence examined"))
    ids = b.case.evidence_ids
    items = b.summary.get("totals", {}).get("evidence_items") or {"value": len(ids), "query": "evidence | count",
                                                                   "table": "evidence"}
    each = "a disk image" if len(ids) == 1 else "each a disk image"
    b.para(f"I examined {b.num(items, ('evidence item', 'evidence items'))}, {each}, which I refer to as "
           f"{b.exhibits_phrase()} below (numbered in order of their evidence id, the first 16 hexadecimal "
           f"digits of the image's SHA-256).")
    rows = []
    for eid in ids:
        ev = b.case.evidence(eid)
        ex = b.case.exhibit(eid)
        verified = {True: "The acquisition hash stored in the image was recomputed and matches.",
                    False: "The acquisition hash stored in the image does NOT match the recomputed hash.",
                    None: "The image records no acquisition hash to compare."}[ev.get("verified")]
        b.para(f"Exhibit {ex} (evidence id {eid}) is the {ev.get('format')} image {ev.get('path')} of "
               f"{count(ev.get('size'), 'byte')}, with MD5 {ev.get('md5')}, SHA-1 {ev.get('sha1')} and SHA-256 "
               f"{ev.get('sha256')}, computed over the media by reading it in full. {verified}")
        rows.append((ex, eid, str(ev.get("path")), n(ev.get("size")), str(ev.get("sha256")),
                     {True: "verified", False: "MISMATCH", None: "none stored"}[ev.get("verified")]))
    b.add(doc.Table(("Exhibit", "Evidence id", "Image", "Bytes", "SHA-256", "Acquisition hash"),
                    tuple(rows), "Evidence items"))
    for f in b.case.manifest.get("failed_images") or []:
        b.para(f"The image {f.get('image')} could not be examined: {f.get('reason')}. It is not an exhibit "
               f"and nothing in this declaration comes from it.")


def method(b: Builder) -> None:
    m = b.case.manifest
    b.add(doc.Heading(2, "Method"))
    deps = m.get("dependencies", {})
    named = [f"{k} {deps[k]}" for k in DEP_ORDER if k in deps]
    b.para("I used the open-source program seized with these components: " + ", ".join(named) + ".")
    rules = m.get("rules")
    if rules:
        srcs = rules.get("sources", [])
        total = sum(int(s.get("rules", 0) or 0) for s in srcs)
        b.para(f"The YARA rule set ({count(total, 'rule')} in {count(len(srcs), 'file')}) has SHA-256 "
               f"{rules.get('sha256')}; each rule file's hash is recorded in manifest.json under rules.sources.")
    else:
        b.para("No YARA rules were used.")
    where = m.get("working_directory")
    place = f" in the directory {where}" if where else ""
    b.para(f"I ran the scan{place} with the command line below, exactly as recorded in manifest.json "
           f"(command_line) and quoted for a POSIX shell, so that it can be run again as printed. It started "
           f"{m.get('started_utc')} and finished {m.get('finished_utc')} (UTC).")
    b.add(doc.Code(command_text(m.get("command_line", []))))
    b.para("Each image was opened read-only (raw and split images with the operating system's read-only "
           "open; EWF images through libewf in read mode); nothing was mounted and no byte of the evidence "
           "was written. The program made no network connection: addresses and domains were judged with "
           "offline data only.")
    b.para("The Sleuth Kit read each partition table and file system, including deleted names and orphan "
           "files; every regular file's content, the members of archives inside it, and the unallocated "
           "space and slack of each image were searched. Each number below carries a marker such as [Q1]; "
           "Appendix C lists every marker with the table and the query that recomputes the number from "
           "CASE/tables/TABLE/part-0.parquet (or the manifest.json key it comes from), and summary.json "
           "holds the same list under queries.")


def files(b: Builder) -> None:
    b.add(doc.Heading(2, "Files examined"))
    for eid in b.case.evidence_ids:
        ev = b.summary["evidence"][eid]
        f, acc, ex = ev["files"], ev["accounting"], ev["exhibit"]
        fb = bounds_for(ev.get("bounds", []), "files")
        deleted = f["deleted_names"]["value"]
        b.para(f"On Exhibit {ex}, the file systems list {b.num(f['seen'], ('entry', 'entries'), fb)}: "
               f"{b.num(f['scanned'])} {form(f['scanned']['value'], 'was', 'were')} read and searched, "
               f"{b.num(f['skipped'])} {form(f['skipped']['value'], 'was', 'were')} not read because "
               f"{form(f['skipped']['value'], 'it holds no content of its own', 'they hold no content of their own')} (directories, "
               f"virtual entries, names without metadata), and {b.num(f['error'])} could not be read; "
               f"{b.num(f['deleted_names'], ('name', 'names'))} {form(deleted, 'is', 'are')} deleted. "
               f"Of its {b.num(acc['image_bytes'], ('byte', 'bytes'))}, {b.num(acc['allocated_bytes'])} belong "
               f"to files, {b.num(acc['unallocated_scanned_bytes'])} of unallocated space and slack were "
               f"searched, and {b.num(acc['unreadable_bytes'])} could not be read.")


def findings(b: Builder) -> None:
    b.add(doc.Heading(2, "Findings"))
    for eid in b.case.evidence_ids:
        ev = b.summary["evidence"][eid]
        ex = ev["exhibit"]
        b.add(doc.Heading(3, f"Exhibit {ex}"))
        none_found = []
        for table, sec in ev["findings"].items():
            if sec["present"] and sec["total"]["value"] == 0:
                pair = TABLE_WORDS.get(table, (f"{table} finding", f"{table} findings"))
                none_found.append(f"no {pair[1]} {b.q(sec['total'])}")
                continue
            if not sec["present"]:
                b.para(f"The {table} table is absent from this case, so no statement about "
                       f"{TABLE_WORDS.get(table, (table, table))[1]} is made for Exhibit {ex}.")
                continue
            if table == "harvest_lists" and ev["harvest_lists"]["listed"]:
                _harvest_paras(b, ev, ex)  # named one by one, largest first, instead of a summary line
                continue
            _finding_para(b, table, sec, eid, ex, bounds_for(ev.get("bounds", []), table))
        if none_found:
            b.para(f"On Exhibit {ex} I found {listing(none_found)}.")
        _installed_software(b, ev.get("installed_software", {}), ex)


def _installed_software(b: Builder, sw: dict, ex: str) -> None:
    """Hits of YARA rules tagged `software`: what is installed, not findings (issue 16)."""
    if not sw.get("rules"):
        return
    b.add(doc.Heading(3, f"Installed software on Exhibit {ex} (YARA rules tagged software)"))
    for item in sw["rules"]:
        files = item["files"]
        shown = ", ".join(item["paths"][:5])
        b.para(f"The rule {item['rule']}, which says which software is installed, matched "
               f"{b.num(files, ('file', 'files'))} on Exhibit {ex}, among them {shown}. These matches are not "
               f"counted among the YARA findings above.")


def _category_parts(b: Builder, table: str, sec: dict, bounds: list[dict]) -> list[str]:
    capped_rules = {r for bd in bounds for r in bd.get("rules", [])}
    out = []
    for key, groups in sec.items():
        if not key.startswith("by_"):
            continue
        col = key[3:]
        name = CATEGORY_WORDS.get(col, col)
        items = sorted(groups.items(), key=lambda kv: (-kv[1]["value"], str(kv[0])))
        shown = []
        for k, v in items[:CATEGORIES_IN_BODY]:
            at_least = "at least " if table == "yara" and col == "rule" and k in capped_rules else ""
            shown.append(f"{k}: {at_least}{b.num(v)}")
        more = len(items) - CATEGORIES_IN_BODY
        tail = f"; and {count(more, 'more ' + name)} (summary.json, {key})" if more > 0 else ""
        out.append(f"By {name}: " + "; ".join(shown) + tail + ".")
    return out


def _finding_para(b: Builder, table: str, sec: dict, eid: str, ex: str, bounds: list[dict]) -> None:
    total = sec["total"]
    pair = TABLE_WORDS.get(table, (f"{table} finding", f"{table} findings"))
    if total["value"] == 0:
        b.para(f"No {pair[1]} were found on Exhibit {ex} {b.q(total)}.")
        return
    first = f"On Exhibit {ex} I found {b.num(total, pair, bounds)}"
    extra = []
    for key, val in sec.items():
        if (table, key) in DISTINCT_WORDS:
            extra.append(b.num(val, DISTINCT_WORDS[(table, key)]))
        elif key in SPECIAL_WORDS:
            extra.append(b.num(val, SPECIAL_WORDS[key]))
    sentence = first + (", with " + listing(extra) if extra else "") + "."
    cats = _category_parts(b, table, sec, bounds)
    ids = b.first_ids(table, eid)
    example = [f"Examples: {form(len(ids), 'finding')} {', '.join(ids)} (Appendix A)."] if ids else []
    b.para(" ".join([sentence, *cats, *example]))


def _harvest_paras(b: Builder, ev: dict, ex: str) -> None:
    """The largest harvest lists by name (largest first), the rest summed, all of them in Appendix B."""
    hl = ev["harvest_lists"]
    total, listed = hl["total"], hl["listed"]
    if not listed:
        return
    shown = listed[:HARVEST_IN_BODY]
    rest = listed[HARVEST_IN_BODY:]
    which = f"the {len(shown)} largest" if total["value"] > len(shown) else form(len(shown), "it", "all of them")
    bounds = bounds_for(ev.get("bounds", []), "harvest_lists")
    b.para(f"On Exhibit {ex} I found {b.num(total, ('harvested address list', 'harvested address lists'), bounds)} "
           f"(files or archive members in which addresses dominate) holding "
           f"{b.num(hl['addresses'], ('address', 'addresses'))} in all. The table below names {which}, largest "
           f"first; each row's finding id is its citation.")
    rows = []
    for row in shown:
        b.cited.setdefault("harvest_lists", []).append(row["finding_id"])
        rows.append((row["path"] or "(unallocated space)", row.get("member") or "", n(row.get("addresses")),
                     n(row.get("unique")), row["finding_id"]))
    b.add(doc.Table(("File", "Archive member", "Addresses", "Distinct", "Finding"), tuple(rows),
                    f"Harvested address lists on Exhibit {ex}, largest first"))
    if rest or total["value"] > len(listed):
        others = total["value"] - len(shown)
        held = hl["addresses"]["value"] - sum(int(r.get("addresses") or 0) for r in shown)
        b.para(f"On Exhibit {ex} there are {count(others, 'more list')} holding {count(held, 'address')} "
               f"(Appendix B lists them).")


def correlations(b: Builder) -> None:
    from reports.query import Query, eq

    b.add(doc.Heading(2, "Links between the evidence items"))
    if len(b.case.evidence_ids) < 2:
        b.para("Only one evidence item was examined, so there are no links between evidence items.")
        return
    t = b.corr
    total = {"value": t.num_rows, "query": "correlations | count", "table": "correlations"}
    if t.num_rows == 0:
        b.para("No address, credential, onion address, network indicator or file content (SHA-256) was "
               f"found on more than one evidence item {b.q(total)}.")
        return
    stated = b.num(total, ("value", "values"))  # its marker before the kinds' markers
    kinds = sorted(pc.value_counts(t.column("kind")).to_pylist(), key=lambda k: (-k["counts"], k["values"]))
    by_kind = "; ".join(
        f"{k['values']}: {b.num({'value': k['counts'], 'query': Query('correlations', (eq('kind', k['values']),)).text(), 'table': 'correlations'})}"
        for k in kinds)
    b.para(f"{stated} {form(t.num_rows, 'was', 'were')} found on more than one "
           f"evidence item. By kind: {by_kind}.")
    rows = []
    ordered = sorted(t.to_pylist(), key=lambda r: (-r["count"], r["kind"], r["value"]))
    for r in ordered[:APPENDIX_PER_CATEGORY]:
        rows.append((r["kind"], r["value"], ", ".join(b.case.exhibit(e) for e in r["evidence_ids"]),
                     ", ".join(r["finding_ids"])))
    caption_text = "Values seen on more than one evidence item, most exhibits first"
    if t.num_rows > APPENDIX_PER_CATEGORY:
        caption_text += (f" (first {APPENDIX_PER_CATEGORY} of {n(t.num_rows)}; all are in "
                         f"CASE/tables/correlations/part-0.parquet)")
    b.add(doc.Table(("Kind", "Value", "Exhibits", "Example findings"), tuple(rows), caption_text))


def limitations(b: Builder) -> None:
    b.add(doc.Heading(2, "Limitations"))
    for eid in b.case.evidence_ids:
        ev = b.summary["evidence"][eid]
        lim, ex = ev["limitations"], ev["exhibit"]
        errs = lim["errors"]
        stages = sorted(errs.get("by_stage", {}).items(), key=lambda kv: (-kv[1]["value"], str(kv[0])))
        total = b.num(errs["total"], ("problem", "problems"))  # its marker before the stages' markers
        detail = "; ".join(f"{k}: {b.num(v)}" for k, v in stages)
        b.para(f"On Exhibit {ex}, {total} "
               f"{form(errs['total']['value'], 'was', 'were')} recorded in the errors table"
               + (f", by stage: {detail}." if detail else "."))
        bounds = ev.get("bounds", [])
        if bounds:
            tables = sorted({t for bd in bounds for t in bd["tables"]})
            named = listing(["every kind of finding" if t == "*" else "file system entries" if t == "files"
                             else TABLE_WORDS.get(t, (t, t))[1] for t in tables])
            b.para(f"On Exhibit {ex}, the scan reached {count(len(bounds), 'bound')} that cut counts short: "
                   f"{b.bound_text(bounds)}. The counts of {named} above are therefore lower bounds, and are "
                   f"stated as \"at least\".")
        unreadable = ev["accounting"]["unreadable_bytes"]
        if unreadable["value"]:
            b.para(f"{b.num(unreadable, ('byte', 'bytes'))} of Exhibit {ex} could not be read; they were hashed "
                   f"as zeros and not searched.")
        nofs = lim["volumes_without_file_system"]
        if nofs["value"]:
            b.para(f"{b.num(nofs, ('volume', 'volumes'))} of Exhibit {ex} {form(nofs['value'], 'holds', 'hold')} "
                   f"no file system The Sleuth Kit recognises; their bytes were searched as raw data only.")
        enc = lim["encryption_errors"]["value"] + lim["luks_errors"]["value"]
        if enc:
            b.para(f"{count(enc, 'encrypted volume or file', 'encrypted volumes or files')} on Exhibit {ex} "
                   f"could not be read {b.q(lim['encryption_errors'])}.")
    failed = b.case.manifest.get("failed_images") or []
    if failed:
        b.para(f"{count(len(failed), 'image')} named on the command line could not be examined at all: "
               + "; ".join(f"{f.get('image')} ({f.get('reason')})" for f in failed) + ".")
    b.para("A finding shows that the bytes are present on the evidence; it does not by itself show who "
           "placed them there or whether they were used. Addresses are recognised by their syntax and "
           "checked offline; whether a mailbox exists was not tested.")


def charts_section(b: Builder) -> None:
    if not b.charts:
        return
    b.add(doc.Heading(2, "Charts"))
    for chart in b.charts:
        b.add(doc.Image(chart.file, f"{chart.title}. {chart.caption}"))


def attestation(b: Builder) -> None:
    b.add(doc.Heading(2, "Attestation"))
    b.para("I declare under penalty of perjury that the foregoing is true and correct.")
    b.add(doc.Para("Executed on ____________________ at ____________________."))
    b.add(doc.Para(f"______________________________ {b.case.examiner}"))


# -- appendices -------------------------------------------------------------------------------


def _volume_facts(b: Builder) -> dict[tuple[str, str], VolumeFacts]:
    v = b.case.tables.read("volumes", ["evidence_id", "volume", "start", "fs_type"]) \
        if b.case.tables.num_rows("volumes") else None
    if v is None or v.num_rows == 0:
        return {}
    return {(e, vol): VolumeFacts(vol, s, fs) for e, vol, s, fs in zip(
        v["evidence_id"].to_pylist(), v["volume"].to_pylist(), v["start"].to_pylist(), v["fs_type"].to_pylist())}


def _image_facts(b: Builder) -> dict[str, ImageFacts]:
    return {e["evidence_id"]: ImageFacts(str(e.get("path")), str(e.get("format") or "raw"))
            for e in b.case.manifest.get("evidence", [])}


def _detail(b: Builder, row: dict, secret_cols: frozenset[str]) -> str:
    parts = []
    for key, value in row.items():
        if key in PROVENANCE or value is None:
            continue
        if key in secret_cols:
            shown = b.red.secret(value)
        elif isinstance(value, list):
            shown = ", ".join(b.red.text(str(x), scrub_known=False) for x in value[:10])
        elif isinstance(value, str):
            shown = b.red.text(value, scrub_known=key in FREE_TEXT)
            if len(shown) > 160:
                shown = shown[:157] + "..."
        else:
            shown = str(value)
        parts.append(f"{key}={shown}")
    return "; ".join(parts)


def appendix_a(b: Builder) -> None:
    from caseformat.schema import secret_columns

    try:
        from caseformat.tables import finding_classes

        classes = finding_classes()
    except Exception:
        classes = {}
    b.add(doc.Heading(2, "Appendix A: cited findings"))
    b.add(doc.Para("For each finding: its id, exhibit, path (with the archive member, if any), inode, offset "
                   "in the file or member, offset in the image, and what it says. Below each table, each finding "
                   "has a check: a command that prints its bytes from the evidence, to be pasted into a POSIX "
                   "shell in the case directory (CASE). The commands use The Sleuth Kit (icat, img_cat), dd, "
                   "head, tail, gzip, bzip2, xz, tar and python3; -o is the volume's first 512-byte sector, as "
                   "mmls prints it. Where no such chain of standard tools exists (a volume inside LVM or RAID, "
                   "XFS, an NTFS alternate data stream), the check is seized show FINDING_ID ., which reads the "
                   "evidence read-only and prints the bytes with their provenance (image, volume, file system, "
                   "inode, path, archive members, offsets)."))
    volumes, images = _volume_facts(b), _image_facts(b)
    for table in b.case.finding_tables:
        total = b.case.tables.num_rows(table)
        if total == 0:
            continue
        secret_cols = secret_columns(classes[table]) if table in classes else frozenset()
        if table == "credentials":
            secret_cols = secret_cols | {"secret"}
        picked = _appendix_rows(b, table)
        rows, checks = [], []
        for row in picked:
            path = (row.get("path") or "(unallocated space)") + (f" ! {row['member']}" if row.get("member") else "")
            rows.append((row["finding_id"], b.case.exhibit(row["evidence_id"]), path,
                         "" if row.get("inode") is None else str(row["inode"]),
                         "" if row.get("offset") is None else str(row["offset"]),
                         "" if row.get("image_offset") is None else str(row["image_offset"]),
                         _detail(b, row, secret_cols)))
            command = check_command(table, row, images.get(row["evidence_id"]),
                                    volumes.get((row["evidence_id"], row.get("volume"))))
            checks.append(f"# {row['finding_id']}\n{command}")
        caption_text = f"{table}: {len(rows)} of {count(total, 'finding')}"
        if total > len(rows):
            caption_text += (f"; the other {n(total - len(rows))} are the remaining rows of "
                             f"CASE/tables/{table}/part-0.parquet")
        b.add(doc.Heading(3, table))
        b.add(doc.Table(("Finding", "Exhibit", "Path", "Inode", "Offset", "Image offset", "Detail"),
                        tuple(rows), caption_text))
        b.add(doc.Para(f"Checks for the {table} findings above (each line after a # finding id is one command):"))
        b.add(doc.Code("\n".join(checks)))


def appendix_b(b: Builder) -> None:
    """Every harvest list (up to summary.MAX_LISTED per exhibit), largest first."""
    lists = [(ev["exhibit"], ev["harvest_lists"]) for ev in (b.summary["evidence"][e] for e in b.case.evidence_ids)]
    if not any(hl["listed"] for _, hl in lists):
        return
    b.add(doc.Heading(2, "Appendix B: harvested address lists"))
    for ex, hl in lists:
        if not hl["listed"]:
            continue
        rows = tuple((str(i + 1), r["path"] or "(unallocated space)", r.get("member") or "", n(r.get("addresses")),
                      n(r.get("unique")), r["finding_id"]) for i, r in enumerate(hl["listed"]))
        cap = f"Exhibit {ex}: {count(hl['total']['value'], 'harvested address list')}, largest first {b.q(hl['total'])}"
        if hl["total"]["value"] > len(rows):
            cap += f"; the first {n(len(rows))} are listed, all are rows of CASE/tables/harvest_lists/part-0.parquet"
        b.add(doc.Table(("#", "File", "Archive member", "Addresses", "Distinct", "Finding"), rows, cap))


def appendix_c(b: Builder) -> None:
    """The numbered queries: last, so that every marker used anywhere above is in it."""
    b.add(doc.Heading(2, "Appendix C: queries"))
    b.add(doc.Para("Each marker [Qn] in the text stands for the query below, evaluated over "
                   "CASE/tables/TABLE/part-0.parquet: TABLE [where COLUMN = 'value' (and ...)] | count "
                   "[distinct COLUMN, ...] or | sum COLUMN; 'contains' is case-insensitive; count distinct of one "
                   "column skips nulls, of several columns counts distinct tuples. Entries that begin with "
                   "manifest.json name the manifest key the number comes from."))
    rows = tuple((e["ref"], n(e["value"]), e["query"]) for e in b.citations.entries)
    b.add(doc.Table(("Marker", "Result", "Query"), rows, f"{count(len(rows), 'query', 'queries')}"))


def _appendix_rows(b: Builder, table: str) -> list[dict]:
    return _pick_rows(b.cited.get(table, []), b.case.tables, table)


KEY_COLUMNS = ("evidence_id", "path", "member")


def _pick_rows(cited_ids: list[str], tables, table: str) -> list[dict]:
    """Cited ids first, then one finding per (evidence, path, member), then the rest; at most 50.

    Worked out in DuckDB over the file (positions of the cited ids, the first position of
    each key), then only the chosen rows are read: a table of millions of rows is never read.
    """
    limit = APPENDIX_PER_CATEGORY
    total = tables.num_rows(table)
    ref = tables.ref(table, positions=True)
    cited = list(dict.fromkeys(cited_ids))
    chosen: list[int] = []
    if cited and tables.has(table, "finding_id"):
        # the last row holding each id (ids are unique; were one not, its last row is taken, as before)
        position = dict(tables.fetch(f"SELECT finding_id, max(file_row_number) FROM {ref} "
                                     f"WHERE list_contains(?::VARCHAR[], finding_id) GROUP BY finding_id", [cited]))
        chosen = [int(position[f]) for f in cited if f in position][:limit]
    keys = [k for k in KEY_COLUMNS if tables.has(table, k)]
    seen_keys = set()
    if chosen:
        got = tables.take(table, chosen, keys)
        seen_keys = set(zip(*(got.column(c).to_pylist() for c in keys)))
    seen_rows = set(chosen)
    if len(chosen) < limit and keys:
        cols = ", ".join(f'"{k}"' for k in keys)
        # first row of each key in row order; keys already cited are passed over
        firsts = tables.fetch(f"SELECT min(file_row_number) AS r, {cols} FROM {ref} GROUP BY {cols} "
                              f"ORDER BY r LIMIT {limit + len(seen_keys)}")
        for i, *key in firsts:
            if len(chosen) >= limit:
                break
            key = tuple(key)
            if key not in seen_keys:
                seen_keys.add(key)
                seen_rows.add(int(i))
                chosen.append(int(i))
    i = 0
    while len(chosen) < limit and i < total:
        if i not in seen_rows:
            seen_rows.add(i)
            chosen.append(i)
        i += 1
    chosen.sort()
    return tables.take(table, chosen).to_pylist() if chosen else []


Section = Callable[[Builder], None]
# The declaration, in order. A new section is a function of the Builder added here; the
# appendices come last (Appendix C, the queries, must be the very last: it lists every marker).
SECTIONS: tuple[Section, ...] = (caption, evidence, method, files, add_known_section, findings, correlations,
                                 operators_section, limitations,
                                 charts_section, attestation, appendix_a, appendix_b, appendix_c)


@dataclass(frozen=True)
class Declaration:
    blocks: list[doc.Block]
    queries: list[dict]  # [{"ref": "Q1", "query": ..., "table": ..., "value": ...}] in marker order


def compose(case: CaseData, summary: dict, redactor: Redactor, charts: list[Chart], correlations: pa.Table,
            sections: tuple[Section, ...] = SECTIONS) -> Declaration:
    b = Builder(case, summary, redactor, charts, correlations)
    for section in sections:
        section(b)
    if redactor.reveal:
        b.add(doc.Warning(WORKING_COPY))
    return Declaration(b.blocks, list(b.citations.entries))


def build_declaration(case: CaseData, summary: dict, redactor: Redactor, charts: list[Chart],
                      correlations: pa.Table) -> list[doc.Block]:
    return compose(case, summary, redactor, charts, correlations).blocks
