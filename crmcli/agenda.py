"""What needs attention, section by section: the data of `crm today` and of
`crm task remind` (crmcli.reminders lists the sections each shows, SECTIONS).

Every builder takes one Ask (the store, now, the window of tasks, whose work,
whose approval, the light links read once) and returns a list of JSON-ready
items, most pressing first. They read through Store.query: index conditions and
projections (light fields), loading whole only the records they return.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, NamedTuple

from crmcli.models import Record
from crmcli.store import Store
from crmcli.tasks import Links

SOON_DAYS = 7  # `crm today`: deals whose close date is at most this many days away


class Ask(NamedTuple):
    """What the sections are built for: tasks due up to `until`, the work of `owner`
    (None: everyone's), deals waiting for `approver`'s approval (None: anyone's)."""

    store: Store
    now: datetime
    until: datetime
    owner: str | None
    approver: str | None
    links: Links

    @property
    def tz(self) -> tzinfo:
        return self.store.ctx.tz

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def customer_name(self, rec: Record) -> str | None:
        cust = self.links.customers.get(rec.get("customer") or "")
        return cust["name"] if cust else None

    def linked(self, task: Record) -> dict[str, str] | None:
        link = self.links.linked(task)
        return {"kind": link[0], "id": link[1], "name": link[2]} if link else None


def tasks_due(ask: Ask) -> list[dict[str, Any]]:
    """Open tasks overdue or due by `until`, most urgent first; each with `overdue`,
    `late` ("2d", "30m" or null) and `linked` ({kind, id, name} or null)."""
    from crmcli.tasks import due_of, late_by

    where = {"status": "open", "owner": ask.owner, "due_before": ask.until + timedelta(seconds=1)}
    out = []
    for t in ask.store.query("task", where, order="list"):
        due = due_of(t, ask.tz)
        if due is None or due > ask.until:  # (a hand-written due with a fraction of a second)
            continue
        out.append(
            {
                **t,
                "overdue": due < ask.now,
                "late": late_by(due, ask.now, ask.tz),
                "linked": ask.linked(t),
            }
        )
    return out


def complaints(ask: Ask) -> list[dict[str, Any]]:
    """Open complaints, dated or not, by the tier of their customer, then severity,
    then age (tasks.by_complaint_rank); each with `tier` and `linked`."""
    from crmcli.tasks import by_complaint_rank

    light = ask.store.query(
        "task", {"status": "open", "owner": ask.owner}, fields=("id", "kind", "created", "severity",
                                                                "customer", "lead", "deal")
    )  # fmt: skip
    ranked = by_complaint_rank([t for t in light if t["kind"] == "complaint"], ask.links, ask.tz)
    whole = _whole(ask.store, "task", [t["id"] for t in ranked])
    return [{**t, "tier": ask.links.tier_of(t), "linked": ask.linked(t)} for t in whole]


def _whole(store: Store, kind: str, ids: list[str]) -> list[Record]:
    """The whole records `ids` of `kind`, in that order (one query)."""
    if not ids:
        return []
    found = {r["id"]: r for r in store.query(kind, {"id": set(ids)})}
    return [found[i] for i in ids if i in found]


def _close_date(deal: Record, store: Store) -> date | None:
    text = deal.get("close_date")
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        store.warn(f"deals/{deal['id']}.yaml: close_date '{text}' is not YYYY-MM-DD")
        return None


def _closing_before(ask: Ask, before: date) -> list[dict[str, Any]]:
    """Open deals whose close date is before the day `before`, most past first; each
    with `customer_name` and `days_past_close` (negative: days still to go)."""
    midnight = datetime.combine(before, time(), tzinfo=ask.tz)  # the index: closing before
    out = []
    where = {"status": "open", "owner": ask.owner, "due_before": midnight}
    for d in ask.store.query("deal", where):
        closes = _close_date(d, ask.store)
        if closes is not None and closes < before:
            days = (ask.today - closes).days
            out.append({**d, "customer_name": ask.customer_name(d), "days_past_close": days})
    out.sort(key=lambda d: (-d["days_past_close"], d["id"]))
    return out


def deals_past_close(ask: Ask) -> list[dict[str, Any]]:
    """Open deals past their close date."""
    return _closing_before(ask, ask.today)


def deals_closing(ask: Ask) -> list[dict[str, Any]]:
    """Open deals past their close date or closing within SOON_DAYS days."""
    return _closing_before(ask, ask.today + timedelta(days=SOON_DAYS + 1))


def _needing_approval(ask: Ask, keep: Any) -> list[dict[str, Any]]:
    """Open deals that need approval and pass `keep(light deal)`, biggest first."""
    ids = [
        d["id"]
        for d in ask.links.deals.values()  # (the light deals, read once)
        if d.get("status") == "open" and d.get("needs_approval") and keep(d)
    ]
    out = [{**d, "customer_name": ask.customer_name(d)} for d in _whole(ask.store, "deal", ids)]
    out.sort(key=lambda d: (-(d.get("amount") or 0), d["id"]))
    return out


def big_deals_awaiting_approval(ask: Ask) -> list[dict[str, Any]]:
    """The owner's deals at or above settings big_deal that wait for approval."""
    big = Decimal(str(ask.store.settings.get("big_deal", 100000)))
    return _needing_approval(
        ask,
        lambda d: (
            (ask.owner is None or d.get("owner") == ask.owner)
            and isinstance(d.get("amount"), (int, Decimal))
            and d["amount"] >= big
        ),
    )


def awaiting_my_approval(ask: Ask) -> list[dict[str, Any]]:
    """Deals of anyone that wait for approval, when `approver` is one of settings
    approvers (None: every such deal)."""
    if ask.approver is not None and ask.approver not in (ask.store.settings.get("approvers") or []):
        return []
    return _needing_approval(ask, lambda d: True)


def contact_due(ask: Ask) -> list[dict[str, Any]]:
    """The owner's customers due for contact by their cadence (tasks.contact_due)."""
    from crmcli.tasks import contact_due as due

    return due(ask.store, ask.now, owner=ask.owner, links=ask.links)


def stalled(ask: Ask) -> list[dict[str, Any]]:
    """The owner's stalled deals, as `report stalled` lists them (oldest first)."""
    from crmcli.reports.base import Scope
    from crmcli.reports.stalled import stalled as report

    store = ask.store
    deals = store.query("deal", {"status": "open", "owner": ask.owner})
    entries = store.query("activity", {"on": {d["id"] for d in deals}}) if deals else []
    customers = list(ask.links.customers.values())
    scope = Scope(store.settings, ask.now.astimezone(ask.tz), owner=ask.owner)
    return report(deals, entries, customers, scope)["deals"]
