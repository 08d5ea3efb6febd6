"""crm log KIND REF TEXT: record a call, meeting, e-mail, chat or visit in one line."""

from typing import Annotated

import typer

from crmcli.commands.common import (
    ShowFormat,
    ShowFormatOpt,
    get_store,
    read_text_arg,
    record_label,
)


def log_command(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Argument(
            help="call, meeting, email, chat, visit, or one of settings activity_kinds.",
            show_default=False,
        ),
    ],
    ref: Annotated[
        str,
        typer.Argument(
            help="The customer, lead or deal (id, name, e-mail); customer:REF, lead:REF "
            "or deal:REF when it names several.",
            show_default=False,
        ),
    ],
    text: Annotated[str, typer.Argument(help="What happened; '-' reads it from stdin.")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="When it happened (default now), e.g. 'today 9:30', 'yesterday 15:00'."
        ),
    ] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="How it ended.")] = None,
    next_: Annotated[
        str | None,
        typer.Option(
            "--next",
            help="Also add a follow-up task due WHEN, linked to the same record.",
            show_default=False,
        ),
    ] = None,
    next_title: Annotated[
        str | None,
        typer.Option(
            "--next-title",
            help="The follow-up's title (default: Follow up on KIND with NAME).",
            show_default=False,
        ),
    ] = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Log what just happened on a customer, lead or deal, with an optional follow-up task.

    The entry shows with its kind on every timeline (a deal's also on its customer's
    page), counts as activity for report stalled and as contact for cadences.

    Example: crm log call "Acme GmbH" "No answer" --next tomorrow
    """
    from crmcli import activities, models, render, tasks

    if next_title is not None and next_ is None:
        ctx.fail("--next-title names the follow-up task: give --next WHEN with it")
    body = read_text_arg(text)
    store = get_store()
    activities.check_kind(store.settings, kind)  # before REF: the clearer error first
    entry = activities.Entry(kind, body, at, outcome, next_, next_title)
    with store.lock():
        target_kind, rec = activities.resolve_target(store, ref)
        activity, task = activities.log(store, target_kind, rec, entry)
    if fmt == ShowFormat.json:
        entry = {name: activity.get(name) for name, _type in models.SCHEMAS["activity"]
                 if name not in models.MAIL_FIELDS}  # fmt: skip
        render.print_json({**entry, "task": task})
        return
    print(f"Logged {kind} on {record_label(target_kind, rec)} as {activity['id']}")
    if task is not None:
        due = tasks.due_label(tasks.due_of(task, store.ctx.tz), store.ctx.tz)
        print(f"Added task {task['id']}: {task['title']} (due {due})")
