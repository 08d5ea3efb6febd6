"""How values read for people, in one place: money (exact, never rounded),
yes/no for booleans, days and times.

The files and JSON keep values as they are; these are for tables, `show`, the
plain text of `task remind` and messages. Phones: contactinfo.display_phone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any


def money_text(amount: Any, currency: str | None = None, places: int = 2) -> str:
    """1,200.50 CNY for people: two decimals (`places`: a currency's own), or every
    decimal the amount has (1,234.567 stays 1,234.567; money is never rounded for
    display)."""
    if amount is None or isinstance(amount, bool):
        return ""
    if not isinstance(amount, Decimal):
        try:
            amount = Decimal(amount if isinstance(amount, int) else str(amount))
        except (InvalidOperation, ValueError):
            return str(amount)
    if not amount.is_finite():
        return str(amount)
    _sign, digits, exp = amount.as_tuple()
    finer = -int(exp) - places  # digits below the `places`th decimal
    exact = finer <= 0 or not any(digits[-finer:])  # (no quantize: 28 digits at most)
    text = f"{amount:,.{places}f}" if exact else f"{amount:,f}"
    return f"{text} {currency}" if currency else text


def yes_no(value: bool) -> str:
    """A boolean for people: yes or no (JSON and CSV keep true and false)."""
    return "yes" if value else "no"


STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")


def time_text(
    when: datetime | str | None, tz: tzinfo | None = None, *, weekday: bool = False
) -> str:
    """2026-11-23 10:00 for people (with `weekday`: Mon 2026-11-23 10:00): a datetime
    or a stored ISO stamp, in the zone `tz` (the CRM's) when given, else in the offset
    it was written with; nothing for no time."""
    if when is None:
        return ""
    if not isinstance(when, datetime):
        if tz is None or not STAMP.match(str(when)):
            return str(when)[:16].replace("T", " ")
        from crmcli.dates import parse_iso

        when = parse_iso(str(when), tz)
    if tz is not None:
        when = when.astimezone(tz)
    return when.strftime("%a %Y-%m-%d %H:%M" if weekday else "%Y-%m-%d %H:%M")


def day_text(day: date, *, short: bool = False, weekday: bool = False) -> str:
    """A day for people: 2026-12-01; `short` (a day within this year): Dec 01;
    `weekday`: Tue Dec 01."""
    return day.strftime("%a %b %d" if weekday else "%b %d" if short else "%Y-%m-%d")


def clock_text(when: datetime) -> str:
    """The time of day for people: 14:00."""
    return when.strftime("%H:%M")
