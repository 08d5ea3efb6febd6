"""crm today (issue 14 item 4): the day on one screen, built from the same sections as
task remind (crmcli.reminders.SECTIONS)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import added, run, set_settings
from rich.cells import cell_len

from crmcli import agenda, reminders
from crmcli.store import Store

KEYS = ["now", "until", "owner", "tasks", "complaints", "deals_closing",
        "awaiting_my_approval", "contact_due", "stalled", "owes_reply", "awaiting_reply"]  # fmt: skip


def _deal(store: Store, title: str, **values) -> dict:
    values.setdefault("stage", "new")
    values.setdefault("owner", "alice")
    return store.create("deal", title=title, **values)


@pytest.fixture
def day(crm, monkeypatch) -> dict:
    """A day's worth of work for alice and bob (now: Mon 2026-11-23 10:00 +08:00)."""
    set_settings(crm, approvers=["carol"], stall_days=14)
    store = Store(crm)
    monkeypatch.setenv("CRM_NOW", "2026-09-01T10:00:00+08:00")
    old = store.create("customer", name="Old Friend", cadence="30d", owner="alice", tier="C")
    a_tier = store.create("customer", name="Big Buyer", owner="alice", tier="A")
    idle = _deal(store, "Idle deal", customer=old["id"], close_date="2027-03-01")
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00+08:00")
    store = Store(crm)
    ids = {"old": old["id"], "idle": idle["id"]}
    ids["late"] = added("task", "Late call", "--due", "2 days ago", "--customer", "Old Friend")[
        "id"
    ]
    ids["today"] = added("task", "Send quote", "--due", "today 15:00")["id"]
    added("task", "Tomorrow thing", "--due", "tomorrow 9:00")
    added("task", "Bob's call", "--due", "yesterday", "--owner", "bob")
    ids["c_crit"] = added("task", "Rust on pumps", "--kind", "complaint", "--severity",
                          "critical", "--customer", "Old Friend")["id"]  # fmt: skip
    ids["a_low"] = added("task", "Late delivery", "--kind", "complaint", "--severity", "low",
                         "--customer", "Big Buyer")["id"]  # fmt: skip
    ids["past"] = _deal(store, "Past close", customer=a_tier["id"], close_date="2026-11-20",
                        amount=Decimal("800"))["id"]  # fmt: skip
    ids["soon"] = _deal(store, "Closing soon", close_date="2026-11-30")["id"]
    _deal(store, "Later deal", close_date="2026-12-15")
    ids["approve"] = _deal(store, "Cheap pumps", owner="bob", needs_approval=True,
                           amount=Decimal("900"))["id"]  # fmt: skip
    return ids


def test_today_json_has_one_key_per_section_for_the_acting_user(day):
    r = run("today", "--format", "json")
    assert r.code == 0, r.err
    data = r.json()
    assert list(data) == KEYS and data["owner"] == "alice"
    assert [t["id"] for t in data["tasks"]] == [day["late"], day["today"]]
    assert data["tasks"][0]["late"] == "2d" and data["tasks"][1]["late"] is None
    # undated complaints are there, by customer tier (A first) then severity
    assert [t["id"] for t in data["complaints"]] == [day["a_low"], day["c_crit"]]
    assert data["complaints"][0]["tier"] == "A"
    assert [d["id"] for d in data["deals_closing"]] == [day["past"], day["soon"]]
    assert [d["days_past_close"] for d in data["deals_closing"]] == [3, -7]
    assert data["deals_closing"][0]["customer_name"] == "Big Buyer"
    assert data["awaiting_my_approval"] == []  # alice approves nothing
    assert [c["id"] for c in data["contact_due"]] == [day["old"]]
    assert [d["id"] for d in data["stalled"]] == [day["idle"]]


def test_owner_all_and_approvals(day):
    bob = run("today", "--owner", "bob", "-f", "json").json()
    assert bob["owner"] == "bob" and [t["title"] for t in bob["tasks"]] == ["Bob's call"]
    assert bob["complaints"] == [] and bob["deals_closing"] == []
    carol = run("today", "--owner", "carol", "-f", "json").json()
    assert [d["id"] for d in carol["awaiting_my_approval"]] == [day["approve"]]  # bob's deal
    everyone = run("today", "--all", "-f", "json").json()
    assert everyone["owner"] is None
    assert len(everyone["tasks"]) == 3 and len(everyone["awaiting_my_approval"]) == 1
    r = run("today", "--all")
    assert r.code == 0 and "for everyone" in r.out
    assert any(line.split()[:1] == ["id"] and "owner" in line for line in r.out.splitlines())
    r = run("today", "--all", "--owner", "bob")
    assert r.code == 2 and "--owner and --all" in r.err


def test_today_table_sections_with_counts_and_nothing_lines(day):
    r = run("today")
    assert r.code == 0, r.err
    out = r.out
    assert out.startswith("Today, Mon 2026-11-23 10:00, for alice\n")
    for heading in ("Tasks (2)", "Open complaints (2)",
                    "Deals past or within a week of their close date (2)",
                    "Customers due for contact (1)", "Stalled deals (1)"):  # fmt: skip
        assert f"\n{heading}\n" in out, heading
    assert "\nDeals waiting for your approval: nothing\n" in out
    assert "Tomorrow thing" not in out and "Later deal" not in out and "Bob's call" not in out
    assert out.index("Late call") < out.index("Rust on pumps") < out.index("Past close")
    (late,) = [line for line in out.splitlines() if line.startswith(day["late"] + " ")]
    (soon,) = [line for line in out.splitlines() if line.startswith(day["today"] + " ")]
    assert "2d late" in late and "Old Friend" in late and "15:00" in soon
    (row,) = [line for line in out.splitlines() if "Past close" in line]
    assert "3d past" in row and "800.00" in row
    assert "owner" not in out  # one person's day: no owner column


def test_an_empty_day_says_nothing_in_each_section(crm):
    r = run("today")
    assert r.code == 0, r.err
    lines = r.out.split("\n\n")[1:]
    assert len(lines) == len(reminders.sections(reminders.TODAY))
    assert all(line.strip().endswith(": nothing") for line in lines)
    data = run("today", "-f", "json").json()
    assert list(data) == KEYS and all(data[k] == [] for k in KEYS[3:])


def test_today_fits_80_columns_with_long_and_cjk_titles(crm):
    added("customer", "北京精密机械制造股份有限公司")
    long = "Call back about the pump shipment sent to Tianjin"  # the title is never cut
    t1 = added("task", long, "--due", "yesterday", "--customer", "北京精密机械制造股份有限公司")
    t2 = added("task", "给张伟打电话确认订单" * 2, "--due", "today", "--priority", "urgent",
               "--owner", "Maximilian-Alexander von Hohenzollern")  # fmt: skip
    c = added(
        "task", "泵漏水" * 6, "--kind", "complaint", "--customer", "北京精密机械制造股份有限公司"
    )
    r = run("today", "--all")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    for rec in (t1, t2, c):  # each id whole, at the start of its one line
        (row,) = [line for line in lines if line.startswith(rec["id"] + " ")]
        assert rec["title"][:10] in row


def test_limit_cuts_each_section_of_the_table_not_the_json(crm):
    for n in range(4):
        added("task", f"Overdue {n}", "--due", "yesterday")
    r = run("today", "--limit", "2")
    assert "Tasks (4)" in r.out and r.out.count("Overdue ") == 2
    assert "2 more: crm task list --due-before today" in r.err
    assert len(run("today", "--limit", "2", "-f", "json").json()["tasks"]) == 4


def test_remind_and_today_share_their_sections(day):
    """The same items from the same builders: today's tasks and customers due for
    contact are the reminder's, for the same person and window."""
    remind = run("task", "remind", "--owner", "alice", "-f", "json").json()
    today = run("today", "-f", "json").json()
    assert remind["tasks"] == today["tasks"] and remind["contact_due"] == today["contact_due"]
    assert list(remind) == ["now", "until", "tasks", "deals_past_close",
                            "deals_awaiting_approval", "contact_due", "owes_reply",
                            "awaiting_reply"]  # fmt: skip
    assert remind["owes_reply"] == today["owes_reply"]
    assert [d["id"] for d in remind["deals_past_close"]] == [day["past"]]


def test_a_new_section_is_one_entry(crm, monkeypatch):
    """What another section (follow-ups, say) takes: one Section in the list."""
    added("customer", "Acme GmbH")

    def waiting(ask: agenda.Ask) -> list[dict]:
        return [{"id": "t1", "subject": "Quote?", "owner": ask.owner or "alice"}]

    section = reminders.Section(
        "follow_ups", "Follow-ups", "thread", waiting, (reminders.REMIND, reminders.TODAY),
        line=lambda item, now, tz: ("3d", [("", item["subject"])]),
        columns=("id", "subject", "owner"),
        row=lambda item, now, tz: [item["id"], item["subject"], item["owner"]],
        more="crm mail list",
    )  # fmt: skip
    monkeypatch.setattr(reminders, "SECTIONS", [*reminders.SECTIONS, section])
    assert run("today", "-f", "json").json()["follow_ups"][0]["subject"] == "Quote?"
    assert "\nFollow-ups (1)\n" in run("today").out
    remind = run("task", "remind").out
    assert "1 thread" in remind.splitlines()[0] and "Follow-ups" in remind


def test_every_section_says_how_its_items_read_in_its_views():
    keys = [s.key for s in reminders.SECTIONS]
    assert len(keys) == len(set(keys))
    for s in reminders.SECTIONS:
        if reminders.REMIND in s.views:
            assert s.line is not None, s.key
        if reminders.TODAY in s.views:
            assert s.row is not None and s.columns and s.more, s.key
