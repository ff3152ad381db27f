"""The declaration's content: numbered factual paragraphs, built from summary.json data.

Style of an expert declaration: first person, plain statements of what was examined, how,
and what was found, each number followed by where it comes from ("[emails, Exhibit E2;
query: ...]") so that opposing experts can reproduce it from the tables. Secrets are shown
only through the `Redactor`.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reports import doc
from reports.case import CaseData
from reports.charts import Chart
from reports.redact import Redactor
from reports.summary import DISTINCT

APPENDIX_PER_CATEGORY = 50
SECTOR = 512
PROVENANCE = {"finding_id", "evidence_id", "volume", "inode", "stream", "path", "member", "offset",
              "image_offset", "extractor", "extractor_version"}
FREE_TEXT = {"context", "value", "snippet", "sample", "subject", "line", "text", "excerpt", "raw"}
TABLE_WORDS = {
    "emails": "e-mail address occurrences",
    "credentials": "credential entries (user name with password or secret)",
    "harvest_lists": "files judged to be harvested address lists",
    "spam_templates": "spam templates",
    "tor": "Tor configuration findings",
    "indicators": "network indicators (IP addresses, domains, URLs, onion addresses)",
    "yara": "YARA rule matches",
}
SPECIAL_WORDS = {
    "onions_valid": "distinct onion addresses whose checksum (v3) or format (v2) is valid",
    "onions_invalid": "distinct onion addresses whose checksum or format is NOT valid",
    "active_hidden_services": "active (not commented-out) hidden services, counted by distinct HiddenServiceDir",
    "onions": "distinct onion addresses",
}
DEP_ORDER = ("seized", "libtsk (The Sleuth Kit)", "pytsk3", "libyara", "yara-python", "dask", "distributed",
             "pyarrow", "libewf", "libewf-python", "email-validator", "tldextract", "python")
WORKING_COPY = ("EXAMINER'S WORKING COPY - CONTAINS SECRETS (PASSWORDS) IN CLEAR TEXT. NOT FOR FILING, "
                "NOT FOR DISCLOSURE. Render the report without --reveal-secrets for any copy that leaves "
                "the examiner's hands.")


def n(value: int | None) -> str:
    return f"{int(value or 0):,}"


def cite(table: str, exhibit: str | None, query: str) -> str:
    where = f", Exhibit {exhibit}" if exhibit else ""
    return f"[{table}{where}; query: {query}]"


class _Builder:
    def __init__(self, case: CaseData, summary: dict, redactor: Redactor, charts: list[Chart],
                 correlations: pa.Table) -> None:
        self.case, self.summary, self.red, self.charts, self.corr = case, summary, redactor, charts, correlations
        self.blocks: list[doc.Block] = []
        self.number = 0
        self.cited: dict[str, list[str]] = {}  # table -> finding ids cited in the text

    def para(self, text: str) -> None:
        self.number += 1
        self.blocks.append(doc.Para(text, self.number))

    def add(self, block: doc.Block) -> None:
        self.blocks.append(block)

    # -- sections --------------------------------------------------------------------------

    def caption(self) -> None:
        m = self.case.manifest
        if self.red.reveal:
            self.add(doc.Warning(WORKING_COPY))
        self.add(doc.Heading(1, f"Declaration of {self.case.examiner}"))
        self.add(doc.Para(f"In the matter of: {self.case.case_name}", bold=True))
        self.add(doc.Para(f"Examination by seized {m.get('tool', {}).get('version', '?')}; scan finished "
                          f"{m.get('finished_utc', '?')} (UTC)."))
        if not self.red.reveal:
            self.add(doc.Para("Passwords and other secrets are not reproduced in this declaration. Each is shown "
                              "as a masked form (at most its first and last character, length hidden) followed by "
                              "#TAG, a hash of the secret salted with a value kept only in the case directory; equal "
                              "tags mean equal secrets. Private key material is never shown."))
        self.add(doc.Para(f"I, {self.case.examiner}, declare:"))

    def evidence(self) -> None:
        self.add(doc.Heading(2, "Evidence examined"))
        ids = self.case.evidence_ids
        self.para(f"I examined {len(ids)} evidence item(s), each a disk image, which I refer to as the exhibits "
                  f"below (numbered in order of their evidence id, the first 16 hexadecimal digits of the image's "
                  f"SHA-256).")
        rows = []
        for eid in ids:
            ev = self.case.evidence(eid)
            ex = self.case.exhibit(eid)
            verified = {True: "The acquisition hash stored in the image was recomputed and matches.",
                        False: "The acquisition hash stored in the image does NOT match the recomputed hash.",
                        None: "The image records no acquisition hash to compare."}[ev.get("verified")]
            self.para(f"Exhibit {ex} (evidence id {eid}) is the {ev.get('format')} image {ev.get('path')} of "
                      f"{n(ev.get('size'))} bytes, with MD5 {ev.get('md5')}, SHA-1 {ev.get('sha1')} and SHA-256 "
                      f"{ev.get('sha256')}, computed over the media by reading it in full. {verified}")
            rows.append((ex, eid, str(ev.get("path")), n(ev.get("size")), str(ev.get("sha256")),
                         {True: "verified", False: "MISMATCH", None: "none stored"}[ev.get("verified")]))
        self.add(doc.Table(("Exhibit", "Evidence id", "Image", "Bytes", "SHA-256", "Acquisition hash"),
                           tuple(rows), "Evidence items"))
        failed = self.case.manifest.get("failed_images") or []
        for f in failed:
            self.para(f"The image {f.get('image')} could not be examined: {f.get('reason')}. It is not an exhibit "
                      f"and nothing in this declaration comes from it.")

    def method(self) -> None:
        m = self.case.manifest
        self.add(doc.Heading(2, "Method"))
        deps = m.get("dependencies", {})
        named = [f"{k} {deps[k]}" for k in DEP_ORDER if k in deps]
        self.para("I used the open-source program seized with these components: " + ", ".join(named) + ".")
        rules = m.get("rules")
        if rules:
            srcs = rules.get("sources", [])
            count = sum(int(s.get("rules", 0) or 0) for s in srcs)
            self.para(f"The YARA rule set ({count} rules in {len(srcs)} files) has SHA-256 {rules.get('sha256')}; "
                      f"each rule file's hash is recorded in manifest.json under rules.sources.")
        else:
            self.para("No YARA rules were used.")
        cmd = " ".join(str(a) for a in m.get("command_line", []))
        self.para(f"The scan was run with the command line `{cmd}`, started {m.get('started_utc')} and finished "
                  f"{m.get('finished_utc')} (UTC).")
        self.para("Each image was opened read-only (raw and split images with the operating system's read-only "
                  "open; EWF images through libewf in read mode); nothing was mounted and no byte of the evidence "
                  "was written. The program made no network connection: addresses and domains were judged with "
                  "offline data only.")
        self.para("The Sleuth Kit read each partition table and file system, including deleted names and orphan "
                  "files; every regular file's content, the members of archives inside it, and the unallocated "
                  "space and slack of each image were searched. Every number below is followed by the table it "
                  "comes from and a query that recomputes it from CASE/tables/TABLE/part-0.parquet; summary.json "
                  "lists every number with its query.")

    def files(self) -> None:
        self.add(doc.Heading(2, "Files examined"))
        for eid in self.case.evidence_ids:
            ev = self.summary["evidence"][eid]
            f, acc, ex = ev["files"], ev["accounting"], ev["exhibit"]
            self.para(f"On Exhibit {ex}, {n(f['seen']['value'])} file system entries were listed "
                      f"{cite('files', ex, f['seen']['query'])}: {n(f['scanned']['value'])} were read and searched, "
                      f"{n(f['skipped']['value'])} were not read because they hold no content of their own "
                      f"(directories, virtual entries, names without metadata), and {n(f['error']['value'])} could "
                      f"not be read; {n(f['deleted_names']['value'])} names are deleted "
                      f"{cite('files', ex, f['deleted_names']['query'])}. Of its {n(acc['image_bytes']['value'])} "
                      f"bytes, {n(acc['allocated_bytes']['value'])} belong to files, "
                      f"{n(acc['unallocated_scanned_bytes']['value'])} of unallocated space and slack were searched, "
                      f"and {n(acc['unreadable_bytes']['value'])} could not be read [manifest.json accounting].")

    def _first_ids(self, table: str, eid: str, k: int = 3, where: tuple[str, object] | None = None) -> list[str]:
        t = self.case.tables.get(table)
        if t is None or t.num_rows == 0 or "finding_id" not in t.column_names:
            return []
        keep = pc.equal(t.column("evidence_id"), eid)
        if where and where[0] in t.column_names:
            keep = pc.and_(keep, pc.fill_null(pc.equal(t.column(where[0]), where[1]), False))
        ids = t.column("finding_id").filter(keep).slice(0, k).to_pylist()  # one column, not the table
        self.cited.setdefault(table, []).extend(ids)
        return ids

    def findings(self) -> None:
        self.add(doc.Heading(2, "Findings"))
        for eid in self.case.evidence_ids:
            ev = self.summary["evidence"][eid]
            ex = ev["exhibit"]
            self.add(doc.Heading(3, f"Exhibit {ex}"))
            for table, sec in ev["findings"].items():
                if not sec["present"]:
                    self.para(f"The {table} table is absent from this case, so no statement about "
                              f"{TABLE_WORDS.get(table, table)} is made for Exhibit {ex}.")
                    continue
                self._finding_para(table, sec, eid, ex)
            hl = ev["harvest_lists"]
            for row in hl["listed"][:10]:
                where = row["path"] + (f" (archive member {row['member']})" if row.get("member") else "")
                self.cited.setdefault("harvest_lists", []).append(row["finding_id"])
                self.para(f"The file {where} on Exhibit {ex} is a harvested address list of "
                          f"{n(row.get('addresses'))} addresses, {n(row.get('unique'))} distinct "
                          f"[harvest_lists, finding {row['finding_id']}].")
            if len(hl["listed"]) > 10:
                self.para(f"{n(hl['total']['value'] - 10)} further harvested address lists on Exhibit {ex} are "
                          f"listed by the query {hl['query']} and in summary.json.")
            self._installed_software(ev.get("installed_software", {}), ex)

    def _installed_software(self, sw: dict, ex: str) -> None:
        """Hits of YARA rules tagged `software`: what is installed, not findings (issue 16)."""
        if not sw.get("rules"):
            return
        self.add(doc.Heading(3, f"Installed software on Exhibit {ex} (YARA rules tagged software)"))
        for item in sw["rules"]:
            files = item["files"]
            shown = ", ".join(item["paths"][:5])
            self.para(f"The rule {item['rule']}, which says which software is installed, matched {n(files['value'])} "
                      f"files on Exhibit {ex} {cite('yara', ex, files['query'])}, among them {shown}. These matches "
                      f"are not counted among the YARA findings above.")

    def _finding_para(self, table: str, sec: dict, eid: str, ex: str) -> None:
        total = sec["total"]
        what = TABLE_WORDS.get(table, f"{table} findings")
        if total["value"] == 0:
            self.para(f"No {what} were found on Exhibit {ex} {cite(table, ex, total['query'])}.")
            return
        parts = [f"{n(total['value'])} {what} were found on Exhibit {ex} {cite(table, ex, total['query'])}"]
        names = {"distinct_" + "_".join(cols): " and ".join(cols) for cols in DISTINCT.get(table, ())}
        for key, val in sec.items():
            if key in names:
                cols = names[key]
                if table == "credentials" and key == "distinct_username_secret":
                    cols = "user name and secret pairs"
                parts.append(f"{n(val['value'])} distinct values of {cols} {cite(table, ex, val['query'])}")
            elif key in SPECIAL_WORDS:
                parts.append(f"{n(val['value'])} {SPECIAL_WORDS[key]} {cite(table, ex, val['query'])}")
        for key, groups in sec.items():
            if key.startswith("by_"):
                col = key[3:]
                items = sorted(groups.items(), key=lambda kv: (-kv[1]["value"], str(kv[0])))
                shown = "; ".join(f"{col} {k}: {n(v['value'])} {cite(table, ex, v['query'])}" for k, v in items[:12])
                more = f"; and {len(items) - 12} further values listed in summary.json" if len(items) > 12 else ""
                parts.append(f"by {col}: {shown}{more}")
        ids = self._first_ids(table, eid)
        example = f" Examples: findings {', '.join(ids)} (Appendix A)." if ids else ""
        self.para("; ".join(parts) + "." + example)

    def correlations(self) -> None:
        self.add(doc.Heading(2, "Links between the evidence items"))
        if len(self.case.evidence_ids) < 2:
            self.para("Only one evidence item was examined, so there are no links between evidence items.")
            return
        t = self.corr
        if t.num_rows == 0:
            self.para("No address, credential, onion address, network indicator or file content (SHA-256) was "
                      "found on more than one evidence item [correlations; query: correlations | count].")
            return
        kinds = pc.value_counts(t.column("kind")).to_pylist()
        counts = "; ".join(f"{k['values']}: {n(k['counts'])}" for k in sorted(kinds, key=lambda k: k["values"]))
        self.para(f"{n(t.num_rows)} values were found on more than one evidence item "
                  f"[correlations; query: correlations | count]. By kind: {counts} "
                  f"(query: correlations where kind = 'KIND' | count).")
        rows = []
        ordered = sorted(t.to_pylist(), key=lambda r: (-r["count"], r["kind"], r["value"]))
        for r in ordered[:APPENDIX_PER_CATEGORY]:
            value = r["value"]
            if r["kind"] == "credential":
                value = value  # already username + salted tag, never the secret
            rows.append((r["kind"], value, ", ".join(self.case.exhibit(e) for e in r["evidence_ids"]),
                         ", ".join(r["finding_ids"])))
        caption = "Values seen on more than one evidence item"
        if t.num_rows > APPENDIX_PER_CATEGORY:
            caption += (f" (first {APPENDIX_PER_CATEGORY} of {n(t.num_rows)}; all are in "
                        f"CASE/tables/correlations/part-0.parquet)")
        self.add(doc.Table(("Kind", "Value", "Exhibits", "Example findings"), tuple(rows), caption))

    def limitations(self) -> None:
        self.add(doc.Heading(2, "Limitations"))
        for eid in self.case.evidence_ids:
            ev = self.summary["evidence"][eid]
            lim, ex = ev["limitations"], ev["exhibit"]
            errs = lim["errors"]
            stages = errs.get("by_stage", {})
            detail = "; ".join(f"{k}: {n(v['value'])} {cite('errors', ex, v['query'])}" for k, v in stages.items())
            self.para(f"On Exhibit {ex}, {n(errs['total']['value'])} problems were recorded "
                      f"{cite('errors', ex, errs['total']['query'])}" + (f" by stage: {detail}." if detail else "."))
            unreadable = ev["accounting"]["unreadable_bytes"]["value"]
            if unreadable:
                self.para(f"{n(unreadable)} bytes of Exhibit {ex} could not be read; they were hashed as zeros and "
                          f"not searched [manifest.json accounting.{eid}.unreadable_bytes].")
            nofs = lim["volumes_without_file_system"]
            if nofs["value"]:
                self.para(f"{n(nofs['value'])} volumes of Exhibit {ex} hold no file system The Sleuth Kit "
                          f"recognises; their bytes were searched as raw data only {cite('volumes', ex, nofs['query'])}.")
            enc = lim["encryption_errors"]["value"] + lim["luks_errors"]["value"]
            if enc:
                self.para(f"{n(enc)} encrypted volumes or files on Exhibit {ex} could not be read "
                          f"{cite('errors', ex, lim['encryption_errors']['query'])}.")
        failed = self.case.manifest.get("failed_images") or []
        if failed:
            self.para(f"{len(failed)} image(s) named on the command line could not be examined at all: "
                      + "; ".join(f"{f.get('image')} ({f.get('reason')})" for f in failed) + ".")
        self.para("A finding shows that the bytes are present on the evidence; it does not by itself show who "
                  "placed them there or whether they were used. Addresses are recognised by their syntax and "
                  "checked offline; whether a mailbox exists was not tested.")

    def charts_section(self) -> None:
        if not self.charts:
            return
        self.add(doc.Heading(2, "Charts"))
        for chart in self.charts:
            self.add(doc.Image(chart.file, f"{chart.title}. {chart.caption}"))

    def attestation(self) -> None:
        self.add(doc.Heading(2, "Attestation"))
        self.para("I declare under penalty of perjury that the foregoing is true and correct.")
        self.add(doc.Para("Executed on ____________________ at ____________________."))
        self.add(doc.Para(f"______________________________ {self.case.examiner}"))

    # -- appendix --------------------------------------------------------------------------

    def _volume_starts(self) -> dict[tuple[str, str], int]:
        v = self.case.tables.get("volumes")
        if v is None or v.num_rows == 0:
            return {}
        return {(e, vol): s for e, vol, s in zip(v["evidence_id"].to_pylist(), v["volume"].to_pylist(),
                                                 v["start"].to_pylist()) if s is not None}

    def _detail(self, table: str, row: dict, secret_cols: frozenset[str]) -> str:
        parts = []
        for key, value in row.items():
            if key in PROVENANCE or value is None:
                continue
            if key in secret_cols:
                shown = self.red.secret(value)
            elif isinstance(value, list):
                shown = ", ".join(self.red.text(str(x), scrub_known=False) for x in value[:10])
            elif isinstance(value, str):
                shown = self.red.text(value, scrub_known=key in FREE_TEXT)
                if len(shown) > 160:
                    shown = shown[:157] + "..."
            else:
                shown = str(value)
            parts.append(f"{key}={shown}")
        return "; ".join(parts)

    def _length(self, table: str, row: dict) -> int:
        if row.get("matched_length"):
            return int(row["matched_length"])
        raw = row.get("raw")
        if isinstance(raw, str):
            return len(raw.encode("utf-8")) * (2 if str(row.get("encoding", "")).startswith("utf-16") else 1)
        return 64

    def _check(self, row: dict, starts: dict, table: str) -> str:
        ex = self.case.exhibit(row.get("evidence_id"))
        count = self._length(table, row)
        start = starts.get((row.get("evidence_id"), row.get("volume")))
        if row.get("member"):
            return (f"icat -o {start // SECTOR if start is not None else '?'} {ex} {row.get('inode')}, then open "
                    f"member {row['member']} and read {count} bytes at offset {row.get('offset')}")
        if row.get("image_offset") is not None:
            return f"dd if={ex} bs=1 skip={row['image_offset']} count={count}"
        if row.get("inode") is not None and start is not None:
            tail = f" | dd bs=1 skip={row['offset']} count={count}" if row.get("offset") is not None else ""
            return f"icat -o {start // SECTOR} {ex} {row['inode']}{tail}"
        return "see path"

    def appendix(self) -> None:
        from reports.schema import secret_columns

        try:
            from seized.tables import finding_classes

            classes = finding_classes()
        except Exception:
            classes = {}
        self.add(doc.Heading(2, "Appendix A: cited findings"))
        self.add(doc.Para("For each finding: its id, exhibit, path (with the archive member, if any), inode, offset "
                          "in the file, offset in the image, and a command that shows its bytes. In the commands, "
                          "E1, E2, ... stand for the image files named in 'Evidence examined'; -o is the volume's "
                          f"first sector ({SECTOR}-byte sectors), as mmls prints it."))
        starts = self._volume_starts()
        for table in self.case.finding_tables:
            t = self.case.tables.get(table)
            if t is None or t.num_rows == 0:
                continue
            secret_cols = secret_columns(classes[table]) if table in classes else frozenset()
            if table == "credentials":
                secret_cols = secret_cols | {"secret"}
            picked = self._appendix_rows(table, t)
            rows = []
            for row in picked:
                path = (row.get("path") or "(unallocated space)") + (f" ! {row['member']}" if row.get("member") else "")
                rows.append((row["finding_id"], self.case.exhibit(row["evidence_id"]), path,
                             "" if row.get("inode") is None else str(row["inode"]),
                             "" if row.get("offset") is None else str(row["offset"]),
                             "" if row.get("image_offset") is None else str(row["image_offset"]),
                             self._detail(table, row, secret_cols), self._check(row, starts, table)))
            caption = f"{table}: {len(rows)} of {n(t.num_rows)} findings"
            if t.num_rows > len(rows):
                caption += (f"; the other {n(t.num_rows - len(rows))} are the remaining rows of "
                            f"CASE/tables/{table}/part-0.parquet (query: {table} | count)")
            self.add(doc.Heading(3, table))
            self.add(doc.Table(("Finding", "Exhibit", "Path", "Inode", "Offset", "Image offset", "Detail", "Check"),
                               tuple(rows), caption))

    def _appendix_rows(self, table: str, t: pa.Table) -> list[dict]:
        """Cited ids first, then one finding per (evidence, path, member), then the rest; at most 50.

        Worked out in Arrow (index lookups, a group-by for first rows), so a table of
        millions of rows never becomes millions of Python objects.
        """
        limit = APPENDIX_PER_CATEGORY
        cited = list(dict.fromkeys(self.cited.get(table, [])))
        chosen: list[int] = []
        if cited:
            hits = pc.indices_nonzero(pc.is_in(t.column("finding_id"), value_set=pa.array(cited, pa.string())))
            position = dict(zip(t.column("finding_id").take(hits).to_pylist(), hits.to_pylist()))
            chosen = [position[f] for f in cited if f in position][:limit]
        key_cols = ("evidence_id", "path", "member")

        def key_of(i: int) -> tuple:
            return tuple(t.column(c)[i].as_py() for c in key_cols)

        seen_keys = {key_of(i) for i in chosen}
        seen_rows = set(chosen)
        if len(chosen) < limit:
            keyed = t.select(list(key_cols)).append_column("row", pa.array(np.arange(t.num_rows, dtype=np.int64)))
            firsts = keyed.group_by(list(key_cols), use_threads=False).aggregate([("row", "min")]).column("row_min")
            # first row of each key in row order; keys already cited are passed over
            wanted = min(limit + len(seen_keys), len(firsts))
            for i in sorted(firsts.take(pc.bottom_k_unstable(firsts, wanted)).to_pylist()) if wanted else ():
                if len(chosen) >= limit:
                    break
                key = key_of(i)
                if key not in seen_keys:
                    seen_keys.add(key)
                    seen_rows.add(i)
                    chosen.append(i)
        i = 0
        while len(chosen) < limit and i < t.num_rows:
            if i not in seen_rows:
                seen_rows.add(i)
                chosen.append(i)
            i += 1
        chosen.sort()
        return t.take(pa.array(chosen, pa.int64())).to_pylist() if chosen else []


def build_declaration(case: CaseData, summary: dict, redactor: Redactor, charts: list[Chart],
                      correlations: pa.Table) -> list[doc.Block]:
    b = _Builder(case, summary, redactor, charts, correlations)
    b.caption()
    b.evidence()
    b.method()
    b.files()
    b.findings()
    b.correlations()
    b.limitations()
    b.charts_section()
    b.attestation()
    b.appendix()
    if redactor.reveal:
        b.add(doc.Warning(WORKING_COPY))
    return b.blocks
