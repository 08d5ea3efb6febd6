"""Control characters and escape sequences from data never reach a terminal or the
cron mail raw: every output shows them escaped, JSON as JSON does, files keep them."""

from __future__ import annotations

import json
import re

from conftest import run

EVIL = "Evil\x1b[2J\x07\x08\r\u202eNa\x9bme"
NOTE = "first line\nsecond\x1b]0;pwned\x07 line"
# what must never be printed raw (newline and tab are fine where text runs over lines)
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _clean(text: str) -> None:
    assert not RAW.search(text), repr(text)


def _hostile_crm() -> dict[str, str]:
    ids = {}
    r = run("customer", "add", EVIL, "--tag", "t\x1bx", "-f", "json")
    ids["customer"] = r.json()["id"]
    r = run("lead", "add", EVIL, "--company", EVIL, "-f", "json")
    ids["lead"] = r.json()["id"]
    r = run("deal", "add", EVIL, "--customer", ids["customer"], "--amount", "10", "-f", "json")
    ids["deal"] = r.json()["id"]
    r = run("task", "add", EVIL, "--due", "today", "--customer", ids["customer"], "-f", "json")
    ids["task"] = r.json()["id"]
    assert run("customer", "note", ids["customer"], NOTE).code == 0
    return ids


def test_tables_show_remind_report_and_errors_escape_controls(crm):
    ids = _hostile_crm()
    outputs = [
        run("customer", "list"),
        run("lead", "list"),
        run("deal", "list"),
        run("task", "list"),
        run("customer", "show", ids["customer"]),
        run("lead", "show", ids["lead"]),
        run("deal", "show", ids["deal"]),
        run("task", "show", ids["task"]),
        run("task", "remind"),
        run("report", "customers"),
        run("report", "owners"),
        run("task", "done", ids["task"]),
    ]
    for r in outputs:
        assert r.code == 0, r.err
        _clean(r.out)
        _clean(r.err)
    shown = run("customer", "show", ids["customer"]).out
    assert "\\x1b[2J\\x07\\x08\\r\\u202eNa\\u009bme" in shown
    # a note is shown over its lines; the escape inside it is not raw
    assert "first line" in shown and "\\x1b]0;pwned\\x07" in shown
    assert "\\x1b[2J" in outputs[8].out  # task remind, the text cron mails
    # an error quoting the REF, and a warning, are one line each with the escape shown
    r = run("customer", "show", "\x1b[2J\nx")
    assert r.code == 1
    assert r.err.strip() == "Error: no customer matches '\\x1b[2J\\nx'"


def test_json_escapes_and_files_keep_the_bytes(crm):
    ids = _hostile_crm()
    r = run("customer", "show", ids["customer"], "-f", "json")
    _clean(r.out)
    assert r.json()["name"] == EVIL  # JSON escapes, and reads back the same text
    r = run("customer", "list", "-f", "json")
    _clean(r.out)
    assert r.json()[0]["name"] == EVIL
    text = (crm / "customers" / f"{ids['customer']}.yaml").read_bytes().decode("utf-8")
    assert json.loads(json.dumps(text)) == text
    from crmcli import yamlio

    assert yamlio.loads(text)["name"] == EVIL
    # CSV is data for programs: as is
    r = run("customer", "list", "-f", "csv")
    assert "\x1b[2J" in r.out


def test_a_warning_names_the_value_escaped_on_one_line(crm):
    from conftest import set_settings

    set_settings(crm, owners=["alice"])
    r = run("customer", "add", "Acme", "--owner", "bob\x1b[8m\nx")
    assert r.code == 0
    assert "owner 'bob\\x1b[8m\\nx' is not in settings owners" in r.err
    _clean(r.err)
