"""Dates and times: the current time (env CRM_NOW), WHEN parsing, durations.

Every command takes "now" from its context (crmcli.context, env CRM_NOW), so tests
never read the real clock. Nothing here holds a zone: functions that need one take it. Stored timestamps are ISO 8601 strings with an offset, to the second.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

from crmcli.errors import DateError

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_UNITS = {
    "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "wk": "weeks", "week": "weeks", "weeks": "weeks",
    "m": "months", "mo": "months", "month": "months", "months": "months",
    "y": "years", "yr": "years", "year": "years", "years": "years",
}  # fmt: skip
_TIME_RE = r"(?P<time>\d{1,2}(?::\d{2})?(?::\d{2})?\s*(?:am|pm)?|noon|midnight)"


# The years a date may fall in: past them lies a typo (or a value that overflows).
YEARS = (1900, 2200)
DATE_ORDERS = ("DMY", "MDY", "YMD")


def check_range(dt: datetime, text: str, what: str = "the date") -> datetime:
    """`dt` when its year lies in YEARS and its offset within a day; else DateError
    naming `text`."""
    try:
        dt.utcoffset()
    except ValueError:  # dateutil builds a +25:00 zone that datetime then refuses
        raise DateError(f"{what} '{text}' has an offset out of range (-23:59 to +23:59)") from None
    if not YEARS[0] <= dt.year <= YEARS[1]:
        raise DateError(f"{what} '{text}' is out of range (years {YEARS[0]} to {YEARS[1]})")
    return dt


def get_tz(name: str | None) -> tzinfo:
    """The zone called `name` (IANA), or the machine's local zone when None."""
    if not name:
        from dateutil import tz

        return tz.tzlocal()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise DateError(f"unknown timezone '{name}'") from e


def now(tz: tzinfo | None = None, fixed: str | None = None) -> datetime:
    """The current time in `tz` (None: the machine's zone): `fixed` (the context's
    CRM_NOW, which tests set) when given, else the clock."""
    tz = tz or get_tz(None)
    if fixed:
        try:
            dt = parse_iso(fixed, tz)
        except (ValueError, OverflowError, DateError) as e:
            raise DateError(f"CRM_NOW is not an ISO timestamp: '{fixed}'") from e
        return check_range(dt, fixed, "CRM_NOW").astimezone(tz)
    return datetime.now(tz).replace(microsecond=0)


def iso(dt: datetime) -> str:
    """The stored form of a timestamp: ISO 8601, seconds, with offset."""
    return dt.isoformat(timespec="seconds")


def parse_iso(value: str | datetime | date, tz: tzinfo | None = None) -> datetime:
    """A stored timestamp (or a YAML date) as an aware datetime; naive ones are taken in
    `tz` (the CRM's zone: Context.parse_iso), else in the machine's zone."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    else:
        text = str(value).strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            from dateutil.parser import isoparse

            dt = isoparse(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz or get_tz(None))
    return dt


def _parse_time(text: str) -> time:
    text = text.strip().lower()
    if text == "noon":
        return time(12)
    if text == "midnight":
        return time(0)
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*(am|pm)?", text)
    if not m:
        raise ValueError(text)
    hour, minute, second = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    if m[4]:
        if not 1 <= hour <= 12:
            raise ValueError(text)
        hour = hour % 12 + (12 if m[4] == "pm" else 0)
    return time(hour, minute, second)


def _relative_day(text: str, today: date) -> date | None:
    """The day a relative phrase names, or None when it is not one."""
    from dateutil.relativedelta import relativedelta

    if text in ("today", "now"):
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if text == "yesterday":
        return today - timedelta(days=1)
    m = re.fullmatch(r"(?:(?P<sign>[+-])\s*|in\s+)(?P<n>\d+)\s*(?P<unit>[a-z]+)", text)
    if m is None:
        m = re.fullmatch(r"(?P<n>\d+)\s*(?P<unit>[a-z]+)\s+(?P<ago>ago)", text)
    if m and m["unit"] in _UNITS and _UNITS[m["unit"]] not in ("hours", "minutes"):
        n = int(m["n"])
        if m.groupdict().get("sign") == "-" or m.groupdict().get("ago"):
            n = -n
        return today + relativedelta(**{_UNITS[m["unit"]]: n})
    m = re.fullmatch(r"(?:(?P<which>next|this|last)\s+)?(?P<day>[a-z]+)", text)
    if m:
        day, which = m["day"], m["which"]
        if day in WEEKDAYS or (len(day) >= 3 and any(w.startswith(day) for w in WEEKDAYS)):
            wd = next(i for i, w in enumerate(WEEKDAYS) if w.startswith(day))
            if which == "last":
                back = (today.weekday() - wd) % 7 or 7
                return today - timedelta(days=back)
            ahead = (wd - today.weekday()) % 7
            if which != "this" and ahead == 0:
                ahead = 7
            return today + timedelta(days=ahead)
        if which == "next" and day in ("week", "month", "year"):
            return today + relativedelta(**{day + "s": 1})
    return None


def parse_when(
    text: str, current: datetime, *, end_of_day: bool = False, date_order: str | None = None
) -> datetime:
    """Parse a WHEN as CONVENTIONS lists it; the result is aware, in `current`'s zone.

    A form with no time of day gives midnight, or 23:59:59 with `end_of_day`. A slash
    date whose order is ambiguous is read in `date_order` (DMY, MDY; None: refused).
    Unparseable text raises DateError quoting it: never a silent guess.
    """
    try:
        dt = _parse_when(text, current, end_of_day=end_of_day, date_order=date_order)
    except (ValueError, OverflowError):  # +99999y, year 10000: past what a date can hold
        raise DateError(f"the date '{text}' is out of range") from None
    return check_range(dt, text)


_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d*)?")
_DAY_MONTH = re.compile(r"(\d{1,2})([./])(\d{1,2})\2(\d+)(?=$|[ T])(.*)")


def _numeric_date(text: str, date_order: str | None) -> str:
    """`text` with a leading dotted or slash date (12.10.2026, 03/04/2026) written as
    ISO. Dotted dates are day first; a slash date is read by its numbers when only
    one order makes a date, else by `date_order` (settings date_order), else refused."""
    m = _DAY_MONTH.fullmatch(text.strip())
    if not m:
        return text
    a, sep, b, year, rest = int(m[1]), m[2], int(m[3]), m[4], m[5]
    how = "write it as YYYY-MM-DD (e.g. 2026-04-03)"
    if len(year) != 4:
        raise DateError(f"the date '{text}' needs a four-digit year: {how}")
    order = "DMY" if sep == "." or a > 12 else "MDY" if b > 12 or a == b else date_order
    if order not in ("DMY", "MDY"):
        raise DateError(
            f"the date '{text}' could be day or month first: {how}, "
            "or set date_order (DMY or MDY) in crm.yaml"
        )
    day, month = (a, b) if order == "DMY" else (b, a)
    return f"{year}-{month:02d}-{day:02d}{rest}"


def _parse_when(
    text: str, current: datetime, *, end_of_day: bool, date_order: str | None
) -> datetime:
    tz = current.tzinfo
    shown = text
    if _NUMBER.fullmatch(text.strip()):
        raise DateError(f"'{shown}' is a number, not a date (try 2026-12-01, +3d or tomorrow)")
    raw = _numeric_date(text, date_order)
    text = " ".join(raw.strip().lower().split())
    if not text:
        raise DateError("empty date")
    default_time = time(23, 59, 59) if end_of_day else time()

    # Sub-day offsets keep the time of day: +4h, in 30 minutes.
    m = re.fullmatch(r"(?:(?P<sign>[+-])\s*|in\s+)(?P<n>\d+)\s*(?P<unit>[a-z]+)", text)
    if m and _UNITS.get(m["unit"]) in ("hours", "minutes"):
        n = int(m["n"]) * (-1 if m["sign"] == "-" else 1)
        return current + timedelta(**{_UNITS[m["unit"]]: n})
    if text == "now":
        return current

    # Relative day, optionally followed by a time ("tomorrow 10:00", "next monday at 2pm").
    m = re.fullmatch(r"(?P<day>.+?)(?:\s+(?:at\s+)?" + _TIME_RE + ")?", text)
    if m:
        day = _relative_day(m["day"], current.date())
        if day is not None:
            try:
                at = _parse_time(m["time"]) if m["time"] else default_time
            except ValueError:
                raise DateError(f"cannot understand the date '{shown}'") from None
            return datetime.combine(day, at, tzinfo=tz)

    # ISO, then free form through dateutil.
    try:
        dt = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        has_time = "t" in text or " " in text or ":" in text
    except ValueError:
        import warnings

        from dateutil import parser

        try:
            with warnings.catch_warnings():
                # "2pm EST": a zone name dateutil cannot place; refuse, never guess
                warnings.simplefilter("error", parser.UnknownTimezoneWarning)
                dt = parser.parse(raw, default=datetime.combine(current.date(), time()))
        except parser.UnknownTimezoneWarning:
            raise DateError(
                f"cannot understand the time zone in '{shown}' (use an offset like +08:00)"
            ) from None
        except (ValueError, OverflowError, parser.ParserError):
            raise DateError(f"cannot understand the date '{shown}'") from None
        has_time = bool(re.search(r"\d:\d|\d\s*(am|pm)\b|noon|midnight", text))
    if not has_time:
        dt = datetime.combine(dt.date(), default_time)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt


def parse_duration(text: str):
    """A duration like 30d, 2w, 1m, 1y, 4h or '3 days' as a dateutil relativedelta."""
    from dateutil.relativedelta import relativedelta

    m = re.fullmatch(r"\s*(\d+)\s*([a-z]+)\s*", text.lower())
    if not m or m[2] not in _UNITS or int(m[1]) == 0:
        raise DateError(f"cannot understand the duration '{text}' (try 1d, 2w, 1m)")
    delta = relativedelta(**{_UNITS[m[2]]: int(m[1])})
    try:
        if (datetime(2000, 1, 1) + delta).year > 9000:
            raise OverflowError
    except (ValueError, OverflowError):
        raise DateError(f"the duration '{text}' is too long") from None
    return delta


def humanize_delta(delta: timedelta) -> str:
    """A short human form of a (positive) time span: 3d 4h, 2h 5m, 12m."""
    secs = int(abs(delta.total_seconds()))
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{days}d {hours}h" if hours and days < 7 else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"
