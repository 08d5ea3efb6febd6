"""Customers by won revenue (Pareto / ABC), and writing the tiers back.

Rules (documented in README, section reports):
- Revenue: the amounts of won deals whose closed_at is in the window, per
  currency. --owner keeps the customers of that owner (customer.owner).
- Ranking, in each currency apart (amounts in two currencies cannot be added):
  revenue high to low, then name, then id. `cumulative_share` is this
  customer's revenue plus everything ranked before it, over the currency's total.
- Tier in a currency: A while the cumulative share *before* the customer is
  below 80% (so the customer that crosses 80% is A), B while it is below 95%,
  else C. Customers with equal revenue get the tier of the first of them.
  A customer's tier is its best tier over the currencies; no revenue: C.
- A deal of a customer merged into another (a tombstone; a deal from another
  clone can still point at it) counts for the customer it was merged into.
- Won deals with no customer, or a customer that is not on file, are counted in
  `without_customer` and left out of the ranking.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from crmcli.models import Record
from crmcli.reports import base

A_SHARE = Fraction(80, 100)
B_SHARE = Fraction(95, 100)


# The fields of a customer that the report reads (the caller may pass only these).
CUSTOMER_FIELDS = ("id", "name", "owner", "tier", "tier_manual")


def customers(
    customer_records: list[Record],
    deals: list[Record],
    scope: base.Scope,
    *,
    merged: list[Record] | None = None,
) -> dict[str, Any]:
    """The ranking; `merged` are the tombstones of merged-away customers
    (Store.query where merged), each naming the customer it was merged into."""
    settings, now, owner = scope.settings, scope.now, scope.owner
    tz = scope.tz
    into = {t["id"]: t["merged_into"] for t in merged or []}
    window = scope.window
    on_file = {c["id"] for c in customer_records}
    people = {c["id"]: c for c in customer_records if owner is None or c.get("owner") == owner}
    revenue: dict[str, base.Money] = {cid: {} for cid in people}
    purchases = dict.fromkeys(people, 0)
    last_won: dict[str, datetime] = {}
    without = base.Tally()

    for deal in deals:
        if deal.get("status") != "won":
            continue
        closed = base.timestamp(deal.get("closed_at"), tz)
        if closed is None or closed not in window:
            continue
        cid = deal.get("customer")
        seen: set[str] = set()
        while cid in into and cid not in seen:  # a chain of merges; never a loop
            seen.add(cid)
            cid = into[cid]
        cur, amount = base.currency_of(deal, settings), base.amount_of(deal)
        if cid not in people:
            if cid not in on_file and (owner is None or deal.get("owner") == owner):
                without.add(cur, amount)
            continue
        base.add_money(revenue[cid], cur, amount)
        purchases[cid] += 1
        if cid not in last_won or closed > last_won[cid]:
            last_won[cid] = closed

    def name_key(cid: str) -> tuple[str, str]:
        return (str(people[cid].get("name") or "").casefold(), cid)

    totals, tiers, position, share, cumulative = _ranked(people, revenue, name_key)
    today = now.date()
    order = sorted(people, key=lambda c: (tiers[c], position[c], *name_key(c)))
    rows = []
    for rank, cid in enumerate(order, 1):
        rec = people[cid]
        last = last_won.get(cid)
        rows.append(
            {
                "rank": rank,
                "id": cid,
                "name": rec.get("name"),
                "tier": tiers[cid],
                "stored_tier": rec.get("tier"),
                "tier_manual": bool(rec.get("tier_manual")),
                "revenue": base.money(revenue[cid]),
                "share": share[cid],
                "cumulative_share": cumulative[cid],
                "purchases": purchases[cid],
                "last_won": last.date().isoformat() if last else None,
                "days_since_last_won": (today - last.date()).days if last else None,
            }
        )
    return {
        **scope.head("customers"),
        "totals": base.money(totals),
        "tiers": {t: sum(1 for c in people if tiers[c] == t) for t in ("A", "B", "C")},
        "customers": rows,
        "without_customer": without.as_dict(),
    }


def _ranked(
    people: dict[str, Record], revenue: dict[str, base.Money], name_key: Any
) -> tuple[base.Money, dict[str, str], dict[str, Fraction], dict[str, Any], dict[str, Any]]:
    """Per currency, the customers by revenue: (totals, tier, position: the share
    of the revenue of those ranked above, share and cumulative share by currency)."""
    totals: base.Money = {}
    for cid in people:
        for cur, value in revenue[cid].items():
            base.add_money(totals, cur, value)
    tiers: dict[str, str] = dict.fromkeys(people, "C")
    position: dict[str, Fraction] = dict.fromkeys(people, Fraction(1))
    share: dict[str, dict[str, Decimal | None]] = {cid: {} for cid in people}
    cumulative: dict[str, dict[str, Decimal | None]] = {cid: {} for cid in people}
    for cur in sorted(totals):
        total = totals[cur]
        ranked = sorted(
            (cid for cid in people if revenue[cid].get(cur, 0) > 0),
            key=lambda c, cur=cur: (-revenue[c][cur], *name_key(c)),
        )
        before = Decimal(0)
        tie_before, tie_value = Decimal(0), None
        for cid in ranked:
            value = revenue[cid][cur]
            if value != tie_value:
                tie_before, tie_value = before, value
            frac = Fraction(tie_before) / Fraction(total)
            tier = "A" if frac < A_SHARE else "B" if frac < B_SHARE else "C"
            tiers[cid] = min(tiers[cid], tier)
            position[cid] = min(position[cid], frac)
            before += value
            share[cid][cur] = base.percent(value, total)
            cumulative[cid][cur] = base.percent(before, total)

    return totals, tiers, position, share, cumulative


def apply_tiers(store: Any, report: dict[str, Any]) -> list[tuple[Record, str | None, str]]:
    """Write the report's tiers into the customer records (not those with
    tier_manual). The caller holds store.lock(). Returns (record, old, new) per
    customer changed."""
    changed = []
    for row in report["customers"]:
        if not store.exists("customer", row["id"]):
            continue
        rec = store.load("customer", row["id"])
        if rec.get("tier_manual") or rec.get("tier") == row["tier"]:
            continue
        old = rec.get("tier")
        rec["tier"] = row["tier"]
        changed.append((store.save("customer", rec), old, row["tier"]))
    return changed
