"""crm history (a record's changes, from git) and crm undo (the last crm commit)."""

from typing import Annotated, Any

import typer

from crmcli import models
from crmcli.commands.common import (
    LimitOpt,
    ShowFormat,
    ShowFormatOpt,
    choices,
    default_limit,
    get_store,
)

RecordKind = choices("RecordKind", [k for k in models.KINDS if k != "activity"])
# --kind of the commands that find a record of any kind by REF (history, resolve).
RecordKindOpt = Annotated[
    RecordKind | None,  # type: ignore[valid-type]
    typer.Option("--kind", "-k", help="Look only among this kind of record.", show_default=False),
]


def history_command(
    ref: Annotated[
        str,
        typer.Argument(
            help="The record: id, id prefix (4+), name, title or e-mail, or a unique part of a name or title.",
            show_default=False,
        ),
    ],
    kind: RecordKindOpt = None,
    limit: LimitOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Show what changed in a record, field by field, who and when (from git), newest first.

    REF may name a customer, lead, deal or task; when it matches records of several
    kinds, say which with --kind. A removed record is found by its full id.

    Example: crm history "Pump order" --kind deal
    """
    from crmcli import render
    from crmcli.git.history import record_history

    store = get_store()
    kind_name, rid, relpath, title = find_record(store, ref, kind.value if kind else None)
    entries = record_history(store.root, relpath, limit=limit or None)
    if fmt == ShowFormat.json:
        render.print_json(entries)
        return
    print(f"History of {kind_name} {rid}: {title} ({relpath})")
    if not entries:
        render.message("no history: the file is not in git yet")
        return
    n = default_limit(limit)
    shown = entries[:n] if n else entries
    for e in shown:
        print()
        print(_headline(store, e))
        for line in _change_lines(e):
            print(line)
    if len(entries) > len(shown):
        render.message(f"{len(entries) - len(shown)} more not shown (--limit 0 shows all)")


def find_record(
    store: Any, ref: str, kind: str | None, *, live: bool = False
) -> tuple[str, str, str, str]:
    """(kind, id, path relative to the CRM root, display name) of the record REF;
    unless `live`, also a removed one that git remembers (by its full id)."""
    from crmcli import models, refs
    from crmcli.errors import AmbiguousError, CrmError, NotFoundError
    from crmcli.git.history import find_deleted
    from crmcli.store import ID_RE

    kinds = [kind] if kind else ["customer", "lead", "deal", "task"]
    found, ambiguous = refs.across(store, kinds, ref)
    if len(found) == 1 and not ambiguous:
        k, rec = found[0]
        return k, rec["id"], store.rel(store.path(k, rec["id"])), models.display_name(k, rec)
    if len(ambiguous) == 1 and not found:
        raise ambiguous[0][1]
    if found or ambiguous:
        lines = [f"  {k:<8} {r['id']}  {models.display_name(k, r)}" for k, r in found]
        for k, e in ambiguous:
            lines += [f"  {k:<8}{line}" for line in e.details]
        raise AmbiguousError(
            f"'{ref}' matches records of several kinds; say which with --kind", lines
        )
    low = ref.strip().lower()
    if ID_RE.match(low) and not live:
        gone = [(k, p) for k, p in find_deleted(store.root, low) if k in kinds]
        if len(gone) == 1:
            return gone[0][0], low, gone[0][1], "(removed)"
        if len(gone) > 1:
            raise CrmError(
                f"'{ref}' was a removed record of several kinds; say which with --kind",
                [f"  {k:<8} {p}" for k, p in gone],
            )
    what = kind or "customer, lead, deal or task"
    raise NotFoundError(f"no {what} matches '{ref}'")


def _headline(store: Any, e: dict) -> str:
    from crmcli.dates import parse_iso
    from crmcli.formats import time_text

    if e["commit"] is None:
        return f"(not committed)  {e['action']}"
    try:
        when = time_text(parse_iso(e["date"], store.ctx.tz).astimezone(store.ctx.tz))
    except (ValueError, TypeError):
        when = e["date"]
    head = f"{when}  {e['author']}  "
    tail = f"  [{e['commit'][:7]}]"
    room = max(80 - len(head) - len(tail), 20)
    message = e["message"] if len(e["message"]) <= room else e["message"][: room - 1] + "…"
    return head + message + tail


def _short(value: Any, width: int = 60) -> str:
    from crmcli.encode import scalar_text

    if value is None:
        text = "null"
    elif (scalar := scalar_text(value)) is not None:
        text = scalar
    elif isinstance(value, list):
        text = ", ".join(_short(v, width) for v in value) or "[]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {_short(v, width)}" for k, v in value.items()) + "}"
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _change_lines(e: dict, width: int = 80) -> list[str]:
    """One line per changed field: `field  old → new` (lists: +added -removed)."""
    lines = []
    if e.get("problem"):
        lines.append(f"  ! {e['problem']}")
    if e["action"] == "deleted":
        lines.append("  (record removed)")
    elif e["action"] == "created":
        lines.append("  (record created)")
    elif e["action"] == "changed" and not e["changes"]:
        lines.append("  (no field changed)")
    for c in e["changes"]:
        name, old, new = c["field"], c["old"], c["new"]
        head = f"  {name:<14} "
        room = max(width - len(head), 20)
        if e["action"] == "created":
            desc = _short(new, room)
        elif isinstance(old, list) or isinstance(new, list):
            old_items = old if isinstance(old, list) else []
            new_items = new if isinstance(new, list) else []
            plus = [f"+{_short(x, room - 1)}" for x in new_items if x not in old_items]
            minus = [f"-{_short(x, room - 1)}" for x in old_items if x not in new_items]
            desc = " ".join(plus + minus) or "(reordered)"
        else:
            half = (room - 3) // 2
            desc = (
                f"{_short(old, half)} → {_short(new, room - 3 - min(len(_short(old, half)), half))}"
            )
        lines.append(head + (desc if len(desc) <= room else desc[: room - 1] + "…"))
    return lines


def undo_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be undone; change nothing.")
    ] = False,
) -> None:
    """Undo the last change crm committed (autocommit).

    Its files go back as they were, in a new commit. Refuses when a newer commit touched the same files.

    An import is one commit, so undo takes back the whole batch.

    Example: crm undo --dry-run
    """
    from crmcli.git.undo import apply_undo, plan_undo

    store = get_store()
    with store.lock():
        plan = plan_undo(store.root)
        c = plan.commit
        files = [p for _, p in plan.files]
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        if dry_run:
            print(f'Would undo {c.short} "{c.subject}" by {c.author}: {shown}')
            return
        sha, failure = apply_undo(plan)
        store.invalidate()
    if failure:
        store.warn(f"the files are put back but the undo is not committed: {failure}")
    print(f'Undid {c.short} "{c.subject}" by {c.author}: {len(files)} file(s) put back: {shown}')
