"""crm search TEXT: find customers (and contacts), leads, deals, tasks and timeline
entries by their words (crmcli.search)."""

from typing import Annotated, Any

import typer

from crmcli.commands import common
from crmcli.commands.common import LimitOpt, ShowFormat, ShowFormatOpt, choices, one_of
from crmcli.search import KINDS

SearchKind = choices("SearchKind", KINDS)


def search_command(
    text: Annotated[
        list[str],
        typer.Argument(
            help="The words to find, all of them, in any order (case and accents aside).",
            metavar="TEXT...",
            show_default=False,
        ),
    ],
    kind: Annotated[
        list[SearchKind] | None,  # type: ignore[valid-type]
        typer.Option(
            "--kind",
            "-k",
            help=f"Only records of this kind (repeatable): {one_of(KINDS)}.",
            show_default=False,
        ),
    ] = None,
    limit: LimitOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Find records of every kind by their words: customers (and their contacts' names,
    titles, e-mails, phones), leads, deals, tasks and timeline entries' text.

    Every word must be found, anywhere in the text (inside longer words too, so
    Chinese needs no spaces); best matches first: a name that is the query, then
    names holding every word, then other text. Each hit shows the record it belongs
    to (a note's customer or deal) and the text that matched.

    Example: crm search "quote friday" --kind activity
    """
    from crmcli import render
    from crmcli import search as domain

    query = " ".join(text)
    shown_max = common.default_limit(limit) if fmt == ShowFormat.table else (limit or None)
    kinds = [k.value for k in kind] if kind else None
    hits, total = domain.search(common.get_store(), query, kinds, shown_max)
    if not hits:
        render.message(f"no matches for '{query}'")
    if fmt == ShowFormat.json:
        render.print_json([h.json() for h in hits])
        return
    if not hits:
        return
    more = total - len(hits)
    render.table(
        [
            ("kind", {"priority": 4}),
            "id",
            "name",
            ("of", {"priority": 3, "min": 12}),
            ("match", {"priority": 2, "min": 16}),
        ],
        [[h.kind, h.id, h.name, _of(h.of), _snippet(h)] for h in hits],
        footer=f"{more} more not shown (--limit 0 shows all)" if more > 0 else None,
        omit_same=True,
    )


def _of(of: dict[str, str] | None) -> str:
    return f"{of['kind']} {of['name']}" if of else ""


def _snippet(hit: Any) -> Any:
    """The snippet with the words found in it highlighted (on a terminal); empty when
    the match is the name or title, which its own column shows."""
    from rich.text import Text

    from crmcli.models import NAME_FIELD
    from crmcli.render import safe, use_colour

    style = "bold reverse" if use_colour() else ""
    out, at = Text(), 0
    if hit.field == NAME_FIELD.get(hit.kind):
        return out
    for start, end in hit.spans:
        out.append(safe(hit.snippet[at:start], lines=False))
        out.append(safe(hit.snippet[start:end], lines=False), style=style)
        at = end
    out.append(safe(hit.snippet[at:], lines=False))
    return out
