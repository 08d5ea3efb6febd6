"""Targets (settings `targets`): per owner or `team`, per month (YYYY-MM) or
quarter (YYYY-Qn), in settings `currency`; what was won against them and the
pipeline that could still close in the period.

Rules (documented in README, section reports):
- Won in a period: deals won (status won) whose closed_at falls in it, in settings
  currency (deals in other currencies cannot be compared with the target).
- attainment: won / target, a percent (null for a target of 0).
- The pipeline that could still close in the period: open deals in settings
  currency whose close_date is in the period and not before today, in stages of
  the pipeline: best_case (their amounts), commit (those at settings
  commit_probability or more), weighted (probability x amount); coverage:
  weighted / (target - won), a percent (null when the target is reached).
- The periods shown: those that hold today (a month and its quarter when both
  have a target), or the one asked for.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crmcli.models import Record
from crmcli.reports import base

TEAM = "team"


def span(period: str) -> tuple[date, date]:
    """The first and last day of a period: 2026-12, 2026-Q4."""
    year, part = int(period[:4]), period[5:]
    first_month, months = (3 * int(part[1]) - 2, 3) if part.startswith("Q") else (int(part), 1)
    last_month = first_month + months - 1
    following = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
    return date(year, first_month, 1), date.fromordinal(following.toordinal() - 1)


def periods_of(scope: base.Scope, who: str, period: str | None) -> list[str]:
    """The target periods of `who` to show: `period` if it has a target, else those
    that hold today (months before quarters)."""
    mine = (scope.settings.get("targets") or {}).get(who) or {}
    if period is not None:
        return [period] if period in mine else []
    today = scope.now.date()
    found = [p for p in mine if span(p)[0] <= today <= span(p)[1]]
    return sorted(found, key=lambda p: ("Q" in p, p))


def against(deals: list[Record], scope: base.Scope, who: str, period: str) -> dict[str, Any]:
    """{period, currency, target, won, attainment, best_case, commit, weighted,
    coverage} of `who` (an owner, or `team` for every deal) in `period`; money in
    settings currency."""
    settings = scope.settings
    target = Decimal(str(settings["targets"][who][period]))
    first, last = span(period)
    today = scope.now.date()
    probability = dict(base.pipeline(settings))
    cur = str(settings.get("currency") or "USD")
    threshold = Decimal(str(settings.get("commit_probability", 70)))
    won, best, commit, weighted = Decimal(0), Decimal(0), Decimal(0), Decimal(0)
    for deal in deals:
        if who != TEAM and deal.get("owner") != who:
            continue
        if base.currency_of(deal, settings) != cur:
            continue
        amount = base.amount_of(deal) or Decimal(0)
        if deal.get("status") == "won":
            closed = base.timestamp(deal.get("closed_at"), scope.tz)
            if closed is not None and first <= closed.date() <= last:
                won += amount
        elif deal.get("status") == "open" and deal.get("stage") in probability:
            close = base.day(deal.get("close_date"))
            if close is not None and max(first, today) <= close <= last:
                p = probability[deal["stage"]]
                best += amount
                commit += amount if p >= threshold else 0
                weighted += base.weigh(amount, p) or Decimal(0)
    weighted = weighted.quantize(base.CENTS, ROUND_HALF_UP)
    gap = target - won
    return {
        "period": period,
        "currency": cur,
        "target": target,
        "won": won,
        "attainment": base.percent(won, target),
        "best_case": best,
        "commit": commit,
        "weighted": weighted,
        "coverage": base.percent(weighted, gap) if gap > 0 else None,
    }


def overlapping(scope: base.Scope, who: str, first: date, last: date) -> list[str]:
    """The target periods of `who` that overlap the days first..last, in order."""
    mine = (scope.settings.get("targets") or {}).get(who) or {}
    return sorted(p for p in mine if span(p)[0] <= last and span(p)[1] >= first)


def targets_of(
    deals: list[Record], scope: base.Scope, who: str, period: str | None = None
) -> list[dict[str, Any]]:
    """`against` for each period of `who` to show."""
    return [against(deals, scope, who, p) for p in periods_of(scope, who, period)]
