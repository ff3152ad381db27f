"""CASE 1.x / UCO JSON-LD: the evidence, its files with hashes, and findings with provenance.

Why: CASE is how labs exchange findings (`case_validate` checks a file against the ontology
and its SHACL shapes). Written as one JSON-LD `@graph`, object by object, from record
batches:
- the tool (seized), one `uco-tool:Tool` per extractor and version, and the source images
  as `uco-observable:File` with their MD5/SHA-1/SHA-256 (ContentDataFacet);
- every `files` row as a `uco-observable:File` (name, path, size, MAC times, hashes),
  `Contained_Within` its image;
- every finding of the chosen tables as an observable (`EmailAddress`, `URL`,
  `DomainName`, `IPv4Address`/`IPv6Address`, or a plain `ObservableObject` whose
  description names the table and finding id; never a secret value), `Contained_Within`
  its file (or the image, for unallocated space) with a DataRangeFacet giving the offset
  in that object, and `Contained_Within` the image at its image offset where mapped;
- one `case-investigation:InvestigativeAction` per evidence item and extractor version,
  whose instrument is the extractor and whose results are its findings.
Identifiers are UUIDv5 of the finding id or file location, so a re-export is identical.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

from caseformat.atomic import atomic_file
from exports.batches import sql_batches, table_batches

if TYPE_CHECKING:
    from exports.context import ExportContext

UCO = "https://ontology.unifiedcyberontology.org/uco/"
CONTEXT = {
    "kb": "urn:seized:kb:",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": UCO + "action/",
    "uco-core": UCO + "core/",
    "uco-observable": UCO + "observable/",
    "uco-tool": UCO + "tool/",
    "uco-types": UCO + "types/",
    "uco-vocabulary": UCO + "vocabulary/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
_NS = uuid.UUID("5f1f3c3e-6a4b-5c1e-9b2d-5e12ed0c0a5e")
_FINDING_KINDS = {  # (table, kind or None) -> (observable class, facet class, facet property)
    ("emails", None): ("EmailAddress", "EmailAddressFacet", "addressValue"),
    ("indicators", "url"): ("URL", "URLFacet", "fullValue"),
    ("indicators", "domain"): ("DomainName", "DomainNameFacet", "value"),
    ("indicators", "onion"): ("DomainName", "DomainNameFacet", "value"),
    ("indicators", "ipv4"): ("IPv4Address", "IPv4AddressFacet", "addressValue"),
    ("indicators", "ipv6"): ("IPv6Address", "IPv6AddressFacet", "addressValue"),
}


def kb(kind: str, *key) -> str:
    return f"kb:{kind}-{uuid.uuid5(_NS, chr(0x1e).join(map(str, key)))}"


def _int(n: int) -> dict:
    return {"@type": "xsd:integer", "@value": str(int(n))}


def _time(t: datetime) -> dict:
    return {"@type": "xsd:dateTime", "@value": t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _hashes(owner: str, row: dict) -> list[dict]:
    out = []
    for algo, col in (("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
        if row.get(col):
            out.append({"@id": kb("Hash", owner, algo), "@type": "uco-types:Hash",
                        "uco-types:hashMethod": algo,  # xsd:string since UCO 1.4
                        "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": row[col].upper()}})
    return out


def _file_object(oid: str, name: str | None, path: str | None, row: dict) -> dict:
    facet: dict = {"@id": kb("FileFacet", oid), "@type": "uco-observable:FileFacet"}
    if name:
        facet["uco-observable:fileName"] = name
    if path:
        facet["uco-observable:filePath"] = path
    if row.get("size") is not None:
        facet["uco-observable:sizeInBytes"] = _int(row["size"])
    if row.get("type") in ("dir", "virtual_dir"):
        facet["uco-observable:isDirectory"] = True
    if row.get("allocated") is not None:
        facet["uco-observable:allocationStatus"] = "allocated" if row["allocated"] else "unallocated"
    for prop, col in (("modifiedTime", "mtime"), ("accessedTime", "atime"), ("metadataChangeTime", "ctime"),
                      ("observableCreatedTime", "crtime")):
        if row.get(col) is not None:
            facet[f"uco-observable:{prop}"] = _time(row[col])
    facets = [facet]
    hashes = _hashes(oid, row)
    if hashes:
        facets.append({"@id": kb("ContentDataFacet", oid), "@type": "uco-observable:ContentDataFacet",
                       "uco-observable:hash": hashes})
    return {"@id": oid, "@type": "uco-observable:File", "uco-core:hasFacet": facets}


def _contained(source: str, target: str, offset: int | None, what: str) -> dict:
    rel = {"@id": kb("ObservableRelationship", source, target, what), "@type": "uco-observable:ObservableRelationship",
           "uco-core:source": {"@id": source}, "uco-core:target": [{"@id": target}],
           "uco-core:kindOfRelationship": "Contained_Within", "uco-core:isDirectional": True}
    if offset is not None:
        rel["uco-core:hasFacet"] = [{"@id": kb("DataRangeFacet", source, target, what),
                                     "@type": "uco-observable:DataRangeFacet",
                                     "uco-observable:rangeOffset": _int(offset)}]
    if what:
        rel["uco-core:description"] = what
    return rel


def _file_id(row: dict) -> str:
    return kb("File", row["evidence_id"], row["volume"], row["inode"], row["stream"], row["path"])


class _Graph:
    def __init__(self, fh: IO[str]) -> None:
        self._fh = fh
        self._first = True

    def add(self, obj: dict) -> None:
        self._fh.write(("\n    " if self._first else ",\n    ") + json.dumps(obj, ensure_ascii=False, sort_keys=True))
        self._first = False


def write(ctx: "ExportContext") -> list[Path]:
    path = ctx.out / "seized-case.jsonld"
    evidence = sorted(ctx.manifest.get("evidence", []), key=lambda e: e["evidence_id"])
    with atomic_file(path, text=True, errors="surrogateescape") as fh:
        fh.write('{\n  "@context": ' + json.dumps(CONTEXT, sort_keys=True) + ',\n  "@graph": [')
        graph = _Graph(fh)
        tool = kb("Tool", "seized", ctx.version)
        graph.add({"@id": tool, "@type": "uco-tool:Tool", "uco-core:name": "seized", "uco-tool:version": ctx.version})
        images = {}
        for ev in evidence:
            oid = kb("File", "image", ev["evidence_id"])
            images[ev["evidence_id"]] = oid
            path_ = ev.get("path") or ""
            graph.add(_file_object(oid, Path(path_).name, path_, dict(ev, type="file", allocated=None)))
        for batch in table_batches(ctx.table_paths["files"]):
            for row in batch.to_pylist():
                if row["name"] in (".", ".."):
                    continue
                oid = _file_id(row)
                graph.add(_file_object(oid, row["name"], row["path"], row))
                graph.add(_contained(oid, images[row["evidence_id"]], row.get("image_offset"),
                                     f"volume {row['volume']}, inode {row['inode']}"))
        finding_tables = sorted(t for t in ctx.tables if _is_finding_table(ctx, t))
        for table in finding_tables:
            _findings(ctx, graph, table, images)
        _actions(ctx, graph, finding_tables, images, tool)
        fh.write("\n  ]\n}\n")
    return [path]


def _is_finding_table(ctx: "ExportContext", table: str) -> bool:
    from exports.sql import PROVENANCE_COLUMNS

    cols = {r[0] for r in ctx.con.sql(f'DESCRIBE "{table}"').fetchall()}
    return set(PROVENANCE_COLUMNS) <= cols


def _findings(ctx: "ExportContext", graph: _Graph, table: str, images: dict[str, str]) -> None:
    kind = "kind" if table == "indicators" else "NULL"
    value = "address" if table == "emails" else "value" if table == "indicators" else "NULL"
    sql = (f'SELECT finding_id, evidence_id, volume, inode, stream, path, member, "offset", image_offset, '
           f'extractor, extractor_version, {kind} AS kind, {value} AS value FROM "{table}"')
    for batch in sql_batches(ctx.con, sql):
        for r in batch.to_pylist():
            oid = kb("Finding", r["finding_id"])
            spec = _FINDING_KINDS.get((table, r["kind"]))
            described = (f"seized finding {r['finding_id']} in table {table}, found by {r['extractor']} "
                         f"{r['extractor_version']}" + (f" in member {r['member']}" if r["member"] else ""))
            if spec and r["value"]:
                cls, facet, prop = spec
                obj = {"@id": oid, "@type": f"uco-observable:{cls}", "uco-core:description": described,
                       "uco-core:hasFacet": [{"@id": kb(facet, r["finding_id"]), "@type": f"uco-observable:{facet}",
                                              f"uco-observable:{prop}": r["value"]}]}
            else:
                obj = {"@id": oid, "@type": "uco-observable:ObservableObject", "uco-core:description": described}
            graph.add(obj)
            image = images[r["evidence_id"]]
            if r["path"] is not None and r["inode"] is not None:
                where = f"member {r['member']}" if r["member"] else "file content"
                graph.add(_contained(oid, _file_id(r), r["offset"], where))
            if r["image_offset"] is not None:
                graph.add(_contained(oid, image, r["image_offset"], "image offset"))
            elif r["path"] is None:
                graph.add(_contained(oid, image, r["offset"], "image offset"))


def _actions(ctx: "ExportContext", graph: _Graph, tables: list[str], images: dict[str, str], tool: str) -> None:
    """One InvestigativeAction per (evidence, extractor, version); its results listed as they stream."""
    if not tables:
        return
    union = " UNION ALL ".join(f'SELECT evidence_id, extractor, extractor_version, finding_id FROM "{t}"' for t in tables)
    sql = f"SELECT * FROM ({union}) ORDER BY evidence_id, extractor, extractor_version, finding_id"
    current = None
    fh = graph._fh
    for batch in sql_batches(ctx.con, sql):
        for r in batch.to_pylist():
            key = (r["evidence_id"], r["extractor"], r["extractor_version"])
            if key != current:
                if current is not None:
                    fh.write("]}")
                current = key
                instrument = kb("Tool", *key[1:])
                graph.add({"@id": instrument, "@type": "uco-tool:Tool", "uco-core:name": key[1],
                           "uco-tool:version": key[2]})
                head = {"@id": kb("InvestigativeAction", *key), "@type": "case-investigation:InvestigativeAction",
                        "uco-core:name": f"{key[1]} {key[2]} over evidence {key[0]}",
                        "uco-action:instrument": {"@id": instrument}, "uco-action:performer": {"@id": tool},
                        "uco-action:object": [{"@id": images[key[0]]}]}
                text = json.dumps(head, ensure_ascii=False, sort_keys=True)
                fh.write(",\n    " + text[:-1] + ', "uco-action:result": [')
                first = True
            fh.write(("" if first else ", ") + json.dumps({"@id": kb("Finding", r["finding_id"])}))
            first = False
    if current is not None:
        fh.write("]}")
