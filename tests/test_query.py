"""Store.query, the one way to read records: where keys, projections, order, limit,
JSON lines and tombstones, with the same answer through the index and without it."""

import json

import pytest

from crmcli import refs
from crmcli.dates import parse_iso
from crmcli.store import WHERE, Store


@pytest.fixture
def filled(crm) -> Store:
    s = Store(crm)
    acme = s.create("customer", name="Acme", owner="alice", emails=["hi@acme.example"])
    s.create("customer", name="Globex", owner="bob")
    s.write_tombstone("customer", "gone0001", acme["id"])
    s.create("deal", title="Pumps", customer=acme["id"], stage="new", owner="alice")
    for title, due, priority in (
        ("late", "2026-11-20T09:00:00+08:00", "normal"),
        ("no due", None, "urgent"),
        ("soon urgent", "2026-11-25T09:00:00+08:00", "urgent"),
        ("soon", "2026-11-25T09:00:00+08:00", "low"),
    ):
        s.create("task", title=title, due=due, priority=priority, customer=acme["id"])
    s.add_activity(acme["id"], "note", "met them")
    return s


QUERIES = [
    ("customer", {}, {}),
    ("customer", {"owner": "alice"}, {"fields": ("id", "name")}),
    ("customer", {"text": "ACME"}, {"fields": ("name", "emails")}),  # not light: whole rows
    ("customer", {"merged": True}, {}),
    ("customer", {"merged": True}, {"fields": ("id", "merged_into")}),
    ("task", {}, {"order": "list"}),
    ("task", {}, {"order": "list", "limit": 2}),
    ("task", {"status": ["open", "done"]}, {"order": "list", "json": True}),
    ("task", {"due_before": parse_iso("2026-11-24T00:00:00+08:00")}, {}),
    ("task", {}, {"limit": 3, "fields": ("id", "title")}),
    ("deal", {"status": "open", "owner": None}, {"json": True}),
    ("activity", {"on": None, "status": None}, {"fields": ("on", "text")}),
]


def test_where_fields_order_limit_json_and_tombstones(filled, index):
    """The same answers through the index and from the files (run both ways)."""
    answers = [Store(filled.root).query(k, w, **kw) for k, w, kw in QUERIES]
    by_title = {t["title"]: t["id"] for t in filled.query("task")}
    acme, globex = sorted(filled.query("customer"), key=lambda c: c["name"])
    urgency = [by_title[t] for t in ("late", "soon urgent", "soon", "no due")]
    assert [r["id"] for r in answers[0]] == sorted([acme["id"], globex["id"]])
    assert answers[1] == [{"id": acme["id"], "name": "Acme"}]
    assert answers[2] == [{"name": "Acme", "emails": ["hi@acme.example"]}]
    assert [(r["id"], r["merged_into"]) for r in answers[3]] == [("gone0001", acme["id"])]
    assert answers[4] == [{"id": "gone0001", "merged_into": acme["id"]}]
    assert [r["id"] for r in answers[5]] == urgency  # due, then priority; no due last
    assert [r["id"] for r in answers[6]] == urgency[:2]
    assert [json.loads(t)["id"] for t in answers[7]] == urgency
    assert [r["id"] for r in answers[8]] == [by_title["late"]]
    assert len(answers[9]) == 3 and set(answers[9][0]) == {"id", "title"}
    assert [json.loads(t)["title"] for t in answers[10]] == ["Pumps"]
    assert answers[11] == [{"on": acme["id"], "text": "met them"}]


def test_a_field_the_kind_does_not_have_is_an_error(filled, index):
    s = Store(filled.root)
    assert s.query("customer", {"owner": "alice"}, fields=("name",)) == [{"name": "Acme"}]
    with pytest.raises(ValueError, match="a customer has no field title"):
        s.query("customer", fields=("id", "title"))
    with pytest.raises(ValueError, match="a merge tombstone has no field owner"):
        s.query("customer", {"merged": True}, fields=("owner",))
    with pytest.raises(ValueError, match="no fields"):
        s.query("task", fields=("id",), json=True)


def test_unknown_where_keys_and_orders_are_errors(filled):
    with pytest.raises(ValueError, match="no condition stage"):
        filled.query("deal", {"stage": "new"})
    with pytest.raises(ValueError, match="merged takes no other condition"):
        filled.query("customer", {"merged": True, "owner": "alice"})
    with pytest.raises(ValueError, match="order 'due'"):
        filled.query("task", order="due")
    assert "merged" in WHERE and "text" in WHERE


def test_a_loaded_kind_is_answered_from_what_was_read(filled, monkeypatch):
    """Once a kind is read whole (query's fallback), query filters those records: the
    same answer as the index, projections and order included."""
    fresh = Store(filled.root)
    expected = fresh.query("task", {"status": "open"}, order="list", fields=("title", "due"))
    loaded = Store(filled.root)
    loaded._all("task")
    monkeypatch.setattr(loaded, "_get_index", lambda: pytest.fail("the index was asked"))
    got = loaded.query("task", {"status": "open"}, order="list", fields=("title", "due"))
    assert got == expected
    assert [t["title"] for t in got] == ["late", "soon urgent", "soon", "no due"]


def test_ids_and_sets_of_links(filled, index):
    """where id (one or a set) and a set of ids for a link: through the index and the files."""
    s = Store(filled.root)
    by_title = {t["title"]: t["id"] for t in s.query("task")}
    wanted = {by_title["late"], by_title["soon"], "nosuch00"}
    assert sorted(t["title"] for t in s.query("task", {"id": wanted})) == ["late", "soon"]
    assert [t["title"] for t in s.query("task", {"id": by_title["soon"], "status": "open"})] == [
        "soon"
    ]
    acme = refs.resolve(s, "customer", "Acme")["id"]
    deal = s.query("deal")[0]["id"]
    s.add_activity(deal, "call", "no answer", outcome="voicemail", at="2026-11-20T09:00:00+08:00")
    entries = Store(filled.root).query("activity", {"on": {acme, deal}}, fields=("text", "outcome"))
    assert sorted(e["text"] for e in entries) == ["met them", "no answer"]
    assert Store(filled.root).query("activity", {"on": set()}) == []
    newest_first = [e["text"] for e in Store(filled.root).timelines([deal, acme])]
    assert newest_first == ["met them", "no answer"]


def test_records_by_id_and_tombstones_by_id(filled, index):
    s = Store(filled.root)
    acme = s.query("customer", {"text": "acme"})[0]
    assert s.query("customer", {"id": [acme["id"], "nobody00"]}, fields=("name",)) == [
        {"name": "Acme"}
    ]
    assert s.query("customer", {"id": acme["id"], "owner": "bob"}) == []
    tombstones = s.query(
        "customer", {"id": ["gone0001"], "merged": True}, fields=("id", "merged_into")
    )
    assert tombstones == [{"id": "gone0001", "merged_into": acme["id"]}]
    assert s.query("customer", {"id": ["gone0001"]}) == []  # a tombstone is no record
    assert s.query("customer", {"id": []}) == []


@pytest.mark.parametrize("no_index", [False, True])
def test_activities_by_kind_through_the_index_and_the_files(crm, monkeypatch, no_index):
    """where kind: the entries of one kind (or any of several), alike with and without
    the index; a condition of activities only."""
    if no_index:
        monkeypatch.setenv("CRM_NO_INDEX", "1")
    s = Store(crm)
    c = s.create("customer", name="Acme")
    note = s.add_activity(c["id"], "note", "a note")
    call = s.add_activity(c["id"], "call", "a call")
    assert [a["id"] for a in s.query("activity", {"kind": "call"})] == [call["id"]]
    both = s.query("activity", {"kind": ["call", "note"]})
    assert sorted(a["id"] for a in both) == sorted([note["id"], call["id"]])
    assert s.query("activity", {"kind": "email"}) == []
    with pytest.raises(ValueError, match="activities only"):
        s.query("customer", {"kind": "company"})
