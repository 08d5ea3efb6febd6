"""crm customer ...: add, list, show, edit, contact add|edit|rm, note, assign, merge, rm."""

from typing import Annotated, Any

import typer

from crmcli import models
from crmcli.commands import common

app = common.group("Customers: companies and people you sell to.", "crm customer list --tag vip")
contact_app = common.group(
    "People at a company customer.", "crm customer contact add acme 'Li Wei'"
)
app.add_typer(contact_app, name="contact")

KindOpt = Annotated[
    str | None, typer.Option("--kind", "-k", help="company or person.", show_default=False)
]
CSV_COLUMNS = [
    "id", "name", "kind", "emails", "phones", "website", "industry", "owner",
    "source", "tags", "tier", "created", "updated",
]  # fmt: skip
# `customer list`'s table (its row: list_cmd).
COLUMNS = ["id", "name", ("e-mail", {"priority": 3}), ("phone", {"priority": 2}), "owner",
           ("tags", {"priority": 0})]  # fmt: skip


def _customer_options(
    kind: KindOpt = None,
    website: Annotated[str | None, typer.Option(help="Web site.")] = None,
    industry: Annotated[str | None, typer.Option(help="Industry.")] = None,
) -> None:
    """The options of `customer add` and `customer edit` beside contact_options."""


@app.command("add")
@common.with_options(
    _customer_options, common.contact_options, common.record_options, common.format_option
)
def add_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The customer's name.", show_default=False)],
    **options: Any,
) -> None:
    """Add a customer (a company unless --kind person).

    Example: crm customer add "Acme GmbH" --email info@acme.de --phone "+49 30 1234567" --tag vip
    """
    from crmcli import customers

    common.add_record(ctx, "customer", customers.add, options["fmt"])


@app.command("list")
def list_cmd(
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only with this tag.")] = None,
    owner: common.OwnerOpt = None,
    source: common.SourceOpt = None,
    search: common.SearchOpt = None,
    sort: Annotated[str, typer.Option(help="name, created or updated.")] = "name",
    limit: common.LimitOpt = None,
    fmt: common.ListFormatOpt = common.ListFormat.table,
) -> None:
    """List customers, filtered and sorted.

    Example: crm customer list --search 北京 --sort updated --format json
    """
    from crmcli import customers
    from crmcli.contactinfo import display_phone

    store = common.get_store()
    region = store.settings.get("default_region")
    f = customers.CustomerFilter(tag=tag, owner=owner, source=source, search=search, sort=sort)
    records = customers.list_customers(store, f)

    def row(r: dict) -> list:
        return [r["id"], r["name"], (r["emails"] or [""])[0],
                display_phone((r["phones"] or [""])[0], region), r["owner"], r["tags"]]  # fmt: skip

    common.output_list(
        records, fmt, COLUMNS, row, csv_columns=CSV_COLUMNS, limit=limit, empty="no customers"
    )


@app.command("show")
def show_cmd(ref: common.CustomerRef, fmt: common.ShowFormatOpt = common.ShowFormat.table) -> None:
    """Show the customer's page: its fields, contacts, open deals and tasks, and one
    timeline of the entries on it, its leads, its deals and its tasks.

    Example: crm customer show acme
    """
    from crmcli import customers, refs, render
    from crmcli.mail.threads import for_record

    store = common.get_store()
    rec = refs.resolve(store, "customer", ref)
    page = customers.page(store, rec)
    mail = for_record(store, rec["id"])
    if fmt == common.ShowFormat.json:
        render.print_json({**rec, **page, "mail_threads": mail})
        return
    region = store.settings.get("default_region")
    render.record_view(
        [(k, phones_shown(v, region) if k == "phones" else v)
         for k, v in rec.items() if k not in ("contacts", "fields") and not _empty(v)]
        + [(f"fields.{k}", v) for k, v in rec["fields"].items() if not _empty(v)],
        title=f"{rec['name']} ({rec['id']})",
        tz=store.ctx.tz,
    )  # fmt: skip
    related_tables(rec["contacts"], {"leads": page["leads"]}, region)
    _open_work(store, rec, page)
    show_threads(mail)
    timeline_table(page["timeline"], store.ctx.tz, here=rec["id"])


def _empty(value: Any) -> bool:
    """A field the page leaves out: no value, or a flag not set (JSON keeps every key)."""
    return value is None or value is False or value == "" or value == [] or value == {}


def _open_work(store: Any, rec: dict, page: dict) -> None:
    """The customer's open deals (stage, amount, close date) and open tasks."""
    from crmcli import render, tasks
    from crmcli.formats import money_text

    tz, now = store.ctx.tz, store.ctx.now()
    deals = [d for d in page["deals"] if d.get("status") == "open"]
    closed = len(page["deals"]) - len(deals)
    if deals:
        render.section(f"Open deals ({len(deals)})")
        render.table(
            ["id", "title", "stage", ("amount", {"justify": "right"}), ("close", {"min": 10})],
            [[d["id"], d["title"], d["stage"], money_text(d.get("amount"), d.get("currency")),
              d.get("close_date")] for d in deals],
        )  # fmt: skip
    if closed:
        render.message(
            f"{closed} closed deal(s): crm deal list --customer {rec['id']} --status all"
        )
    names = {d["id"]: d["title"] for d in page["deals"]} | {
        r["id"]: r["name"] for r in page["leads"]
    }
    open_tasks = tasks.by_urgency([t for t in page["tasks"] if t.get("status") == "open"], tz)
    if open_tasks:
        render.section(f"Open tasks ({len(open_tasks)})")
        render.table(
            ["id", ("due", {"min": 10}), "title", ("for", {"priority": 2}), "owner"],
            [[t["id"], tasks.due_label(tasks.due_of(t, tz), tz, now), t["title"],
              names.get(t.get("deal") or t.get("lead") or "", ""), t.get("owner")]
             for t in open_tasks],
        )  # fmt: skip


def show_threads(threads: list[dict]) -> None:
    """The mail threads section of `show` (none: no section), newest first."""
    from crmcli import render
    from crmcli.formats import time_text

    if not threads:
        return
    render.section("Mail threads")
    render.table(
        ["last", "", ("subject", {"wrap": True}), "messages"],
        [[time_text(t["last_at"], common.get_store().ctx.tz),
          "→" if t["last_direction"] == "out" else "←", t["subject"], t["messages"]]
         for t in threads],
    )  # fmt: skip


def phones_shown(phones: list[str], region: str | None) -> list[str]:
    """Phones as a table shows them: grouped for reading (contactinfo.display_phone)."""
    from crmcli.contactinfo import display_phone

    return [display_phone(str(p), region) for p in phones or []]


def show_related(links: dict[str, list[dict]], timeline: list[dict]) -> None:
    """The sections under a lead or deal in `show`: linked records, timeline."""
    related_tables([], links)
    timeline_table(timeline, common.get_store().ctx.tz)


def related_tables(
    contacts: list[dict], links: dict[str, list[dict]], region: str | None = None
) -> None:
    """The contacts and the linked records (leads, deals, tasks) under a record in `show`."""
    from crmcli import render

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


def timeline_table(timeline: list[dict], tz: Any, here: str | None = None) -> None:
    """A timeline, newest first: when, by, kind (note, call, stage ...), where it was
    made (entries of a merged timeline; `here`: the record whose page it is), the text
    over lines with the outcome under it."""
    from crmcli import render
    from crmcli.activities import where_text
    from crmcli.formats import time_text

    def text(a: dict) -> Any:
        body = a.get("text") or ""
        return render.lines_cell(f"{body}\noutcome: {a['outcome']}" if a.get("outcome") else body)

    merged = any("where" in a for a in timeline)
    render.section("Timeline")
    render.table(
        ["when", "by", "kind", *([("where", {"min": 12})] if merged else []),
         ("text", {"wrap": True})],
        [[time_text(a["at"], tz), a["by"], a["kind"],
          *([where_text(a, here)] if merged else []), text(a)] for a in timeline],
        empty="  (no entries)",
    )  # fmt: skip


@app.command("edit")
@common.with_options(
    _customer_options,
    common.contact_options,
    common.record_options,
    common.record_edit_options,
    common.contact_edit_options,
    common.unset_option("customer"),
    common.editor_option,
    common.format_option,
)
def edit_cmd(
    ctx: typer.Context,
    ref: common.CustomerRef,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    tier: Annotated[
        str | None,
        typer.Option(help=f"Tier {common.one_of(models.TIERS)} (kept by report --apply)."),
    ] = None,
    cadence: Annotated[
        str | None, typer.Option(help="Stay-in-touch cadence, e.g. 30d, 2w, 1m.")
    ] = None,
    billing_address: Annotated[
        str | None, typer.Option(help="Billing address (on quotes and orders).")
    ] = None,
    country: Annotated[str | None, typer.Option(help="Two-letter country code, e.g. DE.")] = None,
    tax_id: Annotated[str | None, typer.Option(help="Tax id, e.g. DE123456789.")] = None,
    **options: Any,
) -> None:
    """Change a customer. --email, --phone and --tag add to what is there.

    Example: crm customer edit acme --add-tag key-account --remove-email old@acme.de

    Example: crm customer edit acme --billing-address "Hauptstr. 1, 10115 Berlin" --tax-id DE123456789
    """
    from crmcli import customers

    common.edit_record(ctx, "customer", ref, customers.edit, options["fmt"])


@contact_app.command("add")
def contact_add_cmd(
    ref: common.CustomerRef,
    name: Annotated[str, typer.Argument(help="The person's name.", show_default=False)],
    title: Annotated[str | None, typer.Option(help="Job title.")] = None,
    email: common.EmailOpt = None,
    phone: common.PhoneOpt = None,
) -> None:
    """Add a person (a contact) at a company customer.

    Example: crm customer contact add acme "Li Wei" --title Buyer --email li.wei@acme.cn
    """
    from crmcli import customers

    rec, warnings = common.mutate(
        "customer",
        ref,
        lambda s, r: customers.add_contact(s, r, name, title=title, emails=email, phones=phone),
    )
    for w in warnings:
        common.get_store().warn(w)
    print(f"Added contact {name} to customer {rec['id']}: {rec['name']}")


@contact_app.command("edit")
@common.with_options(
    common.contact_edit_options, common.unset_option("contact"), common.format_option
)
def contact_edit_cmd(
    ctx: typer.Context,
    ref: common.CustomerRef,
    contact: Annotated[str, typer.Argument(help="The contact's name (or id).", show_default=False)],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    title: Annotated[str | None, typer.Option(help="Job title.")] = None,
    email: common.EmailOpt = None,
    phone: common.PhoneOpt = None,
    **options: Any,
) -> None:
    """Change a contact of a company customer. --email and --phone add to what is there.

    Example: crm customer contact edit "Acme GmbH" "Li Wei" --title "Head of Purchasing"
    """
    from crmcli import customers, render

    changes = common.change_set(ctx, edit=True)
    rec, person, warnings = common.mutate(
        "customer", ref, lambda s, r: customers.edit_contact(s, r, contact, changes)
    )
    for w in warnings:
        common.get_store().warn(w)
    if options["fmt"] == common.ShowFormat.json:
        render.print_json(person)
    else:
        print(f"Updated contact {person['name']} of customer {rec['id']}: {rec['name']}")


@contact_app.command("rm")
def contact_rm_cmd(
    ref: common.CustomerRef,
    name: Annotated[str, typer.Argument(help="The contact's name (or id).", show_default=False)],
) -> None:
    """Remove a contact from a company customer.

    Example: crm customer contact rm "Acme GmbH" "Li Wei"
    """
    from crmcli import customers

    rec, contact = common.mutate("customer", ref, lambda s, r: customers.remove_contact(s, r, name))
    print(f"Removed contact {contact['name']} from customer {rec['id']}: {rec['name']}")


common.add_note_command(app, "customer", 'echo "Called, wants a quote" | crm customer note acme -')
common.add_assign_command(
    app, "customer", "deals and tasks", "crm customer assign acme bob --with-open-work"
)


@app.command("merge")
def merge_cmd(
    keep: Annotated[str, typer.Argument(help="The customer to keep.", show_default=False)],
    other: Annotated[
        str, typer.Argument(help="The duplicate to fold into it.", show_default=False)
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the result, write nothing.")
    ] = False,
    fmt: common.ShowFormatOpt = common.ShowFormat.table,
) -> None:
    """Merge a duplicate customer into another; links to it follow.

    Example: crm customer merge "Acme GmbH" "ACME Germany" --dry-run
    """
    from crmcli import customers, refs, render

    store = common.get_store()
    with store.lock():
        a = refs.resolve(store, "customer", keep)
        b = refs.resolve(store, "customer", other)
        result = customers.merge(store, a, b, dry_run=dry_run)
    if fmt == common.ShowFormat.json:
        render.print_json({**result, "dry_run": dry_run})
        return
    merged = result["customer"]
    verb = "Would merge" if dry_run else "Merged"
    print(f"{verb} customer {b['id']} ({b['name']}) into {merged['id']} ({merged['name']})")
    render.record_view([(k, merged[k]) for k in ("emails", "phones", "tags")]
                       + [("contacts", [c.get("name") for c in merged["contacts"]])])  # fmt: skip
    print(f"{len(result['repointed'])} linked record(s) and timeline entries re-pointed")


common.add_rm_command(
    app,
    "customer",
    """Remove a customer and its timeline. Refuses while deals, leads or tasks link to it.

    Example: crm customer rm "Old Corp" --force
    """,
    linked_from="records",
)
