"""crm deal ...: stages, add, list, show, edit, move, won, lost, reopen, approve,
snooze, note, assign, rm."""

import contextlib
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer

from crmcli import models
from crmcli.commands.common import (
    DealRef,
    FieldOpt,
    LimitOpt,
    ListFormat,
    ListFormatOpt,
    OwnerOpt,
    ShowFormat,
    ShowFormatOpt,
    TagOpt,
    check_known,
    choices,
    confirm_added,
    get_store,
    output_list,
    parse_fields,
    read_text_arg,
    ref_option,
)
from crmcli.formats import money_text

app = typer.Typer(
    help=(
        "Deals: the pipeline, product lines, price approvals, won and lost.\n\n"
        "Example: crm deal list --closing-before 2026-12-31"
    ),
    no_args_is_help=True,
)


StatusFilter = choices("StatusFilter", [*models.DEAL_STATUSES, "all"])


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


def _customer_id(store: Any, ref: str | None) -> str | None:
    return None if ref is None else store.resolve("customer", ref)["id"]


def _approval_message(store: Any, rec: dict, reasons: list[str]) -> None:
    from crmcli import deals

    if rec.get("needs_approval"):
        store.warn(
            f"deal {rec['id']} needs a price approval: {'; '.join(reasons)} "
            f"({deals.approvers_hint(store.settings)}; crm deal approve {rec['id']} --by NAME)"
        )


@app.command("stages")
def stages_cmd(fmt: ShowFormatOpt = ShowFormat.table) -> None:
    """Show the pipeline (settings pipeline) with the number of deals in each stage.

    Stages no longer in the pipeline that still hold open deals are listed as removed.

    Example: crm deal stages --format json
    """
    from crmcli import deals, render

    store = get_store()
    records = store.query("deal", fields=("status", "stage"))
    rows = deals.stage_counts(store.settings, records)
    if fmt == ShowFormat.json:
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
def add_cmd(
    title: Annotated[str, typer.Argument(help="The deal's title.", show_default=False)],
    customer: Annotated[str, ref_option("customer", "--customer", "-c")],
    amount: AmountOpt = None,
    currency: CurrencyOpt = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Open stage (default: the first).")
    ] = None,
    close: CloseOpt = None,
    owner: OwnerOpt = None,
    line: LineOpt = None,
    tag: TagOpt = None,
    field: FieldOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Add a deal for a customer. With --line the amount is the lines' total.

    Lines name products by sku from crm.yaml `products`; a unit price below the
    floor, or more than max_discount below the list price, needs an approval.

    Example: crm deal add "Pump order" --customer "Acme GmbH" --line PUMP-100:3 --close +3w
    """
    from crmcli import deals

    store = get_store()
    check_known(store, "owners", owner, "owner")
    with store.lock():
        cid = _customer_id(store, customer)
        rec, reasons = deals.add(
            store,
            title,
            customer=cid,
            amount=amount,
            currency=currency,
            stage=stage,
            close=close,
            owner=owner,
            lines=line,
            tags=tag,
            fields=parse_fields(field),
        )
    _approval_message(store, rec, reasons)
    extra = f" ({money_text(rec['amount'], rec['currency'])})" if rec["amount"] else ""
    confirm_added(fmt, "deal", rec, extra)


FLAG_MARKS = {"needs-approval": "!", "big": "$", "stage-removed": "?", "snoozed": "z"}
FLAG_WORDS = {
    "needs-approval": "needs approval",
    "big": "big deal",
    "stage-removed": "stage not in the pipeline",
    "snoozed": "snoozed",
}


def _flag_text(flags: list[str]) -> str:
    return ", ".join(FLAG_WORDS[f] for f in flags)


def _deal_columns(
    store: Any, records: list[dict], stage: str | None
) -> tuple[list[Any], Any, list[str]]:
    """The table's columns, its row function and the flags shown: the columns that
    would say the same on every row are left out (80 columns)."""
    from crmcli import deals

    names = {c["id"]: c["name"] for c in store.query("customer", fields=("id", "name"))}
    today = store.now().date()
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
                return date.fromisoformat(text).strftime("%b %d")
        return text

    def amount(d: dict) -> str:
        a, cur = d.get("amount"), None if one_cur else d.get("currency")
        if a is not None and whole:
            return f"{int(a):,}" + (f" {cur}" if cur else "")
        return money_text(a, cur)

    one_line = {"no_wrap": True}
    spec: list[tuple[str, dict, Any, bool]] = [  # header, options, cell, shown
        ("id", one_line, lambda d: d["id"], True),
        # title and customer wrap within the room the other columns leave (80 columns)
        ("title", {"overflow": "fold"}, lambda d: d["title"], True),
        (
            "customer",
            {"overflow": "fold"},
            lambda d: names.get(d.get("customer"), d.get("customer")) or "",
            True,
        ),
        # Columns that would say the same on every row are left out (80 columns).
        ("stage", one_line, lambda d: d.get("stage"), stage is None),
        (
            "amount",  # one currency: named on the total line
            {"justify": "right", "no_wrap": True},
            amount,
            True,
        ),
        (
            "close",
            one_line,
            lambda d: close_label(d.get("close_date")),
            any(d.get("close_date") for d in records),
        ),
        ("owner", one_line, lambda d: d.get("owner"), len({d.get("owner") for d in records}) > 1),
        ("", one_line, lambda d: "".join(FLAG_MARKS[f] for f in flags[d["id"]]), bool(shown_flags)),
    ]
    spec = [s for s in spec if s[3]]
    columns: list[Any] = [(header, opts) for header, opts, _, _ in spec]

    return columns, lambda d: [cell(d) for _, _, cell, _ in spec], shown_flags


@app.command("list")
def list_cmd(
    stage: Annotated[str | None, typer.Option("--stage", help="Only in this stage.")] = None,
    status: Annotated[
        StatusFilter | None,
        typer.Option(help="open (default), won, lost or all.", show_default=False),
    ] = None,
    owner: OwnerOpt = None,
    customer: Annotated[str | None, ref_option("customer", "--customer", "-c")] = None,
    closing_before: Annotated[
        str | None,
        typer.Option(help="Only with a close date on or before this day.", show_default=False),
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only with this tag.")] = None,
    limit: LimitOpt = None,
    fmt: ListFormatOpt = ListFormat.table,
) -> None:
    """List deals (open ones unless --status), in pipeline order, with totals per currency.

    Flags: ! needs a price approval, $ big deal (at or above settings big_deal),
    ? its stage is no longer in the pipeline, z snoozed.

    Example: crm deal list --status all --owner alice --closing-before 2026-12-31 -f csv
    """
    from crmcli import deals

    store = get_store()
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
    columns, row, shown_flags = _deal_columns(store, records, stage)
    output_list(records, fmt, columns, row, csv_columns=CSV_COLUMNS, limit=limit, empty="no deals")
    if fmt == ListFormat.table and records:
        sums, missing = deals.totals(records, store.settings)
        text = ", ".join(money_text(v, c) for c, v in sums.items()) or "nothing"
        extra = f"; {missing} without an amount" if missing else ""
        print(f"Total: {text} ({len(records)} deal(s){extra})")
        if shown_flags:
            print("Flags: " + ", ".join(f"{FLAG_MARKS[f]} {FLAG_WORDS[f]}" for f in shown_flags))


@app.command("show")
def show_cmd(ref: DealRef, fmt: ShowFormatOpt = ShowFormat.table) -> None:
    """Show a deal: fields, flags, lines, stage history, approvals, tasks, timeline.

    Example: crm deal show "Pump order"
    """
    from crmcli import deals, records, render
    from crmcli.commands.customer import show_related
    from crmcli.errors import CrmError
    from crmcli.formats import time_text, yes_no

    store = get_store()
    settings = store.settings
    rec = store.resolve("deal", ref)
    timeline = store.timeline(rec["id"])
    links = records.linked(store, "deal", rec["id"])
    links.pop("deals", None)
    flags = deals.flags(settings, rec, store.now().date())
    probability = deals.stage_probability(settings, rec["stage"])
    try:
        reasons = deals.approval_reasons(settings, rec) if rec["needs_approval"] else []
    except CrmError as e:  # a hand-broken line: show the deal anyway
        reasons = [e.message]
    if fmt == ShowFormat.json:
        render.print_json(
            {**rec, "probability": probability, "flags": flags, "approval_reasons": reasons,
             "timeline": timeline, **links}
        )  # fmt: skip
        return
    customer = None
    if rec.get("customer"):
        try:
            c = store.load("customer", rec["customer"])
            customer = f"{c['name']} ({c['id']})"
        except Exception:  # noqa: BLE001 - a dangling link still shows
            customer = f"{rec['customer']} (missing)"
    stage = rec["stage"]
    if deals.stage_removed(settings, rec):
        stage += " (no longer in the pipeline)"
    elif probability is not None:
        stage += f" ({probability}%)"
    pairs: list[tuple[str, Any]] = []
    for k, v in rec.items():
        if k in ("lines", "stage_history", "approvals", "fields", "title"):
            continue
        if k == "customer":
            v = customer
        elif k == "stage":
            v = stage
        elif k == "amount":
            v = money_text(v, rec.get("currency"))
        elif k == "needs_approval":
            v = f"{yes_no(True)}: {'; '.join(reasons)}" if v else yes_no(False)
        elif k == "snooze_reason" and not v:
            continue
        pairs.append((k, v))
    if flags:
        pairs.insert(1, ("flags", _flag_text(flags)))
    pairs += [(f"fields.{k}", v) for k, v in rec["fields"].items()]
    render.record_view(pairs, title=f"{rec['title']} ({rec['id']})")
    if rec["lines"]:
        render.section("Lines")
        render.table(
            ["#", "sku", ("name", {"overflow": "fold"}), ("qty", {"justify": "right"}),
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
        [[time_text(h.get("at")), h.get("stage"), h.get("by")]
         for h in rec["stage_history"]],
        empty="  (no entries)",
    )  # fmt: skip
    if rec["approvals"]:
        render.section("Approvals")
        render.table(
            ["when", "by", ("note", {"overflow": "fold", "ratio": 1})],
            [[time_text(a.get("at")), a.get("by"), a.get("note")]
             for a in rec["approvals"]],
        )  # fmt: skip
    show_related([], links, timeline)
    if deals.stage_removed(settings, rec):
        store.warn(
            f"stage '{rec['stage']}' is no longer in the pipeline; move the deal with "
            f"crm deal move {rec['id']} STAGE"
        )


@app.command("edit")
def edit_cmd(
    ref: DealRef,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    customer: Annotated[str | None, ref_option("customer", "--customer", "-c")] = None,
    amount: AmountOpt = None,
    currency: CurrencyOpt = None,
    close: CloseOpt = None,
    owner: OwnerOpt = None,
    tag: TagOpt = None,
    remove_tag: Annotated[list[str] | None, typer.Option(help="Remove a tag.")] = None,
    line: LineOpt = None,
    remove_line: Annotated[
        list[str] | None, typer.Option(help="Remove a line: its sku or number (1 = first).")
    ] = None,
    replace_lines: Annotated[
        bool, typer.Option("--replace-lines", help="The --line options replace all lines.")
    ] = False,
    field: FieldOpt = None,
    unset: Annotated[
        list[str] | None,
        typer.Option(help="Clear a field: amount, close, owner, customer, tags, fields.KEY."),
    ] = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Change a deal. --tag and --line add; changing lines or amount re-checks approval.

    Example: crm deal edit "Pump order" --remove-line PUMP-100 --line PUMP-200:2:950
    """
    from crmcli import deals, render

    store = get_store()
    check_known(store, "owners", owner, "owner")
    with store.lock():
        rec = store.resolve("deal", ref)
        rec, reasons = deals.edit(
            store,
            rec,
            title=title,
            customer=_customer_id(store, customer),
            amount=amount,
            currency=currency,
            close=close,
            owner=owner,
            tags=tag,
            remove_tags=remove_tag,
            lines=line,
            remove_lines=remove_line,
            replace_lines=replace_lines,
            fields=parse_fields(field),
            unset=unset,
        )
    _approval_message(store, rec, reasons)
    if fmt == ShowFormat.json:
        render.print_json(rec)
    else:
        print(f"Updated deal {rec['id']}: {rec['title']}")


@app.command("move")
def move_cmd(
    ref: DealRef,
    stage: Annotated[
        str, typer.Argument(help="An open stage of the pipeline.", show_default=False)
    ],
) -> None:
    """Move an open deal to another stage of the pipeline (see crm deal stages).

    Example: crm deal move "Pump order" negotiation
    """
    from crmcli import deals

    store = get_store()
    with store.lock():
        rec = deals.move(store, store.resolve("deal", ref), stage)
    print(f"Moved deal {rec['id']} ({rec['title']}) to {stage}")


@app.command("won")
def won_cmd(ref: DealRef) -> None:
    """Close a deal as won (refused while it needs a price approval).

    Example: crm deal won "Pump order"
    """
    from crmcli import deals

    store = get_store()
    with store.lock():
        rec = deals.win(store, store.resolve("deal", ref))
    print(f"Won deal {rec['id']} ({rec['title']})")


@app.command("lost")
def lost_cmd(ref: DealRef, reason: ReasonOpt = None) -> None:
    """Close a deal as lost, with the reason (required).

    Example: crm deal lost "Pump order" --reason "went with a cheaper supplier"
    """
    from crmcli import deals

    store = get_store()
    text = read_text_arg(reason) if reason == "-" else reason
    with store.lock():
        rec = deals.lose(store, store.resolve("deal", ref), text)
    print(f"Lost deal {rec['id']} ({rec['title']}): {rec['lost_reason']}")


@app.command("reopen")
def reopen_cmd(
    ref: DealRef,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Reopen in this stage instead.")
    ] = None,
) -> None:
    """Reopen a won or lost deal in its last open stage.

    Example: crm deal reopen "Pump order"
    """
    from crmcli import deals

    store = get_store()
    with store.lock():
        rec = deals.reopen(store, store.resolve("deal", ref), stage)
    print(f"Reopened deal {rec['id']} ({rec['title']}) in stage {rec['stage']}")


@app.command("approve")
def approve_cmd(
    ref: DealRef,
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

    store = get_store()
    with store.lock():
        rec = deals.approve(store, store.resolve("deal", ref), by or store.user, note)
    print(f"Approved deal {rec['id']} ({rec['title']}) by {rec['approvals'][-1]['by']}")


@app.command("snooze")
def snooze_cmd(
    ref: DealRef,
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

    store = get_store()
    if clear:
        with store.lock():
            rec = deals.unsnooze(store, store.resolve("deal", ref))
        print(f"Deal {rec['id']} ({rec['title']}) is no longer snoozed")
        return
    if until is None:
        raise CrmError("say until when: crm deal snooze REF UNTIL --reason TEXT (or --clear)")
    text = read_text_arg(reason) if reason == "-" else reason
    with store.lock():
        rec = deals.snooze(store, store.resolve("deal", ref), until, text)
    print(f"Snoozed deal {rec['id']} ({rec['title']}) until {rec['snoozed_until']}")


@app.command("note")
def note_cmd(
    ref: DealRef,
    text: Annotated[str, typer.Argument(help="The note; '-' reads it from stdin.")],
) -> None:
    """Add a note to a deal's timeline (with author and time).

    Example: crm deal note "Pump order" "Sent the revised quote"
    """
    store = get_store()
    body = read_text_arg(text)
    with store.lock():
        rec = store.resolve("deal", ref)
        entry = store.add_activity(rec["id"], "note", body)
        store.note_change(f'deal: note on "{rec["title"]}"')
    print(f"Noted on deal {rec['id']} ({rec['title']}) as {entry['id']}")


@app.command("assign")
def assign_cmd(
    ref: DealRef,
    owner: Annotated[str, typer.Argument(help="The new owner.", show_default=False)],
    with_open_work: Annotated[
        bool, typer.Option("--with-open-work", help="Move its open tasks too.")
    ] = False,
) -> None:
    """Hand a deal over to another owner (recorded on the timeline).

    Example: crm deal assign "Pump order" bob --with-open-work
    """
    from crmcli import records

    store = get_store()
    check_known(store, "owners", owner, "owner")
    with store.lock():
        rec = store.resolve("deal", ref)
        rec, moved = records.assign(store, "deal", rec, owner, with_open_work=with_open_work)
        store.note_change(f'deal: assign "{rec["title"]}" to {owner}')
    extra = f", with {len(moved)} open task(s)" if moved else ""
    print(f"Assigned deal {rec['id']} ({rec['title']}) to {owner}{extra}")


@app.command("rm")
def rm_cmd(
    ref: DealRef,
    force: Annotated[
        bool, typer.Option("--force", help="Remove even if tasks or leads link to it.")
    ] = False,
) -> None:
    """Remove a deal and its timeline. Refuses while tasks or leads link to it.

    Example: crm deal rm "Old quote" --force
    """
    from crmcli import records

    store = get_store()
    with store.lock():
        rec = store.resolve("deal", ref)
        unlinked = records.remove(store, "deal", rec, force=force)
        store.note_change(f'deal: remove "{rec["title"]}"')
    extra = f"; unlinked {len(unlinked)} record(s)" if unlinked else ""
    print(f"Removed deal {rec['id']} ({rec['title']}){extra}")
