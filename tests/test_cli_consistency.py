"""One meaning per option across the CLI (issue 12): --limit cuts every format of every
list alike, and each short flag stands for one long option everywhere."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import pytest
import typer.main
from conftest import run

from crmcli.app import app

NAMES = ["Item Zero", "Item One", "Item Two"]
LISTS = {
    "customer": ("customer", "list"),
    "lead": ("lead", "list"),
    "deal": ("deal", "list"),
    "task": ("task", "list"),
    "task-by-kind": ("task", "list", "--kind", "todo"),  # the path without the index lines
}


def _add(noun: str, name: str) -> None:
    extra = {"deal": ("--customer", "Zeta Corp", "--amount", "10")}.get(noun, ())
    r = run(noun, "add", name, *extra)
    assert r.code == 0, r.err


@pytest.fixture
def three(crm):
    assert run("customer", "add", "Zeta Corp").code == 0
    for noun in ("customer", "lead", "deal", "task"):
        for name in NAMES:
            _add(noun, name)


def _items(text: str) -> int:
    return sum(text.count(name) for name in NAMES)


@pytest.mark.parametrize("args", LISTS.values(), ids=LISTS.keys())
def test_limit_cuts_every_format_alike(three, args):
    r = run(*args, "--limit", "1", "--format", "json")
    assert r.code == 0, r.err
    assert len(r.json()) == 1
    r = run(*args, "--limit", "1", "--format", "csv")
    assert r.code == 0, r.err
    assert len(list(csv.DictReader(io.StringIO(r.out)))) == 1
    r = run(*args, "--limit", "1")
    assert r.code == 0, r.err
    assert _items(r.out) == 1
    assert "more not shown" in r.err
    r = run(*args, "--format", "json")  # no --limit: JSON lists all
    assert _items(" ".join(str(x) for x in r.json())) == 3
    r = run(*args, "--limit", "0", "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(r.out)))) >= 3


def test_limit_help_says_what_it_does():
    r = run("customer", "list", "--help")
    assert "in every format" in " ".join(r.out.split())


def _commands(group, path: tuple[str, ...] = ()):
    yield path, group
    for name, sub in getattr(group, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_each_short_flag_means_one_long_option_everywhere():
    meanings: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            names = [*param.opts, *param.secondary_opts]
            long = next((n for n in names if n.startswith("--")), param.name)
            for short in (n for n in names if n.startswith("-") and not n.startswith("--")):
                meanings[short][long].append(" ".join(path) or "crm")
    clashes = {s: dict(m) for s, m in meanings.items() if len(m) > 1}
    assert not clashes, f"short flags with more than one meaning: {clashes}"
    assert set(meanings["-o"]) == {"--output"} and set(meanings["-f"]) == {"--format"}
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    for short, longs in meanings.items():
        assert f"`{short}` `{next(iter(longs))}`" in readme, f"README does not list {short}"


def test_choices_are_built_from_the_lists_in_models(monkeypatch):
    import importlib

    from crmcli import models
    from crmcli.commands import deal, task

    monkeypatch.setattr(models, "PRIORITIES", [*models.PRIORITIES, "someday"])
    monkeypatch.setattr(models, "DEAL_STATUSES", [*models.DEAL_STATUSES, "parked"])
    try:
        assert "someday" in [p.value for p in importlib.reload(task).Priority]
        assert "parked" in [s.value for s in importlib.reload(deal).StatusFilter]
    finally:
        monkeypatch.undo()
        importlib.reload(task)
        importlib.reload(deal)
    assert [p.value for p in task.Priority] == models.PRIORITIES


def test_format_and_language_choices_are_the_lists_in_models():
    from crmcli import exporters, importers, models, orders, quotes
    from crmcli.commands import deal, export, lead_import, order

    assert [f.value for f in export.ExportFormat] == list(models.EXPORT_FORMATS)
    assert exporters.FORMATS == models.EXPORT_FORMATS
    assert [f.value for f in lead_import.InputFormat] == list(models.IMPORT_FORMATS)
    assert importers.FORMATS == models.IMPORT_FORMATS
    assert deal.OrderFormat is order.OrderFormat  # one enum for `deal order` and `order export`
    assert [f.value for f in order.OrderFormat] == list(orders.FORMATS)
    assert orders.FORMATS == models.ORDER_FORMATS
    assert [lang.value for lang in deal.QuoteLang] == list(models.QUOTE_LANGS)
    assert set(quotes.LABELS) == set(models.QUOTE_LANGS)  # a language the quote can be in
