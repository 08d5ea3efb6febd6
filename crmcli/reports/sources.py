"""Lead sources: how many leads each source brings, how many convert, and what
the deals they turned into have won.

Rules (documented in README, section reports):
- Leads created in the window, of the owner (lead.owner). Sources listed:
  settings sources plus every source met, most leads first (a lead without a
  source: `source: null`, last).
- converted: leads with status `converted`; conversion_rate = converted / leads.
- Every won deal, whatever its close date, is credited once, to the source of
  where it came from: the lead it was converted from (`lead.deal`), else the
  lead of its customer (`lead.customer`; the first lead when several), else its
  customer (`customer.source`, e.g. added with --source trade-show); per source
  `from_leads` and `from_customers` say which. The window and --owner apply to
  that lead or customer (created in the window, its owner).
"""

from __future__ import annotations

from typing import Any

from crmcli.models import Record
from crmcli.reports import base


class _Row:
    def __init__(self) -> None:
        self.leads = self.converted = 0
        self.via = {"lead": base.Tally(), "customer": base.Tally()}

    def as_dict(self) -> dict[str, Any]:
        won: base.Money = {}
        for tally in self.via.values():
            base.merge_money(won, tally.amount)
        return {
            "leads": self.leads,
            "converted": self.converted,
            "conversion_rate": base.percent(self.converted, self.leads),
            "deals_won": sum(t.count for t in self.via.values()),
            "won_amount": base.money(won),
            "from_leads": self.via["lead"].as_dict(),
            "from_customers": self.via["customer"].as_dict(),
        }


# The fields of a lead and a customer that the report reads (the caller may pass only these).
LEAD_FIELDS = ("id", "owner", "created", "source", "status", "deal", "customer")
CUSTOMER_FIELDS = ("id", "owner", "created", "source")


def sources(
    leads: list[Record],
    deals: list[Record],
    scope: base.Scope,
    *,
    customers: list[Record] | None = None,
) -> dict[str, Any]:
    settings = scope.settings
    rows: dict[str | None, _Row] = {s: _Row() for s in settings.get("sources") or []}
    for lead in leads:
        if not scope.created_in(lead):
            continue
        row = rows.setdefault(lead.get("source"), _Row())
        row.leads += 1
        if lead.get("status") == "converted":
            row.converted += 1
    origin = _origins(leads, customers or [])
    for deal in deals:
        if deal.get("status") != "won":
            continue
        found = origin(deal)
        if found is None:
            continue
        via, rec = found
        if not scope.created_in(rec):
            continue
        row = rows.setdefault(rec.get("source"), _Row())
        row.via[via].add(base.currency_of(deal, settings), base.amount_of(deal))
    total = _Row()
    for r in rows.values():
        total.leads += r.leads
        total.converted += r.converted
        for via, tally in r.via.items():
            total.via[via].count += tally.count
            base.merge_money(total.via[via].amount, tally.amount)
    order = sorted((s for s in rows if s is not None), key=lambda s: (-rows[s].leads, s.casefold()))
    if None in rows:
        order.append(None)
    return {
        **scope.head("sources"),
        "sources": [{"source": s, **rows[s].as_dict()} for s in order],
        "total": total.as_dict(),
    }


def _origins(leads: list[Record], customers: list[Record]) -> Any:
    """deal -> ("lead", the lead it came from) or ("customer", its customer) or None:
    the first lead (by created, then id) whose `deal` is the deal, else the first
    whose `customer` is the deal's customer, else the deal's customer on file."""
    by_deal: dict[str, Record] = {}
    by_customer: dict[str, Record] = {}
    for lead in sorted(leads, key=lambda r: (str(r.get("created") or ""), r["id"]), reverse=True):
        if lead.get("deal"):
            by_deal[lead["deal"]] = lead
        if lead.get("customer"):
            by_customer[lead["customer"]] = lead
    people = {c["id"]: c for c in customers}

    def origin(deal: Record) -> tuple[str, Record] | None:
        lead = by_deal.get(deal["id"]) or by_customer.get(deal.get("customer") or "")
        if lead is not None:
            return "lead", lead
        cust = people.get(deal.get("customer") or "")
        return ("customer", cust) if cust is not None else None

    return origin
