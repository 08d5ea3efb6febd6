"""crm deal ...: stages, add, list, show, edit, quote, order, move, won, lost, reopen,
approve, snooze, note, assign, rm."""

import contextlib
import sys
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer

from crmcli import models
from crmcli.commands import common
from crmcli.commands.order import OrderFormat
from crmcli.formats import day_text, money_text

app = common.group(
    "Deals: the pipeline, product lines, price approvals, won and lost.",
    "crm deal list --closing-before 2026-12-31",
)


StatusFilter = common.choices("StatusFilter", [*models.DEAL_STATUSES, "all"])
QuoteLang = common.choices("QuoteLang", models.QUOTE_LANGS)


CSV_COLUMNS = [
    "id", "title", "customer", "amount", "currency", "stage", "status", "close_date",
    "owner", "needs_approval", "lost_reason", "snoozed_until", "tags", "created",
    "updated", "closed_at",
]  # fmt: skip

AmountOpt = Annotated[
    str | None,
    typer.Option(
        help="The amount, exact (e.g. 1200.50); with --line, a deal price.", show_default=False
    ),
]
CurrencyOpt = Annotated[
    str | None, typer.Option(help="Currency code (default: settings currency).", show_default=False)
]
CloseOpt = Annotated[
    str | None,
    typer.Option(
        "--close", help="Expected close date (2026-12-01, +2w, next friday).", show_default=False
    ),
]
LineOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--line",
        "-l",
        help="A product line SKU:QTY[:UNIT_PRICE] (repeatable; price defaults to list price).",
        show_default=False,
    ),
]
ReasonOpt = Annotated[str | None, typer.Option("--reason", "-r", help="Why ('-': stdin).")]


def _deal_options(
    amount: AmountOpt = None,
    currency: CurrencyOpt = None,
    close: CloseOpt = None,
    line: LineOpt = None,
) -> None:
    """The options `deal add` and `deal edit` share (beside common.record_options)."""


def _customer_id(store: Any, ref: str | None) -> str | None:
    from crmcli import refs

    return None if ref is None else refs.resolve(store, "customer", ref)["id"]


def _approval_message(store: Any, rec: dict, reasons: list[str]) -> None:
    from crmcli import deals

    if rec.get("needs_approval"):
        store.warn(
            f"deal {rec['id']} needs a price approval: {'; '.join(reasons)} "
            f"({deals.approvers_hint(store.settings)}; crm deal approve {rec['id']} --by NAME)"
        )


@app.command("stages")
def stages_cmd(fmt: common.ShowFormatOpt = common.ShowFormat.table) -> None:
    """Show the pipeline (settings pipeline) with the number of deals in each stage.

    Stages no longer in the pipeline that still hold open deals are listed as removed.

    Example: crm deal stages --format json
    """
    from crmcli import deals, render

    store = common.get_store()
    records = store.query("deal", fields=("status", "stage"))
    rows = deals.stage_counts(store.settings, records)
    if fmt == common.ShowFormat.json:
        render.print_json(rows)
        return
    render.table(
        ["stage", ("probability", {"justify": "right"}), ("deals", {"justify": "right"}), "note"],
        [
            [
                r["stage"],
                "" if r["probability"] is None else f"{r['probability']}%",
                r["deals"],
                {"open": "", "closed": "closed", "removed": "not in the pipeline"}[r["kind"]],
            ]
            for r in rows
        ],
    )
    warning = deals.removed_stage_warning(store.settings, records)
    if warning:
        store.warn(warning)


@app.command("add")
@common.with_options(_deal_options, common.record_options, common.format_option)
def add_cmd(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="The deal's title.", show_default=False)],
    customer: Annotated[str, common.ref_option("customer", "--customer", "-c")],
    stage: Annotated[
        str | None, typer.Option("--stage", help="Open stage (default: the first).")
    ] = None,
    **options: Any,
) -> None:
    """Add a deal for a customer. With --line the amount is the lines' total.

    Lines name products by sku from crm.yaml `products`; a unit price below the
    floor, or more than max_discount below the list price, needs an approval.

    Example: crm deal add "Pump order" --customer "Acme GmbH" --line PUMP-100:3 --close +3w
    """
    from crmcli import deals

    changes = common.change_set(ctx)
    store = common.get_store()
    with store.lock():
        rec, reasons = deals.add(store, changes)
    _approval_message(store, rec, reasons)
    extra = f" ({money_text(rec['amount'], rec['currency'])})" if rec["amount"] else ""
    common.confirm_added(options["fmt"], "deal", rec, extra)


FLAG_MARKS = {"needs-approval": "!", "big": "$", "stage-removed": "?", "snoozed": "z"}
FLAG_WORDS = {
    "needs-approval": "needs approval",
    "big": "big deal",
    "stage-removed": "stage not in the pipeline",
    "snoozed": "snoozed",
}


def _flag_text(flags: list[str]) -> str:
    return ", ".join(FLAG_WORDS[f] for f in flags)


def _deal_columns(store: Any, records: list[dict]) -> tuple[list[Any], Any, list[str]]:
    """The table's columns, its row function and the flags shown (output_list leaves
    out the columns empty or the same on every row)."""
    from crmcli import deals
    from crmcli.dates import parse_iso

    names = {c["id"]: c["name"] for c in store.query("customer", fields=("id", "name"))}
    today = store.ctx.now().date()
    settings = store.settings
    currencies = {d.get("currency") or settings["currency"] for d in records}
    one_cur = currencies.pop() if len(currencies) == 1 else None
    amounts = [d["amount"] for d in records if d.get("amount") is not None]
    whole = all(Decimal(a) == Decimal(a).to_integral_value() for a in amounts)
    flags = {d["id"]: deals.flags(settings, d, today) for d in records}
    shown_flags = [f for f in FLAG_MARKS if any(f in fl for fl in flags.values())]

    def close_label(value: Any) -> str:  # "Dec 15" this year, else the whole date
        text = str(value or "")
        if text[:4] == str(today.year) and len(text) == 10:
            with contextlib.suppress(ValueError):
                return day_text(date.fromisoformat(text), short=True)
        return text

    def amount(d: dict) -> str:  # whole amounts only: no cents shown
        cur = None if one_cur else d.get("currency")
        return money_text(d.get("amount"), cur, places=0 if whole else 2)

    def closed(d: dict) -> str:  # the day it was won or lost (in the CRM's zone), and why lost
        at = d.get("closed_at")
        if not at:
            return ""
        day = close_label(parse_iso(at).astimezone(store.ctx.tz).date().isoformat())
        return (
            f"{day}: {d['lost_reason']}"
            if d.get("status") == "lost" and d.get("lost_reason")
            else day
        )

    # Columns empty or the same on every row are left out (output_list).
    columns: list[Any] = [
        "id", "title", ("customer", {"priority": 4, "min": 16}), ("stage", {"priority": 2, "min": 11}),
        ("amount", {"justify": "right", "priority": 3}),  # one currency: named on the total
        ("close", {"priority": 2, "min": 10}), ("closed", {"priority": 4, "min": 7}), "owner", ("", {"priority": 3}),
    ]  # fmt: skip

    def row(d: dict) -> list[Any]:
        return [
            d["id"], d["title"], names.get(d.get("customer"), d.get("customer")) or "",
            d.get("stage"), amount(d), close_label(d.get("close_date")), closed(d), d.get("owner"),
            "".join(FLAG_MARKS[f] for f in flags[d["id"]]),
        ]  # fmt: skip

    return columns, row, shown_flags


@app.command("list")
def list_cmd(
    stage: Annotated[str | None, typer.Option("--stage", help="Only in this stage.")] = None,
    status: Annotated[
        StatusFilter | None,
        typer.Option(help="open (default), won, lost or all.", show_default=False),
    ] = None,
    owner: common.OwnerOpt = None,
    customer: Annotated[str | None, common.ref_option("customer", "--customer", "-c")] = None,
    closing_before: Annotated[
        str | None,
        typer.Option(help="Only with a close date on or before this day.", show_default=False),
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only with this tag.")] = None,
    limit: common.LimitOpt = None,
    fmt: common.ListFormatOpt = common.ListFormat.table,
) -> None:
    """List deals (open ones unless --status), in pipeline order, with totals per currency.

    Flags: ! needs a price approval, $ big deal (at or above settings big_deal),
    ? its stage is no longer in the pipeline, z snoozed.

    Example: crm deal list --status all --owner alice --closing-before 2026-12-31 -f csv
    """
    from crmcli import deals

    store = common.get_store()
    f = deals.DealFilter(
        stage=stage,
        status=status.value if status else None,
        owner=owner,
        customer=_customer_id(store, customer),
        closing_before=deals.parse_day(store, closing_before) if closing_before else None,
        tag=tag,
    )
    records = deals.list_deals(store, f)
    warning = deals.removed_stage_warning(store.settings, records)
    if warning:
        store.warn(warning)
    columns, row, shown_flags = _deal_columns(store, records)
    common.output_list(
        records, fmt, columns, row, csv_columns=CSV_COLUMNS, limit=limit, empty="no deals"
    )
    if fmt == common.ListFormat.table and records:
        sums, missing = deals.totals(records, store.settings)
        text = ", ".join(money_text(v, c) for c, v in sums.items()) or "nothing"
        extra = f"; {missing} without an amount" if missing else ""
        print(f"Total: {text} ({len(records)} deal(s){extra})")
        if shown_flags:
            print("Flags: " + ", ".join(f"{FLAG_MARKS[f]} {FLAG_WORDS[f]}" for f in shown_flags))


@app.command("show")
def show_cmd(ref: common.DealRef, fmt: common.ShowFormatOpt = common.ShowFormat.table) -> None:
    """Show a deal: fields, flags, lines, stage history, approvals, tasks, timeline.

    Example: crm deal show "Pump order"
    """
    from crmcli import deals, records, refs, render
    from crmcli.commands.customer import show_related, show_threads
    from crmcli.errors import CrmError
    from crmcli.mail.threads import for_record

    store = common.get_store()
    settings = store.settings
    rec = refs.resolve(store, "deal", ref)
    timeline = store.timeline(rec["id"])
    links = records.linked(store, "deal", rec["id"])
    links.pop("deals", None)
    mail = for_record(store, rec["id"], deal=True)
    flags = deals.flags(settings, rec, store.ctx.now().date())
    probability = deals.stage_probability(settings, rec["stage"])
    try:
        reasons = deals.approval_reasons(settings, rec) if rec["needs_approval"] else []
    except CrmError as e:  # a hand-broken line: show the deal anyway
        reasons = [e.message]
    if fmt == common.ShowFormat.json:
        render.print_json(
            {**rec, "probability": probability, "flags": flags, "approval_reasons": reasons,
             "timeline": timeline, **links, "mail_threads": mail}
        )  # fmt: skip
        return
    pairs = _show_pairs(store, rec, flags, probability, reasons)
    render.record_view(pairs, title=f"{rec['title']} ({rec['id']})", tz=store.ctx.tz)
    _show_sections(rec, store.ctx.tz)
    show_related(links, timeline)
    show_threads(mail)
    if deals.stage_removed(settings, rec):
        store.warn(
            f"stage '{rec['stage']}' is no longer in the pipeline; move the deal with "
            f"crm deal move {rec['id']} STAGE"
        )


def _customer_label(store: Any, cid: str | None) -> str | None:
    if not cid:
        return None
    try:
        c = store.load("customer", cid)
    except Exception:  # noqa: BLE001 - a dangling link still shows
        return f"{cid} (missing)"
    return f"{c['name']} ({c['id']})"


def _show_pairs(
    store: Any, rec: dict, flags: list[str], probability: Any, reasons: list[str]
) -> list[tuple[str, Any]]:
    """The fields of a deal as `show` lists them: customer by name, stage with its
    probability, money with its currency, why it needs approval, the flags."""
    from crmcli import deals
    from crmcli.formats import yes_no

    stage = rec["stage"]
    if deals.stage_removed(store.settings, rec):
        stage += " (no longer in the pipeline)"
    elif probability is not None:
        stage += f" ({probability}%)"
    shown = {
        "customer": lambda v: _customer_label(store, v),
        "stage": lambda v: stage,
        "amount": lambda v: money_text(v, rec.get("currency")),
        "needs_approval": lambda v: f"{yes_no(True)}: {'; '.join(reasons)}" if v else yes_no(False),
    }
    pairs: list[tuple[str, Any]] = []
    for k, v in rec.items():
        if k in ("lines", "stage_history", "approvals", "fields", "title"):
            continue
        if k == "snooze_reason" and not v:
            continue
        pairs.append((k, shown[k](v) if k in shown else v))
    if flags:
        pairs.insert(1, ("flags", _flag_text(flags)))
    return pairs + [(f"fields.{k}", v) for k, v in rec["fields"].items()]


def _show_sections(rec: dict, tz: Any) -> None:
    """The lines, stage history and approvals under a deal in `show` (times in `tz`)."""
    from crmcli import render
    from crmcli.formats import time_text

    if rec["lines"]:
        render.section("Lines")
        render.table(
            ["#", "sku", "name", ("qty", {"justify": "right"}),
             ("unit", {"justify": "right"}), ("total", {"justify": "right"}),
             ("list", {"justify": "right"}), ("floor", {"justify": "right"})],
            [[i + 1, ln.get("sku"), ln.get("name"), ln.get("qty"),
              money_text(ln.get("unit_price")), money_text(ln.get("total")),
              money_text(ln.get("list_price")), money_text(ln.get("floor"))]
             for i, ln in enumerate(rec["lines"])],
        )  # fmt: skip
    render.section("Stage history")
    render.table(
        ["when", "stage", "by"],
        [[time_text(h.get("at"), tz), h.get("stage"), h.get("by")]
         for h in rec["stage_history"]],
        empty="  (no entries)",
    )  # fmt: skip
    if rec["approvals"]:
        render.section("Approvals")
        render.table(
            ["when", "by", ("note", {"wrap": True})],
            [[time_text(a.get("at"), tz), a.get("by"), a.get("note")]
             for a in rec["approvals"]],
        )  # fmt: skip


@app.command("edit")
@common.with_options(
    _deal_options,
    common.record_options,
    common.record_edit_options,
    common.unset_option("deal"),
    common.editor_option,
    common.format_option,
)
def edit_cmd(
    ctx: typer.Context,
    ref: common.DealRef,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    customer: Annotated[str | None, common.ref_option("customer", "--customer", "-c")] = None,
    remove_line: Annotated[
        list[str] | None, typer.Option(help="Remove a line: its sku or number (1 = first).")
    ] = None,
    replace_lines: Annotated[
        bool, typer.Option("--replace-lines", help="The --line options replace all lines.")
    ] = False,
    **options: Any,
) -> None:
    """Change a deal. --tag and --line add; changing lines or amount re-checks approval.

    Example: crm deal edit "Pump order" --remove-line PUMP-100 --line PUMP-200:2:950
    """
    from crmcli import deals

    if common.edit_in_editor(ctx, "deal", ref):
        return
    changes = common.change_set(ctx, edit=True)
    store = common.get_store()
    before, rec, reasons = common.mutate("deal", ref, lambda s, r: (r, *deals.edit(s, r, changes)))
    _approval_message(store, rec, reasons)
    common.confirm_updated(options["fmt"], "deal", before, rec)


@app.command("quote")
def quote_cmd(
    ref: common.DealRef,
    output: Annotated[
        str | None,
        common.output_option("FILE.pdf or FILE.html (default: Q-<deal id>-<n>.pdf here)."),
    ] = None,
    valid_until: Annotated[
        str | None,
        typer.Option(
            help="Valid until WHEN (2026-12-31, +2w); default: 30 days.", show_default=False
        ),
    ] = None,
    lang: Annotated[
        QuoteLang | None,  # type: ignore[valid-type]
        typer.Option(
            help="en, zh or de; default: by the customer's country, else en.", show_default=False
        ),
    ] = None,
) -> None:
    """A quote for the customer to sign, from the deal's lines: numbered Q-<deal id>-<n>,
    with taxes and totals; refused while the deal needs a price approval. Each quote is
    an entry of kind quote on the deal's timeline.

    Example: crm deal quote "Pump replacement 2027" -o q.pdf --valid-until +2w --lang de
    """
    from crmcli import quotes, refs
    from crmcli.errors import CrmError
    from crmcli.store import atomic_write, user_path

    store = common.get_store()
    with store.lock():
        rec = refs.resolve(store, "deal", ref)
        q = quotes.make(store, rec, valid_until, getattr(lang, "value", lang))
        name = output or f"{q['number']}.pdf"
        data = quotes.document(q, name, store.root)
        try:
            atomic_write(user_path(name, "--output"), data)
        except OSError as e:
            raise CrmError(f"cannot write {name}: {e.strerror}") from None
        quotes.record(store, q, name)
    total = quotes.totals(q)[-1]
    print(
        f"Quote {q['number']} for deal {rec['id']} ({rec['title']}): {total[1]} {q['currency']} -> {name}"
    )


@app.command("order")
def order_cmd(
    ref: common.DealRef,
    fmt: Annotated[
        OrderFormat | None,  # type: ignore[valid-type]
        typer.Option(
            "--format",
            "-f",
            help="json, csv or orderx (Order-X XML). Default: from the --output name, else json.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[str | None, common.output_option("Write to FILE instead of stdout.")] = None,
) -> None:
    """The order of a won deal as the ERP takes it (the same deal, the same order).

    Example: crm deal order "Pump order" --format orderx --output O-pump.xml
    """
    from crmcli import orders, refs
    from crmcli.errors import CrmError
    from crmcli.store import atomic_write, user_path

    store = common.get_store()
    chosen = fmt.value if fmt else orders.format_of(output)
    data = orders.encode(orders.order(store, refs.resolve(store, "deal", ref)), chosen)
    if output is None or output == "-":
        from crmcli.render import raw

        raw(sys.stdout).write(data.decode("utf-8"))  # data for programs: as is
        return
    try:
        atomic_write(user_path(output, "--output"), data)
    except OSError as e:
        raise CrmError(f"cannot write {output}: {e.strerror}") from None
    print(f"Wrote the order to {output}", file=sys.stderr)


@app.command("move")
def move_cmd(
    ref: common.DealRef,
    stage: Annotated[
        str, typer.Argument(help="An open stage of the pipeline.", show_default=False)
    ],
) -> None:
    """Move an open deal to another stage of the pipeline (see crm deal stages).

    Example: crm deal move "Pump order" negotiation
    """
    from crmcli import deals

    rec = common.mutate("deal", ref, lambda s, r: deals.move(s, r, stage))
    print(f"Moved deal {rec['id']} ({rec['title']}) to {stage}")


@app.command("won")
def won_cmd(ref: common.DealRef) -> None:
    """Close a deal as won (refused while it needs a price approval).

    Example: crm deal won "Pump order"
    """
    from crmcli import deals

    rec = common.mutate("deal", ref, deals.win)
    print(f"Won deal {rec['id']} ({rec['title']})")


@app.command("lost")
def lost_cmd(ref: common.DealRef, reason: ReasonOpt = None) -> None:
    """Close a deal as lost, with the reason (required).

    Example: crm deal lost "Pump order" --reason "went with a cheaper supplier"
    """
    from crmcli import deals

    text = common.read_text_arg(reason) if reason == "-" else reason
    rec = common.mutate("deal", ref, lambda s, r: deals.lose(s, r, text))
    print(f"Lost deal {rec['id']} ({rec['title']}): {rec['lost_reason']}")


@app.command("reopen")
def reopen_cmd(
    ref: common.DealRef,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Reopen in this stage instead.")
    ] = None,
) -> None:
    """Reopen a won or lost deal in its last open stage.

    Example: crm deal reopen "Pump order"
    """
    from crmcli import deals

    rec = common.mutate("deal", ref, lambda s, r: deals.reopen(s, r, stage))
    print(f"Reopened deal {rec['id']} ({rec['title']}) in stage {rec['stage']}")


@app.command("approve")
def approve_cmd(
    ref: common.DealRef,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who approves (one of settings approvers; default: you)."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why it is fine.")] = None,
) -> None:
    """Approve a deal priced below its floor or beyond max_discount.

    Example: crm deal approve "Pump order" --by alice --note "strategic account"
    """
    from crmcli import deals

    rec = common.mutate("deal", ref, lambda s, r: deals.approve(s, r, by or s.ctx.user, note))
    print(f"Approved deal {rec['id']} ({rec['title']}) by {rec['approvals'][-1]['by']}")


@app.command("snooze")
def snooze_cmd(
    ref: common.DealRef,
    until: Annotated[
        str | None,
        typer.Argument(
            help="The day it is back (2026-12-01, +2w, next monday).", show_default=False
        ),
    ] = None,
    reason: ReasonOpt = None,
    clear: Annotated[bool, typer.Option("--clear", help="End the snooze.")] = False,
) -> None:
    """Keep an open deal off the stalled-deals report until a day, with a reason.

    Example: crm deal snooze "Pump order" 2027-01-10 --reason "budget frozen until January"
    """
    from crmcli import deals
    from crmcli.errors import CrmError

    if clear:
        rec = common.mutate("deal", ref, deals.unsnooze)
        print(f"Deal {rec['id']} ({rec['title']}) is no longer snoozed")
        return
    if until is None:
        raise CrmError("say until when: crm deal snooze REF UNTIL --reason TEXT (or --clear)")
    text = common.read_text_arg(reason) if reason == "-" else reason
    rec = common.mutate("deal", ref, lambda s, r: deals.snooze(s, r, until, text))
    print(f"Snoozed deal {rec['id']} ({rec['title']}) until {rec['snoozed_until']}")


common.add_note_command(app, "deal", 'crm deal note "Pump order" "Sent the revised quote"')
common.add_assign_command(app, "deal", "tasks", 'crm deal assign "Pump order" bob --with-open-work')
common.add_rm_command(
    app,
    "deal",
    """Remove a deal and its timeline. Refuses while tasks or leads link to it.

    Example: crm deal rm "Old quote" --force
    """,
    linked_from="tasks or leads",
)
