"""crm customer ...: add, list, show, edit, contact add, note, assign, merge, rm."""

from typing import Annotated

import typer

from crmcli import models
from crmcli.commands.common import (
    CustomerRef,
    EmailOpt,
    FieldOpt,
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
)

app = typer.Typer(
    help="Customers: companies and people you sell to.\n\nExample: crm customer list --tag vip",
    no_args_is_help=True,
)
contact_app = typer.Typer(
    help="People at a company customer.\n\nExample: crm customer contact add acme 'Li Wei'",
    no_args_is_help=True,
)
app.add_typer(contact_app, name="contact")

KindOpt = Annotated[
    str | None, typer.Option("--kind", "-k", help="company or person.", show_default=False)
]
CSV_COLUMNS = [
    "id", "name", "kind", "emails", "phones", "website", "industry", "owner",
    "source", "tags", "tier", "created", "updated",
]  # fmt: skip


@app.command("add")
def add_cmd(
    name: Annotated[str, typer.Argument(help="The customer's name.", show_default=False)],
    kind: KindOpt = None,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    website: Annotated[str | None, typer.Option(help="Web site.")] = None,
    industry: Annotated[str | None, typer.Option(help="Industry.")] = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    field: FieldOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Add a customer (a company unless --kind person).

    Example: crm customer add "Acme GmbH" --email info@acme.de --phone "+49 30 1234567" --tag vip
    """
    from crmcli import customers

    store = get_store()
    check_known(store, "owners", owner, "owner")
    check_known(store, "sources", source, "source")
    with store.lock():
        rec, warnings = customers.add(
            store,
            name,
            kind=kind or "company",
            emails=email,
            phones=phone,
            website=website,
            industry=industry,
            owner=owner,
            source=source,
            tags=tag,
            fields=parse_fields(field),
        )
        store.note_change(f'customer: add "{rec["name"]}"')
    for w in warnings:
        store.warn(w)
    confirm_added(fmt, "customer", {**rec, "warnings": warnings} if fmt == ShowFormat.json else rec)


@app.command("list")
def list_cmd(
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only with this tag.")] = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    search: SearchOpt = None,
    sort: Annotated[str, typer.Option(help="name, created or updated.")] = "name",
    limit: LimitOpt = None,
    fmt: ListFormatOpt = ListFormat.table,
) -> None:
    """List customers, filtered and sorted.

    Example: crm customer list --search 北京 --sort updated --format json
    """
    from crmcli import customers
    from crmcli.contactinfo import display_phone

    store = get_store()
    region = store.settings.get("default_region")
    f = customers.CustomerFilter(tag=tag, owner=owner, source=source, search=search, sort=sort)
    records = customers.list_customers(store, f)
    output_list(
        records,
        fmt,
        ["id", ("name", {"overflow": "fold", "ratio": 3, "min_width": 12}),
         ("e-mail", {"overflow": "ellipsis", "no_wrap": True, "ratio": 3, "max_width": 26}),
         ("phone", {"no_wrap": True}), ("owner", {"no_wrap": True}),
         ("tags", {"overflow": "ellipsis", "no_wrap": True, "ratio": 2})],
        lambda r: [r["id"], r["name"], (r["emails"] or [""])[0],
                   display_phone((r["phones"] or [""])[0], region), r["owner"], r["tags"]],
        csv_columns=CSV_COLUMNS,
        limit=limit,
        empty="no customers",
    )  # fmt: skip


@app.command("show")
def show_cmd(ref: CustomerRef, fmt: ShowFormatOpt = ShowFormat.table) -> None:
    """Show a customer: every field, contacts, linked records and the timeline.

    Example: crm customer show acme
    """
    from crmcli import records, render

    store = get_store()
    rec = store.resolve("customer", ref)
    timeline = store.timeline(rec["id"])
    links = records.linked(store, "customer", rec["id"])
    if fmt == ShowFormat.json:
        render.print_json({**rec, "timeline": timeline, **links})
        return
    region = store.settings.get("default_region")
    render.record_view(
        [(k, phones_shown(v, region) if k == "phones" else v)
         for k, v in rec.items() if k not in ("contacts", "fields")]
        + [(f"fields.{k}", v) for k, v in rec["fields"].items()],
        title=f"{rec['name']} ({rec['id']})",
    )  # fmt: skip
    show_related(rec["contacts"], links, timeline, region)


def phones_shown(phones: list[str], region: str | None) -> list[str]:
    """Phones as a table shows them: grouped for reading (contactinfo.display_phone)."""
    from crmcli.contactinfo import display_phone

    return [display_phone(str(p), region) for p in phones or []]


def show_related(
    contacts: list[dict],
    links: dict[str, list[dict]],
    timeline: list[dict],
    region: str | None = None,
) -> None:
    """The sections under a record in `show`: contacts, linked records, timeline."""
    from crmcli import render
    from crmcli.formats import time_text

    if contacts:
        render.section("Contacts")
        render.table(
            ["name", "title", "e-mails", "phones"],
            [
                [
                    c.get("name"),
                    c.get("title"),
                    c.get("emails"),
                    phones_shown(c.get("phones"), region),
                ]
                for c in contacts
            ],
        )
    for kind, records in links.items():
        if records:
            render.section(kind.capitalize())
            render.table(
                ["id", "name", "status", "owner"],
                [[r["id"], r.get("name") or r.get("title"), r.get("status") or r.get("stage"),
                  r.get("owner")] for r in records],
            )  # fmt: skip
    render.section("Timeline")
    render.table(
        ["when", "by", "kind", ("text", {"overflow": "fold", "ratio": 1})],
        [[time_text(a["at"]), a["by"], a["kind"], render.lines_cell(a["text"])] for a in timeline],
        empty="  (no entries)",
    )


@app.command("edit")
def edit_cmd(
    ref: CustomerRef,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    kind: KindOpt = None,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    website: Annotated[str | None, typer.Option(help="Web site.")] = None,
    industry: Annotated[str | None, typer.Option(help="Industry.")] = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    field: FieldOpt = None,
    add_tag: Annotated[list[str] | None, typer.Option("--add-tag", help="Add a tag.")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option(help="Remove a tag.")] = None,
    remove_email: Annotated[list[str] | None, typer.Option(help="Remove an e-mail.")] = None,
    remove_phone: Annotated[list[str] | None, typer.Option(help="Remove a phone.")] = None,
    tier: Annotated[
        str | None, typer.Option(help=f"Tier {one_of(models.TIERS)} (kept by report --apply).")
    ] = None,
    cadence: Annotated[
        str | None, typer.Option(help="Stay-in-touch cadence, e.g. 30d, 2w, 1m.")
    ] = None,
    unset: Annotated[
        list[str] | None,
        typer.Option(help="Clear a field (website, owner, tier, fields.KEY, ...)."),
    ] = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Change a customer. --email, --phone and --tag add to what is there.

    Example: crm customer edit acme --add-tag key-account --remove-email old@acme.de
    """
    from crmcli import customers, render

    store = get_store()
    check_known(store, "owners", owner, "owner")
    with store.lock():
        rec = store.resolve("customer", ref)
        rec, warnings = customers.edit(
            store,
            rec,
            name=name,
            kind=kind,
            emails=email,
            phones=phone,
            website=website,
            industry=industry,
            owner=owner,
            source=source,
            tags=[*(tag or []), *(add_tag or [])],
            fields=parse_fields(field),
            remove_tags=remove_tag,
            remove_emails=remove_email,
            remove_phones=remove_phone,
            tier=tier,
            cadence=cadence,
            unset=unset,
        )
        store.note_change(f'customer: edit "{rec["name"]}"')
    for w in warnings:
        store.warn(w)
    if fmt == ShowFormat.json:
        render.print_json(rec)
    else:
        print(f"Updated customer {rec['id']}: {rec['name']}")


@contact_app.command("add")
def contact_add_cmd(
    ref: CustomerRef,
    name: Annotated[str, typer.Argument(help="The person's name.", show_default=False)],
    title: Annotated[str | None, typer.Option(help="Job title.")] = None,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
) -> None:
    """Add a person (a contact) at a company customer.

    Example: crm customer contact add acme "Li Wei" --title Buyer --email li.wei@acme.cn
    """
    from crmcli import customers

    store = get_store()
    with store.lock():
        rec = store.resolve("customer", ref)
        rec, warnings = customers.add_contact(
            store, rec, name, title=title, emails=email, phones=phone
        )
        store.note_change(f'customer: add contact "{name}" to "{rec["name"]}"')
    for w in warnings:
        store.warn(w)
    print(f"Added contact {name} to customer {rec['id']}: {rec['name']}")


@app.command("note")
def note_cmd(
    ref: CustomerRef,
    text: Annotated[str, typer.Argument(help="The note; '-' reads it from stdin.")],
) -> None:
    """Add a note to a customer's timeline (with author and time).

    Example: echo "Called, wants a quote" | crm customer note acme -
    """
    store = get_store()
    body = read_text_arg(text)
    with store.lock():
        rec = store.resolve("customer", ref)
        entry = store.add_activity(rec["id"], "note", body)
        store.note_change(f'customer: note on "{rec["name"]}"')
    print(f"Noted on customer {rec['id']} ({rec['name']}) as {entry['id']}")


@app.command("assign")
def assign_cmd(
    ref: CustomerRef,
    owner: Annotated[str, typer.Argument(help="The new owner.", show_default=False)],
    with_open_work: Annotated[
        bool, typer.Option("--with-open-work", help="Move its open deals and tasks too.")
    ] = False,
) -> None:
    """Hand a customer over to another owner (recorded on the timeline).

    Example: crm customer assign acme bob --with-open-work
    """
    from crmcli import records

    store = get_store()
    check_known(store, "owners", owner, "owner")
    with store.lock():
        rec = store.resolve("customer", ref)
        rec, moved = records.assign(store, "customer", rec, owner, with_open_work=with_open_work)
        store.note_change(f'customer: assign "{rec["name"]}" to {owner}')
    extra = f", with {len(moved)} open deal(s)/task(s)" if moved else ""
    print(f"Assigned customer {rec['id']} ({rec['name']}) to {owner}{extra}")


@app.command("merge")
def merge_cmd(
    keep: Annotated[str, typer.Argument(help="The customer to keep.", show_default=False)],
    other: Annotated[
        str, typer.Argument(help="The duplicate to fold into it.", show_default=False)
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the result, write nothing.")
    ] = False,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Merge a duplicate customer into another; links to it follow.

    Example: crm customer merge "Acme GmbH" "ACME Germany" --dry-run
    """
    from crmcli import customers, render

    store = get_store()
    with store.lock():
        a = store.resolve("customer", keep)
        b = store.resolve("customer", other)
        result = customers.merge(store, a, b, dry_run=dry_run)
        store.note_change(f'customer: merge "{b["name"]}" into "{a["name"]}"')
    if fmt == ShowFormat.json:
        render.print_json({**result, "dry_run": dry_run})
        return
    merged = result["customer"]
    verb = "Would merge" if dry_run else "Merged"
    print(f"{verb} customer {b['id']} ({b['name']}) into {merged['id']} ({merged['name']})")
    render.record_view([(k, merged[k]) for k in ("emails", "phones", "tags")]
                       + [("contacts", [c.get("name") for c in merged["contacts"]])])  # fmt: skip
    print(f"{len(result['repointed'])} linked record(s) and timeline entries re-pointed")


@app.command("rm")
def rm_cmd(
    ref: CustomerRef,
    force: Annotated[
        bool, typer.Option("--force", help="Remove even if records link to it.")
    ] = False,
) -> None:
    """Remove a customer and its timeline. Refuses while deals, leads or tasks link to it.

    Example: crm customer rm "Old Corp" --force
    """
    from crmcli import records

    store = get_store()
    with store.lock():
        rec = store.resolve("customer", ref)
        unlinked = records.remove(store, "customer", rec, force=force)
        store.note_change(f'customer: remove "{rec["name"]}"')
    extra = f"; unlinked {len(unlinked)} record(s)" if unlinked else ""
    print(f"Removed customer {rec['id']} ({rec['name']}){extra}")
