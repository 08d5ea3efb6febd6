"""Every command has help text that ends with an example, and --help works everywhere."""

from __future__ import annotations

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
