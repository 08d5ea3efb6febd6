"""Tasks: add, list order, complaints by tier, recurrence, snooze, remind, ics."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import added, run, set_settings, snapshot

from crmcli import tasks
from crmcli.changes import ChangeSet
from crmcli.store import Store

TZ = ZoneInfo("Asia/Shanghai")
BOX = set("─│┌┐└┘├┤┬┴┼━┃═║╭╮╯╰")


def listed(*args) -> list[dict]:
    r = run("task", "list", *args, "--format", "json")
    assert r.code == 0, r.err
    return r.json()


def customer(name, tier=None, cadence=None, owner=None) -> str:
    cid = added("customer", name, *(["--owner", owner] if owner else []))["id"]
    edit = []
    if tier:
        edit += ["--tier", tier]
    if cadence:
        edit += ["--cadence", cadence]
    if edit:
        assert run("customer", "edit", cid, *edit).code == 0
    return cid


def deal(store, title, **fields) -> dict:
    values = {"stage": "proposal", "status": "open", "currency": "CNY", "owner": "alice"}
    values.update(fields)
    return store.create("deal", title=title, **values)


def last_change() -> str:
    from crmcli.commands.common import state

    return state.store.messages[-1]


# ----- add ----------------------------------------------------------------------------


def test_add_prints_the_id_and_stores_a_date_as_the_end_of_that_day(crm):
    r = run("task", "add", "Call Zhang", "--due", "today")
    assert r.code == 0, r.err
    assert r.out.startswith("Added task ")
    assert last_change() == 'task: add "Call Zhang"'
    (rec,) = listed()
    assert rec["due"] == "2026-11-23T23:59:59+08:00"
    assert rec["status"] == "open" and rec["priority"] == "normal" and rec["kind"] == "todo"
    assert rec["owner"] == "alice"
    # due today, at 10:00: not overdue
    assert listed("--overdue") == []


@pytest.mark.parametrize(
    ("when", "due"),
    [
        ("today", "2026-11-23T23:59:59+08:00"),
        ("tomorrow 10:00", "2026-11-24T10:00:00+08:00"),
        ("yesterday", "2026-11-22T23:59:59+08:00"),
        ("+3d", "2026-11-26T23:59:59+08:00"),
        ("+2w", "2026-12-07T23:59:59+08:00"),
        ("+1m", "2026-12-23T23:59:59+08:00"),
        ("in 3 days", "2026-11-26T23:59:59+08:00"),
        ("next monday", "2026-11-30T23:59:59+08:00"),
        ("2026-12-01", "2026-12-01T23:59:59+08:00"),
        ("2026-12-01T14:00", "2026-12-01T14:00:00+08:00"),
        ("2026-12-01T14:00:00+00:00", "2026-12-01T14:00:00+00:00"),
        ("Dec 1 2026 2pm", "2026-12-01T14:00:00+08:00"),
    ],
)
def test_every_when_form_for_a_due(crm, when, due):
    assert added("task", "T", "--due", when)["due"] == due


def test_garbage_due_is_an_error_quoting_the_text_and_writes_nothing(crm):
    r = run("task", "add", "Call", "--due", "someday maybe")
    assert r.code == 1
    assert r.err.startswith("Error: ") and "'someday maybe'" in r.err
    assert r.out == ""
    assert snapshot(crm, "tasks/*.yaml") == {}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--severity", "high"], "complaint"),
        (["--every", "1w"], "due"),
        (["--every", "4h", "--due", "today"], "shorter than a day"),
        (["--every", "often", "--due", "today"], "'often'"),
        (["--customer", "nobody"], "no customer matches 'nobody'"),
    ],
)
def test_add_errors(crm, args, needle):
    r = run("task", "add", "T", *args)
    assert r.code == 1
    assert r.err.startswith("Error: ") and needle in r.err
    assert snapshot(crm, "tasks/*.yaml") == {}


def test_a_task_links_one_record(crm):
    cid = customer("Acme GmbH")
    r = run("task", "add", "T", "--customer", cid, "--deal", "whatever")
    assert r.code == 1 and "one of" in r.err
    rec = added("task", "T", "--customer", "acme gmbh")
    assert rec["customer"] == cid and rec["lead"] is None and rec["deal"] is None


def test_bad_choice_is_a_usage_error(crm):
    assert run("task", "add", "T", "--priority", "asap").code == 2


def test_complaint_defaults_to_medium_severity(crm):
    rec = added("task", "Broken pump", "--kind", "complaint")
    assert rec["severity"] == "medium"
    assert (
        added("task", "Leak", "--kind", "complaint", "--severity", "critical")["severity"]
        == "critical"
    )


def test_a_due_in_the_past_warns(crm):
    r = run("task", "add", "Late", "--due", "yesterday")
    assert r.code == 0 and "Warning:" in r.err and "past" in r.err


# ----- list and order -------------------------------------------------------------------


def test_order_overdue_most_late_first_then_due_then_priority_no_due_last(crm):
    added("task", "no due low", "--priority", "low")
    added("task", "no due urgent", "--priority", "urgent")
    added("task", "later", "--due", "+3d")
    added("task", "today normal", "--due", "today")
    added("task", "today urgent", "--due", "today", "--priority", "urgent")
    added("task", "late 1h", "--due", "today 09:00")
    added("task", "late 3d", "--due", "3 days ago")
    added("task", "late 1d", "--due", "yesterday")
    titles = [t["title"] for t in listed()]
    assert titles == [
        "late 3d",
        "late 1d",
        "late 1h",
        "today urgent",
        "today normal",
        "later",
        "no due urgent",
        "no due low",
    ]
    assert [t["title"] for t in listed("--overdue")] == ["late 3d", "late 1d", "late 1h"]


def test_list_filters(crm, index):
    cid = customer("Acme GmbH")
    a = added("task", "mine", "--due", "today", "--customer", cid)
    added("task", "bobs", "--due", "+2d", "--owner", "bob", "--kind", "call")
    added("task", "far", "--due", "+1m")
    done = added("task", "finished")
    assert run("task", "done", done["id"]).code == 0
    assert [t["title"] for t in listed("--owner", "bob")] == ["bobs"]
    assert [t["title"] for t in listed("--kind", "call")] == ["bobs"]
    assert [t["title"] for t in listed("--customer", "Acme GmbH")] == ["mine"]
    assert [t["title"] for t in listed("--due-before", "+2d")] == ["mine", "bobs"]
    assert [t["title"] for t in listed("--due-before", "today")] == ["mine"]
    assert [t["title"] for t in listed("--status", "done")] == ["finished"]
    assert len(listed("--status", "all")) == 4
    assert [t["id"] for t in listed("--limit", "1")] == [a["id"]]
    r = run("task", "list", "--due-before", "whenever")
    assert r.code == 1 and "'whenever'" in r.err


def test_list_json_is_records_and_csv_has_a_header(crm, index):
    rec = added("task", "Call", "--due", "yesterday")
    assert rec.pop("warnings") == ["the due 2026-11-22 is in the past"]  # (add's JSON only)
    (got,) = listed("--overdue")
    assert got == rec
    r = run("task", "list", "--format", "csv")
    assert r.out.splitlines()[0].startswith("id,title,due,status")


def test_list_table_is_plain_off_a_terminal(crm, index):
    cid = customer("张伟贸易有限公司")
    added(
        "task",
        "给张伟打电话确认订单",
        "--due",
        "yesterday",
        "--customer",
        cid,
        "--priority",
        "high",
    )
    r = run("task", "list")
    assert r.code == 0
    assert "张伟贸易" in r.out and "1d" in r.out and "high" in r.out
    assert "\x1b[" not in r.out
    assert all(len(line) <= 80 for line in r.out.splitlines())
    assert run("task", "list", "--owner", "nobody").err.strip() == "no tasks"


def test_list_with_a_customer_finds_tasks_through_deals_and_leads(crm, store, index):
    cid = customer("Acme GmbH")
    d = deal(store, "Pump order", customer=cid)
    lead = store.create("lead", name="Li Wei", customer=cid, status="converted")
    added("task", "via deal", "--deal", d["id"])
    added("task", "via lead", "--lead", lead["id"])
    added("task", "other")
    assert sorted(t["title"] for t in listed("--customer", cid)) == ["via deal", "via lead"]
    assert [t["title"] for t in listed("--deal", "Pump order")] == ["via deal"]


def test_complaints_rank_by_tier_then_severity_then_age(crm, store, monkeypatch):
    a = customer("Alpha", tier="A")
    b = customer("Beta", tier="B")
    c = customer("Gamma", tier="C")
    none = customer("Nobody")
    d = deal(store, "Big one", customer=a)
    lead = store.create("lead", name="Lead B", customer=b, status="converted")

    def complaint(title, severity, when, **link):
        monkeypatch.setenv("CRM_NOW", when)
        args = ["--kind", "complaint", "--severity", severity]
        for k, v in link.items():
            args += [f"--{k}", v]
        added("task", title, *args)

    complaint("C critical", "critical", "2026-11-01T10:00:00+08:00", customer=c)
    complaint("none critical", "critical", "2026-11-01T10:00:00+08:00", customer=none)
    complaint("unlinked", "critical", "2026-11-02T10:00:00+08:00")
    complaint("B low", "low", "2026-11-01T10:00:00+08:00", customer=b)
    complaint("B high new", "high", "2026-11-20T10:00:00+08:00", customer=b)
    complaint("B high old via lead", "high", "2026-11-10T10:00:00+08:00", lead=lead["id"])
    complaint("A low via deal", "low", "2026-11-22T10:00:00+08:00", deal=d["id"])
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00+08:00")
    added("task", "not a complaint", "--customer", a)
    got = [t["title"] for t in listed("--kind", "complaint")]
    assert got == [
        "A low via deal",
        "B high old via lead",
        "B high new",
        "B low",
        "C critical",
        "none critical",
        "unlinked",
    ]
    r = run("task", "list", "--kind", "complaint")
    assert r.code == 0 and "tier" in r.out and "critical" in r.out


# ----- done, recurrence, reopen, snooze, edit, rm ----------------------------------------


def test_done_and_reopen(crm):
    rec = added("task", "Call Zhang", "--due", "today")
    r = run("task", "done", "call zhang")
    assert r.code == 0 and r.out.startswith(f"Done task {rec['id']}")
    assert last_change() == 'task: done "Call Zhang"'
    (got,) = listed("--status", "done")
    assert got["done_at"] == "2026-11-23T10:00:00+08:00"
    r = run("task", "done", rec["id"])
    assert r.code == 1 and "done already" in r.err
    assert run("task", "reopen", "Call Zhang").code == 0
    assert last_change() == 'task: reopen "Call Zhang"'
    (got,) = listed()
    assert got["status"] == "open" and got["done_at"] is None


def test_cancel_keeps_the_task_as_cancelled_and_ends_a_series(crm):
    rec = added("task", "Call Zhang", "--due", "today")
    r = run("task", "cancel", "call zhang")
    assert r.code == 0 and r.out.startswith(f"Cancelled task {rec['id']}")
    assert last_change() == 'task: cancel "Call Zhang"'
    assert listed() == []
    (got,) = listed("--status", "cancelled")
    assert got["id"] == rec["id"] and got["done_at"] is None
    r = run("task", "cancel", rec["id"])
    assert r.code == 1 and "cancelled, not open" in r.err
    assert run("task", "reopen", rec["id"]).code == 0
    assert [t["status"] for t in listed()] == ["open"]
    weekly = added("task", "Weekly report", "--due", "2026-11-23T17:00", "--every", "1w")
    r = run("task", "cancel", weekly["id"])
    assert r.code == 0 and "no next occurrence" in r.out
    assert [t["title"] for t in listed()] == ["Call Zhang"]  # the series made no next one


def test_recurring_done_makes_the_next_occurrence_with_a_derived_id(crm):
    rec = added("task", "Weekly report", "--due", "2026-11-23T17:00", "--every", "1w")
    assert rec["series"] == rec["id"] and rec["every"] == "1w"
    r = run("task", "done", "Weekly report")
    assert r.code == 0, r.err
    nid = f"{rec['id']}-20261130"
    assert nid in r.out
    (nxt,) = listed()
    assert nxt["id"] == nid
    assert nxt["due"] == "2026-11-30T17:00:00+08:00"
    assert nxt["series"] == rec["id"] and nxt["every"] == "1w" and nxt["title"] == "Weekly report"
    # the title now names a done and an open task: done picks the open one
    r = run("task", "done", "Weekly report")
    assert r.code == 0, r.err
    assert [t["id"] for t in listed()] == [f"{rec['id']}-20261207"]


def test_recurrence_skips_occurrences_already_past(crm, monkeypatch):
    rec = added("task", "Invoice run", "--due", "2026-11-02", "--every", "1w")
    assert rec["due"] == "2026-11-02T23:59:59+08:00"
    r = run("task", "done", rec["id"])
    assert r.code == 0
    # 11-09 and 11-16 are past at 2026-11-23 10:00; 11-23 (end of day) is not
    (nxt,) = listed()
    assert nxt["id"] == f"{rec['id']}-20261123"
    assert nxt["due"] == "2026-11-23T23:59:59+08:00"


def test_monthly_recurrence_from_the_due_date(crm):
    rec = added("task", "Rent", "--due", "2026-10-31T09:00", "--every", "1m")
    run("task", "done", rec["id"])
    (nxt,) = listed()
    assert nxt["due"] == "2026-11-30T09:00:00+08:00"
    assert nxt["id"] == f"{rec['id']}-20261130"


def test_two_clones_completing_the_same_occurrence_make_one_next_task(crm, tmp_path):
    """The next occurrence's file exists already (the other clone made it, git merged
    it in): done does not fail and does not make a second one."""
    import shutil

    rec = added("task", "Standup notes", "--due", "today 18:00", "--every", "1d")
    clone = tmp_path / "clone"
    shutil.copytree(crm, clone)
    r = run("--dir", str(clone), "task", "done", rec["id"])
    assert r.code == 0
    nid = f"{rec['id']}-20261124"
    made = (clone / "tasks" / f"{nid}.yaml").read_bytes()
    (crm / "tasks" / f"{nid}.yaml").write_bytes(made)  # as git merge would bring it
    r = run("task", "done", rec["id"])
    assert r.code == 0, r.err
    assert "already there" in r.out
    assert (crm / "tasks" / f"{nid}.yaml").read_bytes() == made
    assert sorted(snapshot(crm, "tasks/*.yaml")) == sorted(snapshot(clone, "tasks/*.yaml"))


def test_next_due_keeps_the_wall_time_across_dst(crm):
    berlin = ZoneInfo("Europe/Berlin")
    task = {"id": "x", "due": "2027-03-22T09:00:00+01:00", "every": "1w"}
    now = datetime(2027, 3, 23, 12, tzinfo=berlin)
    nxt = tasks.next_due(task, now, berlin)
    assert nxt.isoformat() == "2027-03-29T09:00:00+02:00"


def test_snooze(crm):
    rec = added("task", "Call", "--due", "yesterday")
    r = run("task", "snooze", "Call", "+2d")
    assert r.code == 0, r.err
    assert last_change() == 'task: snooze "Call" to 2026-11-25'
    (got,) = listed()
    assert got["due"] == "2026-11-25T23:59:59+08:00"
    assert run("task", "snooze", rec["id"], "tomorrow 9:00").code == 0
    assert listed()[0]["due"] == "2026-11-24T09:00:00+08:00"
    before = snapshot(crm, "tasks/*.yaml")
    r = run("task", "snooze", rec["id"], "yesterday")
    assert r.code == 1 and "'yesterday'" in r.err
    r = run("task", "snooze", rec["id"], "mañana-ish")
    assert r.code == 1 and "'mañana-ish'" in r.err
    run("task", "done", rec["id"])
    before = snapshot(crm, "tasks/*.yaml")
    r = run("task", "snooze", rec["id"], "+1d")
    assert r.code == 1 and "reopen" in r.err
    assert snapshot(crm, "tasks/*.yaml") == before


def test_edit(crm):
    cid = customer("Acme GmbH")
    rec = added("task", "Call", "--due", "today", "--customer", cid)
    r = run("task", "edit", "Call", "--title", "Call back", "--priority", "urgent",
            "--due", "tomorrow 11:00", "--owner", "bob", "--format", "json")  # fmt: skip
    assert r.code == 0, r.err
    got = r.json()
    assert (got["title"], got["priority"], got["owner"]) == ("Call back", "urgent", "bob")
    assert got["due"] == "2026-11-24T11:00:00+08:00" and got["customer"] == cid
    assert last_change() == 'task: edit "Call back"'
    got = run("task", "edit", rec["id"], "--every", "2w", "--format", "json").json()
    assert got["every"] == "2w" and got["series"] == rec["id"]
    got = run("task", "edit", rec["id"], "--unset", "customer", "--unset", "every",
              "--format", "json").json()  # fmt: skip
    assert got["customer"] is None and got["every"] is None
    before = snapshot(crm, "tasks/*.yaml")
    assert run("task", "edit", rec["id"], "--severity", "high").code == 1
    assert run("task", "edit", rec["id"], "--unset", "title").code == 1
    assert run("task", "edit", rec["id"], "--due", "never ever").code == 1
    assert snapshot(crm, "tasks/*.yaml") == before
    got = run("task", "edit", rec["id"], "--kind", "complaint", "--format", "json").json()
    assert got["severity"] == "medium"


def test_rm(crm):
    rec = added("task", "Call")
    r = run("task", "rm", "Call")
    assert r.code == 0 and rec["id"] in r.out
    assert last_change() == 'task: remove "Call"'
    assert snapshot(crm, "tasks/*.yaml") == {}
    r = run("task", "rm", "Call")
    assert r.code == 1 and "no task matches 'Call'" in r.err


def test_show(crm):
    rec = added("task", "Call", "--due", "yesterday")
    r = run("task", "show", rec["id"][:5])
    assert r.code == 0 and "Call" in r.out and "late" in r.out
    got = run("task", "show", "Call", "--format", "json").json()
    assert got["id"] == rec["id"] and got["timeline"] == []


# ----- stay in touch --------------------------------------------------------------------


def test_due_contact_by_cadence(crm, store, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-10-01T10:00:00+08:00")
    quiet = customer("Quiet Co", cadence="30d")
    noted = customer("Noted Co", cadence="30d")
    tasked = customer("Tasked Co", cadence="30d")
    customer("No cadence Co")
    fresh = customer("Fresh Co", cadence="90d")
    monkeypatch.setenv("CRM_NOW", "2026-11-10T10:00:00+08:00")
    assert run("customer", "note", noted, "Called, all fine").code == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-11T10:00:00+08:00")
    t = added("task", "Visit", "--customer", tasked)
    assert run("task", "done", t["id"]).code == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00+08:00")
    got = listed("--due-contact")
    assert [c["id"] for c in got] == [quiet]
    assert got[0]["last_contact"] is None
    assert got[0]["contact_due"] == "2026-10-31T10:00:00+08:00"
    monkeypatch.setenv("CRM_NOW", "2026-12-15T10:00:00+08:00")
    got = listed("--due-contact")
    assert [c["id"] for c in got] == [quiet, noted, tasked]
    assert got[1]["last_contact"] == "2026-11-10T10:00:00+08:00"
    assert fresh not in [c["id"] for c in got]
    r = run("task", "list", "--due-contact")
    assert r.code == 0 and "Quiet Co" in r.out
    assert run("task", "list", "--due-contact", "--overdue").code == 1


# ----- remind ----------------------------------------------------------------------------


def test_remind_is_silent_when_nothing_needs_attention(crm, store):
    r = run("task", "remind")
    assert (r.code, r.out, r.err) == (0, "", "")
    added("task", "Later", "--due", "tomorrow 9:00")
    added("task", "No due")
    done = added("task", "Done", "--due", "yesterday")
    run("task", "done", done["id"])
    deal(store, "Fine deal", close_date="2026-12-31", amount=Decimal("500000"))
    deal(store, "Won deal", status="won", close_date="2026-01-01")
    deal(store, "Small approval", needs_approval=True, amount=Decimal("5000"))
    customer("Recent Co", cadence="30d")
    r = run("task", "remind")
    assert (r.code, r.out) == (0, "")
    data = run("task", "remind", "--format", "json").json()
    assert data["tasks"] == [] and data["contact_due"] == []


def test_remind_shows_money_exactly(crm, store):
    deal(store, "Odd order", close_date="2026-11-18", amount=Decimal("1234.567"))
    deal(store, "Big odd order", needs_approval=True, amount=Decimal("250000.125"))
    out = run("task", "remind").out
    assert "1,234.567 CNY" in out and "1,234.57" not in out
    assert "250,000.125 CNY" in out


def test_remind_plain_text_grouped_by_owner(crm, store, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-09-01T10:00:00+08:00")
    zhang = customer("张伟贸易", cadence="30d", owner="alice")
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00+08:00")
    acme = customer("Acme GmbH", owner="bob")
    d = deal(store, "Pump order", customer=acme, close_date="2026-11-18",
             amount=Decimal("120000.50"), owner="bob")  # fmt: skip
    deal(store, "Huge order", customer=acme, needs_approval=True,
         amount=Decimal("250000"), owner="alice")  # fmt: skip
    added("task", "Call Zhang", "--due", "2 days ago", "--customer", zhang, "--priority", "high")
    added("task", "Send quote", "--due", "today 15:00", "--deal", d["id"], "--owner", "bob")
    added("task", "Tomorrow thing", "--due", "tomorrow 9:00")
    r = run("task", "remind")
    assert r.code == 0, r.err
    out = r.out
    assert not BOX & set(out) and "\x1b[" not in out
    assert "2d late" in out and "Call Zhang" in out and "张伟贸易" in out
    assert "due today 15:00" in out and "deal: Pump order" in out
    assert "Tomorrow thing" not in out
    assert "5d past close" in out and "120,000.50 CNY" in out
    assert "Huge order" in out and "250,000.00 CNY" in out
    assert "张伟贸易" in out.split("Customers due for contact")[1]
    alice, bob = out.index("\nalice:"), out.index("\nbob:")
    assert alice < out.index("Call Zhang") < out.index("Huge order") < bob
    assert bob < out.index("Send quote") and bob < out.index("Pump order")
    assert all(len(line) <= 80 for line in out.splitlines())  # CJK: see the next test
    # --within and --owner
    assert "Tomorrow thing" in run("task", "remind", "--within", "1d").out
    only_bob = run("task", "remind", "--owner", "bob").out
    assert "Send quote" in only_bob and "Call Zhang" not in only_bob
    data = run("task", "remind", "--format", "json").json()
    assert [t["title"] for t in data["tasks"]] == ["Call Zhang", "Send quote"]
    assert data["tasks"][0]["late"] == "2d" and data["tasks"][0]["overdue"] is True
    assert data["tasks"][1]["linked"] == {"kind": "deal", "id": d["id"], "name": "Pump order"}
    assert [x["title"] for x in data["deals_past_close"]] == ["Pump order"]
    assert data["deals_past_close"][0]["amount"] == 120000.50
    assert [x["title"] for x in data["deals_awaiting_approval"]] == ["Huge order"]
    assert [c["id"] for c in data["contact_due"]] == [zhang]


def test_remind_shows_money_exact_as_every_table_does(crm, store):
    """1234.567 is shown as 1,234.567 CNY, never rounded to 1,234.57 (formats.money_text)."""
    acme = customer("Acme GmbH")
    deal(store, "Odd amount", customer=acme, close_date="2026-11-18", amount=Decimal("1234.567"))
    out = run("task", "remind").out
    assert "1,234.567 CNY" in out and "1,234.57 " not in out
    listed = run("deal", "list").out
    assert "1,234.567" in listed


def test_remind_lines_fit_80_columns_with_long_and_cjk_titles(crm):
    from crmcli.reminders import _width

    added("task", "A very long task title about calling the customer back regarding the broken "
        "pump shipment that went to the wrong warehouse", "--due", "today 9:00")  # fmt: skip
    added("task", "给张伟打电话确认订单" * 5, "--due", "yesterday", "--priority", "urgent")
    out = run("task", "remind").out
    assert out
    assert all(_width(line) <= 80 for line in out.splitlines())
    assert "regarding the broken" in out.replace("\n", " ")
    assert "[urgent]" in out


def test_remind_counts_lateness_across_time_zones(crm, monkeypatch):
    added("task", "Call Shanghai", "--due", "2026-11-23T10:00:00+08:00")
    # 02:30 UTC is 10:30 in Shanghai: 30 minutes late
    monkeypatch.setenv("CRM_NOW", "2026-11-23T02:30:00Z")
    data = run("task", "remind", "--format", "json").json()
    assert data["tasks"][0]["late"] == "30m"
    assert "30m late" in run("task", "remind").out
    # 01:30 UTC is 09:30 in Shanghai: not late yet, but due today
    monkeypatch.setenv("CRM_NOW", "2026-11-23T01:30:00Z")
    data = run("task", "remind", "--format", "json").json()
    assert data["tasks"][0]["overdue"] is False and data["tasks"][0]["late"] is None
    assert listed("--overdue") == []
    # a CRM_NOW far west, where it is still the 22nd: the Shanghai due is not overdue yet
    monkeypatch.setenv("CRM_NOW", "2026-11-22T17:00:00-08:00")  # 09:00 +08:00
    assert listed("--overdue") == []
    monkeypatch.setenv("CRM_NOW", "2026-11-22T19:00:00-08:00")  # 11:00 +08:00
    assert [t["title"] for t in listed("--overdue")] == ["Call Shanghai"]


def test_all_day_due_is_late_by_days_in_the_crm_zone(crm, monkeypatch):
    added("task", "File taxes", "--due", "2026-11-20")
    data = run("task", "remind", "--format", "json").json()
    assert data["tasks"][0]["late"] == "3d"


def test_remind_within_bad_duration(crm):
    r = run("task", "remind", "--within", "soon")
    assert r.code == 1 and "'soon'" in r.err


def test_big_deal_setting_decides_what_is_big(crm, store):
    set_settings(crm, big_deal=1000)
    deal(store, "Medium", needs_approval=True, amount=Decimal("5000"))
    data = run("task", "remind", "--format", "json").json()
    assert [d["title"] for d in data["deals_awaiting_approval"]] == ["Medium"]


# ----- ics ------------------------------------------------------------------------------


def test_export_ics(crm, tmp_path):
    import icalendar

    cid = customer("Acme GmbH")
    timed = added(
        "task", "Call Zhang", "--due", "tomorrow 10:00", "--customer", cid, "--priority", "urgent"
    )
    allday = added("task", "Send report", "--due", "2026-12-01")
    added("task", "No due")
    finished = added("task", "Finished", "--due", "today")
    run("task", "done", finished["id"])
    out = tmp_path / "tasks.ics"
    r = run("task", "export", "--ics", str(out))
    assert r.code == 0, r.err
    assert "2 task(s)" in r.err
    data = out.read_bytes()
    cal = icalendar.Calendar.from_ical(data)
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"{timed['id']}@crm", f"{allday['id']}@crm"}
    e = events[f"{timed['id']}@crm"]
    assert str(e["summary"]) == "Call Zhang"
    start = e.decoded("dtstart")
    assert start == datetime(2026, 11, 24, 10, tzinfo=TZ)
    assert int(e["priority"]) == 1
    assert "Acme GmbH" in str(e["description"])
    a = events[f"{allday['id']}@crm"]
    assert a.decoded("dtstart").isoformat() == "2026-12-01"
    assert b"DTSTART;VALUE=DATE:20261201" in data
    # stable: the same tasks give the same bytes; '-' writes to stdout
    r = run("task", "export", "--ics", "-")
    assert r.code == 0 and r.out.encode() == data
    r = run("task", "export", "--ics", str(tmp_path))  # a directory: an error, nothing lost
    assert r.code == 1 and r.err.startswith("Error: cannot write")
    assert out.read_bytes() == data


def test_export_ics_as_todo(crm):
    import icalendar

    rec = added("task", "Call", "--due", "tomorrow 10:00")
    r = run("task", "export", "--ics", "-", "--as", "todo")
    cal = icalendar.Calendar.from_ical(r.out)
    (todo,) = cal.walk("VTODO")
    assert str(todo["uid"]) == f"{rec['id']}@crm"
    assert todo.decoded("due") == datetime(2026, 11, 24, 10, tzinfo=TZ)


# ----- the domain functions without the CLI ----------------------------------------------


def test_select_and_order_without_the_cli(store):
    now = datetime(2026, 11, 23, 10, tzinfo=TZ)
    recs = [
        {"id": "a", "title": "a", "status": "open", "due": "2026-11-24T10:00:00+08:00",
         "priority": "low"},
        {"id": "b", "title": "b", "status": "open", "due": "2026-11-24T10:00:00+08:00",
         "priority": "urgent"},
        {"id": "c", "title": "c", "status": "open", "due": None, "priority": "high"},
        {"id": "d", "title": "d", "status": "open", "due": "2026-11-23T01:00:00+00:00",
         "priority": "normal"},
        {"id": "e", "title": "e", "status": "done", "due": "2026-11-01T10:00:00+08:00",
         "priority": "normal"},
    ]  # fmt: skip
    assert [t["id"] for t in tasks.by_urgency(tasks.select(recs, now, tasks.TaskFilter()), TZ)] == [
        "d",
        "b",
        "a",
        "c",
    ]
    assert [t["id"] for t in tasks.select(recs, now, tasks.TaskFilter(overdue=True))] == ["d"]
    assert [t["id"] for t in tasks.select(recs, now, tasks.TaskFilter(status="done"))] == ["e"]
    with pytest.raises(Exception, match="status"):
        tasks.select(recs, now, tasks.TaskFilter(status="later"))


def test_domain_add_and_done(store: Store):
    rec, warnings = tasks.add(store, ChangeSet.of(title="Weekly", due="today 17:00", every="1w"))
    assert warnings == []
    rec, nxt, existed = tasks.done(store, rec)
    assert rec["status"] == "done" and not existed
    assert nxt["id"] == f"{rec['id']}-20261130"
    again = tasks.resolve(store, "Weekly")  # the open one of the series
    assert again["id"] == nxt["id"]


def test_remind_text_lists_a_limited_number_and_says_how_many_more(crm, store):
    for i in range(3):
        store.create("task", title=f"Late {i}", due=f"2026-11-2{i}T09:00:00+08:00", owner="alice")
    r = run("task", "remind", "--limit", "2")
    assert r.code == 0
    assert r.out.count("Late ") == 2
    assert "... and 1 more (--limit 0 shows all)" in r.out
    everything = run("task", "remind", "--limit", "0")
    assert everything.out.count("Late ") == 3 and "more" not in everything.out
    assert len(run("task", "remind", "--limit", "1", "--format", "json").json()["tasks"]) == 3


@pytest.fixture
def machine_in_utc(monkeypatch):
    """The machine's local zone is UTC, whatever the CRM's is."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_due_written_without_offset_is_read_in_the_crms_zone(crm, monkeypatch, machine_in_utc):
    rec = added("task", "Call Zhang", "--due", "2026-11-30")
    path = crm / "tasks" / f"{rec['id']}.yaml"
    text = path.read_text(encoding="utf-8")
    # by hand, no offset: 09:30 in Shanghai is overdue at 10:00 there (in UTC it is not)
    path.write_text(text.replace(rec["due"], "2026-11-23T09:30:00"), encoding="utf-8")
    assert [t["id"] for t in listed("--overdue")] == [rec["id"]]  # JSON, from the index
    monkeypatch.setenv("CRM_NO_INDEX", "1")
    assert [t["id"] for t in listed("--overdue")] == [rec["id"]]  # the records themselves
    r = run("task", "list", "--overdue")
    assert r.code == 0 and "Call Zhang" in r.out and "30m" in r.out
