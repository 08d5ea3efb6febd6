"""What every command group shares: the store of this invocation, option types
defined once, REF completion, parsing helpers, and output by --format."""

import sys
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Annotated, Any

import typer

from crmcli.errors import CrmError


class State:
    """Global options of this invocation (set by the root callback)."""

    dir: str | None = None
    store: Any = None


state = State()


def get_store() -> Any:
    """The Store of the CRM this command works on (found once per invocation)."""
    if state.store is None:
        from crmcli.render import warn
        from crmcli.store import Store, locate

        state.store = Store(locate(state.dir), warn=warn)
    return state.store


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class ShowFormat(str, Enum):
    table = "table"
    json = "json"


def choices(name: str, values: Iterable[str]) -> Any:
    """A str Enum of option choices built from a list in models (not a copy of it)."""
    return Enum(name, {v: v for v in values}, type=str)


def one_of(values: Sequence[str]) -> str:
    """'a, b or c' for help texts."""
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else "".join(values)


def _completer(kind: str) -> Callable[[str], list[tuple[str, str]]]:
    def complete(incomplete: str) -> list[tuple[str, str]]:
        from crmcli import models
        from crmcli.store import fold

        try:
            store = get_store()
            records = store.query(kind, fields=("id", models.NAME_FIELD[kind]))
        except Exception:  # noqa: BLE001 - completion must never fail loudly
            return []
        want = fold(incomplete)
        out = []
        for r in records:
            name = models.display_name(kind, r)
            if fold(name).startswith(want):
                out.append((name, r["id"]))
            elif r["id"].startswith(incomplete):
                out.append((r["id"], name))
        return out[:50]

    return complete


def ref_argument(kind: str, help: str | None = None) -> Any:
    return typer.Argument(
        help=help or f"The {kind}: id, id prefix (4+), name or e-mail.",
        autocompletion=_completer(kind),
        show_default=False,
    )


def ref_option(kind: str, *names: str, help: str | None = None) -> Any:
    return typer.Option(
        *names,
        help=help or f"The {kind}: id, id prefix, name or e-mail.",
        autocompletion=_completer(kind),
        show_default=False,
    )


CustomerRef = Annotated[str, ref_argument("customer")]
LeadRef = Annotated[str, ref_argument("lead")]
DealRef = Annotated[str, ref_argument("deal")]
TaskRef = Annotated[str, ref_argument("task")]

ListFormatOpt = Annotated[
    ListFormat, typer.Option("--format", "-f", help="Output: table, json or csv.")
]
ShowFormatOpt = Annotated[ShowFormat, typer.Option("--format", "-f", help="Output: table or json.")]
EmailOpt = Annotated[
    list[str] | None, typer.Option("--email", "-e", help="E-mail (repeatable).", show_default=False)
]
PhoneOpt = Annotated[
    list[str] | None, typer.Option("--phone", "-p", help="Phone (repeatable).", show_default=False)
]
TagOpt = Annotated[
    list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).", show_default=False)
]
FieldOpt = Annotated[
    list[str] | None,
    typer.Option("--field", help="Custom field KEY=VALUE (repeatable).", show_default=False),
]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owner (salesperson).")]
SourceOpt = Annotated[str | None, typer.Option("--source", "-s", help="Where it came from.")]
SearchOpt = Annotated[
    str | None, typer.Option("--search", "-q", help="Text to find (case/accent-insensitive).")
]
MAX_LIMIT = 10_000_000  # rows: more than any CRM holds, less than makes memory run out
LimitOpt = Annotated[
    int | None,
    typer.Option(
        "--limit",
        "-n",
        min=0,
        max=MAX_LIMIT,
        help="At most N records, in every format (0: all). Without it a table shows 50 "
        "and says how many more; JSON and CSV list all.",
    ),
]


# ----- parsing helpers ------------------------------------------------------------------


def parse_fields(items: Iterable[str] | None) -> dict[str, str]:
    """KEY=VALUE pairs from --field options."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CrmError(f"--field '{item}' must look like KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def read_text_arg(text: str) -> str:
    """TEXT, or standard input when TEXT is '-'."""
    if text == "-":
        text = sys.stdin.read()
    text = text.strip()
    if not text:
        raise CrmError("the text is empty")
    return text


def check_known(store: Any, setting: str, value: str | None, what: str) -> None:
    """Warn when `value` is not among the names in settings `setting` (if any)."""
    known = store.settings.get(setting) or []
    if value and known and value not in known:
        store.warn(f"{what} '{value}' is not in settings {setting} ({', '.join(known)})")


# ----- output by --format -------------------------------------------------------------


TABLE_LIMIT = 50


def default_limit(limit: int | None) -> int:
    """Rows a table shows: --limit N, 0 for all; by default 50 (drawing a table costs
    about 0.3 ms a row)."""
    if limit is None:
        return TABLE_LIMIT
    return max(limit, 0)


def limited(records: Sequence[Any], limit: int | None) -> Sequence[Any]:
    """The records --limit lets through in every format: the first N (None or 0: all)."""
    return records[:limit] if limit else records


def output_list(
    records: Sequence[dict[str, Any]],
    fmt: ListFormat,
    columns: Sequence[Any],
    row: Callable[[dict[str, Any]], Sequence[Any]],
    *,
    csv_columns: Sequence[str],
    limit: int | None = None,
    title: str | None = None,
    empty: str = "no records",
) -> None:
    """Print a list: JSON array of records, CSV of `csv_columns`, or a table; --limit N
    keeps the first N in every format, a table shows 50 by default."""
    from crmcli import render

    if fmt == ListFormat.json:
        shown = limited(records, limit)
        if isinstance(shown, render.JsonRecords):  # already JSON: printed as it is
            render.print_json_lines(shown.lines)
        else:
            render.print_json(list(shown))
    elif fmt == ListFormat.csv:
        render.write_csv(limited(records, limit), csv_columns)
    else:
        n = default_limit(limit)
        shown = records[:n] if n else records
        more = len(records) - len(shown)
        footer = f"{more} more not shown (--limit 0 shows all)" if more > 0 else None
        render.table(columns, [row(r) for r in shown], title=title, footer=footer, empty=empty)


def confirm_added(fmt: ShowFormat | None, kind: str, rec: dict[str, Any], extra: str = "") -> None:
    """`add` prints a one-line confirmation with the id, or the record as JSON."""
    from crmcli import models, render

    if fmt == ShowFormat.json:
        render.print_json(rec)
    else:
        print(f"Added {kind} {rec['id']}: {models.display_name(kind, rec)}{extra}")
