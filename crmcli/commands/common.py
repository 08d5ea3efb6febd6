"""What every command group shares: how a group is made, the store of this
invocation, option types defined once, REF completion, parsing helpers, the change
set, one-record mutations, and output by --format."""

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


def group(summary: str, example: str) -> typer.Typer:
    """A command group (`crm NOUN ...`): its help says what it is for and gives an
    example; without a command it shows that help."""
    return typer.Typer(help=f"{summary}\n\nExample: {example}", no_args_is_help=True)


def get_store() -> Any:
    """The Store of the CRM this command works on (found once per invocation)."""
    if state.store is None:
        from crmcli.render import note, warn
        from crmcli.store import Store, locate

        state.store = Store(locate(state.dir), warn=warn, notice=note)
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
    from crmcli.models import NAME_FIELD

    word = NAME_FIELD[kind]
    return typer.Argument(
        help=help
        or f"The {kind}: id, id prefix (4+), {word} or e-mail, or a unique part of the {word}.",
        autocompletion=_completer(kind),
        show_default=False,
    )


def ref_option(kind: str, *names: str, help: str | None = None) -> Any:
    from crmcli.models import NAME_FIELD

    word = NAME_FIELD[kind]
    return typer.Option(
        *names,
        help=help or f"The {kind}: id, id prefix, {word}, e-mail or a unique part of the {word}.",
        autocompletion=_completer(kind),
        show_default=False,
    )


def output_option(help: str, metavar: str = "FILE") -> Any:
    """--output/-o, the one meaning of -o: where a command writes (FILE or DIR)."""
    return typer.Option("--output", "-o", metavar=metavar, help=help, show_default=False)


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
AddTagOpt = Annotated[list[str] | None, typer.Option("--add-tag", help="Add a tag.")]
RemoveTagOpt = Annotated[list[str] | None, typer.Option(help="Remove a tag.")]
RemoveEmailOpt = Annotated[list[str] | None, typer.Option(help="Remove an e-mail.")]
RemovePhoneOpt = Annotated[list[str] | None, typer.Option(help="Remove a phone.")]
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


def per_section_limit(help: str) -> Any:
    """--limit of a command whose text shows sections (task remind, today): items per
    section, 0 for all."""
    return typer.Option("--limit", "-n", min=0, max=MAX_LIMIT, help=help)


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
    from crmcli.encode import JsonRecords, write_csv

    if fmt == ListFormat.json:
        shown = limited(records, limit)
        if isinstance(shown, JsonRecords):  # already JSON: printed as it is
            render.print_json_lines(shown.lines)
        else:
            render.print_json(list(shown))
    elif fmt == ListFormat.csv:
        write_csv(limited(records, limit), csv_columns, render.raw(sys.stdout))
    else:
        n = default_limit(limit)
        shown = records[:n] if n else records
        more = len(records) - len(shown)
        footer = f"{more} more not shown (--limit 0 shows all)" if more > 0 else None
        render.table(
            columns,
            [row(r) for r in shown],
            title=title,
            footer=footer,
            empty=empty,
            omit_same=True,
        )


def confirm_added(
    fmt: ShowFormat | None,
    kind: str,
    rec: dict[str, Any],
    extra: str = "",
    warnings: list[str] | None = None,
) -> None:
    """`add` prints a one-line confirmation with the id, or the record as JSON with
    its `warnings` (the domain's, and a name or title another record has: also on
    stderr)."""
    from crmcli import models, refs, render

    store = get_store()
    warnings = [*(warnings or []), *refs.name_taken(store, kind, rec)]
    for w in warnings:
        store.warn(w)
    if fmt == ShowFormat.json:
        render.print_json({**rec, "warnings": warnings})
    else:
        print(f"Added {kind} {rec['id']}: {models.display_name(kind, rec)}{extra}")


def confirm_updated(
    fmt: ShowFormat,
    kind: str,
    before: dict[str, Any],
    rec: dict[str, Any],
    warnings: list[str] | None = None,
) -> None:
    """`edit` warns (the domain's warnings; a new name or title another record has),
    then prints the record as JSON with its `warnings`, or says whether it changed."""
    from crmcli import models, refs, render
    from crmcli.store import fold

    store = get_store()
    warnings = list(warnings or [])
    field = models.NAME_FIELD[kind]
    if fold(str(rec.get(field) or "")) != fold(str(before.get(field) or "")):
        warnings += refs.name_taken(store, kind, rec)
    for w in warnings:
        store.warn(w)
    if fmt == ShowFormat.json:
        render.print_json({**rec, "warnings": warnings})
        return
    changed = any(rec.get(k) != before.get(k) for k in {*rec, *before} - {"updated"})
    print(
        f"Updated {record_label(kind, rec)}"
        if changed
        else f"No change to {record_label(kind, rec)}"
    )


# ----- changing one record ----------------------------------------------------------------


def with_options(*groups: Callable[..., None]) -> Callable[[Callable[..., None]], Any]:
    """Give a command (taking **options) the options declared by the parameters of
    `groups` as well as its own: what `add` and `edit` of a noun share is declared once.
    Typer reads the command's signature: its own parameters, the groups', --format."""
    import inspect

    def wrap(command: Callable[..., None]) -> Any:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.default is not p.empty else p
            for p in inspect.signature(command).parameters.values()
            if p.kind is not p.VAR_KEYWORD
        ]
        extra = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for group in groups
            for p in inspect.signature(group).parameters.values()
        ]
        fmt = [p for p in own if p.name == "fmt"]
        rest = [p for p in own if p.name != "fmt"]
        command.__signature__ = inspect.Signature([*rest, *extra, *fmt])  # type: ignore[attr-defined]
        return command

    return wrap


def format_option(fmt: ShowFormatOpt = ShowFormat.table) -> None:
    """--format of `add` and `edit`."""


EditorOpt = Annotated[
    bool,
    typer.Option(
        "--editor",
        help="Edit the record's YAML in $VISUAL or $EDITOR instead; saved only when valid.",
    ),
]


def editor_option(editor: EditorOpt = False) -> None:
    """--editor of `edit` (customers, leads, deals, tasks)."""


def unset_option(kind: str) -> Callable[..., None]:
    """--unset of `KIND edit`, its help naming the fields models.UNSETTABLE lists."""
    from crmcli import models

    shown = {field: name for name, field in UNSET_NAMES.items()}
    names = [shown.get(f, f) for f in models.UNSETTABLE[kind]]
    help = f"Clear a field (repeatable): {', '.join(names)} or fields.KEY."

    def group(
        unset: Annotated[list[str] | None, typer.Option(help=help, show_default=False)] = None,
    ) -> None:
        """--unset."""

    return group


def contact_options(
    email: EmailOpt = None, phone: PhoneOpt = None, source: SourceOpt = None
) -> None:
    """The options `add` and `edit` of customers and leads share."""


def record_options(owner: OwnerOpt = None, tag: TagOpt = None, field: FieldOpt = None) -> None:
    """The options `add` and `edit` of customers, leads and deals share."""


def record_edit_options(add_tag: AddTagOpt = None, remove_tag: RemoveTagOpt = None) -> None:
    """The options `edit` of customers, leads and deals adds."""


def contact_edit_options(
    remove_email: RemoveEmailOpt = None, remove_phone: RemovePhoneOpt = None
) -> None:
    """The options `edit` of customers and leads adds."""


# Options that add to a list field (and, as --remove-NAME, take from it), by the field.
LIST_OPTIONS = {"email": "emails", "phone": "phones", "tag": "tags", "line": "lines"}
# Options (and names `--unset` takes) for a field of another name.
UNSET_NAMES = {"close": "close_date"}
# Parameters of `add` and `edit` that are not changes to the record.
NOT_CHANGES = ("ctx", "ref", "contact", "fmt", "field", "unset", "replace_lines", "editor")


def _option_change(param: str) -> tuple[str, str]:
    """(operation, field) of an `add` or `edit` option."""
    listed = param.removeprefix("remove_").removeprefix("add_")
    if listed in LIST_OPTIONS:
        return ("remove" if param.startswith("remove_") else "add"), LIST_OPTIONS[listed]
    return "set", UNSET_NAMES.get(param, param)


def change_set(ctx: typer.Context, edit: bool = False) -> Any:
    """The change set (crmcli.changes.ChangeSet) of the running `add` or `edit`
    command, from its options: each sets the field of its name (UNSET_NAMES), a list
    option adds to its field and --remove-NAME takes from it (LIST_OPTIONS); --field KEY=VALUE sets fields.KEY; --unset clears; with
    --replace-lines the --line options replace the deal's lines. A contradiction is a
    usage error naming both options; an `edit` with nothing to change is an error."""
    from crmcli.changes import FIELD_PREFIX, ChangeSet, ConflictError

    params = {k: v.value if isinstance(v, Enum) else v for k, v in ctx.params.items()}
    cs: dict[str, Any] = {"set": {}, "unset": [], "add": {}, "remove": {}, "options": {}}
    for param, value in params.items():
        if param in NOT_CHANGES or value is None or value in ([], ()):
            continue
        op, name = _option_change(param)
        if op == "set":
            cs["set"][name] = value
        else:
            cs[op].setdefault(name, []).extend(value)
        cs["options"][f"{op}:{name}"] = "--" + param.replace("_", "-")
    for key, value in parse_fields(params.get("field")).items():
        cs["set"][FIELD_PREFIX + key] = value
        cs["options"][f"set:{FIELD_PREFIX}{key}"] = f"--field {key}={value}"
    for name in params.get("unset") or []:
        cs["unset"].append(UNSET_NAMES.get(name, name))
        cs["options"][f"unset:{UNSET_NAMES.get(name, name)}"] = f"--unset {name}"
    if params.get("replace_lines"):
        cs["set"]["lines"] = cs["add"].pop("lines", [])
    try:
        changes = ChangeSet(**cs)
    except ConflictError as e:
        ctx.fail(e.message)
    store = get_store()
    check_known(store, "owners", changes.set.get("owner"), "owner")
    check_known(store, "sources", changes.set.get("source"), "source")
    if edit and changes.empty:
        raise CrmError(
            f"nothing to change: give an option to change (crm {ctx.command_path.removeprefix('crm ')} --help)"
        )
    return changes


def _resolver(kind: str) -> Callable[[Any, str], dict[str, Any]]:
    """REF resolution of `kind` (crmcli.refs) as mutate and edit_in_editor take it."""
    from crmcli import refs

    return lambda store, ref: refs.resolve(store, kind, ref)


def mutate(
    kind: str,
    ref: str,
    act: Callable[[Any, dict[str, Any]], Any],
    resolve: Callable[[Any, str], dict[str, Any]] | None = None,
) -> Any:
    """Run one change to one record: under the lock, resolve REF (by `resolve`, else
    crmcli.refs), then `act(store, record)`, whose domain function records the commit
    message. Returns what `act` returned, for the command to print."""
    store = get_store()
    with store.lock():
        rec = (resolve or _resolver(kind))(store, ref)
        return act(store, rec)


def add_record(ctx: typer.Context, kind: str, add: Callable[..., Any], fmt: ShowFormat) -> None:
    """The body of `customer add` and `lead add`: the change set, the domain's `add`
    under the lock, the confirmation (with the domain's warnings)."""
    changes = change_set(ctx)
    store = get_store()
    with store.lock():
        rec, warnings = add(store, changes)
    confirm_added(fmt, kind, rec, warnings=warnings)


def edit_in_editor(
    ctx: typer.Context,
    kind: str,
    ref: str,
    resolve: Callable[[Any, str], dict[str, Any]] | None = None,
) -> bool:
    """With --editor, `KIND edit REF` opens the record's YAML in the user's editor
    (crmcli.editor) and says what came of it: True when it ran. Other changes
    beside it are a usage error."""
    if not ctx.params.get("editor"):
        return False
    if not change_set(ctx).empty or ctx.params.get("unset"):
        ctx.fail("--editor edits the whole record: give no other change with it")
    from crmcli import editor

    store = get_store()
    before = (resolve or _resolver(kind))(store, ref)
    rec = editor.edit(store, kind, before["id"])
    confirm_updated(ctx.params.get("fmt") or ShowFormat.table, kind, before, rec or before)
    return True


def edit_record(
    ctx: typer.Context, kind: str, ref: str, edit: Callable[..., Any], fmt: ShowFormat
) -> None:
    """The body of `customer edit` and `lead edit`: the change set, the domain's
    `edit` as a single-record mutation, the confirmation (with its warnings); with
    --editor, the record's YAML in the user's editor (edit_in_editor)."""
    if edit_in_editor(ctx, kind, ref):
        return
    changes = change_set(ctx, edit=True)
    before, rec, warnings = mutate(kind, ref, lambda s, r: (r, *edit(s, r, changes)))
    confirm_updated(fmt, kind, before, rec, warnings)


def record_label(kind: str, rec: dict[str, Any]) -> str:
    from crmcli import models

    return f"{kind} {rec['id']} ({models.display_name(kind, rec)})"


def add_note_command(
    app: typer.Typer,
    kind: str,
    example: str,
    resolve: Callable[[Any, str], dict[str, Any]] | None = None,
) -> None:
    """Register `KIND note REF TEXT` on `app` (REF found by `resolve`, else crmcli.refs)."""

    def note_cmd(
        ref: Annotated[str, ref_argument(kind)],
        text: Annotated[str, typer.Argument(help="The note; '-' reads it from stdin.")],
    ) -> None:
        from crmcli import records

        body = read_text_arg(text)
        rec, entry = mutate(kind, ref, lambda s, r: (r, records.note(s, kind, r, body)), resolve)
        print(f"Noted on {record_label(kind, rec)} as {entry['id']}")

    note_cmd.__doc__ = f"""Add a note to a {kind}'s timeline (with author and time).

    Example: {example}
    """
    app.command("note")(note_cmd)


def add_assign_command(app: typer.Typer, kind: str, moves: str, example: str) -> None:
    """Register `KIND assign REF OWNER [--with-open-work]` on `app`; `moves` names what
    --with-open-work moves along ("deals and tasks")."""

    def assign_cmd(
        ref: Annotated[str, ref_argument(kind)],
        owner: Annotated[str, typer.Argument(help="The new owner.", show_default=False)],
        with_open_work: Annotated[
            bool, typer.Option("--with-open-work", help=f"Move its open {moves} too.")
        ] = False,
    ) -> None:
        from crmcli import records

        check_known(get_store(), "owners", owner, "owner")
        rec, moved = mutate(
            kind, ref, lambda s, r: records.assign(s, kind, r, owner, with_open_work=with_open_work)
        )
        what = "deal(s)/task(s)" if "deals" in moves else "task(s)"
        extra = f", with {len(moved)} open {what}" if moved else ""
        print(f"Assigned {record_label(kind, rec)} to {owner}{extra}")

    assign_cmd.__doc__ = f"""Hand a {kind} over to another owner (recorded on the timeline).

    Example: {example}
    """
    app.command("assign")(assign_cmd)


def add_rm_command(
    app: typer.Typer,
    kind: str,
    doc: str,
    *,
    linked_from: str | None = None,
    resolve: Callable[[Any, str], dict[str, Any]] | None = None,
) -> None:
    """Register `KIND rm REF` on `app`: with `linked_from` ("tasks or leads") it refuses
    while those link to the record, unless --force; without, it always unlinks."""

    def rm(ref: str, force: bool) -> None:
        from crmcli import records

        rec, unlinked = mutate(
            kind, ref, lambda s, r: (r, records.remove(s, kind, r, force=force)), resolve
        )
        extra = f"; unlinked {len(unlinked)} record(s)" if unlinked else ""
        print(f"Removed {record_label(kind, rec)}{extra}")

    if linked_from is None:

        def rm_cmd(ref: Annotated[str, ref_argument(kind)]) -> None:
            rm(ref, True)
    else:

        def rm_cmd(  # type: ignore[misc]
            ref: Annotated[str, ref_argument(kind)],
            force: Annotated[
                bool, typer.Option("--force", help=f"Remove even if {linked_from} link to it.")
            ] = False,
        ) -> None:
            rm(ref, force)

    rm_cmd.__doc__ = doc
    app.command("rm")(rm_cmd)
