"""crm search: every kind, ranked, accent- and case-insensitive, CJK inside words (two
characters too), all words in any order; served by the index and never stale, with
the same hits without it."""

from __future__ import annotations

import os
import sqlite3

import pytest
from conftest import run

from crmcli import search
from crmcli.errors import CrmError
from crmcli.store import Store


def age(path, seconds: int = 3600) -> None:
    """Make a file look old, so the index trusts its signature (not racy)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns - seconds * 10**9, st.st_mtime_ns - seconds * 10**9))


@pytest.fixture
def data(crm) -> dict[str, str]:
    """A small CRM: ids by a short name."""
    s = Store(crm)
    bav = s.create(
        "customer",
        name="Bayerische 巴伐利亚汽车有限公司",
        emails=["info@bav.example"],
        contacts=[{"name": "Hans Müller", "title": "Head of Purchasing", "emails": ["hm@bav.de"]}],
    )
    acme = s.create("customer", name="Acme GmbH", phones=["+493012345678"])
    wang = s.create("customer", name="王芳", kind="person")
    lead = s.create("lead", name="Li Wei", company="Acme Trading", title="Buyer", status="new")
    deal = s.create("deal", title="Pump order", customer=acme["id"], stage="new")
    task = s.create("task", title="Send the quote", deal=deal["id"], customer=acme["id"])
    note = s.add_activity(acme["id"], "note", "Called 王芳 back; wants a quote by Friday.")
    deal_note = s.add_activity(deal["id"], "call", "Friday is fine for the Pump order")
    return {"bav": bav["id"], "acme": acme["id"], "wang": wang["id"], "lead": lead["id"],
            "deal": deal["id"], "task": task["id"], "note": note["id"],
            "deal_note": deal_note["id"]}  # fmt: skip


def found(*args: str) -> list[tuple[str, str]]:
    """(kind, id) of each hit of `crm search ARGS --format json`, in order."""
    r = run("search", *args, "--format", "json")
    assert r.code == 0, r.err
    return [(h["kind"], h["id"]) for h in r.json()]


# ----- what it finds -----------------------------------------------------------------------


def test_accents_and_case_aside(data, index):
    assert found("muller") == [("customer", data["bav"])]  # a contact's name: Müller
    assert found("MÜLLER") == [("customer", data["bav"])]
    assert found("purchasing") == [("customer", data["bav"])]  # a contact's title
    assert found("hm@bav.de") == [("customer", data["bav"])]  # a contact's e-mail
    assert found("4930123") == [("customer", data["acme"])]  # a phone, by its digits


def test_cjk_inside_longer_words_and_two_characters(data, index):
    assert found("巴伐利亚") == [("customer", data["bav"])]  # inside a longer company name
    assert found("汽车") == [("customer", data["bav"])]  # two characters inside it
    # a two-character name: the customer of that name first, then the note holding it
    assert found("王芳") == [("customer", data["wang"]), ("activity", data["note"])]
    assert found("王芳 friday") == [("activity", data["note"])]  # short and long words


def test_every_word_in_any_order(data, index):
    assert found("quote friday") == [("activity", data["note"])]
    assert found("Friday", "QUOTE") == [("activity", data["note"])]  # words as arguments
    assert found("quote monday") == []
    assert set(found("friday")) == {("activity", data["note"]), ("activity", data["deal_note"])}


def test_every_kind_and_names_above_text(data, index):
    hits = found("acme")
    # the customer named so, then the lead whose company holds it; no note says acme
    assert hits == [("customer", data["acme"]), ("lead", data["lead"])]
    hits = found("pump order")
    assert hits == [("deal", data["deal"]), ("activity", data["deal_note"])]
    assert found("quote")[0] == ("task", data["task"])  # a title above a note's text


def test_an_exact_name_ranks_first(crm, index):
    s = Store(crm)
    long = s.create("customer", name="Acme Pumps and Valves Acme")
    exact = s.create("customer", name="ACME")
    s.add_activity(long["id"], "note", "acme acme acme")
    hits = found("acme")
    assert hits[:2] == [("customer", exact["id"]), ("customer", long["id"])]
    assert hits[2][0] == "activity"


# ----- output ------------------------------------------------------------------------------


def test_json_shape_with_the_record_each_belongs_to(data, index):
    r = run("search", "friday", "--format", "json")
    assert r.code == 0, r.err
    hits = {h["id"]: h for h in r.json()}
    assert hits[data["note"]] == {
        "kind": "activity",
        "id": data["note"],
        "name": "note 2026-11-23",
        "of": {"kind": "customer", "id": data["acme"], "name": "Acme GmbH"},
        "field": "text",
        "snippet": "Called 王芳 back; wants a quote by Friday.",
    }
    assert hits[data["deal_note"]]["of"] == {
        "kind": "deal",
        "id": data["deal"],
        "name": "Pump order",
    }
    (task,) = run("search", "send quote", "--format", "json").json()
    assert task["of"] == {"kind": "deal", "id": data["deal"], "name": "Pump order"}
    assert (task["field"], task["name"]) == ("title", "Send the quote")
    (cust,) = run("search", "muller", "--format", "json").json()
    assert cust["of"] is None
    assert (cust["field"], cust["snippet"]) == (
        "contacts",
        "Hans Müller · Head of Purchasing · hm@bav.de",
    )


def test_table(data, index):
    r = run("search", "friday")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["id", "name", "of", "match"]  # kind: the same on every row
    assert "kind: activity (every row)" in r.err
    rows = {line.split()[0]: line for line in lines[2:]}
    assert "customer Acme GmbH" in rows[data["note"]]
    assert "deal Pump order" in rows[data["deal_note"]]
    assert all(len(line) <= 80 for line in lines)


def test_table_shows_what_matched_unless_it_is_the_name(data, index):
    """The match column holds the text found; a name found is shown once, in its column."""
    r = run("search", "acme")
    assert r.code == 0, r.err
    rows = {line.split()[1]: line for line in r.out.splitlines()[2:]}
    assert rows[data["acme"]].count("Acme GmbH") == 1  # the name, no match cell beside it
    assert "Acme Trading" in rows[data["lead"]]  # the lead's company: what matched
    assert r.out.splitlines()[0].split() == ["kind", "id", "name", "match"]


def test_kind_narrows_and_repeats(data, index):
    assert found("acme", "--kind", "lead") == [("lead", data["lead"])]
    assert found("acme", "-k", "lead", "-k", "customer") == [
        ("customer", data["acme"]),
        ("lead", data["lead"]),
    ]
    assert found("friday", "--kind", "customer") == []


def test_limit_in_every_format(data, index):
    assert found("friday", "--limit", "1") == found("friday")[:1]
    r = run("search", "friday", "--limit", "1")
    assert r.code == 0
    assert len(r.out.splitlines()) == 3  # header, rule, one row
    assert "1 more not shown (--limit 0 shows all)" in r.err


def test_no_hits_is_no_error(data, index):
    r = run("search", "zzzz")
    assert (r.code, r.out) == (0, "")
    assert "no matches for 'zzzz'" in r.err
    r = run("search", "zzzz", "--format", "json")
    assert (r.code, r.out.strip()) == (0, "[]")
    assert "no matches" in r.err


def test_usage_errors(crm):
    r = run("search", "acme", "--kind", "invoice")
    assert r.code == 2
    assert "invoice" in r.err and "Traceback" not in r.err
    assert run("search").code == 2  # no text
    r = run("search", "  ")
    assert r.code == 1 and r.err.startswith("Error: nothing to search for")


# ----- never stale, with or without the index ------------------------------------------------


@pytest.mark.parametrize("old", [False, True], ids=["just written", "old files"])
def test_hand_edits_and_deletions_are_seen(data, index, crm, old):
    path = crm / "customers" / f"{data['acme']}.yaml"
    note = crm / "activities" / f"{data['note']}.yaml"
    if old:  # signatures trusted: the index answers from its rows until a file changes
        for p in crm.glob("*/*.yaml"):
            age(p)
    assert found("acme", "--kind", "customer") == [("customer", data["acme"])]
    assert ("activity", data["note"]) in found("friday")
    path.write_text(path.read_text("utf-8").replace("Acme GmbH", "Zenith AG"), "utf-8")
    note.unlink()
    assert found("acme", "--kind", "customer") == []
    assert found("zenith") == [("customer", data["acme"])]
    assert ("activity", data["note"]) not in found("friday")
    (crm / "deals" / f"{data['deal']}.yaml").unlink()
    assert found("pump order") == [("activity", data["deal_note"])]  # its record is gone
    (hit,) = run("search", "pump order", "--format", "json").json()
    assert hit["of"] is None


def test_the_full_text_index_stays_whole(data, crm):
    """After changes, deletions and tombstones the FTS rows are those of the records."""
    s = Store(crm)
    s.save("customer", {**s.load("customer", data["acme"]), "name": "Acme AG"})
    s.delete("activity", data["note"])
    s.write_tombstone("customer", data["wang"], data["acme"])
    assert found("王芳") == []  # the merged one and the deleted note are gone
    (path,) = crm.glob(".crm/index-*.sqlite")
    db = sqlite3.connect(path)
    db.execute("INSERT INTO fts(fts, rank) VALUES ('integrity-check', 1)")  # raises if not
    live = db.execute("SELECT count(*) FROM rec WHERE words IS NOT NULL").fetchone()[0]
    assert live == 6
    db.close()


def test_a_broken_file_is_skipped_with_a_warning(data, crm, index):
    (crm / "leads" / "broken01.yaml").write_text("name: [acme\n", encoding="utf-8")
    r = run("search", "acme", "--format", "json")
    assert r.code == 0
    assert [h["id"] for h in r.json()] == [data["acme"], data["lead"]]
    assert "broken01.yaml" in r.err


def test_a_merged_customers_note_belongs_to_the_one_kept(data, crm, index):
    r = run("customer", "merge", "Acme GmbH", "王芳")
    assert r.code == 0, r.err
    hits = {h["id"]: h for h in run("search", "quote", "--format", "json").json()}
    assert hits[data["note"]]["of"]["id"] == data["acme"]
    assert ("customer", data["wang"]) not in found("王芳")


# ----- the domain, without the CLI -----------------------------------------------------------


def test_the_index_and_the_files_give_the_same_hits(data, crm, monkeypatch):
    queries = ["a", "王芳", "quote friday", "muller", "pump", "·", "e", "bav.de", "acme gmbh"]
    through_index = [search.search(Store(crm), q)[0] for q in queries]
    assert list(crm.glob(".crm/index-*.sqlite"))
    monkeypatch.setenv("CRM_NO_INDEX", "1")
    from_files = [search.search(Store(crm), q)[0] for q in queries]
    assert [[h.json() for h in hits] for hits in through_index] == [
        [h.json() for h in hits] for hits in from_files
    ]
    assert all(through_index[1:5])


def test_pieces_of_each_kind():
    cust = {"id": "c1", "name": "Acme", "emails": ["a@x.de"], "phones": ["+4930"],
            "website": None, "contacts": [{"name": "Li", "title": None, "emails": [],
                                           "phones": ["+86"]}]}  # fmt: skip
    assert search.pieces("customer", cust) == [
        ("name", "Acme"),
        ("emails", "a@x.de"),
        ("phones", "+4930"),
        ("contacts", "Li · +86"),
    ]
    lead = {"name": "Li", "company": "Acme", "title": "Buyer", "emails": [], "phones": []}
    assert search.pieces("lead", lead) == [("name", "Li"), ("company", "Acme"), ("title", "Buyer")]
    assert search.pieces("task", {"title": "Call"}) == [("title", "Call")]
    assert search.pieces("activity", {"text": "hi", "kind": "note"}) == [("text", "hi")]


def test_snippet_marks_the_words_in_the_original_text():
    field, text, spans = search.snippet(
        [("name", "Straße"), ("contacts", "Hans MÜLLER · Einkauf")], ["muller", "hans"]
    )
    assert (field, text) == ("contacts", "Hans MÜLLER · Einkauf")
    assert [text[s:e] for s, e in spans] == ["Hans", "MÜLLER"]
    _f, text, spans = search.snippet([("name", "Straße")], ["strasse"])  # ß folds to ss
    assert [text[s:e] for s, e in spans] == ["Straße"]
    _f, text, spans = search.snippet([("name", "Mu\u0308ller")], ["muller"])  # decomposed ü
    assert [text[s:e] for s, e in spans] == ["Mu\u0308ller"]
    long = "word " * 30 + "the quote\nby friday " + "tail " * 20
    _f, text, spans = search.snippet([("text", long)], ["quote", "friday"])
    assert text.startswith("…word ") and text.endswith("…")
    assert len(text) == search.SNIPPET + 2
    assert [text[s:e] for s, e in spans] == ["quote", "friday"]
    assert "\n" not in text


def test_an_empty_query_is_an_error():
    with pytest.raises(CrmError, match="nothing to search for"):
        search.terms(" \t ")
    assert search.terms("Müller  QUOTE") == ["muller", "quote"]


def test_equal_matches_newest_first(crm, monkeypatch):
    s = Store(crm)
    acme = s.create("customer", name="Acme")
    ids = []
    for day in ("2026-11-01", "2026-11-20", "2026-11-10"):
        monkeypatch.setenv("CRM_NOW", f"{day}T10:00:00+08:00")
        ids.append(Store(crm).add_activity(acme["id"], "call", "left a voicemail")["id"])
    assert found("voicemail") == [("activity", ids[i]) for i in (1, 2, 0)]
