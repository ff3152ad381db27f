"""Load, compile and fingerprint the YARA rule set for a run (the I/O edge of YARA scanning).

The conductor compiles once with `load_rule_set`, ships `RuleSet.compiled_bytes` to the
workers, and each worker process turns them back into `yara.Rules` with `load_compiled`,
which caches by content hash so a process loads a given rule set only once.

Every source file gets its own namespace, so two files may reuse a rule name and a finding
still says exactly which file it came from. `RuleSet.sha256` fingerprints what was compiled
(namespaces, each file's bytes, the external variables) so a report can name the rule set
that produced it, and a rerun can show it used the same one.
"""
from __future__ import annotations

import hashlib
import io
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import yara

from rules import RULES_DIR, shipped_rule_files

# External variables every rule may use; the scanner fills them per object
# (see extractors.yara_scan.yara_externals). Defaults are empty strings.
EXTERNAL_DEFAULTS: dict[str, str] = {"filename": "", "filepath": "", "extension": "", "filetype": ""}

USER_RULE_SUFFIXES = (".yar", ".yara")

_YARA_FILE_LINE = re.compile(r"^(?P<file>.*)\((?P<line>\d+)\): (?P<msg>.*)$", re.S)
_YARA_LINE = re.compile(r"^line (?P<line>\d+): (?P<msg>.*)$", re.S)


class RuleCompileError(ValueError):
    """The rule set cannot be built; `str()` is one line, `file:line: message` for a syntax error."""


class RuleSetError(RuleCompileError):
    """A rule path that cannot be used (missing, unreadable, a folder without rule files).

    A subclass of RuleCompileError so that a caller catching that one catches every rule-set problem.
    """


@dataclass(frozen=True)
class RuleSource:
    """One compiled source file."""

    namespace: str  # e.g. "seized/tor/seized_tor" or "user/myrules/x"
    path: Path
    sha256: str  # of the file's bytes
    rule_count: int
    display: str  # how messages name the file, e.g. "rules/tor/seized_tor.yar"
    warnings: tuple[str, ...] = ()  # compiler warnings (e.g. slow strings) for user rules


@dataclass(frozen=True)
class RuleSet:
    """A compiled rule set, ready to ship to workers."""

    compiled_bytes: bytes
    sha256: str
    sources: list[RuleSource] = field(default_factory=list)
    externals: dict[str, str] = field(default_factory=lambda: dict(EXTERNAL_DEFAULTS))

    @property
    def rule_count(self) -> int:
        return sum(s.rule_count for s in self.sources)

    def rules(self) -> yara.Rules:
        """The compiled rules in this process (cached, see `load_compiled`)."""
        return load_compiled(self.compiled_bytes)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _compile_error(exc: Exception, path: Path, display: str) -> RuleCompileError:
    """Turn a yara error into `display:line: message`, naming the file as the user knows it."""
    text = str(exc).strip()
    m = _YARA_FILE_LINE.match(text)
    if m:
        where = m.group("file")
        # an error inside an included file keeps that file's own name
        name = display if where == str(path) else where
        return RuleCompileError(f"{name}:{m.group('line')}: {_one_line(m.group('msg'))}")
    m = _YARA_LINE.match(text)
    if m:
        return RuleCompileError(f"{display}:{m.group('line')}: {_one_line(m.group('msg'))}")
    return RuleCompileError(f"{display}: {_one_line(text)}")


def _user_files(user_path: Path) -> list[tuple[Path, str]]:
    """(file, namespace tail) pairs for one user path: a file, or a folder searched recursively."""
    if user_path.is_file():
        return [(user_path, user_path.stem)]
    if user_path.is_dir():
        found = sorted(
            (p for p in user_path.rglob("*") if p.is_file() and p.suffix.lower() in USER_RULE_SUFFIXES),
            key=lambda p: p.relative_to(user_path).as_posix(),
        )
        if not found:
            raise RuleSetError(f"{user_path}: no .yar or .yara rule files in this folder")
        base = user_path.resolve().name or "rules"
        return [(p, f"{base}/{p.relative_to(user_path).with_suffix('').as_posix()}") for p in found]
    raise RuleSetError(f"{user_path}: no such rule file or folder")


def _collect(user_paths: Sequence[Path], include_default: bool) -> list[tuple[str, Path, str]]:
    """(namespace, path, display name) for every source file, in a deterministic order."""
    out: list[tuple[str, Path, str]] = []
    seen_files: set[Path] = set()
    seen_ns: set[str] = set()

    def add(namespace: str, path: Path, display: str) -> None:
        resolved = path.resolve()
        if resolved in seen_files:
            return  # the same file given twice (e.g. a file and its folder) compiles once
        seen_files.add(resolved)
        unique, n = namespace, 2
        while unique in seen_ns:
            unique, n = f"{namespace}~{n}", n + 1
        seen_ns.add(unique)
        out.append((unique, path, display))

    if include_default:
        for p in shipped_rule_files():
            rel = p.relative_to(RULES_DIR).with_suffix("").as_posix()
            add(f"seized/{rel}", p, f"rules/{p.relative_to(RULES_DIR).as_posix()}")
    for up in user_paths:
        up = Path(up)
        for p, tail in _user_files(up):
            add(f"user/{tail}", p, str(p))
    return out


def load_rule_set(user_paths: Sequence[Path], include_default: bool) -> RuleSet:
    """Compile the shipped rules (unless `include_default` is False) plus user rule files/folders.

    Each file is compiled alone first so a syntax error names the file and line that caused it,
    then all files are compiled together, one namespace per file.
    """
    entries = _collect(user_paths, include_default)
    if not entries:
        raise RuleSetError("no YARA rules: default rules are off and no rule paths were given")
    sources: list[RuleSource] = []
    for namespace, path, display in entries:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise RuleSetError(f"{display}: cannot read rule file: {_one_line(exc.strerror or exc)}") from None
        try:
            alone = yara.compile(filepath=str(path), externals=EXTERNAL_DEFAULTS)
        except yara.Error as exc:
            raise _compile_error(exc, path, display) from None
        sources.append(
            RuleSource(
                namespace=namespace,
                path=path,
                sha256=hashlib.sha256(content).hexdigest(),
                rule_count=sum(1 for _ in alone),
                display=display,
                warnings=tuple(_one_line(w) for w in getattr(alone, "warnings", []) or []),
            )
        )
    try:
        compiled = yara.compile(
            filepaths={s.namespace: str(s.path) for s in sources}, externals=EXTERNAL_DEFAULTS
        )
    except yara.Error as exc:  # e.g. a file changed between the two compiles
        raise RuleCompileError(f"rule set: {_one_line(exc)}") from None
    buf = io.BytesIO()
    compiled.save(file=buf)
    return RuleSet(
        compiled_bytes=buf.getvalue(),
        sha256=rule_set_hash(sources, EXTERNAL_DEFAULTS),
        sources=sources,
        externals=dict(EXTERNAL_DEFAULTS),
    )


def rule_set_hash(sources: Sequence[RuleSource], externals: dict[str, str]) -> str:
    """sha256 over the sorted (namespace, file sha256) pairs and the external defaults."""
    h = hashlib.sha256()
    for namespace, digest in sorted((s.namespace, s.sha256) for s in sources):
        h.update(f"source\0{namespace}\0{digest}\n".encode())
    for key in sorted(externals):
        h.update(f"external\0{key}\0{externals[key]}\n".encode())
    return h.hexdigest()


_LOADED: dict[str, yara.Rules] = {}
_LOADED_LOCK = threading.Lock()
_LOADED_MAX = 4  # a worker normally sees one rule set; keep a few, never grow without bound


def load_compiled(compiled_bytes: bytes) -> yara.Rules:
    """`yara.load` the bytes from `RuleSet.compiled_bytes`, once per process per content."""
    key = hashlib.sha256(compiled_bytes).hexdigest()
    with _LOADED_LOCK:
        rules = _LOADED.get(key)
        if rules is None:
            rules = yara.load(file=io.BytesIO(compiled_bytes))
            if len(_LOADED) >= _LOADED_MAX:
                _LOADED.pop(next(iter(_LOADED)))
            _LOADED[key] = rules
        return rules
