"""The project's own modules import each other without a cycle, and lower layers never
import upper ones: extractors and rules import nothing of the project; the case format
(caseformat/) nothing but the finding classes; ingest nothing but those two; the readers of a
case (reports/, exports/, known/) nothing of the scan (seized/)."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("seized", "caseformat", "ingest", "extractors", "reports", "exports", "known", "rules")
# what each package may import of the others (itself always); seized/ may import anything
READERS = {"caseformat", "extractors", "ingest", "reports", "exports", "known"}
ALLOWED = {
    "extractors": set(),
    "rules": set(),
    "caseformat": {"extractors"},
    "ingest": {"extractors", "caseformat"},
    # `seized show` reads evidence through ingest; the readers use each other's helpers
    "reports": READERS,
    "exports": READERS,
    "known": READERS,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every project module this file imports, at top level or inside functions."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] in PACKAGES)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        # `from pkg import mod` names a module; `from pkg.mod import func` names its module
        graph[name] = {m if m in modules else m.rsplit(".", 1)[0] for m in _imports(path)} & modules.keys()
        graph[name].discard(name)
    return graph


def test_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_lower_layers_do_not_import_upper_ones() -> None:
    for module, deps in _graph().items():
        package = module.split(".")[0]
        if package not in ALLOWED:
            continue
        foreign = {d for d in deps if d.split(".")[0] not in ALLOWED[package] | {package}}
        assert not foreign, f"{module} imports {sorted(foreign)}"
