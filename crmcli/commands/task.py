"""crm task ...: add, list, show, done, cancel, reopen, snooze, edit, rm, remind, export."""

from enum import Enum
from typing import Annotated, Any

import typer

from crmcli import models
from crmcli.commands import common

app = common.group(
    "Tasks: follow-ups, calls, complaints; the morning reminder for cron.",
    "crm task add 'Call Zhang' --due 'tomorrow 10:00' --customer 张伟",
)


Priority = common.choices("Priority", models.PRIORITIES)
Kind = common.choices("Kind", models.TASK_KINDS)
Severity = common.choices("Severity", models.SEVERITIES)
Status = common.choices("Status", [*models.TASK_STATUSES, "all"])


class RemindFormat(str, Enum):
    text = "text"
    json = "json"


CustomerOpt = Annotated[str | None, common.ref_option("customer", "--customer", "-c")]
LeadOpt = Annotated[str | None, common.ref_option("lead", "--lead")]
DealOpt = Annotated[str | None, common.ref_option("deal", "--deal")]
DueOpt = Annotated[
    str | None,
    typer.Option(
        "--due",
        "-d",
        help="When: today, 'tomorrow 10:00', +3d, 'next monday', 2026-12-01T14:00 ... "
        "(a date alone: the end of that day).",
        show_default=False,
    ),
]
EveryOpt = Annotated[
    str | None,
    typer.Option(help="Repeat every INTERVAL (1d, 2w, 1m) when done.", show_default=False),
]
CSV_COLUMNS = [
    "id", "title", "due", "status", "priority", "kind", "severity", "customer", "lead",
    "deal", "owner", "every", "series", "done_at", "created", "updated",
]  # fmt: skip


def _link_options(customer: CustomerOpt = None, lead: LeadOpt = None, deal: DealOpt = None) -> None:
    """What a task links to (one of them)."""


def _task_options(
    due: DueOpt = None,
    owner: common.OwnerOpt = None,
    severity: Annotated[
        Severity | None,
        typer.Option("--severity", help="For complaints (default medium).", show_default=False),
    ] = None,
    every: EveryOpt = None,
) -> None:
    """The options `task add` and `task edit` share."""


def _v(e: Enum | None) -> Any:
    return e.value if e is not None else None


@app.command("add")
@common.with_options(_task_options, _link_options, common.format_option)
def add_cmd(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What to do.", show_default=False)],
    priority: Annotated[Priority, typer.Option("--priority")] = Priority.normal,
    kind: Annotated[Kind, typer.Option("--kind", "-k")] = Kind.todo,
    **options: Any,
) -> None:
    """Add a task, optionally due, linked to one customer, lead or deal, and recurring.

    Example: crm task add "Call Zhang" --due "tomorrow 10:00" --customer 张伟 --priority high
    """
    from crmcli import tasks

    changes = common.change_set(ctx)
    store = common.get_store()
    with store.lock():
        rec, warnings = tasks.add(store, changes)
    extra = (
        f" (due {tasks.due_label(tasks.due_of(rec, store.ctx.tz), store.ctx.tz)})"
        if rec["due"]
        else ""
    )
    common.confirm_added(options["fmt"], "task", rec, extra, warnings)


def _kind_text(t: dict) -> str:
    """A task's kind for a list: nothing for a todo; a complaint with its severity."""
    if t.get("kind") == "complaint" and t.get("severity"):
        return f"complaint ({t['severity']})"
    return "" if t.get("kind") == "todo" else t.get("kind") or ""


def _link_column(links: Any, t: dict) -> str:
    link = links.linked(t)
    return link[2] if link else ""


@app.command("list")
def list_cmd(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open tasks past due.")] = False,
    due_before: Annotated[
        str | None,
        typer.Option(
            "--due-before",
            help="Only tasks due at or before WHEN (a date alone: to the end of that day).",
            show_default=False,
        ),
    ] = None,
    owner: common.OwnerOpt = None,
    kind: Annotated[Kind | None, typer.Option("--kind", "-k", show_default=False)] = None,
    status: Annotated[Status, typer.Option("--status", help="open, done, cancelled or all.")] = (
        Status.open
    ),
    customer: CustomerOpt = None,
    deal: DealOpt = None,
    due_contact: Annotated[
        bool,
        typer.Option(
            "--due-contact",
            help="List customers due for contact (their --cadence has passed) instead.",
        ),
    ] = False,
    limit: common.LimitOpt = None,
    fmt: common.ListFormatOpt = common.ListFormat.table,
) -> None:
    """List tasks, most urgent first.

    Overdue (most late first), then by due, then priority; no due last. With --kind complaint: by customer tier, severity, age.

    Example: crm task list --overdue --owner alice --format json
    """
    from crmcli import refs, tasks
    from crmcli.errors import CrmError

    store = common.get_store()
    now = store.ctx.now()
    if due_contact:
        if overdue or due_before or kind or deal or status != Status.open:
            raise CrmError("--due-contact lists customers: it takes --owner, --customer, --limit")
        _list_due_contact(store, now, owner, customer, limit, fmt)
        return
    f = tasks.TaskFilter(
        status=status.value,
        overdue=overdue,
        due_before=tasks.parse_due(store, due_before) if due_before else None,
        owner=owner,
        kind=_v(kind),
        customer=refs.resolve(store, "customer", customer)["id"] if customer else None,
        deal=refs.resolve(store, "deal", deal)["id"] if deal else None,
    )
    # complaints: the tiers of the customers of the tasks' deals and leads too
    links = tasks.Links.load(store) if f.kind == "complaint" else None
    records = tasks.list_tasks(store, now, f, links)
    columns, row = _task_columns(store, now, records, fmt, limit, f, links)
    common.output_list(
        records, fmt, columns, row, csv_columns=CSV_COLUMNS, limit=limit, empty="no tasks"
    )


def _task_columns(
    store: Any,
    now: Any,
    records: Any,
    fmt: common.ListFormat,
    limit: int | None,
    f: Any,
    links: Any,
) -> tuple[list[Any], Any]:
    """The table's columns and row function for these tasks (complaints: tier,
    severity, age); output_list leaves out the columns empty or the same on every
    shown row (80 columns are few)."""
    from crmcli import tasks

    n = common.default_limit(limit) if fmt == common.ListFormat.table else 0
    page = records[:n] if n else records
    if links is None:
        links = (
            tasks.Links.for_tasks(store, page) if fmt == common.ListFormat.table else tasks.Links()
        )
    tz = store.ctx.tz
    if f.kind == "complaint":
        columns: list[Any] = [
            "id", ("tier", {"priority": 2}), ("severity", {"priority": 3}), "age", "title",
            ("for", {"priority": 2}), "owner",
        ]  # fmt: skip

        def full_row(t: dict) -> list:
            from crmcli.dates import humanize_delta, parse_iso

            age = humanize_delta(now - parse_iso(t["created"], tz))
            return [t["id"], links.tier_of(t), t["severity"], age, t["title"],
                    _link_column(links, t), t["owner"]]  # fmt: skip
    else:
        columns = [
            "id", ("due", {"priority": 4, "min": 12}), ("late", {"priority": 0}), "pri",
            ("kind", {"priority": 2}), "title", ("for", {"priority": 2}), "owner",
        ]  # fmt: skip

        def full_row(t: dict) -> list:
            due = tasks.due_of(t, tz)
            late = tasks.late_by(due, now, tz) if due and t["status"] == "open" else None
            pri = "" if t["priority"] == "normal" else t["priority"]
            title = t["title"] if t["status"] == "open" else f"{t['title']} ({t['status']})"
            return [t["id"], tasks.due_label(due, tz, now), late or "", pri, _kind_text(t), title,
                    _link_column(links, t), t["owner"]]  # fmt: skip

    return columns, full_row


def _list_due_contact(
    store: Any, now: Any, owner: str | None, customer: str | None, limit: int | None, fmt: Any
) -> None:
    from crmcli import refs, tasks

    cust_id = refs.resolve(store, "customer", customer)["id"] if customer else None
    records = tasks.contact_due(store, now, owner=owner, customer=cust_id)

    def row(c: dict) -> list:
        since = c["last_contact"]
        since = f"{(now - store.ctx.parse_iso(since)).days}d ago" if since else "never"
        return [c["id"], c["name"], c["tier"], c["cadence"], since, c["contact_due"][:10],
                c["owner"]]  # fmt: skip

    columns = ["id", "name", "tier", "cadence", "last contact", "due since", "owner"]
    csv = ["id", "name", "tier", "cadence", "last_contact", "contact_due", "owner"]
    empty = "no customers due for contact"
    common.output_list(records, fmt, columns, row, csv_columns=csv, limit=limit, empty=empty)


@app.command("show")
def show_cmd(ref: common.TaskRef, fmt: common.ShowFormatOpt = common.ShowFormat.table) -> None:
    """Show a task: every field, with the name of what it is linked to, and its timeline.

    Example: crm task show "Call Zhang"
    """
    from crmcli import render, tasks
    from crmcli.commands.customer import timeline_table

    store = common.get_store()
    rec = tasks.resolve(store, ref)
    timeline = store.timeline(rec["id"])
    if fmt == common.ShowFormat.json:
        render.print_json({**rec, "timeline": timeline})
        return
    links = tasks.Links.load(store)
    now = store.ctx.now()
    due = tasks.due_of(rec, store.ctx.tz)
    pairs = [(k, v) for k, v in rec.items()]
    if due is not None and rec["status"] == "open":
        late = tasks.late_by(due, now, store.ctx.tz)
        if late:
            pairs.append(("late", late))
    link = links.linked(rec)
    if link:
        pairs.append(("linked", f"{link[0]} {link[2]} ({link[1]})"))
    render.record_view(pairs, title=f"{rec['title']} ({rec['id']})", tz=store.ctx.tz)
    timeline_table(timeline, store.ctx.tz)


@app.command("done")
def done_cmd(ref: common.TaskRef) -> None:
    """Mark a task done. A recurring one gets its next occurrence (past ones skipped).

    Example: crm task done "Call Zhang"
    """
    from crmcli import tasks

    store = common.get_store()
    rec, nxt, existed = common.mutate("task", ref, tasks.done, _resolve_open)
    print(f"Done task {rec['id']}: {rec['title']}")
    if nxt is not None:
        label = tasks.due_label(tasks.due_of(nxt, store.ctx.tz), store.ctx.tz)
        how = "is already there" if existed else "added"
        print(f"Next occurrence {nxt['id']} due {label} {how}")


@app.command("cancel")
def cancel_cmd(ref: common.TaskRef) -> None:
    """Cancel an open task; `reopen` undoes it.

    The task stays on file, as cancelled. A recurring task makes no next
    occurrence (its series ends here); `done` moves on to the next one instead.

    Example: crm task cancel "Call Zhang"
    """
    from crmcli import tasks

    rec = common.mutate("task", ref, tasks.cancel, _resolve_open)
    print(f"Cancelled task {rec['id']}: {rec['title']}")
    if rec.get("every"):
        print(f"It repeated every {rec['every']}: no next occurrence was made")


@app.command("reopen")
def reopen_cmd(ref: common.TaskRef) -> None:
    """Open a done or cancelled task again.

    Example: crm task reopen "Call Zhang"
    """
    from crmcli import tasks

    rec = common.mutate("task", ref, tasks.reopen, lambda s, r: tasks.resolve(s, r, prefer="done"))
    print(f"Reopened task {rec['id']}: {rec['title']}")


@app.command("snooze")
def snooze_cmd(
    ref: common.TaskRef,
    when: Annotated[str, typer.Argument(help="New due: +2d, 'tomorrow 9:00', 'next monday' ...")],
) -> None:
    """Put an open task off until WHEN (a date alone: the end of that day).

    Example: crm task snooze "Call Zhang" "next monday 9:00"
    """
    from crmcli import tasks

    store = common.get_store()
    rec = common.mutate("task", ref, lambda s, r: tasks.snooze(s, r, when), _resolve_open)
    label = tasks.due_label(tasks.due_of(rec, store.ctx.tz), store.ctx.tz)
    print(f"Snoozed task {rec['id']} ({rec['title']}) to {label}")


@app.command("edit")
@common.with_options(
    _task_options,
    _link_options,
    common.unset_option("task"),
    common.editor_option,
    common.format_option,
)
def edit_cmd(
    ctx: typer.Context,
    ref: common.TaskRef,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    priority: Annotated[Priority | None, typer.Option("--priority", show_default=False)] = None,
    kind: Annotated[Kind | None, typer.Option("--kind", "-k", show_default=False)] = None,
    **options: Any,
) -> None:
    """Change a task. A new --customer, --lead or --deal replaces its link.

    Example: crm task edit "Call Zhang" --priority urgent --due "today 16:00"
    """
    from crmcli import tasks

    if common.edit_in_editor(ctx, "task", ref, _resolve_open):
        return
    changes = common.change_set(ctx, edit=True)
    before, rec = common.mutate(
        "task", ref, lambda s, r: (r, tasks.edit(s, r, changes)), _resolve_open
    )
    common.confirm_updated(options["fmt"], "task", before, rec)


def _resolve_open(store: Any, ref: str) -> dict:
    from crmcli import tasks

    return tasks.resolve(store, ref, prefer="open")


common.add_note_command(
    app, "task", 'crm task note "Pump leaks" "Engineer on site, seal replaced"', _resolve_open
)
common.add_rm_command(
    app,
    "task",
    """Remove a task (and its timeline entries, if any).

    Example: crm task rm "Call Zhang"
    """,
    resolve=_resolve_open,
)


@app.command("remind")
def remind_cmd(
    owner: common.OwnerOpt = None,
    within: Annotated[
        str | None,
        typer.Option(
            help="Also what falls due within this time: 4h, 1d (to the end of tomorrow), 1w. "
            "Default: the rest of today.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        RemindFormat, typer.Option("--format", "-f", help="text (plain, for mail) or json.")
    ] = RemindFormat.text,
    limit: Annotated[
        int, common.per_section_limit("Items per owner and section in text (0: all).")
    ] = 50,
) -> None:
    """What needs attention today, for cron; silent when nothing does.

    Overdue tasks and those due soon (by owner), open deals past their close date,
    big deals waiting for approval, customers due for contact. Prints nothing
    (exit 0) when nothing does, so `mail -E` stays quiet. Each owner's section
    lists the 50 most urgent items (--limit) and says how many more there are.

    Example: crm task remind --within 1d | mail -E -s "crm: today" me@example.com
    """
    import sys

    from crmcli import reminders, render

    store = common.get_store()
    data = reminders.build(store, owner=owner, within=within)
    if fmt == RemindFormat.json:
        render.print_json(data)
        return
    sys.stdout.write(reminders.to_text(data, store.ctx.tz, limit=max(limit, 0)))


class Component(str, Enum):
    event = "event"
    todo = "todo"


@app.command("export")
def export_cmd(
    ics: Annotated[
        str,
        typer.Option("--ics", metavar="FILE", help="The iCalendar file to write; '-' for stdout."),
    ],
    owner: common.OwnerOpt = None,
    as_: Annotated[
        Component,
        typer.Option("--as", help="event (shown by every calendar) or todo (VTODO)."),
    ] = Component.event,
) -> None:
    """Export open tasks that have a due as an iCalendar file (stable UIDs per task).

    Example: crm task export --ics ~/Calendars/crm.ics --owner alice
    """
    import sys

    from crmcli import calendar_export, tasks
    from crmcli.errors import CrmError
    from crmcli.store import atomic_write

    store = common.get_store()
    records = [
        t
        for t in store.query("task", {"status": "open", "owner": owner}, order="list")
        if t.get("due")
    ]
    data = calendar_export.to_ics(
        records,
        tasks.Links.load(store),
        store.ctx.tz,
        name=f"{store.settings.get('name') or 'crm'} tasks",
        component=as_.value,
    )
    if ics == "-":
        from crmcli.render import raw

        out = raw(sys.stdout)  # a calendar for programs: the bytes as is
        if hasattr(out, "buffer"):
            out.flush()
            out.buffer.write(data)
        else:
            out.write(data.decode("utf-8"))
        out.flush()
        return
    from crmcli.store import user_path

    path = user_path(ics, "--ics")
    try:
        atomic_write(path, data)
    except OSError as e:
        raise CrmError(f"cannot write {ics}: {e.strerror}") from None
    from crmcli.render import message

    message(f"Wrote {len(records)} task(s) to {ics}")
