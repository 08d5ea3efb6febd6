"""Owners: each salesperson's deals (plan) against their tasks (execution).

Rules (documented in README, section reports):
- Owners listed: settings owners plus every owner of a deal or task (null owner
  last, as `owner: null`); --owner keeps one.
- open: deals open now (the window does not apply). won, lost, won_amount and
  avg_cycle_days: deals closed (closed_at) in the window; a cycle is created to
  closed_at of a won deal.
- Targets (settings targets; crmcli.reports.targets): per owner, and the team's
  in `total`, for the periods that hold today or --period.
- Tasks: done on time (done_at at or before due; a due without a time means the
  end of that day) and done late, counted when done_at is in the window; overdue:
  open tasks whose due is before now. Tasks without a due date, and cancelled
  tasks, are not counted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crmcli.models import Record
from crmcli.reports import base


class _Row:
    def __init__(self) -> None:
        self.open = self.won = self.lost = 0
        self.won_amount: base.Money = {}
        self.cycles: list[timedelta] = []
        self.on_time = self.late = self.overdue = 0

    def merge(self, other: _Row) -> None:
        for k in ("open", "won", "lost", "on_time", "late", "overdue"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        base.merge_money(self.won_amount, other.won_amount)
        self.cycles += other.cycles

    def as_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "won": self.won,
            "lost": self.lost,
            "win_rate": base.percent(self.won, self.won + self.lost),
            "won_amount": base.money(self.won_amount),
            "avg_cycle_days": base.average_days(self.cycles),
            "tasks_on_time": self.on_time,
            "tasks_late": self.late,
            "tasks_overdue": self.overdue,
        }


# The fields of a deal that the report reads (the caller may pass only these).
DEAL_FIELDS = ("id", "owner", "status", "closed_at", "amount", "currency", "created", "stage",
               "close_date")  # fmt: skip
TASK_FIELDS = ("owner", "status", "due", "done_at")


def owners(
    deals: list[Record],
    tasks: list[Record],
    scope: base.Scope,
    *,
    period: str | None = None,
) -> dict[str, Any]:
    """The report; `period` (YYYY-MM or YYYY-Qn): the target period to show (None:
    those that hold today)."""
    from crmcli.reports.targets import TEAM, targets_of

    settings, now, owner = scope.settings, scope.now, scope.owner
    tz = scope.tz
    window = scope.window
    rows: dict[str | None, _Row] = {o: _Row() for o in settings.get("owners") or []}

    def row(rec: Record) -> _Row | None:
        who = rec.get("owner")
        if owner is not None and who != owner:
            return None
        return rows.setdefault(who, _Row())

    for deal in deals:
        r = row(deal)
        if r is None:
            continue
        status = deal.get("status")
        if status == "open":
            r.open += 1
            continue
        closed = base.timestamp(deal.get("closed_at"), tz)
        if status not in ("won", "lost") or closed is None or closed not in window:
            continue
        if status == "lost":
            r.lost += 1
            continue
        r.won += 1
        base.add_money(r.won_amount, base.currency_of(deal, settings), base.amount_of(deal))
        created = base.timestamp(deal.get("created"), tz)
        if created is not None and closed >= created:
            r.cycles.append(closed - created)

    for task in tasks:
        r = row(task)
        if r is None:
            continue
        due = base.deadline(task.get("due"), tz)
        if due is None:
            continue
        if task.get("status") == "open":
            if due < now:
                r.overdue += 1
        elif task.get("status") == "done":
            done = base.timestamp(task.get("done_at"), tz)
            if done is not None and done in window:
                if done <= due:
                    r.on_time += 1
                else:
                    r.late += 1

    if owner is not None:
        rows = {owner: rows.get(owner) or _Row()}
    total = _Row()
    for r in rows.values():
        total.merge(r)
    order = sorted((o for o in rows if o is not None), key=str.casefold)
    if None in rows:
        order.append(None)
    return {
        **scope.head("owners"),
        "owners": [
            {
                "owner": o,
                **rows[o].as_dict(),
                "targets": targets_of(deals, scope, o, period) if o is not None else [],
            }
            for o in order
        ],  # fmt: skip
        "total": {**total.as_dict(), "targets": targets_of(deals, scope, TEAM, period)},
    }
