"""Tasks: the domain logic behind `crm task ...`, as plain functions on the store.

What a due means: a task's `due` is an ISO timestamp with its offset. A WHEN
given without a time of day ("friday", "2026-12-01", "+3d") means the END of
that day, 23:59:59 in the CRM's time zone, so a task due today is not overdue at
9am. Such a due is an "all-day" due: tables show only its date, lateness counts
in whole days, and the iCalendar export makes it an all-day entry. A task is
overdue when it is open and its due instant is before now (times compared as
instants, so a reminder run in another zone counts lateness right).

Recurring tasks (`every: 2w`) belong to a series (`series`: the first task's id).
Completing one creates the next occurrence, with an id derived from the series
and the next due date (`<series>-YYYYMMDD`): two people completing the same
occurrence on two clones make the same file, which git merges into one task.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

from crmcli import models, refs
from crmcli.changes import ChangeSet, apply, unchanged
from crmcli.errors import AmbiguousError, CrmError, DateError
from crmcli.models import Record
from crmcli.store import Store, fold

END_OF_DAY = time(23, 59, 59)
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
TIER_RANK = {"A": 0, "B": 1, "C": 2}
STATUS_FILTERS = (*models.TASK_STATUSES, "all")
# Timeline entries that are bookkeeping, not contact with the customer.
NOT_CONTACT = {"assign", "merge"}


# ----- dues ---------------------------------------------------------------------------


def parse_due(store: Store, text: str) -> datetime:
    """A WHEN for a due: a date without a time means the end of that day."""
    return store.ctx.parse_when(text, end_of_day=True)


def due_of(task: Record, tz: tzinfo) -> datetime | None:
    """The task's due as an aware datetime (None when it has none); a due written
    without an offset is in `tz`, the CRM's zone."""
    value = task.get("due")
    if not value:
        return None
    from crmcli.dates import parse_iso

    return parse_iso(value, tz)


def due_ts(task: Record, tz: tzinfo) -> float | None:
    """The due as a POSIX timestamp (None when no due): the fast path for sorting
    and filtering many tasks."""
    value = task.get("due")
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.tzinfo is None:  # "Z", or no offset written by hand
        from crmcli.dates import parse_iso

        dt = parse_iso(value, tz)
    return dt.timestamp()


def is_all_day(due: datetime) -> bool:
    """A due entered as a date only (end of that day, in its own offset)."""
    return due.time() == END_OF_DAY


def late_by(due: datetime, now: datetime, tz: tzinfo) -> str | None:
    """How late a due is at `now` ('3d', '2h 5m'), or None when it is not late.

    An all-day due is late by whole days, counted in the CRM's zone."""
    from crmcli.dates import humanize_delta

    if due >= now:
        return None
    if is_all_day(due):
        days = (now.astimezone(tz).date() - due.date()).days
        return f"{max(days, 1)}d"
    return humanize_delta(now - due)


def due_label(due: datetime | None, tz: tzinfo, now: datetime | None = None) -> str:
    """A due for people, in the CRM's zone: '2026-12-01' or '2026-12-01 14:00';
    given `now`, shorter within its year: 'Dec 01' or 'Dec 01 14:00'."""
    if due is None:
        return ""
    local = due if is_all_day(due) else due.astimezone(tz)
    short = now is not None and local.year == now.astimezone(tz).year
    from crmcli.formats import clock_text, day_text

    text = day_text(local, short=short)
    return text if is_all_day(due) else f"{text} {clock_text(local)}"


# ----- links: names and the customer a task is for -------------------------------------


class Links:
    """Customers, leads and deals by id, loaded once (no per-task resolve): their
    light fields only (models.LIGHT_FIELDS: names, links, tier, cadence)."""

    def __init__(
        self,
        customers: dict[str, Record] | None = None,
        leads: dict[str, Record] | None = None,
        deals: dict[str, Record] | None = None,
    ) -> None:
        self.customers = customers or {}
        self.leads = leads or {}
        self.deals = deals or {}

    @classmethod
    def load(cls, store: Store) -> Links:
        tables = [
            {r["id"]: r for r in store.query(kind, fields=models.LIGHT_FIELDS[kind])}
            for kind in ("customer", "lead", "deal")
        ]
        return cls(*tables)

    @classmethod
    def for_tasks(cls, store: Store, page: Sequence[Record]) -> Links:
        """Only what these few tasks link to, each record read by itself (following
        merges): for the page of a long list that a table shows."""
        links = cls()
        for kind, table in (
            ("customer", links.customers),
            ("lead", links.leads),
            ("deal", links.deals),
        ):
            _load_into(store, kind, {t.get(kind) for t in page}, table)
        return links

    def customer_of(self, task: Record) -> str | None:
        """The customer a task is for: its own link, else its deal's or lead's customer."""
        if task.get("customer"):
            return task["customer"]
        deal = self.deals.get(task.get("deal") or "")
        if deal and deal.get("customer"):
            return deal["customer"]
        lead = self.leads.get(task.get("lead") or "")
        if lead and lead.get("customer"):
            return lead["customer"]
        return None

    def tier_of(self, task: Record) -> str | None:
        cust = self.customers.get(self.customer_of(task) or "")
        return cust.get("tier") if cust else None

    def linked(self, task: Record) -> tuple[str, str, str] | None:
        """(kind, id, name) of what the task is linked to, or None."""
        for kind, table in (
            ("customer", self.customers),
            ("deal", self.deals),
            ("lead", self.leads),
        ):
            rid = task.get(kind)
            if rid:
                rec = table.get(rid)
                return kind, rid, models.display_name(kind, rec) if rec else rid
        return None


def _load_into(store: Store, kind: str, ids: set[str | None], table: dict[str, Record]) -> None:
    """The light fields of records `ids` of `kind` into `table`, each read by itself."""
    fields = models.LIGHT_FIELDS[kind]
    for rid in ids - {None, ""}:
        try:
            rec = store.load(kind, rid)  # type: ignore[arg-type]
        except CrmError:
            continue  # missing or broken: the id is shown instead of a name
        table[rid] = {f: rec.get(f) for f in fields}  # type: ignore[index]


# ----- ordering -----------------------------------------------------------------------


def by_urgency(tasks: Iterable[Record], tz: tzinfo) -> list[Record]:
    """Most urgent first, the order of `task list` (index.ORDER, the one definition
    of it): overdue first (most late first), then by due time, then priority,
    created, id; no due last. Overdue-most-late-first and then due time ascending
    are one order: the earliest due instant first."""
    from crmcli.dates import parse_iso
    from crmcli.index import columns, list_key

    def key(task: Record) -> tuple:
        cols = columns("task", task, fold, lambda v: parse_iso(v, tz).timestamp())
        return list_key(cols[2], cols[4])

    return sorted(tasks, key=key)


def by_complaint_rank(tasks: Iterable[Record], links: Links, tz: tzinfo) -> list[Record]:
    """Complaints: customer tier (A, B, C, then none), then severity, then age (oldest first)."""
    from crmcli.dates import parse_iso

    def key(t: Record) -> tuple[Any, ...]:
        created = parse_iso(t["created"], tz).timestamp() if t.get("created") else 0.0
        return (
            TIER_RANK.get(links.tier_of(t) or "", 9),
            SEVERITY_RANK.get(t.get("severity") or "", 9),
            created,
            t["id"],
        )

    return sorted(tasks, key=key)


class TaskFilter(NamedTuple):
    """What `task list` keeps: a status (or "all"), only the open tasks past due,
    those due at or before a time, of an owner, a kind, a customer (through the
    task's deal or lead too) or a deal (ids)."""

    status: str = "open"
    overdue: bool = False
    due_before: datetime | None = None
    owner: str | None = None
    kind: str | None = None
    customer: str | None = None
    deal: str | None = None

    def where(self, now: datetime) -> dict[str, Any]:
        """Store.query's conditions for the filters the index answers."""
        limit = now if self.overdue else None
        if self.due_before is not None:
            inclusive = self.due_before + timedelta(seconds=1)  # dues are stored to the second
            limit = inclusive if limit is None else min(limit, inclusive)
        status = "open" if self.overdue and self.status == "all" else self.status
        return {
            "status": None if status == "all" else status,
            "owner": self.owner,
            "deal": self.deal,
            "due_before": limit,
        }


def select(
    tasks: Iterable[Record], now: datetime, f: TaskFilter, links: Links | None = None
) -> list[Record]:
    """The tasks that pass `f` (customer: through the task's deal or lead too, which
    needs the links)."""
    _check_status(f.status)
    if f.customer is not None and links is None:
        raise ValueError("filtering by customer needs the links")
    now_ts = now.timestamp()
    before_ts = f.due_before.timestamp() if f.due_before is not None else None
    out = []
    for t in tasks:
        if f.status != "all" and t.get("status") != f.status:
            continue
        if f.owner is not None and t.get("owner") != f.owner:
            continue
        if f.kind is not None and t.get("kind") != f.kind:
            continue
        if f.deal is not None and t.get("deal") != f.deal:
            continue
        if f.customer is not None and links.customer_of(t) != f.customer:  # type: ignore[union-attr]
            continue
        if f.overdue or before_ts is not None:
            ts = due_ts(t, now.tzinfo)  # type: ignore[arg-type]
            if ts is None or (f.overdue and (t.get("status") != "open" or ts >= now_ts)):
                continue
            if before_ts is not None and ts > before_ts:
                continue
        out.append(t)
    return out


def list_tasks(
    store: Store, now: datetime, f: TaskFilter, links: Links | None = None
) -> Sequence[Record]:
    """The tasks `task list` shows, in its order: most urgent first (by_urgency),
    complaints by rank. Without a kind or customer filter the index answers alone,
    with each task's JSON line (render.JsonRecords: a record is parsed only when
    read, so a table of 50 of 30,000 overdue tasks loads 50). `links`: Links.load's,
    if the caller has them."""
    _check_status(f.status)
    if f.overdue and f.status not in ("open", "all"):
        return []  # only open tasks are overdue
    where = f.where(now)
    if f.kind is None and f.customer is None:
        from crmcli.encode import JsonRecords

        return JsonRecords(store.query("task", where, order="list", json=True))
    if links is None and (f.customer is not None or f.kind == "complaint"):
        links = Links.load(store)
    complaints = f.kind == "complaint"  # (ranked below: no list order needed)
    found = select(store.query("task", where, order=None if complaints else "list"), now, f, links)
    return by_complaint_rank(found, links, store.ctx.tz) if complaints else found  # type: ignore[arg-type]


def _check_status(status: str) -> None:
    if status not in STATUS_FILTERS:
        raise CrmError(f"status '{status}' must be one of {', '.join(STATUS_FILTERS)}")


# ----- finding one task ---------------------------------------------------------------


def resolve(store: Store, ref: str, prefer: str = "open") -> Record:
    """A task by REF (crmcli.refs). When it matches several tasks of one title (a
    recurring series keeps its title), the single one with status `prefer` wins."""
    try:
        return refs.resolve(store, "task", ref)
    except AmbiguousError as e:
        titles = {fold(str(t.get("title") or "")) for t in e.candidates}
        same = [t for t in e.candidates if t.get("status") == prefer]
        if len(titles) == 1 and len(same) == 1:
            return store.load("task", same[0]["id"])
        raise


# ----- writing ------------------------------------------------------------------------


def _check_choice(name: str, value: str | None, allowed: list[str]) -> None:
    if value is not None and value not in allowed:
        raise CrmError(f"{name} '{value}' must be one of {', '.join(allowed)}")


def parse_every(text: str) -> str:
    """A recurrence interval (1d, 2w, 1m, 1y): checked, returned in its short form."""
    from crmcli.dates import parse_duration

    rd = parse_duration(text)
    if rd.hours or rd.minutes:
        raise CrmError(f"a recurrence of '{text}' is shorter than a day (try 1d, 2w, 1m)")
    return "".join(text.lower().split())


def _link_ids(
    store: Store, customer: str | None, lead: str | None, deal: str | None
) -> dict[str, str | None]:
    given = [n for n, v in (("--customer", customer), ("--lead", lead), ("--deal", deal)) if v]
    if len(given) > 1:
        raise CrmError(f"a task links to one record: use one of {', '.join(given)}")
    return {
        "customer": refs.resolve(store, "customer", customer)["id"] if customer else None,
        "lead": refs.resolve(store, "lead", lead)["id"] if lead else None,
        "deal": refs.resolve(store, "deal", deal)["id"] if deal else None,
    }


def _check_task(rec: Record) -> None:
    if rec.get("severity") and rec.get("kind") != "complaint":
        raise CrmError("severity is for complaints (use --kind complaint)")
    if rec.get("every") and not rec.get("due"):
        raise CrmError("a recurring task needs a due date (--due)")


def _check(store: Store, changes: ChangeSet) -> None:
    """Check and clean the title, choices, due, recurrence and links (REFs) a change
    set gives: a link given replaces the task's link (a task links to one record)."""
    from crmcli.dates import iso

    changes.clean_text("title", required="a task needs a title")
    _check_choice("priority", changes.set.get("priority"), models.PRIORITIES)
    _check_choice("kind", changes.set.get("kind"), models.TASK_KINDS)
    _check_choice("severity", changes.set.get("severity"), models.SEVERITIES)
    if changes.set.get("due") is not None:
        changes.set["due"] = iso(parse_due(store, changes.set["due"]))
    if changes.set.get("every") is not None:
        changes.set["every"] = parse_every(changes.set["every"])
    links = {k: changes.set.get(k) for k in ("customer", "lead", "deal")}
    if any(links.values()):
        changes.set.update(_link_ids(store, **links))


def _set_kind(rec: Record, changes: ChangeSet) -> None:
    """A complaint has a severity (medium unless given); other kinds have none."""
    kind = changes.set.get("kind")
    if kind is None:
        return
    if kind != "complaint" and rec.get("kind") == "complaint" and "severity" not in changes.set:
        changes.set["severity"] = None
    if kind == "complaint" and not (changes.set.get("severity") or rec.get("severity")):
        changes.set["severity"] = "medium"


def add(store: Store, changes: ChangeSet, *, say: bool = True) -> tuple[Record, list[str]]:
    """Create a task from a change set (REFs for the link); returns it and warnings.
    `say`: record the commit message (False: the caller says what it did as a whole)."""
    from crmcli.store import new_id

    changes.set.setdefault("title", "")
    _check(store, changes)
    rid = new_id()
    rec = models.new_record("task", id=rid, owner=store.ctx.user, series=None)
    _set_kind(rec, changes)
    rec = apply("task", rec, changes)
    if rec["every"]:
        rec["series"] = rid
    _check_task(rec)
    warnings = []
    due = due_of(rec, store.ctx.tz)
    if due is not None and due < store.ctx.now():
        warnings.append(f"the due {due_label(due, store.ctx.tz)} is in the past")
    rec = store.save("task", rec, create=True)
    if say:
        store.note_change(f'task: add "{rec["title"]}"')
    return rec, warnings


def next_due(task: Record, now: datetime, tz: tzinfo, start: datetime | None = None) -> datetime:
    """The next occurrence of a recurring task after `now` and after its own due:
    the series' `start` (the first task's due; else this task's) plus the interval
    k times, each counted from the start, so a monthly series begun on the 31st stays
    on the last day of each month (31 Jan, 28 Feb, 31 Mar). Past occurrences are
    skipped. Counted in the CRM's zone, so 09:00 stays 09:00 across a DST change."""
    from crmcli.dates import parse_duration

    step = parse_duration(task["every"])
    own = due_of(task, tz)
    base = start or own
    if base is None:
        base = datetime.combine(now.astimezone(tz).date(), END_OF_DAY, tzinfo=tz)
    elif is_all_day(base):
        base = datetime.combine(base.date(), END_OF_DAY, tzinfo=tz)
    else:
        base = base.astimezone(tz)
    after = max(now, own) if own else now
    k = 1
    while True:
        candidate = base + step * k
        # normalise the offset for the wall time (zoneinfo after arithmetic)
        candidate = candidate.replace(tzinfo=tz)
        if candidate > after:
            return candidate
        k += 1
        if k > 100000:  # a guard, never reached with intervals of a day or more
            raise CrmError(f"cannot find the next occurrence of task {task['id']}")


def series_start(store: Store, task: Record) -> datetime | None:
    """The due of the first task of `task`'s series (None when it is gone or broken)."""
    series = task.get("series")
    if not series or series == task["id"] or not store.exists("task", series):
        return None
    try:
        return due_of(store.load("task", series), store.ctx.tz)
    except CrmError:
        return None


def occurrence_id(series: str, due: datetime) -> str:
    return f"{series}-{due.strftime('%Y%m%d')}"


def done(store: Store, task: Record) -> tuple[Record, Record | None, bool]:
    """Complete a task. A recurring one gets its next occurrence; returns
    (task, next occurrence or None, whether the next one existed already)."""
    from crmcli.dates import check_range, iso

    if task.get("status") == "done":
        raise CrmError(f"task {task['id']} ({task['title']}) is done already")
    now = store.ctx.now()
    nxt: Record | None = None
    existed = False
    if task.get("every"):
        try:
            parse_every(task["every"])
        except CrmError as e:
            raise CrmError(f"tasks/{task['id']}.yaml: every: {e.message}") from None
        due = next_due(task, now, store.ctx.tz, series_start(store, task))
        check_range(due, iso(due), "the next occurrence")  # before anything is written
        series = task.get("series") or task["id"]
        nid = occurrence_id(series, due)
        if store.exists("task", nid):
            nxt, existed = store.load("task", nid), True
        else:
            fields = {
                k: task.get(k)
                for k in ("title", "priority", "kind", "severity", "customer", "lead", "deal")
            }
            nxt = models.new_record(
                "task",
                id=nid,
                due=iso(due),
                owner=task.get("owner"),
                every=task["every"],
                series=series,
                **fields,
            )
            try:
                nxt = store.save("task", nxt, create=True)
            except CrmError:
                if not store.exists("task", nid):
                    raise
                nxt, existed = store.load("task", nid), True
    rec = dict(task, status="done", done_at=iso(now))
    if task.get("every") and not task.get("series"):
        rec["series"] = task["id"]
    next_on = (
        f"; next on {due_label(due_of(nxt, store.ctx.tz), store.ctx.tz)}" if nxt is not None else ""
    )
    store.note_change(f'task: done "{rec["title"]}"{next_on}')
    return store.save("task", rec), nxt, existed


def cancel(store: Store, task: Record) -> Record:
    """Call off an open task (it stays on file, status cancelled). A recurring one
    makes no next occurrence: its series ends here."""
    if task.get("status") != "open":
        raise CrmError(f"task {task['id']} ({task['title']}) is {task['status']}, not open")
    rec = store.save("task", dict(task, status="cancelled", done_at=None))
    store.note_change(f'task: cancel "{rec["title"]}"')
    return rec


def reopen(store: Store, task: Record) -> Record:
    if task.get("status") == "open":
        raise CrmError(f"task {task['id']} ({task['title']}) is open already")
    rec = store.save("task", dict(task, status="open", done_at=None))
    store.note_change(f'task: reopen "{rec["title"]}"')
    return rec


def snooze(store: Store, task: Record, when: str) -> Record:
    """Move an open task's due to WHEN (from now; a date alone: end of that day)."""
    from crmcli.dates import iso

    if task.get("status") != "open":
        raise CrmError(f"task {task['id']} ({task['title']}) is {task['status']}; reopen it first")
    due = parse_due(store, when)
    if due <= store.ctx.now():
        raise CrmError(f"cannot snooze to '{when}': that is not in the future")
    rec = store.save("task", dict(task, due=iso(due)))
    store.note_change(f'task: snooze "{rec["title"]}" to {due_label(due, store.ctx.tz)}')
    return rec


def edit(store: Store, task: Record, changes: ChangeSet) -> Record:
    """Change a task by a change set. A link given (customer, lead or deal) replaces
    the old one."""
    _check(store, changes)
    _set_kind(task, changes)
    rec = apply("task", task, changes)
    if changes.set.get("every"):
        rec["series"] = rec.get("series") or rec["id"]
    _check_task(rec)
    if unchanged("task", task, rec):
        return task
    rec = store.save("task", rec)
    store.note_change(f'task: edit "{rec["title"]}"')
    return rec


# ----- stay in touch ------------------------------------------------------------------


def contact_due(
    store: Store,
    now: datetime,
    *,
    owner: str | None = None,
    customer: str | None = None,
    links: Links | None = None,
) -> list[Record]:
    """Customers with a cadence whose last contact (an entry on its timeline, a typed
    entry such as a call on one of its deals or leads, or a done task; else their
    created time) is at least a cadence ago, most overdue first.
    Each is the customer record plus `last_contact` (or null) and `contact_due`."""
    from crmcli.dates import iso, parse_duration, parse_iso

    tz = store.ctx.tz
    links = links or Links.load(store)
    wanted = [
        c["id"]
        for c in links.customers.values()
        if c.get("cadence")
        and (owner is None or c.get("owner") == owner)
        and (customer is None or c["id"] == customer)
    ]
    if not wanted:
        return []
    customers = store.query("customer", {"id": set(wanted)})
    ids = {c["id"] for c in customers}
    last: dict[str, datetime] = {}

    def seen(cid: str | None, value: str | None) -> None:
        if cid in ids and value:
            try:
                at = parse_iso(value, tz)
            except ValueError:
                return
            if cid not in last or at > last[cid]:
                last[cid] = at

    from crmcli.activities import contact_kinds

    typed = set(contact_kinds(store.settings))
    via = {r["id"]: r["customer"] for table in (links.deals, links.leads)
           for r in table.values() if r.get("customer") in ids}  # fmt: skip
    on_them = store.query(
        "activity", {"on": ids | via.keys()}, fields=models.LIGHT_FIELDS["activity"]
    )
    for a in on_them:
        on = a.get("on")
        if on in ids:
            if a.get("kind") not in NOT_CONTACT:
                seen(on, a.get("at"))
        elif a.get("kind") in typed:  # a call logged on one of its deals or leads
            seen(via[on], a.get("at"))
    for t in store.query(
        "task", {"status": "done"}, fields=("customer", "lead", "deal", "done_at")
    ):
        seen(links.customer_of(t), t.get("done_at"))
    out = []
    for c in customers:
        try:
            cadence = parse_duration(c["cadence"])
        except DateError:
            store.warn(f"customers/{c['id']}.yaml: cadence '{c['cadence']}' is not a duration")
            continue
        base = last.get(c["id"]) or parse_iso(c["created"], tz)
        due_at = base.astimezone(tz) + cadence
        if due_at <= now:
            out.append(
                {
                    **c,
                    "last_contact": iso(last[c["id"]]) if c["id"] in last else None,
                    "contact_due": iso(due_at),
                }
            )
    out.sort(key=lambda r: (parse_iso(r["contact_due"], tz).timestamp(), r["id"]))
    return out


def end_of_today(now: datetime, tz: tzinfo) -> datetime:
    return datetime.combine(now.astimezone(tz).date(), END_OF_DAY, tzinfo=tz)
