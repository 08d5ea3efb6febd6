"""crm lead ...: add, list, show, edit, note, assign, status, convert, rm (+ import)."""

from typing import Annotated, Any

import typer

from crmcli import models
from crmcli.commands import common

app = common.group(
    "Leads: people you might sell to, until they become customers.",
    "crm lead add 'Li Wei' --company 'Acme Trading' --source trade-show",
)

STATUSES = common.one_of([s for s in models.LEAD_STATUSES if s != "converted"])  # convert sets that
CompanyOpt = Annotated[str | None, typer.Option("--company", help="The company.")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Job title.")]
CSV_COLUMNS = [
    "id", "name", "company", "title", "emails", "phones", "source", "status", "owner",
    "tags", "customer", "deal", "batches", "created", "updated",
]  # fmt: skip
# `lead list`'s table: its columns, and a lead's cells in them.
COLUMNS = ["id", "name", ("company", {"priority": 3}), ("status", {"priority": 2}), "source",
           "owner", ("added", {"priority": 2})]  # fmt: skip


def _row(r: dict) -> list:
    return [r["id"], r["name"], r["company"], r["status"], r["source"], r["owner"],
            r["created"][:10]]  # fmt: skip


def _complete_status(incomplete: str) -> list[str]:
    from crmcli.models import LEAD_STATUSES

    return [s for s in LEAD_STATUSES if s.startswith(incomplete)]


def _label(rec: dict) -> str:
    return common.record_label("lead", rec)


@app.command("add")
@common.with_options(common.contact_options, common.record_options, common.format_option)
def add_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The person's name.", show_default=False)],
    company: CompanyOpt = None,
    title: TitleOpt = None,
    **options: Any,
) -> None:
    """Add a lead (status new; owner: you unless --owner).

    Example: crm lead add "Li Wei" --company "Acme Trading" --email li@acme.cn --source trade-show
    """
    from crmcli import leads

    common.add_record(ctx, "lead", leads.add, options["fmt"])


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
    source: common.SourceOpt = None,
    owner: common.OwnerOpt = None,
    search: common.SearchOpt = None,
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only with this tag.")] = None,
    batch: Annotated[
        str | None, typer.Option("--batch", help="Only leads of this import batch.")
    ] = None,
    sort: Annotated[
        str, typer.Option(help="created or updated (newest first), or name.")
    ] = "created",
    limit: common.LimitOpt = None,
    fmt: common.ListFormatOpt = common.ListFormat.table,
) -> None:
    """List leads of every status, newest first (filters narrow it down).

    Example: crm lead list --status new --status contacted --search acme --format json
    """
    from crmcli import leads

    store = common.get_store()
    f = leads.LeadFilter(tuple(status or ()), source, owner, search, tag, batch, sort)
    records = leads.list_leads(store, f)
    common.output_list(
        records, fmt, COLUMNS, _row, csv_columns=CSV_COLUMNS, limit=limit, empty="no leads"
    )


@app.command("show")
def show_cmd(ref: common.LeadRef, fmt: common.ShowFormatOpt = common.ShowFormat.table) -> None:
    """Show a lead: every field, the customer and deal it became, tasks and timeline.

    Example: crm lead show "Li Wei"
    """
    from crmcli import leads, records, refs, render
    from crmcli.commands.customer import phones_shown, show_related

    store = common.get_store()
    rec = refs.resolve(store, "lead", ref)
    timeline = store.timeline(rec["id"])
    tasks = records.linked(store, "lead", rec["id"]).get("tasks", [])
    if fmt == common.ShowFormat.json:
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
        tz=store.ctx.tz,
    )
    show_related({"tasks": tasks}, timeline)


@app.command("edit")
@common.with_options(
    common.contact_options,
    common.record_options,
    common.record_edit_options,
    common.contact_edit_options,
    common.unset_option("lead"),
    common.editor_option,
    common.format_option,
)
def edit_cmd(
    ctx: typer.Context,
    ref: common.LeadRef,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    company: CompanyOpt = None,
    title: TitleOpt = None,
    **options: Any,
) -> None:
    """Change a lead. --email, --phone, --tag and --field add to what is there.

    Example: crm lead edit "Li Wei" --title "Head of Purchasing" --remove-email old@acme.cn
    """
    from crmcli import leads

    common.edit_record(ctx, "lead", ref, leads.edit, options["fmt"])


common.add_note_command(
    app, "lead", 'echo "Met at the Canton Fair, wants samples" | crm lead note "Li Wei" -'
)
common.add_assign_command(app, "lead", "tasks", 'crm lead assign "Li Wei" bob')


@app.command("status")
def status_cmd(
    ref: common.LeadRef,
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

    old, rec = common.mutate(
        "lead", ref, lambda s, r: (r["status"], leads.set_status(s, r, status, note))
    )
    if rec["status"] == old:
        print(f"{_label(rec)} is already {old}")
    else:
        print(f"{_label(rec)}: {old} -> {rec['status']}")


@app.command("convert")
def convert_cmd(
    ref: common.LeadRef,
    customer: Annotated[
        str | None,
        common.ref_option(
            "customer", "--customer", help="Attach the person to this existing customer."
        ),
    ] = None,
    deal: Annotated[
        str | None, typer.Option("--deal", help="Also open a deal with this title.")
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="The deal's amount, e.g. 12000 or 1234.50.")
    ] = None,
    fmt: common.ShowFormatOpt = common.ShowFormat.table,
) -> None:
    """Convert a lead into a customer, optionally opening a deal.

    A lead with a company joins the customer of that exact name, or a new company
    customer with the person as its contact; without a company it becomes a
    person customer. The lead's timeline is copied to the customer.

    Example: crm lead convert "Li Wei" --deal "Pump order" --amount 24000
    """
    from crmcli import leads, refs, render

    def act(store: Any, rec: dict) -> tuple[dict, dict]:
        target = refs.resolve(store, "customer", customer) if customer is not None else None
        return rec, leads.convert(store, rec, customer=target, deal_title=deal, amount=amount)

    rec, result = common.mutate("lead", ref, act)
    cust, opened = result["customer"], result["deal"]
    verb = "new" if result["customer_action"] == "created" else "existing"
    for w in result["warnings"]:
        common.get_store().warn(w)
    if result["customer_action"] == "matched":
        render.message(
            f"A customer named '{cust['name']}' exists already ({cust['id']}): "
            f"{rec['name']} joins it instead of a duplicate"
        )
    if fmt == common.ShowFormat.json:
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


common.add_rm_command(
    app,
    "lead",
    """Remove a lead and its timeline. Refuses while tasks link to it.

    A converted lead's customer keeps its copy of the timeline.

    Example: crm lead rm "Li Wei" --force
    """,
    linked_from="tasks",
)


def _register_import() -> None:
    from crmcli.commands.lead_import import import_command

    app.command("import")(import_command)


_register_import()
