"""Stalled deals: open deals where nothing has happened for a while.

Rules (documented in README, section reports):
- A deal's last activity is the latest of: its last stage change (stage
  history), its latest timeline entry (activities on the deal), its creation.
- Stalled: open, and the last activity is N days old or older (--days, else
  settings stall_days). Oldest first.
- A deal snoozed until a day after today (snoozed_until > today) is left off and
  counted in `snoozed`; it comes back on the snoozed_until day.
- A deal in a stage no longer in the pipeline is listed like any other, with
  `known_stage: false`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from crmcli.errors import CrmError
from crmcli.models import Record
from crmcli.reports import base


def stalled(
    deals: list[Record],
    activities: list[Record],
    customer_records: list[Record],
    scope: base.Scope,
    *,
    days: int | None = None,
) -> dict[str, Any]:
    settings, now, owner = scope.settings, scope.now, scope.owner
    tz = scope.tz
    limit = days if days is not None else settings.get("stall_days", 14)
    if limit < 0:
        raise CrmError(f"--days must be at least 0 (got {limit})")
    idle_for = timedelta(days=float(Decimal(str(limit))))
    today = now.date()
    stages = {name for name, _ in base.pipeline(settings)}
    names = {c["id"]: c.get("name") for c in customer_records}
    latest = _latest_activity(activities, tz)

    rows: list[tuple[datetime, dict[str, Any]]] = []
    total = base.Tally()
    snoozed = 0
    for deal in deals:
        if deal.get("status") != "open" or not base.owned(deal, owner):
            continue
        until = base.day(deal.get("snoozed_until"))
        if until is not None and until > today:
            snoozed += 1
            continue
        candidates = _moves(deal, tz)
        if deal["id"] in latest:
            candidates.append(latest[deal["id"]])
        if not candidates:
            continue
        last, what = max(candidates, key=lambda c: c[0])
        if now - last < idle_for:
            continue
        cur, amount = base.currency_of(deal, settings), base.amount_of(deal)
        total.add(cur, amount)
        rows.append(
            (
                last,
                {
                    "id": deal["id"],
                    "title": deal.get("title"),
                    "customer": deal.get("customer"),
                    "customer_name": names.get(deal.get("customer")),
                    "owner": deal.get("owner"),
                    "stage": deal.get("stage"),
                    "known_stage": deal.get("stage") in stages,
                    "amount": amount,
                    "currency": cur,
                    "close_date": deal.get("close_date"),
                    "last_activity_at": last.isoformat(timespec="seconds"),
                    "last_activity": what,
                    "idle_days": (now - last).days,
                },
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]["id"]))
    return {
        **scope.head("stalled", window=False),
        "days": limit,
        "deals": [r for _, r in rows],
        "total": total.as_dict(),
        "snoozed": snoozed,
    }


def _latest_activity(activities: list[Record], tz: Any) -> dict[str, tuple[datetime, str]]:
    """{record id: (when, what)} of the newest timeline entry on each record."""
    latest: dict[str, tuple[datetime, str]] = {}
    for a in activities:
        at = base.timestamp(a.get("at"), tz)
        if at is None:
            continue
        text = f"{a.get('kind') or 'note'}: {a.get('text') or ''}".strip()
        on = a.get("on")
        if on not in latest or at > latest[on][0]:
            latest[on] = (at, text)
    return latest


def _moves(deal: Record, tz: Any) -> list[tuple[datetime, str]]:
    """(when, what) of a deal's creation and its stage moves."""
    found: list[tuple[datetime, str]] = []
    created = base.timestamp(deal.get("created"), tz)
    if created is not None:
        found.append((created, "created"))
    for entry in deal.get("stage_history") or []:
        at = base.timestamp(entry.get("at"), tz) if isinstance(entry, dict) else None
        if at is not None:
            found.append((at, f"stage: {entry.get('stage')}"))
    return found
