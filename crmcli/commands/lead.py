"""crm lead ...: add, list, show, edit, note, assign, status, convert, rm (+ import)."""

from typing import Annotated

import typer

from crmcli import models
from crmcli.commands.common import (
    EmailOpt,
    FieldOpt,
    LeadRef,
    LimitOpt,
    ListFormat,
    ListFormatOpt,
    OwnerOpt,
    PhoneOpt,
    SearchOpt,
    ShowFormat,
    ShowFormatOpt,
    SourceOpt,
    TagOpt,
    check_known,
    confirm_added,
    get_store,
    one_of,
    output_list,
    parse_fields,
    read_text_arg,
    ref_option,
)

app = typer.Typer(
    help=(
        "Leads: people you might sell to, until they become customers.\n\n"
        "Example: crm lead add 'Li Wei' --company 'Acme Trading' --source trade-show"
    ),
    no_args_is_help=True,
)

STATUSES = one_of([s for s in models.LEAD_STATUSES if s != "converted"])  # convert sets that
CompanyOpt = Annotated[str | None, typer.Option("--company", help="The company.")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Job title.")]
CSV_COLUMNS = [
    "id", "name", "company", "title", "emails", "phones", "source", "status", "owner",
    "tags", "customer", "deal", "batches", "created", "updated",
]  # fmt: skip


def _complete_status(incomplete: str) -> list[str]:
    from crmcli.models import LEAD_STATUSES

    return [s for s in LEAD_STATUSES if s.startswith(incomplete)]


def _label(rec: dict) -> str:
    return f"lead {rec['id']} ({rec['name']})"


@app.command("add")
def add_cmd(
    name: Annotated[str, typer.Argument(help="The person's name.", show_default=False)],
    company: CompanyOpt = None,
    title: TitleOpt = None,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    tag: TagOpt = None,
    field: FieldOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Add a lead (status new; owner: you unless --owner).

    Example: crm lead add "Li Wei" --company "Acme Trading" --email li@acme.cn --source trade-show
    """
    from crmcli import leads

    store = get_store()
    check_known(store, "owners", owner, "owner")
    check_known(store, "sources", source, "source")
    with store.lock():
        rec, warnings = leads.add(
            store,
            name,
            company=company,
            title=title,
            emails=email,
            phones=phone,
            source=source,
            owner=owner,
            tags=tag,
            fields=parse_fields(field),
        )
        store.note_change(f'lead: add "{rec["name"]}"')
    for w in warnings:
        store.warn(w)
    confirm_added(fmt, "lead", {**rec, "warnings": warnings} if fmt == ShowFormat.json else rec)


@app.command("list")
def list_cmd(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help=f"Only this status (repeatable): {', '.join(models.LEAD_STATUSES)}.",
            autocompletion=_complete_status,
            show_default=False,
        ),
    ] = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    search: SearchOpt = None,
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only with this tag.")] = None,
    batch: Annotated[
        str | None, typer.Option("--batch", help="Only leads of this import batch.")
    ] = None,
    sort: Annotated[
        str, typer.Option(help="created or updated (newest first), or name.")
    ] = "created",
    limit: LimitOpt = None,
    fmt: ListFormatOpt = ListFormat.table,
) -> None:
    """List leads of every status, newest first (filters narrow it down).

    Example: crm lead list --status new --status contacted --search acme --format json
    """
    from crmcli import leads

    store = get_store()
    f = leads.LeadFilter(tuple(status or ()), source, owner, search, tag, batch, sort)
    records = leads.list_leads(store, f)
    output_list(
        records,
        fmt,
        ["id", ("name", {"overflow": "fold", "ratio": 3}),
         ("company", {"overflow": "fold", "ratio": 3}), ("status", {"no_wrap": True}),
         ("source", {"overflow": "fold", "ratio": 1}), ("owner", {"overflow": "fold", "ratio": 1}),
         ("added", {"no_wrap": True})],
        lambda r: [r["id"], r["name"], r["company"], r["status"], r["source"], r["owner"],
                   r["created"][:10]],
        csv_columns=CSV_COLUMNS,
        limit=limit,
        empty="no leads",
    )  # fmt: skip


@app.command("show")
def show_cmd(ref: LeadRef, fmt: ShowFormatOpt = ShowFormat.table) -> None:
    """Show a lead: every field, the customer and deal it became, tasks and timeline.

    Example: crm lead show "Li Wei"
    """
    from crmcli import leads, records, render
    from crmcli.commands.customer import phones_shown, show_related

    store = get_store()
    rec = store.resolve("lead", ref)
    timeline = store.timeline(rec["id"])
    tasks = records.linked(store, "lead", rec["id"]).get("tasks", [])
    if fmt == ShowFormat.json:
        render.print_json({**rec, "timeline": timeline, "tasks": tasks})
        return
    targets = leads.linked(store, rec)

    def value(key: str, v: object) -> object:
        if key in targets and v:
            target = targets[key]
            name = (target.get("name") or target.get("title")) if target else "(not found)"
            return f"{v} ({name})"
        if key == "phones":
            return phones_shown(v, store.settings.get("default_region"))  # type: ignore[arg-type]
        return v

    render.record_view(
        [(k, value(k, v)) for k, v in rec.items() if k != "fields"]
        + [(f"fields.{k}", v) for k, v in rec["fields"].items()],
        title=f"{rec['name']} ({rec['id']})",
    )
    show_related([], {"tasks": tasks}, timeline)


@app.command("edit")
def edit_cmd(
    ref: LeadRef,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    company: CompanyOpt = None,
    title: TitleOpt = None,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    source: SourceOpt = None,
    owner: OwnerOpt = None,
    tag: TagOpt = None,
    field: FieldOpt = None,
    add_tag: Annotated[list[str] | None, typer.Option("--add-tag", help="Add a tag.")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option(help="Remove a tag.")] = None,
    remove_email: Annotated[list[str] | None, typer.Option(help="Remove an e-mail.")] = None,
    remove_phone: Annotated[list[str] | None, typer.Option(help="Remove a phone.")] = None,
    unset: Annotated[
        list[str] | None,
        typer.Option(help="Clear a field (company, title, source, owner, fields.KEY, ...)."),
    ] = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Change a lead. --email, --phone, --tag and --field add to what is there.

    Example: crm lead edit "Li Wei" --title "Head of Purchasing" --remove-email old@acme.cn
    """
    from crmcli import leads, render

    store = get_store()
    check_known(store, "owners", owner, "owner")
    check_known(store, "sources", source, "source")
    with store.lock():
        rec = store.resolve("lead", ref)
        before = rec
        rec, warnings = leads.edit(
            store,
            rec,
            name=name,
            company=company,
            title=title,
            emails=email,
            phones=phone,
            source=source,
            owner=owner,
            tags=[*(tag or []), *(add_tag or [])],
            fields=parse_fields(field),
            remove_tags=remove_tag,
            remove_emails=remove_email,
            remove_phones=remove_phone,
            unset=unset,
        )
        changed = sorted(k for k in rec if k != "updated" and rec.get(k) != before.get(k))
        if changed:
            store.note_change(f'lead: edit "{rec["name"]}" ({", ".join(changed)})')
    for w in warnings:
        store.warn(w)
    if fmt == ShowFormat.json:
        render.print_json(rec)
    else:
        print(f"Updated {_label(rec)}" if changed else f"No change to {_label(rec)}")


@app.command("note")
def note_cmd(
    ref: LeadRef,
    text: Annotated[str, typer.Argument(help="The note; '-' reads it from stdin.")],
) -> None:
    """Add a note to a lead's timeline (with author and time).

    Example: echo "Met at the Canton Fair, wants samples" | crm lead note "Li Wei" -
    """
    store = get_store()
    body = read_text_arg(text)
    with store.lock():
        rec = store.resolve("lead", ref)
        entry = store.add_activity(rec["id"], "note", body)
        store.note_change(f'lead: note on "{rec["name"]}"')
    print(f"Noted on {_label(rec)} as {entry['id']}")


@app.command("assign")
def assign_cmd(
    ref: LeadRef,
    owner: Annotated[str, typer.Argument(help="The new owner.", show_default=False)],
    with_open_work: Annotated[
        bool, typer.Option("--with-open-work", help="Move its open tasks too.")
    ] = False,
) -> None:
    """Hand a lead over to another owner (recorded on the timeline).

    Example: crm lead assign "Li Wei" bob
    """
    from crmcli import records

    store = get_store()
    check_known(store, "owners", owner, "owner")
    with store.lock():
        rec = store.resolve("lead", ref)
        rec, moved = records.assign(store, "lead", rec, owner, with_open_work=with_open_work)
        store.note_change(f'lead: assign "{rec["name"]}" to {owner}')
    extra = f", with {len(moved)} open task(s)" if moved else ""
    print(f"Assigned {_label(rec)} to {owner}{extra}")


@app.command("status")
def status_cmd(
    ref: LeadRef,
    status: Annotated[
        str,
        typer.Argument(
            help=f"The new status: {STATUSES}.",
            autocompletion=_complete_status,
            show_default=False,
        ),
    ],
    note: Annotated[
        str | None, typer.Option("--note", help="Why (kept on the timeline entry).")
    ] = None,
) -> None:
    """Set a lead's status (recorded on the timeline). 'converted' comes only from convert.

    Example: crm lead status "Li Wei" disqualified --note "no budget this year"
    """
    from crmcli import leads

    store = get_store()
    with store.lock():
        rec = store.resolve("lead", ref)
        old = rec["status"]
        rec = leads.set_status(store, rec, status, note)
        if rec["status"] != old:
            store.note_change(f'lead: "{rec["name"]}" {old} -> {rec["status"]}')
    if rec["status"] == old:
        print(f"{_label(rec)} is already {old}")
    else:
        print(f"{_label(rec)}: {old} -> {rec['status']}")


@app.command("convert")
def convert_cmd(
    ref: LeadRef,
    customer: Annotated[
        str | None,
        ref_option("customer", "--customer", help="Attach the person to this existing customer."),
    ] = None,
    deal: Annotated[
        str | None, typer.Option("--deal", help="Also open a deal with this title.")
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="The deal's amount, e.g. 12000 or 1234.50.")
    ] = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Convert a lead into a customer, optionally opening a deal.

    A lead with a company joins the customer of that exact name, or a new company
    customer with the person as its contact; without a company it becomes a
    person customer. The lead's timeline is copied to the customer.

    Example: crm lead convert "Li Wei" --deal "Pump order" --amount 24000
    """
    from crmcli import leads, render

    store = get_store()
    with store.lock():
        rec = store.resolve("lead", ref)
        target = store.resolve("customer", customer) if customer is not None else None
        result = leads.convert(store, rec, customer=target, deal_title=deal, amount=amount)
        cust, opened = result["customer"], result["deal"]
        verb = "new" if result["customer_action"] == "created" else "existing"
        also = f' with deal "{opened["title"]}"' if opened else ""
        store.note_change(
            f'lead: convert "{rec["name"]}" to {verb} customer "{cust["name"]}"{also}'
        )
        # the conversion is the headline of the commit, the deal's own message follows
        store.messages.insert(0, store.messages.pop())
    for w in result["warnings"]:
        store.warn(w)
    if result["customer_action"] == "matched":
        render.message(
            f"A customer named '{cust['name']}' exists already ({cust['id']}): "
            f"{rec['name']} joins it instead of a duplicate"
        )
    if fmt == ShowFormat.json:
        render.print_json(result)
        return
    print(f"Converted {_label(rec)} to {verb} customer {cust['id']} ({cust['name']})")
    if opened:
        money = (
            ""
            if opened["amount"] is None
            else f", {render.cell(opened['amount'])} {opened['currency']}"
        )
        print(f"Opened deal {opened['id']}: {opened['title']} ({opened['stage']}{money})")


@app.command("rm")
def rm_cmd(
    ref: LeadRef,
    force: Annotated[
        bool, typer.Option("--force", help="Remove even if tasks link to it.")
    ] = False,
) -> None:
    """Remove a lead and its timeline. Refuses while tasks link to it.

    A converted lead's customer keeps its copy of the timeline.

    Example: crm lead rm "Li Wei" --force
    """
    from crmcli import records

    store = get_store()
    with store.lock():
        rec = store.resolve("lead", ref)
        unlinked = records.remove(store, "lead", rec, force=force)
        store.note_change(f'lead: remove "{rec["name"]}"')
    extra = f"; unlinked {len(unlinked)} record(s)" if unlinked else ""
    print(f"Removed {_label(rec)}{extra}")


def _register_import() -> None:
    from crmcli.commands.lead_import import import_command

    app.command("import")(import_command)


_register_import()
