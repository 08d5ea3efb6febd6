"""crm today: what to do now, on one screen (the sections of crmcli.reminders)."""

from typing import Annotated, Any

import typer

from crmcli.commands.common import (
    OwnerOpt,
    ShowFormat,
    ShowFormatOpt,
    get_store,
    per_section_limit,
)

ROWS = 10  # rows per section in the table, by default


def today_command(
    ctx: typer.Context,
    owner: OwnerOpt = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="Everyone's work, not only yours (or --owner's).")
    ] = False,
    limit: Annotated[
        int,
        per_section_limit(
            f"Rows per section in the table (0: all; default {ROWS}). JSON lists all."
        ),
    ] = ROWS,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """What to do now: your tasks overdue and due today, open complaints, deals past
    or within a week of their close date, deals waiting for your approval, customers
    due for contact, stalled deals.

    For the acting user (CRM_USER, settings user, git user.name, login name);
    --owner NAME for someone else's day, --all for everyone's. Each section says
    how many items it has; an empty one is a line saying nothing is there.

    Example: crm today --format json
    """
    from crmcli import reminders, render

    if owner is not None and everyone:
        ctx.fail("--owner and --all: give one of them")
    store = get_store()
    who = None if everyone else owner or store.ctx.user
    data = reminders.build(store, owner=who, view=reminders.TODAY, approver=who)
    data = {"now": data.pop("now"), "until": data.pop("until"), "owner": who, **data}
    if fmt == ShowFormat.json:
        render.print_json(data)
        return
    from crmcli.formats import time_text

    print(f"Today, {time_text(store.ctx.now(), weekday=True)}, for {who or 'everyone'}")
    for section in reminders.sections(reminders.TODAY):
        _show(section, data[section.key], store, limit, everyone)


def _show(section: Any, items: list[dict], store: Any, limit: int, everyone: bool) -> None:
    """One section: its heading with the count and a table of its first `limit` items
    (the owner column only for everyone's work), or one line when it is empty."""
    from crmcli import render

    if not items:
        print(f"\n{section.title}: nothing")
        return
    now, tz = store.ctx.now(), store.ctx.tz
    columns = list(section.columns)
    rows = [section.row(item, now, tz) for item in (items[:limit] if limit else items)]
    if not everyone:
        keep = [i for i, c in enumerate(columns) if (c if isinstance(c, str) else c[0]) != "owner"]
        columns = [columns[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    render.section(f"{section.title} ({len(items)})")
    more = len(items) - len(rows)
    footer = f"{more} more: {section.more}" if more > 0 else None
    render.table(columns, rows, footer=footer, omit_same=True)
