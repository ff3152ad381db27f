"""The front door: every CLI command and option is documented in README.md or docs/."""
from __future__ import annotations

import re

import click

from seized.cli import cli
from tests.conftest import REPO


def _documentation() -> str:
    texts = [(REPO / "README.md").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md"))]
    return "\n".join(texts)


def test_every_command_and_option_is_documented():
    text = _documentation()
    missing = []
    for name, command in sorted(cli.commands.items()):
        if not re.search(rf"seized {re.escape(name)}\b", text):
            missing.append(f"command {name}")
        for param in command.params:
            if not isinstance(param, click.Option) or param.hidden:
                continue
            flags = [f for f in param.opts + param.secondary_opts if f.startswith("--")]
            if flags and not any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text) for f in flags):
                missing.append(f"{name} {flags[0]}")
    assert not missing, f"not in README.md or docs/*.md: {missing}"


def test_readme_links_resolve():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)\)", readme):
        assert (REPO / target).exists(), target
