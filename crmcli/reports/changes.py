"""Changes: how the pipeline moved between two moments, deal by deal, with who
made each change and when, and the waterfall of the open pipeline per currency.

Rules (documented in README, section reports):
- The deals at the start (the last commit at or before --since; none when the CRM
  did not exist yet) are compared with the deals at the end (the last commit at or
  before --until, else HEAD). Only the net change counts: a deal moved forward and
  back again within the window has not moved.
- Per deal, the changes: added, removed (its file deleted), advanced / moved_back
  (stage from -> to, by pipeline order; `moved` when a stage is not in the
  pipeline), won, lost (with the reason), reopened (closed at the start, open at
  the end), slipped / pulled_in (close date later / earlier, by `days`), raised /
  cut (amount, by `delta`; a new currency is `currency`), reassigned (owner).
- Who and when: the author and date of the commit that last set the field to its
  value at the end (for added and removed, the commit that created or deleted the
  file).
- --owner: deals of that owner at the start or at the end.
- The waterfall, per currency, of the open pipeline (open deals' amounts; no
  amount counts 0) of the owner: `start` + added + reopened + reassigned_in
  - won - lost - removed - reassigned_out + changed = `end`, exactly. A deal won
  or lost counts its amount at the end; what its amount changed before that is
  in `changed`. A deal added and closed within the window counts in added and in
  won or lost (the two cancel out).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from crmcli.models import Record
from crmcli.reports import base

# The steps of the waterfall, in order, and their sign.
STEPS: tuple[tuple[str, int], ...] = (
    ("added", 1),
    ("reopened", 1),
    ("reassigned_in", 1),
    ("won", -1),
    ("lost", -1),
    ("removed", -1),
    ("reassigned_out", -1),
    ("changed", 1),
)
CATEGORIES = (
    "added",
    "advanced",
    "moved_back",
    "moved",
    "slipped",
    "pulled_in",
    "raised",
    "cut",
    "currency",
    "won",
    "lost",
    "reopened",
    "reassigned",
    "removed",
)

# A version of a deal file: (author, date ISO, the record after that commit or None).
Version = tuple[str, str, Record | None]


def changes(
    start: dict[str, Record],
    end: dict[str, Record],
    versions: dict[str, list[Version]],
    scope: base.Scope,
    *,
    commits: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """The report. `start`/`end`: the deals by id at the two moments; `versions`:
    per deal changed in between, every version oldest first (who, when, record);
    `commits`: {"start": sha or None, "end": sha}, shown as they are."""
    settings, owner = scope.settings, scope.owner
    order = {name: i for i, (name, _p) in enumerate(base.pipeline(settings))}
    flows: dict[str, dict[str, base.Money]] = {}
    counts: dict[str, dict[str, int]] = {}
    totals = {c: _Total() for c in CATEGORIES}
    rows = []
    for did in sorted(set(start) | set(end)):
        a, b = start.get(did), end.get(did)
        if owner is not None and not any(r is not None and r.get("owner") == owner for r in (a, b)):
            continue
        _flow(a, b, settings, owner, flows, counts)
        if a is not None and b is not None and _same(a, b):
            continue
        found = _deal_changes(a, b, versions.get(did) or [], order, settings)
        if not found:
            continue
        rec = b if b is not None else a
        assert rec is not None
        for c in found:
            totals[c["change"]].add(c, rec, settings)
        rows.append(
            {
                "id": did,
                "title": rec.get("title"),
                "customer": rec.get("customer"),
                "owner": rec.get("owner"),
                "stage": rec.get("stage"),
                "status": rec.get("status"),
                "amount": base.amount_of(rec),
                "currency": base.currency_of(rec, settings),
                "changes": found,
            }
        )
    return {
        **scope.head("changes"),
        "commits": commits or {"start": None, "end": None},
        "deals": rows,
        "totals": {c: t.as_dict() for c, t in totals.items()},
        "waterfall": _waterfall(flows, counts),
    }


_COMPARED = ("stage", "status", "amount", "currency", "close_date", "owner", "lost_reason")


def _same(a: Record, b: Record) -> bool:
    return all(a.get(k) == b.get(k) for k in _COMPARED)


class _Total:
    def __init__(self) -> None:
        self.count = 0
        self.amount: base.Money = {}

    def add(self, change: dict[str, Any], rec: Record, settings: dict[str, Any]) -> None:
        self.count += 1
        if change["change"] in ("raised", "cut"):
            base.add_money(self.amount, base.currency_of(rec, settings), abs(change["delta"]))
        else:
            base.add_money(self.amount, base.currency_of(rec, settings), base.amount_of(rec))

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "amount": base.money(self.amount)}


# ----- the waterfall ------------------------------------------------------------------


def _open_in(rec: Record | None, owner: str | None) -> bool:
    return rec is not None and rec.get("status") == "open" and (owner is None or
                                                                rec.get("owner") == owner)  # fmt: skip


def _flow(
    a: Record | None,
    b: Record | None,
    settings: dict[str, Any],
    owner: str | None,
    flows: dict[str, dict[str, base.Money]],
    counts: dict[str, dict[str, int]],
) -> None:
    """Add one deal's part of the waterfall: its open amount at the start and end,
    and the steps between them (which sum to end - start)."""

    def put(step: str, rec: Record, sign: int = 1, count: bool = True) -> None:
        cur = base.currency_of(rec, settings)
        amount = base.amount_of(rec) or Decimal(0)
        base.add_money(flows.setdefault(cur, {}).setdefault(step, {}), "v", sign * amount)
        if count:
            per = counts.setdefault(cur, {})
            per[step] = per.get(step, 0) + 1

    s_in, e_in = _open_in(a, owner), _open_in(b, owner)
    if s_in:
        assert a is not None
        put("start", a)
    if e_in:
        assert b is not None
        put("end", b)
    if s_in and e_in:
        assert a is not None and b is not None
        other_currency = base.currency_of(a, settings) != base.currency_of(b, settings)
        if base.amount_of(a) != base.amount_of(b) or other_currency:
            put("changed", a, -1)
            put("changed", b, 1, count=other_currency)
    elif s_in:
        assert a is not None
        status = b.get("status") if b is not None else None
        if b is not None and status in ("won", "lost") and (owner is None or
                                                            b.get("owner") == owner):  # fmt: skip
            put(status, b, -1)
            put("changed", a, -1, count=False)
            put("changed", b, 1, count=False)
        else:
            put("removed" if b is None else "reassigned_out", a, -1)
    elif e_in:
        assert b is not None
        step = (
            "added" if a is None else "reopened" if a.get("status") != "open" else "reassigned_in"
        )
        put(step, b)
    elif (
        b is not None
        and b.get("status") in ("won", "lost")
        and (owner is None or b.get("owner") == owner)
    ):
        status = a.get("status") if a is not None else None
        if status != b.get("status"):
            put("added" if a is None else "reassigned_in" if status == "open" else "reopened", b)
            put(str(b.get("status")), b, -1)


def _waterfall(
    flows: dict[str, dict[str, base.Money]], counts: dict[str, dict[str, int]]
) -> dict[str, list[dict[str, Any]]]:
    """Per currency: [{step, amount (signed), count}] from start to end; the amounts
    of every step before `end` add up to `end`."""
    out: dict[str, list[dict[str, Any]]] = {}
    for cur in sorted(flows):
        f, n = flows[cur], counts.get(cur, {})

        def total(step: str, f: dict[str, base.Money] = f) -> Decimal:
            return f.get(step, {}).get("v", Decimal(0))

        steps = [{"step": "start", "amount": total("start"), "count": n.get("start", 0)}]
        for step, _sign in STEPS:
            steps.append({"step": step, "amount": total(step), "count": n.get(step, 0)})
        steps.append({"step": "end", "amount": total("end"), "count": n.get("end", 0)})
        out[cur] = steps
    return out


# ----- one deal's changes ---------------------------------------------------------------


def _deal_changes(
    a: Record | None,
    b: Record | None,
    versions: list[Version],
    order: dict[str, int],
    settings: dict[str, Any],
) -> list[dict[str, Any]]:
    """What changed in one deal from `a` (None: not there) to `b` (None: gone)."""
    if a is None and b is None:
        return []
    if a is None or b is None:
        kind = "added" if a is None else "removed"
        who = _when_set(versions, a, lambda r: r is not None, b is not None)
        found = [{"change": kind, **who}]
        if b is not None and b.get("status") in ("won", "lost"):
            found.append(_status_change(a, b, versions))
        return found
    found: list[dict[str, Any]] = []
    if a.get("status") != b.get("status"):
        found.append(_status_change(a, b, versions))
    if b.get("status") == "open" and a.get("status") == "open" and a.get("stage") != b.get("stage"):
        i, j = order.get(a.get("stage")), order.get(b.get("stage"))
        kind = "moved" if i is None or j is None else "advanced" if j > i else "moved_back"
        found.append(_change(kind, "stage", a, b, versions))
    found += _money_change(a, b, versions, settings)
    old, new = base.day(a.get("close_date")), base.day(b.get("close_date"))
    if old is not None and new is not None and old != new:
        entry = _change("slipped" if new > old else "pulled_in", "close_date", a, b, versions)
        found.append({**entry, "days": abs((new - old).days)})
    if a.get("owner") != b.get("owner"):
        found.append(_change("reassigned", "owner", a, b, versions))
    return found


def _status_change(a: Record | None, b: Record, versions: list[Version]) -> dict[str, Any]:
    status = b.get("status")
    kind = "reopened" if status == "open" else str(status)
    entry = _change(kind, "status", a, b, versions)
    entry["from"] = a.get("stage") if a is not None else None
    entry["to"] = b.get("stage")
    if status == "lost":
        entry["reason"] = b.get("lost_reason")
    return entry


def _money_change(
    a: Record, b: Record, versions: list[Version], settings: dict[str, Any]
) -> list[dict[str, Any]]:
    if base.currency_of(a, settings) != base.currency_of(b, settings):
        return [_change("currency", "currency", a, b, versions)]
    old, new = base.amount_of(a), base.amount_of(b)
    if old == new:
        return []
    delta = (new or Decimal(0)) - (old or Decimal(0))
    entry = _change("raised" if delta > 0 else "cut", "amount", a, b, versions)
    return [{**entry, "delta": delta}]


def _change(
    kind: str, key: str, a: Record | None, b: Record, versions: list[Version]
) -> dict[str, Any]:
    """{change, from, to, by, at}: `key` went from a's value to b's; by and at of the
    commit that last set it to b's value."""
    return {
        "change": kind,
        "from": a.get(key) if a is not None else None,
        "to": b.get(key),
        **_when_set(versions, a, lambda r: r.get(key) if r is not None else None, b.get(key)),
    }


def _when_set(
    versions: list[Version], a: Record | None, get: Callable[[Record | None], Any], value: Any
) -> dict[str, str | None]:
    """by/at of the last version that set get(record) to `value` (from another value);
    the last version when none did (None, None when there are no versions)."""
    found: Version | None = None
    before = get(a)
    for v in versions:
        now = get(v[2])
        if now == value and before != value:
            found = v
        before = now
    if found is None and versions:
        found = versions[-1]
    return {"by": found[0], "at": found[1]} if found else {"by": None, "at": None}
