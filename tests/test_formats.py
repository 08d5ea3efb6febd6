"""Values for people read one way (crmcli.formats): booleans as yes/no and short
times in tables and show; JSON and CSV keep true/false and whole stamps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conftest import run

from crmcli.formats import clock_text, day_text, time_text, yes_no


def test_yes_no_and_time_text():
    assert (yes_no(True), yes_no(False)) == ("yes", "no")
    assert time_text("2026-11-23T10:00:00+08:00") == "2026-11-23 10:00"
    at = datetime(2026, 11, 23, 10, 5, tzinfo=timezone(timedelta(hours=8)))
    assert time_text(at) == "2026-11-23 10:05"
    assert time_text(None) == ""
    assert time_text(at, weekday=True) == "Mon 2026-11-23 10:05"


def test_days_and_clock_times_read_one_way():
    at = datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)
    assert day_text(at) == "2026-12-01"
    assert day_text(at.date(), short=True) == "Dec 01"
    assert day_text(at, weekday=True) == "Tue Dec 01"
    assert clock_text(at) == "14:00"


def test_show_reads_booleans_as_yes_no_and_json_keeps_true(crm):
    assert run("customer", "add", "Acme GmbH").code == 0
    assert run("customer", "edit", "Acme GmbH", "--tier", "a").code == 0
    lines = run("customer", "show", "Acme GmbH").out.splitlines()
    assert [line.split() for line in lines if line.startswith("tier_manual")] == [
        ["tier_manual", "yes"]
    ]
    assert run("customer", "show", "Acme GmbH", "-f", "json").json()["tier_manual"] is True
    assert run("deal", "add", "Pump order", "--customer", "Acme GmbH").code == 0
    out = run("deal", "show", "Pump order").out
    assert "needs_approval  no" in out
    assert "2026-11-23 10:00  new    alice" in out  # the stage history's short time


def test_money_is_exact_in_the_currencys_decimals_and_the_quote_uses_the_same_rule():
    from decimal import Decimal

    from crmcli.formats import money_text
    from crmcli.quotes import money

    assert money_text(Decimal("1234.567"), "USD") == "1,234.567 USD"  # never rounded
    assert money_text(Decimal("1234.5"), "USD") == "1,234.50 USD"
    assert money_text(Decimal("1234"), "JPY", places=0) == "1,234 JPY"
    assert money_text(Decimal("1234.5"), "JPY", places=0) == "1,234.5 JPY"
    assert money_text(Decimal("1.5"), "KWD", places=3) == "1.500 KWD"
    big = Decimal("100000000000000000000000000")  # 29 digits with cents: above Decimal's 28
    assert money_text(big, "USD") == "100,000,000,000,000,000,000,000,000.00 USD"
    assert (
        money_text(Decimal("100000000000000000000000000.001"), "USD")
        == "100,000,000,000,000,000,000,000,000.001 USD"
    )
    assert money(Decimal("1200.5"), 2, "de") == "1.200,50"
    assert money(Decimal("0.125"), 2, "en") == "0.125"
    assert money(Decimal("1234.5"), 0, "zh") == "1,234.5"
    assert money(None, 2, "en") == ""


def test_an_amount_of_27_digits_is_shown_not_an_internal_error(crm):
    assert run("customer", "add", "Acme").code == 0
    r = run("deal", "add", "Huge", "--customer", "Acme", "--amount", "100000000000000000000000000")
    assert r.code == 0, r.err
    assert "(100,000,000,000,000,000,000,000,000.00 USD)" in r.out
    r = run("deal", "list")
    assert r.code == 0, r.err
    assert "100,000,000,000,000,000,000,000,000" in r.out.replace("\n", "")
