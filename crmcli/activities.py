"""Typed timeline entries: `crm log KIND REF TEXT` records a call, meeting, e-mail,
chat or visit (plus settings `activity_kinds`) on a customer, lead or deal, with
an optional outcome, a time in the past, and a follow-up task made in the same step.

A typed entry is an activity whose `kind` is one of those contact kinds: timelines
show it with its kind, `report stalled` counts an entry on a deal as the deal's
activity, and cadences count an entry on a customer, or on one of its leads or
deals, as contact with the customer (tasks.contact_due).

`merged_timeline` puts the entries of several records in one timeline, each saying
where it was made: the customer's page (`customer show`) is built on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from crmcli import models
from crmcli.errors import AmbiguousError, CrmError, DateError, NotFoundError
from crmcli.models import Record
from crmcli.store import Store, fold

# The kinds of record an entry can be logged on, in the order a REF is tried.
TARGETS = ("customer", "lead", "deal")
WHERE_NAME = 16  # characters of a record's name that `where_text` shows


def contact_kinds(settings: dict[str, Any]) -> list[str]:
    """The kinds `crm log` takes: call, meeting, email, chat, visit, then settings
    `activity_kinds`."""
    extra = [k for k in settings.get("activity_kinds") or [] if k not in models.CONTACT_KINDS]
    return [*models.CONTACT_KINDS, *extra]


def check_kind(settings: dict[str, Any], kind: str) -> str:
    """`kind` when `crm log` takes it; else a CrmError listing the kinds."""
    kinds = contact_kinds(settings)
    if kind not in kinds:
        raise CrmError(
            f"unknown activity kind '{kind}': use one of {', '.join(kinds)} "
            "(more with settings activity_kinds)"
        )
    return kind


# ----- which record: a customer, lead or deal --------------------------------------------


def _became(hits: list[tuple[str, Record]]) -> list[tuple[str, Record]]:
    """`hits` without a converted lead whose customer is among them (the lead became it)."""
    ids = {rec["id"] for _kind, rec in hits}
    return [
        (kind, rec)
        for kind, rec in hits
        if not (kind == "lead" and rec.get("status") == "converted" and rec.get("customer") in ids)
    ]


def resolve_target(store: Store, ref: str) -> tuple[str, Record]:
    """(kind, record) of the customer, lead or deal `ref` names. `KIND:REF`
    (customer:, lead:, deal:) asks one kind. Otherwise each kind is asked: an exact
    match (id, name or title, e-mail) wins over a looser one; a converted lead gives
    way to the customer it became; several candidates are an AmbiguousError listing
    them with their kinds, none a NotFoundError."""
    from crmcli import refs

    head, sep, rest = ref.partition(":")
    if sep and head.strip().lower() in TARGETS and rest.strip():
        kind = head.strip().lower()
        return kind, refs.resolve(store, kind, rest.strip())
    found, ambiguous = refs.across(store, TARGETS, ref)
    found = _became(found)
    if len(found) == 1 and not ambiguous:
        return found[0]
    if found or ambiguous:
        lines = [f"  {k} {r['id']}  {models.display_name(k, r)}" for k, r in found]
        lines += [f"  {k} {line.strip()}" for k, e in ambiguous for line in e.details]
        raise AmbiguousError(
            f"'{ref}' matches more than one customer, lead or deal; "
            "write customer:REF, lead:REF or deal:REF, or use an id",
            lines,
        )
    near = [(k, r) for k in TARGETS for r in refs.near(store, k, fold(ref.strip()))]
    lines = [f"  {k} {r['id']}  {models.display_name(k, r)}" for k, r in near[: refs.NEAR]]
    raise NotFoundError(
        f"no customer, lead or deal matches '{ref}'", ["Did you mean:", *lines] if lines else []
    )


# ----- logging -------------------------------------------------------------------------


class Entry(NamedTuple):
    """What `crm log` records: the kind, the text, when (a WHEN; None: now), the
    outcome, and a follow-up task due `next` (a WHEN) titled `next_title`."""

    kind: str
    text: str
    at: str | None = None
    outcome: str | None = None
    next: str | None = None
    next_title: str | None = None


def _when(store: Store, text: str | None) -> str | None:
    """--at as a stored timestamp: now or earlier (what happened, not what will)."""
    from crmcli.dates import iso

    if text is None:
        return None
    try:
        at = store.ctx.parse_when(text)
    except DateError as e:
        raise DateError(f"--at: {e.message}") from None
    if at > store.ctx.now():
        raise CrmError(
            f"--at '{text}' is in the future: log what happened (--next plans what will)"
        )
    return iso(at)


def log(store: Store, kind: str, rec: Record, entry: Entry) -> tuple[Record, Record | None]:
    """Record `entry` on `rec` (a customer, lead or deal of `kind`), and its follow-up
    task linked to the same record when `entry.next` is given: everything is checked
    before anything is written, and the change is one commit message. Hold the lock.
    Returns (timeline entry, task or None)."""
    from crmcli import tasks
    from crmcli.changes import ChangeSet
    from crmcli.dates import iso

    check_kind(store.settings, entry.kind)
    text = entry.text.strip()
    if not text:
        raise CrmError("the text is empty")
    at = _when(store, entry.at)
    name = models.display_name(kind, rec)
    task = None
    message = f'log: {entry.kind} on {kind} "{name}"'
    if entry.next is not None:
        try:
            due = tasks.parse_due(store, entry.next)
        except DateError as e:
            raise DateError(f"--next: {e.message}") from None
        title = (entry.next_title or "").strip() or f"Follow up on {entry.kind} with {name}"
        changes = ChangeSet.of(
            title=title,
            due=iso(due),
            kind=entry.kind if entry.kind in models.TASK_KINDS else "todo",
            **{kind: rec["id"]},
        )
        task, warnings = tasks.add(store, changes, say=False)
        for w in warnings:
            store.warn(w)
        message += f'; follow-up "{task["title"]}" due {tasks.due_label(due, store.ctx.tz)}'
    outcome = (entry.outcome or "").strip() or None
    activity = store.add_activity(rec["id"], entry.kind, text, at=at, outcome=outcome)
    store.note_change(message)
    return activity, task


# ----- one timeline of several records ---------------------------------------------------


def merged_timeline(store: Store, places: Iterable[tuple[str, Record]]) -> list[Record]:
    """The entries on every record of `places` ((kind, record) pairs, the first the one
    whose page it is), newest first, each with `where`: {kind, id, name} of the record
    it was made on. A lead's entry copied to its customer when it was converted (same
    kind, text, author and time) shows once, on the customer."""
    where = {
        rec["id"]: {"kind": kind, "id": rec["id"], "name": models.display_name(kind, rec)}
        for kind, rec in places
    }
    entries = store.timelines(where)
    own = next(iter(where), None)
    seen = {
        (a.get("kind"), a.get("text"), a.get("by"), a.get("at")) for a in entries if a["on"] == own
    }
    out = []
    for a in entries:
        copied = (a.get("kind"), a.get("text"), a.get("by"), a.get("at")) in seen
        if a["on"] != own and where[a["on"]]["kind"] == "lead" and copied:
            continue
        out.append({**a, "where": where[a["on"]]})
    return out


def where_text(entry: Record, here: str | None = None) -> str:
    """Where an entry of a merged timeline was made, for people: `deal Pump order`;
    `here` for the record whose page it is."""
    place = entry.get("where")
    if not place:
        return ""
    if place["id"] == here:
        return place["kind"]
    name = (
        place["name"] if len(place["name"]) <= WHERE_NAME else place["name"][: WHERE_NAME - 1] + "…"
    )
    return f"{place['kind']} {name}"
