"""Bad values are refused, not guessed: each names the text, option, file or key,
and none ends in "unexpected <Python exception>"."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import NOW, run, set_settings

from crmcli.dates import parse_when
from crmcli.errors import DateError

CURRENT = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def _add_task(*args: str):
    return run("task", "add", "T", *args)


# ----- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["-1", "1.5", "99", "13", "2026"])
def test_a_bare_number_is_no_date(crm, text):
    r = _add_task(f"--due={text}")
    assert r.code == 1
    assert r.err.startswith(f"Error: '{text}' is a number, not a date")
    assert list((crm / "tasks").glob("*.yaml")) == []


def test_dotted_dates_are_day_first():
    assert parse_when("12.10.2026", CURRENT).date().isoformat() == "2026-10-12"
    assert parse_when("1.2.2027 14:00", CURRENT).isoformat() == "2027-02-01T14:00:00+00:00"


def test_an_ambiguous_slash_date_follows_date_order_or_is_refused(crm):
    r = _add_task("--due", "03/04/2026")
    assert r.code == 1
    assert "'03/04/2026' could be day or month first" in r.err and "date_order" in r.err
    # one order only makes a date: no guess needed
    assert _add_task("--due", "13/04/2026", "-f", "json").json()["due"].startswith("2026-04-13")
    assert _add_task("--due", "04/13/2026", "-f", "json").json()["due"].startswith("2026-04-13")
    set_settings(crm, date_order="MDY")
    assert _add_task("--due", "03/04/2026", "-f", "json").json()["due"].startswith("2026-03-04")
    set_settings(crm, date_order="DMY")
    assert _add_task("--due", "03/04/2026", "-f", "json").json()["due"].startswith("2026-04-03")
    r = _add_task("--due", "03/04/26")
    assert r.code == 1 and "'03/04/26' needs a four-digit year" in r.err


def test_date_order_is_validated(crm):
    set_settings(crm, date_order="dmy?")
    r = run("task", "list")
    assert r.code == 1
    assert r.err.startswith("Error: crm.yaml: 'date_order' must be one of DMY, MDY, YMD")


@pytest.mark.parametrize("text", ["1850-01-01", "2201-01-01", "+300y"])
def test_years_outside_1900_to_2200_are_refused(text):
    with pytest.raises(DateError, match=re.escape(f"'{text}' is out of range")):
        parse_when(text, CURRENT)


def test_an_offset_past_a_day_is_an_error_naming_it(crm):
    r = _add_task("--due", "2026-12-01T10:00+25:00")
    assert r.code == 1
    assert r.err.startswith("Error: the date '2026-12-01T10:00+25:00' has an offset out of range")


@pytest.mark.parametrize("value", ["9999-12-31T00:00:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_crm_now_out_of_range_is_an_error_naming_it(crm, monkeypatch, value):
    monkeypatch.setenv("CRM_NOW", value)
    r = _add_task("--due", "+1d")
    assert r.code == 1
    assert r.err.startswith(f"Error: CRM_NOW '{value}' is out of range")
    monkeypatch.setenv("CRM_NOW", "2026-13-45")
    assert run("task", "list").err.startswith("Error: CRM_NOW is not an ISO timestamp")


@pytest.mark.parametrize("due", ["9999-12-31T00:00:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_a_file_with_a_year_out_of_range_is_skipped_and_reported(crm, due):
    good = _add_task("--due", "+1d", "-f", "json").json()["id"]
    bad = _add_task("--due", "+1d", "-f", "json").json()["id"]
    path = crm / "tasks" / f"{bad}.yaml"
    text = path.read_text(encoding="utf-8")
    lines = [f"due: {due}" if x.startswith("due:") else x for x in text.splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for args in (("task", "list"), ("task", "remind", "--within", "2d"), ("report", "owners")):
        r = run(*args)
        assert r.code == 0, r.err
        assert f"tasks/{bad}.yaml: due: '{due}' is out of range" in r.err
    assert good in run("task", "list").out
    r = run("doctor")
    assert r.code == 1 and f"tasks/{bad}.yaml: due: '{due}' is out of range" in r.out


# ----- monthly recurrence ------------------------------------------------------------------


def test_a_monthly_series_from_the_31st_stays_on_the_last_day(crm, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2027-01-15T10:00:00+08:00")
    rid = _add_task("--due", "2027-01-31", "--every", "1m", "-f", "json").json()["id"]
    dues = []
    for _ in range(4):
        r = run("task", "done", rid)
        assert r.code == 0, r.err
        nxt = [t for t in run("task", "list", "-f", "json").json() if t["status"] == "open"]
        assert len(nxt) == 1
        rid = nxt[0]["id"]
        dues.append(nxt[0]["due"][:10])
    assert dues == ["2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31"]


# ----- numeric options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("report", "forecast", "--months", "1000000"),
        ("report", "stalled", "--days", "99999999"),
        ("customer", "list", "--limit", "-5"),
        ("task", "remind", "--limit", "100000000000"),
    ],
)
def test_numeric_options_have_bounds(crm, args):
    r = run(*args)
    assert r.code == 2
    assert f"Invalid value for '{args[2]}'" in r.err and "is not in the range" in r.err


def test_an_amount_out_of_range_is_refused(crm):
    run("customer", "add", "Acme")
    r = run("deal", "add", "Big", "--customer", "Acme", "--amount", "9" * 40)
    assert r.code == 1 and r.err.startswith("Error: amount '999") and "out of range" in r.err
    assert list((crm / "deals").glob("*.yaml")) == []


# ----- no "unexpected" ---------------------------------------------------------------------


def test_a_merged_into_that_is_a_list_is_a_broken_file(crm):
    rid = run("customer", "add", "Acme", "-f", "json").json()["id"]
    path = crm / "customers" / f"{rid}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "merged_into: [a, b]\n", encoding="utf-8")
    r = run("customer", "show", rid)
    assert r.code == 1
    assert r.err.startswith(f"Error: customers/{rid}.yaml: merged_into: ['a', 'b'] is not a valid")
    r = run("customer", "list")
    assert r.code == 0 and f"customers/{rid}.yaml" in r.err


@pytest.mark.parametrize(
    "args, what",
    [
        (("--dir", "~nosuchuser9/crm", "customer", "list"), "--dir"),
        (("export", "--output", "~nosuchuser9/x.jsonl"), "--output"),
        (("task", "export", "--ics", "~nosuchuser9/x.ics"), "--ics"),
    ],
)
def test_a_path_of_an_unknown_user_is_named(crm, args, what):
    r = run(*args)
    assert r.code == 1
    assert r.err.startswith(f"Error: {what} '~nosuchuser9/")
    assert "home directory" in r.err and "unexpected" not in r.err


@pytest.mark.parametrize("qty", ["-1", "1e400"])
def test_a_deal_line_with_a_bad_qty_is_a_broken_file(crm, qty):
    set_settings(crm, products=[{"sku": "P1", "name": "Pump", "price": 100, "floor": 80}])
    run("customer", "add", "Acme")
    rid = run("deal", "add", "D", "--customer", "Acme", "--line", "P1:2", "-f", "json").json()["id"]
    path = crm / "deals" / f"{rid}.yaml"
    path.write_text(path.read_text().replace("  qty: 2\n", f"  qty: {qty}\n"))
    before = path.read_bytes()
    r = run("deal", "edit", rid, "--amount", "5")
    assert r.code == 1 and r.err.startswith(f"Error: deals/{rid}.yaml: lines item 1: qty:")
    assert path.read_bytes() == before
    r = run("deal", "list")
    assert r.code == 0 and f"deals/{rid}.yaml: lines item 1: qty" in r.err
    assert f"deals/{rid}.yaml: lines item 1: qty" in run("doctor").out


def test_a_lock_that_cannot_be_taken_is_named(crm, monkeypatch):
    import filelock

    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(filelock.FileLock, "acquire", refuse)
    r = run("customer", "add", "Acme")
    assert r.code == 1
    assert r.err == "Error: cannot take the lock .crm/lock: Permission denied\n"
    assert list((crm / "customers").glob("*.yaml")) == []


@pytest.mark.parametrize(
    "env", [{"PYTHONIOENCODING": "latin-1"}, {"PYTHONIOENCODING": "ascii", "LANG": "C"}]
)
def test_a_terminal_that_is_not_utf8_shows_cjk_escaped(crm, env):
    run("customer", "add", "张伟", "--tag", "客户")
    full = {**os.environ, "CRM_NOW": NOW, "CRM_DIR": str(crm), "LC_ALL": "", **env}
    root = Path(__file__).resolve().parents[1]
    for args in (["customer", "list"], ["customer", "show", "张伟"], ["customer", "show", "李"]):
        p = subprocess.run(
            [sys.executable, "-m", "crmcli", *args],
            env=full,
            capture_output=True,
            cwd=root,
            timeout=60,
        )
        assert b"unexpected" not in p.stderr and b"Traceback" not in p.stderr
        assert b"\\u5f20\\u4f1f" in p.stdout or b"\\u674e" in p.stderr


# ----- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, message",
    [
        ({"max_discount": float("nan")}, "'max_discount' must be a number"),
        ({"big_deal": float("inf")}, "'big_deal' must be a number"),
        ({"stall_days": 10**9}, "'stall_days' must be a number of at most 36500"),
        ({"products": [{"sku": "A", "price": -1}]}, "'products' item 1: 'price' must be"),
        ({"products": [{"sku": "A", "price": 10, "floor": 20}]}, "'floor' 20 is above the price"),
        ({"products": [{"sku": "A"}, {"sku": "A"}]}, "item 2: sku 'A' is listed twice"),
        ({"git": {"autocommit": "yes"}}, "'git.autocommit' must be true or false"),
        ({"default_region": "Germany"}, "'default_region' must be a two-letter region"),
        ({"timezone": ""}, "'timezone' must be an IANA zone"),
        ({"timezone": "Mars/Olympus"}, "'timezone' unknown timezone 'Mars/Olympus'"),
    ],
)
def test_malformed_settings_are_errors_naming_the_key(crm, values, message):
    set_settings(crm, **values)
    r = run("customer", "list")
    assert r.code == 1
    assert r.err.startswith("Error: crm.yaml: ") and message in r.err, r.err


def test_an_unknown_region_code_is_named(crm):
    set_settings(crm, default_region="XX")
    r = run("customer", "add", "Acme", "--phone", "030 1234567")
    assert r.code == 1
    assert r.err == "Error: crm.yaml: 'default_region' 'XX' is not a known region code\n"


def test_done_refuses_a_next_occurrence_past_2200_before_writing(crm):
    rid = _add_task("--due", "2200-12-15", "--every", "1y", "-f", "json").json()["id"]
    before = {p.name: p.read_bytes() for p in (crm / "tasks").iterdir()}
    r = run("task", "done", rid)
    assert r.code == 1
    assert r.err.startswith(
        "Error: the next occurrence '2201-12-15T23:59:59+08:00' is out of range"
    )
    assert {p.name: p.read_bytes() for p in (crm / "tasks").iterdir()} == before
