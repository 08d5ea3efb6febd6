"""context.py: the zone, date order, clock and user a Store runs with, passed
explicitly (no process-wide zone)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import set_settings

from crmcli import context, deals, reminders
from crmcli.errors import DateError
from crmcli.store import Store, init


def test_crm_now_and_crm_user_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-11-23T02:00:00Z")
    monkeypatch.setenv("CRM_USER", "bob")
    ctx = context.load({"timezone": "Asia/Shanghai", "user": "carol"})
    assert ctx.now() == datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert ctx.now_iso() == "2026-11-23T10:00:00+08:00"
    assert ctx.user == "bob"
    monkeypatch.delenv("CRM_USER")
    assert context.load({"user": "carol"}).user == "carol"  # settings user next


def test_a_bad_crm_now_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("CRM_NOW", "soon")
    with pytest.raises(DateError) as e:
        context.load({}).now()
    assert "CRM_NOW" in e.value.message and "'soon'" in e.value.message


def test_the_zone_and_date_order_come_from_the_settings(crm):
    set_settings(crm, timezone="Europe/Berlin", date_order="MDY")
    ctx = Store(crm).ctx
    assert ctx.tz == ZoneInfo("Europe/Berlin")
    assert ctx.now_iso() == "2026-11-23T03:00:00+01:00"
    assert ctx.parse_iso("2026-12-01T14:00:00").isoformat() == "2026-12-01T14:00:00+01:00"
    assert ctx.parse_when("03/04/2026").date().isoformat() == "2026-03-04"


def test_a_context_given_to_the_store_is_the_one_it_uses(crm):
    ctx = context.Context(zone="UTC", given_user="dora")
    store = Store(crm, ctx=ctx)
    assert store.ctx is ctx and store.ctx.user == "dora"


def _crm(tmp_path, name: str, **settings) -> Store:
    root = tmp_path / name
    init(root, name)
    set_settings(root, **settings)
    return Store(root)


def test_two_stores_in_one_process_keep_their_own_zone_and_date_order(tmp_path):
    shanghai = _crm(tmp_path, "a", timezone="Asia/Shanghai", date_order="DMY")
    task = shanghai.create("task", title="Call Zhang", status="open", priority="normal")
    path = shanghai.path("task", task["id"])
    text = path.read_text(encoding="utf-8").replace("due: null", "due: 2026-11-23T09:30:00")
    path.write_text(text, encoding="utf-8")  # by hand, no offset: 09:30 in Shanghai
    _crm(tmp_path, "b", timezone="UTC", date_order="MDY")  # opened later, elsewhere
    fresh = Store(shanghai.root)
    _crm(tmp_path, "c", timezone="UTC", date_order="MDY")
    assert deals.parse_day(fresh, "03/04/2026") == "2026-04-03"  # day first, as its settings say
    data = reminders.build(fresh)
    assert [t["id"] for t in data["tasks"]] == [task["id"]]
    assert data["tasks"][0]["overdue"] is True  # 09:30 Shanghai is past 10:00 Shanghai
