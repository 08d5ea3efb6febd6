"""Every command has help text that ends with an example, --help works everywhere, and
README.md mentions every command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from conftest import run

from crmcli.app import app


def _commands(group, path: tuple[str, ...] = ()):
    yield path, group
    if hasattr(group, "commands"):
        for name, sub in group.commands.items():
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "crm" for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path, command):
    assert command.help, f"crm {' '.join(path)} has no help"
    assert "Example:" in command.help and "crm " in command.help.split("Example:")[-1], (
        f"crm {' '.join(path)} help has no example"
    )
    r = run(*path, "--help")
    assert r.code == 0
    assert "Example" in r.out


def test_the_main_groups_exist():
    names = {p[0] for p, _ in COMMANDS if len(p) == 1}
    assert {"init", "customer", "lead", "deal", "task", "report"} <= names


README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS if p], ids=" ".join)
def test_every_command_is_mentioned_in_the_readme(path):
    words = r"\s+".join(map(re.escape, path))
    assert re.search(rf"\bcrm {words}(?![\w-])", README), (
        f"README.md never says `crm {' '.join(path)}`"
    )
