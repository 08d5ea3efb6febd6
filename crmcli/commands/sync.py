"""crm sync (pull --rebase, push), crm resolve (a conflict sync kept) and crm
merge-driver (how git merges record files during sync)."""

from pathlib import Path
from typing import Annotated

import typer

from crmcli import models
from crmcli.commands.common import (
    get_store,
)
from crmcli.commands.history import RecordKindOpt, find_record


def sync_command() -> None:
    """Share changes with the team: pull with rebase, then push.

    Record files are merged field by field by crm's merge driver.

    When both sides changed the same field, the later change wins and the other
    value is kept in the record under `conflicts`: each one this sync brought is
    listed (record, field, both values); settle it with crm resolve. Registers the
    merge driver in this clone when it is missing.

    Example: crm sync
    """
    from crmcli.git.sync import sync

    store = get_store()
    with store.lock():
        res = sync(store.root)
    if res.driver_registered:
        store.warn("registered crm's merge driver in this clone's git config")
    if res.uncommitted:
        n = len(res.uncommitted)
        store.warn(f"{n} file(s) with uncommitted changes were not synced (see git status)")
    where = f"{res.remote}/{res.branch}"
    if not res.pulled and not res.pushed:
        print(f"Already in sync with {where}.")
    else:
        print(f"Synced with {where}: pulled {res.pulled} commit(s), pushed {res.pushed}.")
    if res.conflicts:
        print(
            f"{len(res.conflicts)} conflict(s) kept; settle each: "
            "crm resolve REF FIELD --keep ours|theirs|VALUE"
        )
        for c in res.conflicts:
            print("  " + _conflict_line(c))


def _conflict_line(c: dict) -> str:
    """`customer 1a2b3c4d "Acme GmbH" owner: ours "dave" (kept), theirs "carol"`"""
    from crmcli.mergedriver import shown_value

    who = f"{c['kind']} {c['id']}" + (f" {shown_value(c['name'], 40)}" if c["name"] else "")
    if c["merged_into"]:
        return (
            f"{who} (merged into {c['merged_into']}) {c['field']}: "
            f"theirs {shown_value(c['theirs'])} (set aside; carry it over by hand)"
        )
    return (
        f"{who} {c['field']}: ours {shown_value(c['ours'])} (kept), "
        f"theirs {shown_value(c['theirs'])}"
    )


def resolve_command(
    ref: Annotated[
        str,
        typer.Argument(
            help="The record: id, id prefix (4+), name, title or e-mail, or a unique part of a name or title.",
            show_default=False,
        ),
    ],
    field: Annotated[
        str,
        typer.Argument(
            help="The field as crm sync and doctor name it (owner, fields.size, "
            "contacts[Li Wei].phones).",
            show_default=False,
        ),
    ],
    keep: Annotated[
        str,
        typer.Option(
            "--keep",
            metavar="ours|theirs|VALUE",
            help="ours: the value the field holds (the merge kept it); theirs: the value "
            "set aside under conflicts; anything else: this value (read as YAML unless "
            "the field holds text).",
            show_default=False,
        ),
    ],
    kind: RecordKindOpt = None,
) -> None:
    """Settle a conflict the merge driver kept: choose the value, remove its entry.

    REF may name a customer, lead, deal or task; when it matches records of several
    kinds, say which with --kind. crm sync lists the conflicts it brings, crm doctor
    all that are left.

    Example: crm resolve "Acme GmbH" owner --keep theirs
    """
    from crmcli import mergedriver
    from crmcli.errors import CrmError

    store = get_store()
    with store.lock():
        kind_name, rid, relpath, title = find_record(
            store, ref, kind.value if kind else None, live=True
        )
        rec = store.load(kind_name, rid)
        try:
            rec, value = mergedriver.settle(rec, field, keep)
        except ValueError as e:
            raise CrmError(f"{relpath}: {e}") from None
        rec = store.save(kind_name, rec)
        shown = mergedriver.shown_value(value)
        store.note_change(f'{kind_name}: resolve {field} of "{title}" (kept {shown})')
    left = len(mergedriver.conflicts_of(rec))
    name = mergedriver.shown_value(models.display_name(kind_name, rec), 40)
    print(
        f"Resolved {field} of {kind_name} {rid} {name}: kept {shown}"
        + (f"; {left} conflict(s) left" if left else "")
    )


def merge_driver_command(
    base: Annotated[
        Path, typer.Argument(help="The common ancestor (git's %O).", show_default=False)
    ],
    ours: Annotated[
        Path,
        typer.Argument(help="Our version; the result is written here (%A).", show_default=False),
    ],
    theirs: Annotated[Path, typer.Argument(help="Their version (%B).", show_default=False)],
    path: Annotated[
        str | None,
        typer.Argument(
            help="The file's path in the repository (%P), for its kind.", show_default=False
        ),
    ] = None,
) -> None:
    """Merge three versions of a record file field by field (git runs this).

    Exit 0 with the result in OURS; exit 1, OURS untouched, when a version cannot be
    read as a record (git then reports a conflict). Registered by crm init --git.

    Example: git config merge.crm.driver "crm merge-driver %O %A %B %P"
    """
    from crmcli import mergedriver
    from crmcli.errors import CrmError

    try:
        mergedriver.merge_files(base, ours, theirs, path)
    except mergedriver.MergeFailed as e:
        raise CrmError(f"cannot merge {path or ours} field by field: {e}; left to git") from None
