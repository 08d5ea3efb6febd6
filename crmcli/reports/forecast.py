"""The forecast: open deals by the month of their close date, and won so far.

Rules (documented in README, section reports):
- Months: N calendar months starting with the current one (in the CRM's zone).
- An open deal counts in the month of its close_date: best case is every amount,
  commit the amounts of deals in stages whose probability is at least settings
  commit_probability, weighted probability x amount.
- Open deals apart: no close date (or an unreadable one), a close date already
  past (before today), a close date after the last month, a stage no longer in
  the pipeline (`unknown_stages`: never in the months).
- Won in a month: won deals whose closed_at falls in it.
- Targets (settings targets of the team, or of --owner): a month's beside it
  (`target`), and every target period that overlaps the months in `targets`
  (crmcli.reports.targets.against: won, best case, commit, weighted of the deals
  that can still close in it, attainment, coverage).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from crmcli.errors import CrmError
from crmcli.models import Record
from crmcli.reports import base
from crmcli.reports.targets import TEAM, against, overlapping, span


class _Bucket:
    def __init__(self) -> None:
        self.count = 0
        self.best: base.Money = {}
        self.commit: base.Money = {}
        self.weighted: base.Money = {}

    def add(self, cur: str, amount: Decimal | None, probability: Decimal, commit: bool) -> None:
        self.count += 1
        base.add_money(self.best, cur, amount)
        if commit:
            base.add_money(self.commit, cur, amount)
        base.add_money(self.weighted, cur, base.weigh(amount, probability))

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "best_case": base.money(self.best),
            "commit": base.money(self.commit),
            "weighted": base.money(self.weighted, base.CENTS),
        }


def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def forecast(
    deals: list[Record],
    scope: base.Scope,
    *,
    months: int = 3,
) -> dict[str, Any]:
    settings, now, owner = scope.settings, scope.now, scope.owner
    if months < 1:
        raise CrmError(f"--months must be at least 1 (got {months})")
    tz = scope.tz
    today = now.date()
    probability = dict(base.pipeline(settings))
    threshold = Decimal(str(settings.get("commit_probability", 70)))
    keys = []
    y, m = today.year, today.month
    for _ in range(months):
        keys.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    buckets = {k: _Bucket() for k in keys}
    won = {k: base.Tally() for k in keys}
    past, later, undated, total = _Bucket(), _Bucket(), _Bucket(), _Bucket()
    unknown: dict[str, base.Tally] = {}

    for deal in deals:
        if not base.owned(deal, owner):
            continue
        cur, amount = base.currency_of(deal, settings), base.amount_of(deal)
        status = deal.get("status")
        if status == "won":
            closed = base.timestamp(deal.get("closed_at"), tz)
            if closed is not None and month_key(closed.date()) in won:
                won[month_key(closed.date())].add(cur, amount)
            continue
        if status != "open":
            continue
        stage = deal.get("stage")
        if stage not in probability:
            unknown.setdefault(str(stage), base.Tally()).add(cur, amount)
            continue
        p = probability[stage]
        args = (cur, amount, p, p >= threshold)
        close = base.day(deal.get("close_date"))
        if close is None:
            undated.add(*args)
        elif close < today:
            past.add(*args)
        elif month_key(close) in buckets:
            buckets[month_key(close)].add(*args)
            total.add(*args)
        else:
            later.add(*args)

    who = owner or TEAM
    mine = (settings.get("targets") or {}).get(who) or {}
    first, last = span(keys[0])[0], span(keys[-1])[1]
    return {
        **scope.head("forecast", window=False),
        "commit_probability": threshold,
        "months": [
            {
                "month": k,
                **buckets[k].as_dict(),
                "won": won[k].as_dict(),
                "target": Decimal(str(mine[k])) if k in mine else None,
            }
            for k in keys
        ],  # fmt: skip
        "targets": [against(deals, scope, who, p) for p in overlapping(scope, who, first, last)],
        "total": total.as_dict(),
        "past_close_date": past.as_dict(),
        "no_close_date": undated.as_dict(),
        "later": later.as_dict(),
        "unknown_stages": [{"stage": s, **unknown[s].as_dict()} for s in sorted(unknown)],
    }
