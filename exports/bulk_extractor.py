"""bulk_extractor 2.x feature files, histograms and report.xml, one folder per evidence item.

Why: BEViewer and examiners' scripts read bulk_extractor's output; this writes the case's
findings the way bulk_extractor 2.x writes its own (see docs/formats.md for the mapping):

- `email.txt` (emails), `domain.txt` (indicators of kind domain/onion and the domain of every
  address), `url.txt` (url), `ip.txt` (ipv4/ipv6), each line
  `forensic-path<TAB>feature<TAB>context` under the `# Feature-Recorder:` and
  `# Feature-File-Version: 1.1` headers;
- `email_histogram.txt`, `domain_histogram.txt`: `n=COUNT<TAB>feature`, most frequent first;
- `report.xml`: DFXML naming the source image, its size and the creator.

Forensic paths: the image offset where the bytes map to the image; inside a container,
the container file's image offset, then each container level (`GZIP`, `ZIP`, `TAR`, ...)
and the offset in the innermost member, e.g. `1052672-GZIP-3437` (seized does not record
where a member starts inside its parent archive, so nested levels carry no offset of their
own). A file whose bytes map nowhere (resident NTFS data) is named by its path and the
offset, joined by bulk_extractor's file separator U+10001C.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import re
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from caseformat.atomic import atomic_file, write_text
from exports.batches import sql_batches

FILE_SEPARATOR = "\U0010001C"  # bulk_extractor's separator between a file name and an offset
FEATURE_FILE_VERSION = "1.1"
HISTOGRAM_FILE_VERSION = "1.1"
_KINDS = ((".tar.gz", "GZIP"), (".tgz", "GZIP"), (".gz", "GZIP"), (".bz2", "BZIP2"), (".tbz2", "BZIP2"),
          (".xz", "XZ"), (".txz", "XZ"), (".zip", "ZIP"), (".tar", "TAR"))
_PLAIN = re.compile(r"[^\x00-\x1f\x7f\\\ud800-\udfff]*\Z")

if TYPE_CHECKING:
    from exports.context import ExportContext


def escape(text: str | None) -> str:
    """bulk_extractor 2.x escaping: control bytes, bytes that are not UTF-8 and the backslash
    itself as `\\ooo` (three octal digits); valid UTF-8 text as it is."""
    if text is None:
        return ""
    if _PLAIN.match(text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    out = []
    i = 0
    while i < len(data):
        b = data[i]
        if b < 0x80:
            out.append(f"\\{b:03o}" if b < 0x20 or b in (0x5C, 0x7F) else chr(b))
            i += 1
            continue
        n = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
        chunk = data[i:i + n]
        try:
            if n == 0 or len(chunk) < n:
                raise UnicodeDecodeError("utf-8", chunk, 0, 1, "invalid")
            out.append(chunk.decode("utf-8"))
            i += n
        except UnicodeDecodeError:
            out.append(f"\\{b:03o}")
            i += 1
    return "".join(out)


def container_kind(name: str) -> str:
    lower = name.lower()
    return next((kind for suffix, kind in _KINDS if lower.endswith(suffix)), "ARCHIVE")


def forensic_path(row: dict) -> str:
    """bulk_extractor's forensic path of a finding row (with `file_image_offset` joined in)."""
    offset = row["offset"] if row["offset"] is not None else 0
    if row["member"]:
        levels = [row["path"] or ""] + row["member"].split("!")[:-1]
        kinds = "-".join(container_kind(level) for level in levels)
        base = row["file_image_offset"]
        start = str(base) if base is not None else f"{escape(row['path'])}{FILE_SEPARATOR}0"
        return f"{start}-{kinds}-{offset}"
    if row["image_offset"] is not None:
        return str(row["image_offset"])
    return f"{escape(row['path'])}{FILE_SEPARATOR}{offset}"


# feature file -> SQL (parts joined by UNION ALL, one table each) giving (evidence_id, volume, inode, stream, path, member, offset, image_offset,
# feature, context) rows in table order
_FEATURES = {
    "email": "SELECT {prov}, address AS feature, coalesce(raw, address) AS context FROM emails",
    "domain": "SELECT {prov}, value AS feature, context FROM indicators WHERE kind IN ('domain', 'onion') "
              "UNION ALL SELECT {prov}, domain AS feature, coalesce(raw, address) AS context FROM emails "
              "WHERE domain IS NOT NULL",
    "url": "SELECT {prov}, value AS feature, context FROM indicators WHERE kind = 'url'",
    "ip": "SELECT {prov}, value AS feature, context FROM indicators WHERE kind IN ('ipv4', 'ipv6')",
}
_PROV = "evidence_id, volume, inode, stream, path, member, \"offset\", image_offset"


def write(ctx: "ExportContext") -> list[Path]:
    con, manifest, out, tables = ctx.con, ctx.manifest, ctx.out, ctx.tables
    written: list[Path] = []
    for ev in sorted(manifest.get("evidence", []), key=lambda e: e["evidence_id"]):
        folder = out / ev["evidence_id"]
        folder.mkdir(mode=0o700)
        eid = ev["evidence_id"].replace("'", "''")
        counts = {}
        containers = _container_offsets(con, eid, tables)
        for recorder, sql in _FEATURES.items():
            path = folder / f"{recorder}.txt"
            counts[recorder] = _feature_file(con, path, recorder, ev, eid, _available(sql, tables), containers)
            written.append(path)
        for recorder in ("email", "domain"):
            path = folder / f"{recorder}_histogram.txt"
            _histogram(con, path, recorder, eid, _available(_FEATURES[recorder], tables))
            written.append(path)
        path = folder / "report.xml"
        _report_xml(path, ev, manifest, counts, ctx.version)
        written.append(path)
    return written


def _available(sql: str, tables: frozenset[str]) -> str | None:
    """The recorder's SQL limited to the tables this export reads (None: nothing to read)."""
    parts = [p for p in sql.split(" UNION ALL ") if re.search(r"FROM (\w+)", p).group(1) in tables]
    return " UNION ALL ".join(parts) or None


def _container_offsets(con, eid: str, tables: frozenset[str]) -> dict[tuple, int | None]:
    """Image offset of every file that holds container members with findings (a few per case)."""
    parts = [f"SELECT evidence_id, volume, inode, stream, path FROM {t} WHERE member IS NOT NULL AND evidence_id = '{eid}'"
             for t in ("emails", "indicators") if t in tables]
    if not parts:
        return {}
    sql = ("SELECT f.volume, f.inode, f.stream, f.path, f.image_offset FROM files f JOIN (SELECT DISTINCT * FROM ("
           + " UNION ALL ".join(parts) + ")) c ON f.evidence_id = c.evidence_id AND f.volume = c.volume "
           "AND f.inode = c.inode AND f.path = c.path AND f.stream IS NOT DISTINCT FROM c.stream")
    return {row[:4]: row[4] for row in con.sql(sql).fetchall()}


def _header(recorder: str, ev: dict) -> str:
    return ("# BANNER FILE NOT PROVIDED (-b option)\n"
            "# BE13_API-Version: 2.0.0\n"
            f"# Feature-Recorder: {recorder}\n"
            f"# Filename: {escape(ev.get('path'))}\n"
            f"# Feature-File-Version: {FEATURE_FILE_VERSION}\n")


def _feature_file(con, path: Path, recorder: str, ev: dict, eid: str, sql: str | None,
                  containers: dict[tuple, int | None]) -> int:
    """Rows in each table's stored order (no sort: memory stays flat), table after table."""
    lines = 0
    with atomic_file(path, text=True, errors="surrogateescape") as fh:
        fh.write(_header(recorder, ev))
        for part in (sql.split(" UNION ALL ") if sql else ()):
            query = f"SELECT * FROM ({part.format(prov=_PROV)}) WHERE evidence_id = '{eid}'"
            for batch in sql_batches(con, query):
                rows = batch.to_pylist()
                for r in rows:
                    if r["member"]:
                        r["file_image_offset"] = containers.get((r["volume"], r["inode"], r["stream"], r["path"]))
                fh.writelines(f"{forensic_path(r)}\t{escape(r['feature'])}\t{escape(r['context'])}\n" for r in rows)
                lines += batch.num_rows
    return lines


def _histogram(con, path: Path, recorder: str, eid: str, sql: str | None) -> None:
    with atomic_file(path, text=True, errors="surrogateescape") as fh:
        fh.write(f"# BE13_API-Version: 2.0.0\n# Feature-Recorder: {recorder}\n"
                 f"# Histogram-File-Version: {HISTOGRAM_FILE_VERSION}\n")
        if sql is None:
            return
        # bulk_extractor's histograms count features case-folded for e-mail addresses and domains
        query = (f"SELECT lower(feature) AS feature, count(*) AS n FROM ({sql.format(prov=_PROV)}) "
                 f"WHERE evidence_id = '{eid}' GROUP BY 1 ORDER BY n DESC, feature")
        for batch in sql_batches(con, query):
            fh.writelines(f"n={r['n']}\t{escape(r['feature'])}\n" for r in batch.to_pylist())


def _report_xml(path: Path, ev: dict, manifest: dict, counts: dict[str, int], version: str) -> None:
    deps = manifest.get("dependencies") or {}
    libraries = "".join(f'      <library name="{xml_escape(str(k), {chr(34): "&quot;"})}" '
                        f'version="{xml_escape(str(v), {chr(34): "&quot;"})}"/>\n' for k, v in sorted(deps.items()))
    recorders = "".join(f'    <feature_file name="{name}" count="{n}"/>\n' for name, n in sorted(counts.items()))
    text = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        "<dfxml xmloutputversion='1.0'>\n"
        "  <metadata xmlns='http://afflib.org/bulk_extractor/' xmlns:dc='http://purl.org/dc/elements/1.1/'>\n"
        "    <dc:type>Feature Extraction</dc:type>\n"
        "  </metadata>\n"
        "  <creator version='1.0'>\n"
        "    <program>seized</program>\n"
        f"    <version>{xml_escape(version)}</version>\n"
        "    <build_environment>\n"
        f"{libraries}"
        "    </build_environment>\n"
        "    <execution_environment>\n"
        f"      <command_line>{xml_escape(' '.join(manifest.get('command_line') or []))}</command_line>\n"
        f"      <start_time>{xml_escape(str(manifest.get('started_utc') or ''))}</start_time>\n"
        "    </execution_environment>\n"
        "  </creator>\n"
        "  <source>\n"
        f"    <image_filename>{xml_escape(escape(ev.get('path')))}</image_filename>\n"
        f"    <image_size>{int(ev.get('size') or 0)}</image_size>\n"
        f"    <hashdigest type='MD5'>{ev.get('md5') or ''}</hashdigest>\n"
        f"    <hashdigest type='SHA1'>{ev.get('sha1') or ''}</hashdigest>\n"
        f"    <hashdigest type='SHA256'>{ev.get('sha256') or ''}</hashdigest>\n"
        "  </source>\n"
        "  <feature_files>\n"
        f"{recorders}"
        "  </feature_files>\n"
        "</dfxml>\n"
    )
    write_text(path, text)
