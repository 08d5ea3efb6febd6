"""Lead sources: how many leads each source brings, how many convert, and what
the deals they turned into have won.

Rules (documented in README, section reports):
- Leads created in the window, of the owner (lead.owner). Sources listed:
  settings sources plus every source met, most leads first (a lead without a
  source: `source: null`, last).
- converted: leads with status `converted`; conversion_rate = converted / leads.
- Won deals are credited through `lead.deal` only (the deal the lead was
  converted into), whatever its close date: later deals of the same customer are
  not credited to the source (they are repeat business, and a customer reached
  through two leads would be counted twice).
"""

from __future__ import annotations

from typing import Any

from crmcli.models import Record
from crmcli.reports.base import (
    Scope,
    Tally,
    amount_of,
    currency_of,
    money,
    percent,
)


class _Row:
    def __init__(self) -> None:
        self.leads = self.converted = 0
        self.won = Tally()  # the deals won, each counted once
        self.seen: set[str] = set()

    def as_dict(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "converted": self.converted,
            "conversion_rate": percent(self.converted, self.leads),
            "deals_won": self.won.count,
            "won_amount": money(self.won.amount),
        }


# The fields of a lead that the report reads (the caller may pass only these).
LEAD_FIELDS = ("id", "owner", "created", "source", "status", "deal")


def sources(
    leads: list[Record],
    deals: list[Record],
    scope: Scope,
) -> dict[str, Any]:
    settings = scope.settings
    by_id = {d["id"]: d for d in deals}
    rows: dict[str | None, _Row] = {s: _Row() for s in settings.get("sources") or []}
    for lead in leads:
        if not scope.created_in(lead):
            continue
        row = rows.setdefault(lead.get("source"), _Row())
        row.leads += 1
        if lead.get("status") == "converted":
            row.converted += 1
        deal = by_id.get(lead.get("deal") or "")
        if deal is not None and deal.get("status") == "won" and deal["id"] not in row.seen:
            row.seen.add(deal["id"])
            row.won.add(currency_of(deal, settings), amount_of(deal))

    total = _Row()
    for r in rows.values():
        total.leads += r.leads
        total.converted += r.converted
        total.seen |= r.seen
    for did in total.seen:  # a deal two leads point at counts once in the total
        total.won.add(currency_of(by_id[did], settings), amount_of(by_id[did]))
    order = sorted((s for s in rows if s is not None), key=lambda s: (-rows[s].leads, s.casefold()))
    if None in rows:
        order.append(None)
    return {
        **scope.head("sources"),
        "sources": [{"source": s, **rows[s].as_dict()} for s in order],
        "total": total.as_dict(),
    }
