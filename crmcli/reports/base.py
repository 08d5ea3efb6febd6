"""What every report shares: money kept per currency, the pipeline, the time
window, days and rates.

Money is never summed across currencies: a money figure is a `Money`, a dict
currency -> Decimal (sorted by currency; `{}` when there is nothing). Rates are
percents as Decimals with one decimal (None when nothing to divide by), spans of
days Decimals with one decimal, weighted amounts rounded to cents (half up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crmcli.models import Record

Money = dict[str, Decimal]

ONE_DECIMAL = Decimal("0.1")
CENTS = Decimal("0.01")


# ----- money ------------------------------------------------------------------------------


def currency_of(deal: Record, settings: dict[str, Any]) -> str:
    """The deal's currency, else the CRM's default currency."""
    return str(deal.get("currency") or settings.get("currency") or "USD")


def amount_of(deal: Record) -> Decimal | None:
    value = deal.get("amount")
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return Decimal(value)


def add_money(total: Money, currency: str, amount: Decimal | None) -> None:
    """Add `amount` (None: nothing) to `total` under `currency`."""
    if amount is None:
        return
    total[currency] = total.get(currency, Decimal(0)) + amount


def merge_money(total: Money, other: Money) -> None:
    for cur, value in other.items():
        add_money(total, cur, value)


def money(total: Money, places: Decimal | None = None) -> Money:
    """`total` sorted by currency, optionally rounded (half up) to `places`."""
    return {
        cur: (total[cur].quantize(places, ROUND_HALF_UP) if places is not None else total[cur])
        for cur in sorted(total)
    }


def weigh(amount: Decimal | None, probability: Decimal) -> Decimal | None:
    """probability (a percent) x amount, exact (round the sum, not each term)."""
    if amount is None:
        return None
    return amount * probability / 100


class Tally:
    """A count and a Money amount, for a group of deals."""

    def __init__(self) -> None:
        self.count = 0
        self.amount: Money = {}

    def add(self, currency: str, amount: Decimal | None) -> None:
        self.count += 1
        add_money(self.amount, currency, amount)

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "amount": money(self.amount)}


# ----- pipeline ---------------------------------------------------------------------------


def pipeline(settings: dict[str, Any]) -> list[tuple[str, Decimal]]:
    """The open stages in order with their probability (a percent)."""
    return [
        (str(st["stage"]), Decimal(str(st.get("probability", 0))))
        for st in settings.get("pipeline") or []
    ]


# ----- time -------------------------------------------------------------------------------


def timestamp(value: Any, tz: tzinfo) -> datetime | None:
    """A stored timestamp as an aware datetime in `tz`; None when absent or unreadable."""
    if not value:
        return None
    from crmcli.dates import parse_iso

    try:
        return parse_iso(value, tz).astimezone(tz)
    except (ValueError, OverflowError, TypeError):
        return None


def day(value: Any) -> date | None:
    """A `YYYY-MM-DD` text as a date; None when absent or unreadable."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def deadline(value: Any, tz: tzinfo) -> datetime | None:
    """A due time; a bare date means the end of that day."""
    if isinstance(value, str) and len(value.strip()) == 10:
        d = day(value)
        return datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=tz) if d else None
    return timestamp(value, tz)


def days(span: timedelta) -> Decimal:
    return Decimal(int(span.total_seconds())) / 86400


def average_days(spans: list[timedelta]) -> Decimal | None:
    """The mean of `spans` in days, one decimal; None for no spans."""
    if not spans:
        return None
    return (sum((days(s) for s in spans), Decimal(0)) / len(spans)).quantize(
        ONE_DECIMAL, ROUND_HALF_UP
    )


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """part / whole as a percent with one decimal; None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_DECIMAL, ROUND_HALF_UP)


@dataclass(frozen=True)
class Window:
    """The --since/--until window (either end open); both ends included."""

    since: datetime | None = None
    until: datetime | None = None

    def __contains__(self, when: datetime | None) -> bool:
        if when is None:
            return self.since is None and self.until is None
        if self.since is not None and when < self.since:
            return False
        return not (self.until is not None and when > self.until)

    def as_dict(self) -> dict[str, str | None]:
        from crmcli.dates import iso

        return {
            "since": iso(self.since) if self.since else None,
            "until": iso(self.until) if self.until else None,
        }


@dataclass(frozen=True)
class Scope:
    """What every report runs over: the settings, now, the --since/--until window
    (reports that take one), --owner, and with --as-of what past state the records
    (and settings, and now) are from."""

    settings: dict[str, Any]
    now: datetime
    since: datetime | None = None
    until: datetime | None = None
    owner: str | None = None
    # --as-of: {at, commit, commit_date, unknown} of the past state the records are from
    as_of: dict[str, Any] | None = None

    @property
    def tz(self) -> tzinfo | None:
        return self.now.tzinfo

    @property
    def window(self) -> Window:
        return Window(self.since, self.until)

    def head(self, report: str, *, window: bool = True) -> dict[str, Any]:
        """The keys every report's JSON starts with."""
        return {
            "report": report,
            **(self.window.as_dict() if window else {}),
            "owner": self.owner,
            "as_of": self.as_of,
        }

    def created_in(self, rec: Record) -> bool:
        """Whether `rec` is of --owner and was created in the --since/--until window
        (the records the funnel and the sources report look at)."""
        return owned(rec, self.owner) and timestamp(rec.get("created"), self.tz) in self.window


def owned(rec: Record, owner: str | None) -> bool:
    """Does `rec` pass the --owner filter?"""
    return owner is None or rec.get("owner") == owner
