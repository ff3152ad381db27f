"""YARA matches as findings: one row per string instance, bounded and in a stable order.

Pure: takes already compiled `yara.Rules` (see `seized.ruleset`) and bytes; opens nothing.
The matched bytes themselves are never put in a finding (a rule may match a password or a
private key); a finding says which rule and string matched, where, and how long the match is.

Why a cap per rule: a rule on a common string can match millions of times in one object
(a combo list, a log). Rows past `cap_per_rule` are dropped for that rule and object, and a
`LimitReached` says so. The engine itself stops recording a string after 1,000,000 matches;
that is reported as a `LimitReached` too. `max_match_data` is lowered because we never read
the matched bytes, which keeps memory small when matches are many.
"""
from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Iterator

import yara

from extractors.base import Finding, LimitReached, RuleScanner, Source

TIMEOUT_S = 120  # per window
CAP_PER_RULE = 1000  # rows per rule and window

LIMIT_PER_RULE = "yara matches per rule"
LIMIT_ENGINE = "yara engine matches per string"
ENGINE_MAX_STRING_MATCHES = 1_000_000  # YR_MAX_STRING_MATCHES in libyara
# Bytes of each match libyara keeps; we only need the length, which libyara tracks separately.
MAX_MATCH_DATA = 1


class YaraScanError(Exception):
    """A scan that could not complete (timeout, engine error); `str()` is one line."""


@dataclass(frozen=True, slots=True)
class YaraFinding(Finding):
    """One YARA string instance, or one row for a rule that matched without string instances."""

    offset: int | None  # None for a rule that matched on its condition alone
    rule: str
    namespace: str
    tags: list[str]
    meta: str  # the rule's meta as JSON text, keys sorted
    string_id: str | None  # e.g. "$hdr"; None with offset None
    matched_length: int | None


def yara_externals(path: str | None, name: str | None, filetype: str) -> dict[str, str]:
    """External variable values for one object: filename, filepath, extension, filetype.

    `extension` is the last suffix of the name, lower-case, without the dot ("" if none).
    """
    filepath = path or ""
    filename = name or (posixpath.basename(filepath) if filepath else "")
    stem, dot, ext = filename.rpartition(".")
    extension = ext.lower() if dot and stem else ""
    return {"filename": filename, "filepath": filepath, "extension": extension, "filetype": filetype or ""}


_configured = False


def _configure() -> None:
    global _configured
    if not _configured:
        yara.set_config(max_match_data=MAX_MATCH_DATA)
        _configured = True


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def scan_yara(
    rules: yara.Rules,
    data: bytes,
    externals: dict[str, str],
    timeout_s: int,
    cap_per_rule: int,
) -> Iterator[YaraFinding | LimitReached]:
    """Scan `data`; yield findings sorted by (offset, namespace, rule, string id), then limits.

    Raises YaraScanError on a timeout or an engine error, before anything is yielded.
    """
    _configure()
    engine_capped: list[tuple[str, str, str]] = []

    def on_warning(kind: int, info: object) -> int:
        if kind == yara.CALLBACK_TOO_MANY_MATCHES:
            engine_capped.append(
                (getattr(info, "namespace", ""), getattr(info, "rule", ""), getattr(info, "string", ""))
            )
        return yara.CALLBACK_CONTINUE

    try:
        matches = rules.match(
            data=data, externals=externals, timeout=max(1, int(timeout_s)), warnings_callback=on_warning
        )
    except yara.TimeoutError:
        raise YaraScanError(f"yara scan timed out after {int(timeout_s)} s") from None
    except yara.Error as exc:
        raise YaraScanError(f"yara scan failed: {_one_line(exc)}") from None

    findings: list[YaraFinding] = []
    limits: list[tuple[str, str, LimitReached]] = []
    for match in matches:
        meta = json.dumps(match.meta, sort_keys=True, ensure_ascii=False)
        tags = list(match.tags)
        hits = sorted(
            (inst.offset, s.identifier, inst.matched_length)
            for s in match.strings
            for inst in s.instances
        )
        if not hits:
            findings.append(YaraFinding(None, match.rule, match.namespace, tags, meta, None, None))
            continue
        for offset, sid, length in hits[:cap_per_rule]:
            findings.append(YaraFinding(offset, match.rule, match.namespace, tags, meta, sid, length))
        if len(hits) > cap_per_rule:
            first_dropped = hits[cap_per_rule][0]
            limits.append(
                (match.namespace, match.rule, LimitReached(offset=first_dropped, limit=LIMIT_PER_RULE, value=cap_per_rule))
            )
    for namespace, rule, _string in sorted(set(engine_capped)):
        limits.append(
            (namespace, rule, LimitReached(offset=0, limit=LIMIT_ENGINE, value=ENGINE_MAX_STRING_MATCHES))
        )

    findings.sort(key=lambda f: (-1 if f.offset is None else f.offset, f.namespace, f.rule, f.string_id or ""))
    yield from findings
    for _ns, _rule, limit in sorted(limits, key=lambda t: (t[0], t[1], t[2].limit, t[2].offset)):
        yield limit


def scan(data: bytes, source: Source, rules: yara.Rules) -> Iterator[YaraFinding | LimitReached]:
    """One window of an object with the scan's compiled rules (the registry's entry point)."""
    externals = yara_externals(source.path, source.member or source.name, source.filetype)
    return scan_yara(rules, data, externals, TIMEOUT_S, CAP_PER_RULE)


SCANNER = RuleScanner(
    name="yara",
    version=yara.__version__,  # the engine's: the rules' own identity is the manifest's rules_sha256
    table="yara",
    finding=YaraFinding,
    scan=scan,
    failure=YaraScanError,
    description="the scan's YARA rules (rules/ or --rules), one row per matched string instance",
)
