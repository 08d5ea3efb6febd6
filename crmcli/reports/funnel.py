"""The funnel: how far deals get through the pipeline, from their stage histories.

Rules (documented in README, section reports):
- The deals looked at are those created in the window (--since/--until), of the
  owner (--owner).
- A deal *reached* an open stage when its stage history (or, while open, its
  current stage) shows that stage or any later one: a deal that skipped a stage
  counts as having reached the stages before the furthest it got to. A won deal
  reached every open stage. Stages that are no longer in the pipeline are ignored.
- Conversion of a stage: deals that reached the next stage / deals that reached
  this one; for the last open stage, won / reached.
- Days in a stage: the mean of the finished stays (from a history entry to the
  next one); a stay still going on is not counted.
- Open deals whose stage is not in the pipeline are listed in `unknown_stages`
  and left out of the stage figures and `open` totals.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crmcli.models import Record
from crmcli.reports import base


def funnel(
    deals: list[Record],
    scope: base.Scope,
) -> dict[str, Any]:
    settings, tz = scope.settings, scope.tz
    stages = base.pipeline(settings)
    index = {name: i for i, (name, _) in enumerate(stages)}
    n = len(stages)
    reached = [0] * n
    current = [base.Tally() for _ in stages]
    weighted: list[base.Money] = [{} for _ in stages]
    stays: list[list[timedelta]] = [[] for _ in stages]
    unknown: dict[str, base.Tally] = {}
    won, lost = base.Tally(), base.Tally()

    for deal in deals:
        if not scope.created_in(deal):
            continue
        status = deal.get("status")
        stage = deal.get("stage")
        cur, amount = base.currency_of(deal, settings), base.amount_of(deal)
        history = [
            (e.get("stage"), base.timestamp(e.get("at"), tz))
            for e in deal.get("stage_history") or []
            if isinstance(e, dict)
        ]
        furthest = max((index[s] for s, _ in history if s in index), default=-1)
        if status == "open" and stage in index:
            furthest = max(furthest, index[stage])
        if status == "won":
            furthest = n - 1
        for i in range(furthest + 1):
            reached[i] += 1
        for (s, at), (_, after) in zip(history, history[1:], strict=False):
            if s in index and at is not None and after is not None and after >= at:
                stays[index[s]].append(after - at)
        if status == "won":
            won.add(cur, amount)
        elif status == "lost":
            lost.add(cur, amount)
        elif stage in index:
            i = index[stage]
            current[i].add(cur, amount)
            base.add_money(weighted[i], cur, base.weigh(amount, stages[i][1]))
        else:
            unknown.setdefault(str(stage), base.Tally()).add(cur, amount)

    rows = []
    open_total = base.Tally()
    open_weighted: base.Money = {}
    for i, (name, probability) in enumerate(stages):
        following = reached[i + 1] if i + 1 < n else won.count
        rows.append(
            {
                "stage": name,
                "probability": probability,
                "reached": reached[i],
                "count": current[i].count,
                "amount": base.money(current[i].amount),
                "weighted": base.money(weighted[i], base.CENTS),
                "next": stages[i + 1][0] if i + 1 < n else "won",
                "conversion": base.percent(following, reached[i]),
                "avg_days": base.average_days(stays[i]),
            }
        )
        open_total.count += current[i].count
        base.merge_money(open_total.amount, current[i].amount)
        base.merge_money(open_weighted, weighted[i])
    return {
        **scope.head("funnel"),
        "stages": rows,
        "open": {**open_total.as_dict(), "weighted": base.money(open_weighted, base.CENTS)},
        "won": won.as_dict(),
        "lost": lost.as_dict(),
        "win_rate": base.percent(won.count, won.count + lost.count),
        "unknown_stages": [{"stage": s, **unknown[s].as_dict()} for s in sorted(unknown)],
    }
