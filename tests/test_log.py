"""crm log KIND REF TEXT (issue 14 item 3): typed timeline entries on a customer, lead
or deal, the follow-up task in the same step, and what counts them (timelines, report
stalled, cadences); crm task note."""

from __future__ import annotations

import pytest
from conftest import added, refused, run, set_settings, snapshot

from crmcli import activities, refs
from crmcli.errors import AmbiguousError, NotFoundError
from crmcli.store import Store


@pytest.fixture
def acme(crm) -> dict:
    return added("customer", "Acme GmbH", "--email", "info@acme.de")


def test_log_a_call_with_outcome_and_follow_up(acme):
    r = run("log", "call", "Acme GmbH", "No answer", "--outcome", "left a voicemail",
            "--next", "tomorrow")  # fmt: skip
    assert r.code == 0, r.err
    first, second = r.out.splitlines()
    entry_id = first.rsplit(" ", 1)[1]
    assert first == f"Logged call on customer {acme['id']} (Acme GmbH) as {entry_id}"
    assert second.startswith("Added task ") and second.endswith(
        ": Follow up on call with Acme GmbH (due 2026-11-24)"
    )
    (entry,) = run("customer", "show", acme["id"], "-f", "json").json()["timeline"]
    assert entry["id"] == entry_id
    assert (entry["kind"], entry["text"], entry["outcome"]) == (
        "call",
        "No answer",
        "left a voicemail",
    )
    assert entry["at"] == "2026-11-23T10:00:00+08:00" and entry["by"] == "alice"
    (task,) = run("task", "list", "--format", "json").json()
    assert task["customer"] == acme["id"] and task["kind"] == "call"
    assert task["due"] == "2026-11-24T23:59:59+08:00"


def test_log_json_prints_the_entry_and_the_task(acme):
    deal = added("deal", "Pump order", "--customer", "Acme GmbH", "--amount", "100")
    r = run("log", "meeting", "Pump order", "Met the buyer", "--at", "yesterday 15:00",
            "--next", "friday 9:00", "--next-title", "Send the offer", "-f", "json")  # fmt: skip
    assert r.code == 0, r.err
    data = r.json()
    assert set(data) == {"id", "on", "kind", "text", "outcome", "by", "at", "task"}
    assert data["on"] == deal["id"] and data["at"] == "2026-11-22T15:00:00+08:00"
    assert data["outcome"] is None
    task = data["task"]
    assert task["title"] == "Send the offer" and task["deal"] == deal["id"]
    assert task["due"] == "2026-11-27T09:00:00+08:00" and task["kind"] == "meeting"
    assert run("log", "visit", "Acme GmbH", "On site", "-f", "json").json()["task"] is None


def test_one_change_one_commit_message(crm, acme):
    store = Store(crm)
    rec = refs.resolve(store, "customer", acme["id"])
    with store.lock():
        store.changed.clear()  # (no git here: the messages stay for us to read)
        entry, task = activities.log(
            store, "customer", rec, activities.Entry("call", "No answer", next="tomorrow")
        )
        assert store.messages == [
            'log: call on customer "Acme GmbH"; follow-up "Follow up on call with Acme GmbH" '
            "due 2026-11-24"
        ]
    assert task is not None and entry["on"] == rec["id"]


def test_text_from_stdin(acme):
    assert run("log", "chat", "Acme GmbH", "-", input="WeChat:\nsends drawings\n").code == 0
    (entry,) = run("customer", "show", "Acme GmbH", "-f", "json").json()["timeline"]
    assert entry["text"] == "WeChat:\nsends drawings" and entry["kind"] == "chat"


def test_unknown_kind_is_an_error_and_settings_add_kinds(crm, acme):
    before = snapshot(crm)
    r = run("log", "phonecall", "Acme GmbH", "x")
    refused(r, "unknown activity kind 'phonecall'", "call, meeting, email, chat, visit")
    assert snapshot(crm) == before
    set_settings(crm, activity_kinds=["demo", "trade-fair"])
    assert run("log", "demo", "Acme GmbH", "Showed the pump").code == 0
    assert "demo" in run("log", "nope", "Acme GmbH", "x").err  # listed among the kinds


@pytest.mark.parametrize(
    "value, words",
    [
        ("demo", ["'activity_kinds'", "list"]),
        (["Demo Day"], ["'activity_kinds'", "Demo Day"]),
        (["stage"], ["'activity_kinds'", "'stage'", "crm writes itself"]),
        ([3], ["'activity_kinds'"]),
    ],
)
def test_malformed_activity_kinds_is_an_error_naming_the_key(crm, value, words):
    set_settings(crm, activity_kinds=value)
    refused(run("customer", "list"), *words)


def test_ref_that_matches_nothing_and_bad_dates_write_nothing(crm, acme):
    before = snapshot(crm)
    refused(run("log", "call", "Nobody Inc", "x"), "no customer, lead or deal matches 'Nobody Inc'")
    refused(run("log", "call", "Acme GmbH", "x", "--next", "someday"), "--next", "someday")
    refused(run("log", "call", "Acme GmbH", "x", "--at", "tomorrow"), "--at", "future")
    refused(run("log", "call", "Acme GmbH", "x", "--at", "13"), "--at")
    refused(run("log", "call", "Acme GmbH", "   "), "empty")
    assert snapshot(crm) == before
    r = run("log", "call", "Acme GmbH", "x", "--next-title", "Call again")
    assert r.code == 2 and "--next" in r.err
    assert snapshot(crm) == before


def test_a_ref_of_several_kinds_lists_them_and_kind_colon_ref_picks(crm, acme):
    lead = added("lead", "Acme GmbH", "--email", "buyer@acme.de")
    r = run("log", "call", "Acme GmbH", "x")
    refused(r, "matches more than one", "customer:REF")
    assert f"customer {acme['id']}" in r.err and f"lead {lead['id']}" in r.err
    assert "Logged call on lead" in run("log", "call", "lead:Acme GmbH", "x").out
    assert "Logged call on customer" in run("log", "call", "customer:acme gmbh", "x").out
    assert "Logged call on lead" in run("log", "call", "buyer@acme.de", "x").out  # exact e-mail


def test_a_converted_lead_gives_way_to_its_customer(crm):
    added("lead", "Wang Fang", "--email", "wang@example.cn")
    assert run("lead", "convert", "Wang Fang").code == 0  # a person customer of that name
    r = run("log", "call", "Wang Fang", "Agreed on samples")
    assert r.code == 0, r.err
    assert "Logged call on customer" in r.out


def test_resolve_target_in_the_domain(crm, store):
    store.create("customer", name="Globex", id="glob0001")
    store.create("deal", title="Globex", id="glob0002", stage="new")
    with pytest.raises(AmbiguousError) as e:
        activities.resolve_target(store, "globex")
    assert any("deal glob0002" in line for line in e.value.details)
    assert activities.resolve_target(store, "glob0002") == ("deal", store.load("deal", "glob0002"))
    assert activities.resolve_target(store, "deal:Globex")[0] == "deal"
    with pytest.raises(NotFoundError):
        activities.resolve_target(store, "initech")


def test_typed_entries_show_with_their_kind_everywhere(acme):
    added("deal", "Pump order", "--customer", "Acme GmbH", "--amount", "100")
    added("lead", "Li Wei")
    assert run("log", "visit", "Pump order", "Plant tour").code == 0
    assert run("log", "email", "Li Wei", "Sent the catalogue").code == 0
    deal_out = run("deal", "show", "Pump order").out
    assert any("visit" in line and "Plant tour" in line for line in deal_out.splitlines())
    lead_out = run("lead", "show", "Li Wei").out
    assert any("email" in line and "Sent the catalogue" in line for line in lead_out.splitlines())
    page = run("customer", "show", "Acme GmbH").out  # the deal's entry is on its customer too
    assert any("visit" in line and "deal Pump order" in line for line in page.splitlines())


def test_a_call_on_a_deal_keeps_it_off_report_stalled(crm, acme, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-10-01T10:00:00+08:00")
    added("deal", "Pump order", "--customer", "Acme GmbH", "--amount", "100")
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00+08:00")
    stalled = run("report", "stalled", "-f", "json").json()["deals"]
    assert [d["title"] for d in stalled] == ["Pump order"]
    assert run("log", "call", "Pump order", "Budget approved", "--at", "-2d").code == 0
    assert run("report", "stalled", "-f", "json").json()["deals"] == []
    data = run("report", "stalled", "--days", "1", "-f", "json").json()["deals"]
    assert data[0]["last_activity"] == "call: Budget approved" and data[0]["idle_days"] == 2


def test_a_call_on_a_deal_or_lead_counts_as_contact_for_the_cadence(crm, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-09-01T10:00:00+08:00")
    acme = added("customer", "Acme GmbH")
    assert run("customer", "edit", "Acme GmbH", "--cadence", "30d").code == 0
    added("deal", "Pump order", "--customer", "Acme GmbH", "--amount", "100")
    lead = added("lead", "Li Wei")
    assert run("lead", "convert", "Li Wei", "--customer", "Acme GmbH").code == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00+08:00")

    def due() -> list[str]:
        return [c["id"] for c in run("task", "list", "--due-contact", "-f", "json").json()]

    assert due() == [acme["id"]]
    assert run("deal", "note", "Pump order", "internal: check margins").code == 0
    assert due() == [acme["id"]]  # a note on a deal is no contact with the customer
    assert run("log", "call", "Pump order", "Talked prices", "--at", "-40d").code == 0
    assert due() == [acme["id"]]  # 40 days ago: more than a cadence
    assert run("log", "meeting", f"lead:{lead['id']}", "Lunch", "--at", "-3d").code == 0
    assert due() == []
    remind = run("task", "remind", "-f", "json").json()
    assert remind["contact_due"] == []


def test_task_note_and_task_show_timeline(crm, acme):
    added("task", "Pump leaks", "--kind", "complaint", "--customer", "Acme GmbH")
    r = run("task", "note", "Pump leaks", "Engineer on site, seal replaced")
    assert r.code == 0, r.err
    assert r.out.startswith("Noted on task ") and "(Pump leaks) as " in r.out
    out = run("task", "show", "Pump leaks").out
    assert "Timeline" in out and "Engineer on site, seal replaced" in out
    (entry,) = run("task", "show", "Pump leaks", "-f", "json").json()["timeline"]
    assert entry["kind"] == "note"
    page = run("customer", "show", "Acme GmbH", "-f", "json").json()
    assert page["timeline"][0]["where"]["kind"] == "task"
    refused(run("task", "note", "No such task", "x"), "no task matches")
    r = run("doctor")  # an entry on a task is a sound link
    assert r.code == 0, r.out + r.err


def test_outcome_is_written_only_when_there_is_one(crm, acme):
    """Entries without an outcome keep the file layout they always had (models.SPARSE)."""
    assert run("customer", "note", "Acme GmbH", "Plain note").code == 0
    assert run("log", "call", "Acme GmbH", "Reached", "--outcome", "wants samples").code == 0
    files = {p.read_text(encoding="utf-8") for p in (crm / "activities").glob("*.yaml")}
    plain = next(f for f in files if "Plain note" in f)
    call = next(f for f in files if "Reached" in f)
    assert "outcome" not in plain and "text: Reached\noutcome: wants samples\nby: alice\n" in call
    r = run("doctor")
    assert r.code == 0, r.out + r.err


def test_search_finds_an_entry_by_its_outcome(crm, acme):
    assert (
        run("log", "call", "Acme GmbH", "Reached the buyer", "--outcome", "wants samples").code == 0
    )
    r = run("search", "wants samples", "--format", "json")
    assert r.code == 0, r.err
    hits = [h for h in r.json() if h["kind"] == "activity"]
    assert hits and hits[0]["field"] == "outcome"
