"""dates.py: WHEN parsing in every form CONVENTIONS lists, durations, CRM_NOW."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crmcli import dates
from crmcli.errors import DateError

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # a Monday
EOD = (23, 59, 59)


def at(y, mo, d, h=0, mi=0, s=0, tz=TZ):
    return datetime(y, mo, d, h, mi, s, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "start_of_day", "end_of_day"),
    [
        ("today", at(2026, 11, 23), at(2026, 11, 23, *EOD)),
        ("Today", at(2026, 11, 23), at(2026, 11, 23, *EOD)),
        ("tomorrow", at(2026, 11, 24), at(2026, 11, 24, *EOD)),
        ("yesterday", at(2026, 11, 22), at(2026, 11, 22, *EOD)),
        ("+3d", at(2026, 11, 26), at(2026, 11, 26, *EOD)),
        ("+2w", at(2026, 12, 7), at(2026, 12, 7, *EOD)),
        ("+1m", at(2026, 12, 23), at(2026, 12, 23, *EOD)),
        ("-1d", at(2026, 11, 22), at(2026, 11, 22, *EOD)),
        ("in 3 days", at(2026, 11, 26), at(2026, 11, 26, *EOD)),
        ("in 2 weeks", at(2026, 12, 7), at(2026, 12, 7, *EOD)),
        ("3 days ago", at(2026, 11, 20), at(2026, 11, 20, *EOD)),
        # today is a Monday: "next monday" and "monday" are a week on
        ("next monday", at(2026, 11, 30), at(2026, 11, 30, *EOD)),
        ("monday", at(2026, 11, 30), at(2026, 11, 30, *EOD)),
        ("this monday", at(2026, 11, 23), at(2026, 11, 23, *EOD)),
        ("fri", at(2026, 11, 27), at(2026, 11, 27, *EOD)),
        ("last friday", at(2026, 11, 20), at(2026, 11, 20, *EOD)),
        ("next week", at(2026, 11, 30), at(2026, 11, 30, *EOD)),
        ("2026-12-01", at(2026, 12, 1), at(2026, 12, 1, *EOD)),
        ("Dec 1", at(2026, 12, 1), at(2026, 12, 1, *EOD)),
        ("1 december 2026", at(2026, 12, 1), at(2026, 12, 1, *EOD)),
    ],
)
def test_day_forms_give_midnight_or_the_end_of_the_day(text, start_of_day, end_of_day):
    assert dates.parse_when(text, NOW) == start_of_day
    assert dates.parse_when(text, NOW, end_of_day=True) == end_of_day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 10:00", at(2026, 11, 24, 10)),
        ("tomorrow at 9am", at(2026, 11, 24, 9)),
        ("tomorrow noon", at(2026, 11, 24, 12)),
        ("today 5 pm", at(2026, 11, 23, 17)),
        ("next monday 14:30", at(2026, 11, 30, 14, 30)),
        ("+3d 15:00", at(2026, 11, 26, 15)),
        ("in 3 days 8:15", at(2026, 11, 26, 8, 15)),
        ("2026-12-01T14:00", at(2026, 12, 1, 14)),
        ("2026-12-01 14:00", at(2026, 12, 1, 14)),
        ("Dec 1 2026 2pm", at(2026, 12, 1, 14)),
        ("2pm", at(2026, 11, 23, 14)),
        ("+4h", at(2026, 11, 23, 14)),
        ("in 30 minutes", at(2026, 11, 23, 10, 30)),
        ("now", NOW),
    ],
)
def test_forms_with_a_time_keep_it_whatever_end_of_day_says(text, expected):
    assert dates.parse_when(text, NOW) == expected
    assert dates.parse_when(text, NOW, end_of_day=True) == expected


def test_an_explicit_offset_is_kept():
    dt = dates.parse_when("2026-12-01T14:00:00+00:00", NOW)
    assert dt.utcoffset() == timedelta(0)
    assert dt == datetime(2026, 12, 1, 14, tzinfo=timezone.utc)
    assert dates.parse_when("2026-12-01T06:00:00Z", NOW) == at(2026, 12, 1, 14)
    assert dates.parse_when("Dec 1 2026 2pm UTC", NOW) == datetime(
        2026, 12, 1, 14, tzinfo=timezone.utc
    )


def test_results_are_in_the_zone_of_now():
    berlin = datetime(2026, 11, 23, 3, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    dt = dates.parse_when("tomorrow 10:00", berlin)
    assert dt.tzinfo == ZoneInfo("Europe/Berlin")
    assert (dt.year, dt.month, dt.day, dt.hour) == (2026, 11, 24, 10)


def test_month_arithmetic_clamps_to_the_month_end():
    jan31 = at(2027, 1, 31, 10)
    assert dates.parse_when("+1m", jan31) == at(2027, 2, 28)


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "someday soon",
        "tomorrow 25:00",
        "2026-13-01",
        "dec 32 2026",
        "next",
        "blah 10:00",
    ],
)
def test_garbage_is_an_error_quoting_the_text(text):
    with pytest.raises(DateError) as e:
        dates.parse_when(text, NOW)
    assert f"'{text}'" in e.value.message


def test_an_empty_date_is_an_error():
    with pytest.raises(DateError):
        dates.parse_when("   ", NOW)


def test_an_unknown_zone_name_is_refused_not_guessed():
    with pytest.raises(DateError) as e:
        dates.parse_when("Dec 1 2026 2pm EST", NOW)
    assert "'Dec 1 2026 2pm EST'" in e.value.message


def test_parse_duration():
    from dateutil.relativedelta import relativedelta

    assert dates.parse_duration("30d") == relativedelta(days=30)
    assert dates.parse_duration("2w") == relativedelta(weeks=2)
    assert dates.parse_duration("1m") == relativedelta(months=1)
    assert dates.parse_duration("1y") == relativedelta(years=1)
    assert dates.parse_duration("4h") == relativedelta(hours=4)
    assert dates.parse_duration("3 days") == relativedelta(days=3)
    for bad in ("0d", "d", "3x", "-1d", ""):
        with pytest.raises(DateError) as e:
            dates.parse_duration(bad)
        assert f"'{bad}'" in e.value.message


def test_now_honours_crm_now_in_any_zone():
    got = dates.now(TZ, "2026-11-23T02:00:00Z")
    assert got == at(2026, 11, 23, 10)
    assert got.tzinfo == TZ
    with pytest.raises(DateError) as e:
        dates.now(TZ, "not a time")
    assert "'not a time'" in e.value.message


def test_parse_iso_and_iso_round_trip():
    dt = dates.parse_iso("2026-12-01T14:00:00+08:00")
    assert dates.iso(dt) == "2026-12-01T14:00:00+08:00"
    naive = dates.parse_iso("2026-12-01T14:00:00", TZ)
    assert naive == at(2026, 12, 1, 14)
    assert dates.iso(NOW.replace(microsecond=123456)) == "2026-11-23T10:00:00+08:00"


def test_humanize_delta():
    assert dates.humanize_delta(timedelta(minutes=12)) == "12m"
    assert dates.humanize_delta(timedelta(hours=2, minutes=5)) == "2h 5m"
    assert dates.humanize_delta(timedelta(hours=2)) == "2h"
    assert dates.humanize_delta(timedelta(days=3, hours=4)) == "3d 4h"
    assert dates.humanize_delta(timedelta(days=10, hours=4)) == "10d"
    assert dates.humanize_delta(timedelta(hours=-3)) == "3h"
