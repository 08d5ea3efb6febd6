"""Customers through the CLI and the domain functions."""

from __future__ import annotations

import re

import pytest
from conftest import added, run, snapshot
from rich.cells import cell_len

from crmcli import customers, records, refs
from crmcli.errors import CrmError


def add(*args: str) -> str:
    return added("customer", *args)["id"]


# ----- add ------------------------------------------------------------------------------


def test_add_prints_one_line_with_id(crm):
    r = run("customer", "add", "Acme GmbH")
    assert r.code == 0
    cid = r.out.split()[2].rstrip(":")
    assert r.out == f"Added customer {cid}: Acme GmbH\n"
    assert (crm / "customers" / f"{cid}.yaml").is_file()


def test_add_json_is_the_record(crm):
    r = run(
        "customer", "add", "Acme GmbH", "-e", "Info@ACME.de", "-p", "+49 30 1234567",
        "--tag", "vip", "--tag", "b2b", "--field", "size=50", "--website", "acme.de",
        "--industry", "pumps", "--source", "referral", "--format", "json",
    )  # fmt: skip
    assert r.code == 0, r.err
    rec = r.json()
    assert rec["name"] == "Acme GmbH"
    assert rec["kind"] == "company"
    assert rec["emails"] == ["info@acme.de"]
    assert rec["phones"] == ["+49301234567"]
    assert rec["tags"] == ["b2b", "vip"]
    assert rec["fields"] == {"size": "50"}
    assert rec["owner"] == "alice"
    assert rec["created"] == "2026-11-23T10:00:00+08:00"
    assert rec["tier"] is None and rec["contacts"] == []
    assert rec["warnings"] == []


def test_add_person_with_default_region(crm):
    from conftest import set_settings

    set_settings(crm, default_region="CN")
    rec = run("customer", "add", "王芳", "--kind", "person", "-p", "138 0013 8000", "-f", "json")
    assert rec.json()["phones"] == ["+8613800138000"]
    assert rec.json()["kind"] == "person"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-e", "not-an-email"], "not a valid e-mail address"),
        (["-p", "+1 12"], "not a valid phone number"),
        (["--kind", "robot"], "kind 'robot' must be company or person"),
        (["--field", "novalue"], "--field 'novalue' must look like KEY=VALUE"),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(crm, args, message):
    r = run("customer", "add", "Acme", *args)
    assert r.code == 1
    assert r.err.startswith("Error: ") and message in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert list((crm / "customers").glob("*.yaml")) == []


def test_add_warns_on_duplicate_email_and_json_says_so(crm):
    first = add("Acme", "-e", "info@acme.de")
    r = run("customer", "add", "ACME Germany", "-e", "INFO@acme.de", "--format", "json")
    assert r.code == 0
    assert f"customer {first} (Acme) already has e-mail info@acme.de" in r.err
    assert r.json()["warnings"] == [f"customer {first} (Acme) already has e-mail info@acme.de"]


def test_usage_error_exits_2(crm):
    r = run("customer", "add")
    assert r.code == 2


# ----- list -----------------------------------------------------------------------------


def test_list_filters_and_sorts(crm, index):
    add("Zeta AG", "--tag", "vip", "--owner", "bob", "--source", "web")
    add("alpha ltd", "--source", "referral")
    add("Mid Corp", "--tag", "vip")
    names = lambda *a: [c["name"] for c in run("customer", "list", *a, "-f", "json").json()]  # noqa: E731
    assert names() == ["alpha ltd", "Mid Corp", "Zeta AG"]
    assert names("--tag", "vip") == ["Mid Corp", "Zeta AG"]
    assert names("--owner", "bob") == ["Zeta AG"]
    assert names("--source", "referral") == ["alpha ltd"]


def test_search_is_case_and_accent_insensitive_and_finds_cjk_and_contacts(crm):
    add("Zoë Müller", "--kind", "person", "-p", "+49 30 1234567")
    cid = add("北京机械有限公司")
    run("customer", "contact", "add", cid, "Li Wei", "--email", "li.wei@bjjx.cn")
    search = lambda q: [c["name"] for c in run("customer", "list", "-q", q, "-f", "json").json()]  # noqa: E731
    assert search("zoe MULLER") == ["Zoë Müller"]
    assert search("机械") == ["北京机械有限公司"]
    assert search("li.wei") == ["北京机械有限公司"]
    assert search("301234") == ["Zoë Müller"]
    assert search("nothing") == []


def test_list_csv_has_header_and_neutralises_formulas(crm, index):
    add("=HYPERLINK(1)", "-p", "+49 30 1234567")
    lines = run("customer", "list", "--format", "csv").out.splitlines()
    assert lines[0].startswith("id,name,kind,emails,phones")
    assert ",'=HYPERLINK(1),company,," in lines[1]
    assert "'+49301234567" in lines[1]


def test_table_fits_80_columns_with_chinese_names(crm):
    add("北京机械有限公司北京机械有限公司", "-e", "sales@beijing-machinery-company.com.cn")
    add("上海贸易", "-p", "+86 21 5555 6666", "--tag", "重要客户")
    r = run("customer", "list")
    assert r.code == 0
    assert "北京机械" in r.out and "上海贸易" in r.out
    assert max(cell_len(line) for line in r.out.splitlines()) <= 80


def test_table_limit_and_footer(crm, store):
    for i in range(5):
        store.create("customer", name=f"C{i}")
    r = run("customer", "list", "--limit", "2")
    assert "3 more not shown" in r.err
    assert sum("C" in line for line in r.out.splitlines()[2:]) == 2


def test_broken_file_is_skipped_with_a_warning(crm):
    add("Good Co")
    (crm / "customers" / "broken01.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    (crm / "customers" / "badtype1.yaml").write_text(
        "id: badtype1\nname: X\nemails: 5\ncreated: 2026-01-01T00:00:00+00:00\n"
        "updated: 2026-01-01T00:00:00+00:00\n",
        encoding="utf-8",
    )
    r = run("customer", "list", "--format", "json")
    assert r.code == 0
    assert [c["name"] for c in r.json()] == ["Good Co"]
    assert "customers/broken01.yaml: not valid YAML" in r.err
    assert "customers/badtype1.yaml: emails: must be a list of texts" in r.err


def test_a_hand_broken_contact_is_named_not_a_crash(crm):
    """A contact's phones edited into a number made every command that reads
    customers fail with a TypeError; now that file is skipped and doctor names it."""
    add("Good Co")
    cid = add("Acme")
    assert run("customer", "contact", "add", cid, "Li Wei", "--phone", "+86 10 1234 5678").code == 0
    path = crm / "customers" / f"{cid}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  - '+861012345678'\n", "").replace("  phones:\n", "  phones: 12345\n"),
                    encoding="utf-8")  # fmt: skip
    assert "phones: 12345" in path.read_text(encoding="utf-8")
    r = run("customer", "list", "--format", "json")
    assert r.code == 0, r.err
    assert [c["name"] for c in r.json()] == ["Good Co"]
    assert f"customers/{cid}.yaml: contacts item 1: phones: must be a list of texts" in r.err
    assert run("customer", "add", "Other", "--phone", "12345").code == 0
    r = run("doctor")
    assert r.code == 1 and f"customers/{cid}.yaml: contacts item 1: phones" in r.out + r.err
    path.write_text(
        text.replace("  name: Li Wei\n  title: null", "  title: Buyer"), encoding="utf-8"
    )
    r = run("customer", "list", "--format", "json")
    assert f"customers/{cid}.yaml: contacts item 1: name: is missing" in r.err


def test_hand_edited_file_is_read_back(crm):
    cid = add("Acme")
    path = crm / "customers" / f"{cid}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Acme", "Acme Hand"), encoding="utf-8")
    assert run("customer", "show", cid, "-f", "json").json()["name"] == "Acme Hand"


# ----- show / REF -----------------------------------------------------------------------


def test_show_by_prefix_name_and_email(crm):
    cid = add("Acme GmbH", "-e", "info@acme.de")
    for ref in (cid, cid[:4], "acme gmbh", "INFO@acme.de"):
        r = run("customer", "show", ref, "--format", "json")
        assert r.code == 0, (ref, r.err)
        assert r.json()["id"] == cid


def test_show_table_has_fields_contacts_and_timeline(crm):
    cid = add("Acme GmbH", "-e", "info@acme.de")
    run("customer", "contact", "add", cid, "Li Wei", "--title", "Buyer")
    run("customer", "note", cid, "Called about pumps")
    r = run("customer", "show", cid)
    assert r.code == 0
    for text in (
        "Acme GmbH",
        "info@acme.de",
        "Contacts",
        "Li Wei",
        "Buyer",
        "Timeline",
        "Called about pumps",
    ):
        assert text in r.out


def test_no_match_and_ambiguity(crm):
    a = add("Acme One")
    b = add("Acme Two")
    r = run("customer", "show", "nosuch")
    assert r.code == 1
    assert r.err == "Error: no customer matches 'nosuch'\n"
    # two records share a name: exit 1, candidates with ids
    run("customer", "edit", b, "--name", "Acme One")
    r = run("customer", "show", "acme one")
    assert r.code == 1
    assert r.err.startswith("Error: 'acme one' matches 2 customers")
    assert a in r.err and b in r.err


def test_exact_name_wins_over_prefix(crm, store):
    c1 = store.create("customer", name="other", id="beef0001")
    store.create("customer", name="beef", id="beef0002")
    assert refs.resolve(store, "customer", "beef")["id"] == "beef0002"
    assert refs.resolve(store, "customer", "beef0001")["id"] == c1["id"]
    with pytest.raises(CrmError, match="matches 2 customers"):
        refs.resolve(store, "customer", "beef0")


def test_path_like_refs_never_escape(crm):
    r = run("customer", "show", "../../etc/passwd")
    assert r.code == 1
    assert r.err.startswith("Error: no customer matches")


# ----- edit -----------------------------------------------------------------------------


def test_edit_adds_removes_and_unsets(crm):
    cid = add(
        "Acme", "-e", "a@acme.de", "-p", "+49 30 1234567", "--tag", "old", "--website", "x.de"
    )
    r = run(
        "customer", "edit", cid, "--email", "b@acme.de", "--remove-email", "A@acme.de",
        "--add-tag", "new", "--remove-tag", "old", "--remove-phone", "+49 30 1234567",
        "--unset", "website", "--field", "size=10", "--tier", "a", "--cadence", "30d",
        "--format", "json",
    )  # fmt: skip
    assert r.code == 0, r.err
    rec = r.json()
    assert rec["emails"] == ["b@acme.de"]
    assert rec["phones"] == []
    assert rec["tags"] == ["new"]
    assert rec["website"] is None
    assert rec["fields"] == {"size": "10"}
    assert rec["tier"] == "A" and rec["tier_manual"] is True
    assert rec["cadence"] == "30d"
    r = run("customer", "edit", cid, "--unset", "fields.size", "-f", "json")
    assert r.json()["fields"] == {}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--remove-tag", "nope"], "has no tag 'nope'"),
        (["--remove-email", "x@y.de"], "has no e-mail 'x@y.de'"),
        (["--unset", "name"], "cannot unset 'name'"),
        (["--tier", "D"], "tier 'D' must be A, B or C"),
        (["--cadence", "often"], "cannot understand the duration 'often'"),
        (["--email", "bad@"], "not a valid e-mail"),
    ],
)
def test_edit_errors_leave_the_file_unchanged(crm, args, message):
    cid = add("Acme", "--tag", "t")
    before = snapshot(crm)
    r = run("customer", "edit", cid, *args)
    assert r.code == 1
    assert message in r.err
    assert snapshot(crm) == before


def test_saving_unchanged_record_keeps_bytes(crm):
    cid = add("Acme", "--tag", "x")
    before = snapshot(crm)
    assert run("customer", "edit", cid, "--tag", "x").code == 0
    assert snapshot(crm) == before


# ----- contacts, notes ------------------------------------------------------------------


def test_contact_add_and_duplicate_contact(crm):
    cid = add("Acme")
    r = run("customer", "contact", "add", cid, "Li Wei", "--title", "Buyer", "-e", "LI@acme.cn")
    assert r.code == 0
    rec = run("customer", "show", cid, "-f", "json").json()
    (contact,) = rec["contacts"]
    assert re.fullmatch(r"[a-z0-9]{8}", contact.pop("id"))  # its vCard UID's part
    assert contact == {"name": "Li Wei", "title": "Buyer", "emails": ["li@acme.cn"], "phones": []}
    r = run("customer", "contact", "add", cid, "li wei")
    assert r.code == 1 and "already has a contact named 'Li Wei'" in r.err


def test_note_from_argument_and_stdin(crm):
    cid = add("Acme")
    assert run("customer", "note", cid, "First call").code == 0
    assert run("customer", "note", cid, "-", input="Second\nline\n").code == 0
    shown = run("customer", "show", cid, "-f", "json").json()
    texts = [a["text"] for a in shown["timeline"]]
    assert set(texts) == {"First call", "Second\nline"}
    assert all(a["by"] == "alice" and a["kind"] == "note" for a in shown["timeline"])
    assert run("customer", "note", cid, "-", input="  \n").code == 1
    assert len(list((crm / "activities").glob("*.yaml"))) == 2


def test_timeline_is_newest_first(crm, monkeypatch):
    cid = add("Acme")
    monkeypatch.setenv("CRM_NOW", "2026-11-24T09:00:00+08:00")
    run("customer", "note", cid, "later")
    monkeypatch.setenv("CRM_NOW", "2026-11-20T09:00:00+08:00")
    run("customer", "note", cid, "earlier")
    tl = run("customer", "show", cid, "-f", "json").json()["timeline"]
    assert [a["text"] for a in tl] == ["later", "earlier"]


# ----- assign, merge, rm ------------------------------------------------------------------


def test_assign_with_open_work(crm, store):
    cid = add("Acme")
    deal = store.create("deal", title="Pumps", customer=cid, stage="new", owner="alice")
    won = store.create("deal", title="Old", customer=cid, stage="new", status="won", owner="alice")
    task = store.create("task", title="Call", customer=cid, owner="alice")
    r = run("customer", "assign", cid, "bob", "--with-open-work")
    assert r.code == 0, r.err
    assert "with 2 open deal(s)/task(s)" in r.out
    assert store.load("customer", cid)["owner"] == "bob"
    assert store.load("deal", deal["id"])["owner"] == "bob"
    assert store.load("task", task["id"])["owner"] == "bob"
    assert store.load("deal", won["id"])["owner"] == "alice"
    tl = store.timeline(cid)
    assert tl[0]["kind"] == "assign" and "alice -> bob" in tl[0]["text"]


def test_assign_without_flag_moves_only_the_customer(crm, store):
    cid = add("Acme")
    task = store.create("task", title="Call", customer=cid, owner="alice")
    assert run("customer", "assign", cid, "bob").code == 0
    assert store.load("task", task["id"])["owner"] == "alice"


def test_merge_combines_and_repoints(crm, store):
    keep = add("Acme GmbH", "-e", "a@acme.de", "--tag", "vip")
    other = add("ACME Germany", "-e", "b@acme.de", "-p", "+49 30 1234567", "--tag", "de",
                "--website", "acme.de", "--field", "vat=DE1")  # fmt: skip
    run("customer", "contact", "add", other, "Li Wei")
    run("customer", "note", other, "old note")
    deal = store.create("deal", title="Pumps", customer=other, stage="new")
    r = run("customer", "merge", keep, other, "--dry-run", "-f", "json")
    assert r.code == 0
    assert r.json()["dry_run"] is True
    assert store.load("deal", deal["id"])["customer"] == other  # nothing written
    r = run("customer", "merge", keep, other)
    assert r.code == 0, r.err
    merged = store.load("customer", keep)
    assert merged["emails"] == ["a@acme.de", "b@acme.de"]
    assert merged["phones"] == ["+49301234567"]
    assert merged["tags"] == ["de", "vip"]
    assert merged["website"] == "acme.de"
    assert merged["fields"] == {"vat": "DE1"}
    assert [c["name"] for c in merged["contacts"]] == ["Li Wei"]
    assert store.load("deal", deal["id"])["customer"] == keep
    assert "old note" in [a["text"] for a in store.timeline(keep)]
    # the tombstone: the old id and old name's e-mail still lead to the one kept
    tomb = (crm / "customers" / f"{other}.yaml").read_text(encoding="utf-8")
    assert f"merged_into: {keep}" in tomb
    assert run("customer", "show", other, "-f", "json").json()["id"] == keep
    assert [c["id"] for c in run("customer", "list", "-f", "json").json()] == [keep]


def test_merge_into_itself_is_refused(crm):
    cid = add("Acme")
    r = run("customer", "merge", cid, cid)
    assert r.code == 1 and "into itself" in r.err


def test_rm_refuses_while_linked_unless_force(crm, store):
    cid = add("Acme")
    run("customer", "note", cid, "a note")
    deal = store.create("deal", title="Pumps", customer=cid, stage="new")
    r = run("customer", "rm", cid)
    assert r.code == 1
    assert f"deal {deal['id']}" in r.err and "--force" in r.err
    assert (crm / "customers" / f"{cid}.yaml").exists()
    r = run("customer", "rm", cid, "--force")
    assert r.code == 0
    assert not (crm / "customers" / f"{cid}.yaml").exists()
    assert store.load("deal", deal["id"])["customer"] is None
    assert list((crm / "activities").glob("*.yaml")) == []


def test_rm_plain(crm):
    add("Acme")
    assert run("customer", "rm", "acme").code == 0
    assert run("customer", "list", "-f", "json").json() == []


# ----- domain functions without the CLI ------------------------------------------------


def test_select_sorts_by_created(store, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-01-01T00:00:00+00:00")
    store.create("customer", name="Old")
    monkeypatch.setenv("CRM_NOW", "2026-06-01T00:00:00+00:00")
    store.create("customer", name="New")
    out = customers.select(store.query("customer"), customers.CustomerFilter(sort="created"))
    assert [c["name"] for c in out] == ["New", "Old"]
    with pytest.raises(CrmError, match="cannot sort by 'size'"):
        customers.select([], customers.CustomerFilter(sort="size"))


def test_duplicates_finds_phone_by_digits(store):
    store.create("customer", name="A", phones=["+49301234567"])
    msgs = records.duplicates(store, "customer", [], ["+49 30 1234567"])
    assert len(msgs) == 1 and "already has phone" in msgs[0]


def test_write_commands_say_what_they_did_for_the_commit_message(crm):
    from crmcli.commands.common import state

    cid = add("Acme")
    assert state.store.messages == ['customer: add "Acme"']
    run("customer", "note", cid, "hello")
    assert state.store.messages == ['customer: note on "Acme"']
    run("customer", "assign", cid, "bob")
    assert state.store.messages == ['customer: assign "Acme" to bob']


def test_shell_completion_offers_names_and_ids(crm, store):
    from crmcli.commands.common import _completer, state

    store.create("customer", name="Acme GmbH", id="q1w2e3r4")
    store.create("customer", name="Zoë Müller", id="k9k9k9k9")
    state.dir, state.store = None, None
    complete = _completer("customer")
    assert complete("ac") == [("Acme GmbH", "q1w2e3r4")]
    assert complete("zoe") == [("Zoë Müller", "k9k9k9k9")]
    assert complete("q1w") == [("q1w2e3r4", "Acme GmbH")]
    assert complete("nothing") == []


# ----- the customer's page (issue 14 item 7) ----------------------------------------------


@pytest.fixture
def page_crm(crm, monkeypatch):
    """Acme with a contact's lead, an open and a won deal, tasks, and entries on each."""
    monkeypatch.setenv("CRM_NOW", "2026-11-20T09:00:00+08:00")
    cid = add("Acme GmbH", "-e", "info@acme.de")
    run("customer", "note", cid, "First contact at the fair")
    lead = added("lead", "Li Wei", "--email", "li@acme.cn")
    run("lead", "note", "Li Wei", "Wants samples")
    assert run("lead", "convert", "Li Wei", "--customer", cid).code == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-21T09:00:00+08:00")
    deal = added("deal", "Pump order", "--customer", cid, "--amount", "1200.50", "--close",
                 "2026-12-15")  # fmt: skip
    added("deal", "Old valves", "--customer", cid, "--amount", "80")
    assert run("deal", "won", "Old valves").code == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-22T09:00:00+08:00")
    assert run("log", "call", "Pump order", "Discussed the price").code == 0
    task = added("task", "Send drawings", "--due", "friday", "--deal", "Pump order")
    added("task", "Done thing", "--customer", cid)
    run("task", "done", "Done thing")
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00+08:00")
    run("task", "note", "Send drawings", "Drawings requested from engineering")
    return {"customer": cid, "lead": lead["id"], "deal": deal["id"], "task": task["id"]}


def test_customer_page_json_keeps_every_key_and_merges_the_timelines(page_crm):
    data = run("customer", "show", page_crm["customer"], "-f", "json").json()
    for key in ("id", "name", "website", "industry", "tier", "contacts", "fields"):
        assert key in data  # every field, empty ones too
    assert data["website"] is None
    assert set(data) >= {"timeline", "leads", "deals", "tasks"}
    assert {d["title"] for d in data["deals"]} == {"Pump order", "Old valves"}  # every status
    assert {t["title"] for t in data["tasks"]} == {"Send drawings", "Done thing"}
    texts = [(a["where"]["kind"], a["text"]) for a in data["timeline"]]
    assert texts[0] == ("task", "Drawings requested from engineering")  # newest first
    assert ("deal", "Discussed the price") in texts
    assert ("customer", "First contact at the fair") in texts
    assert sum(1 for _k, t in texts if t == "Wants samples") == 1  # copied at convert: once
    ats = [a["at"] for a in data["timeline"]]
    assert ats == sorted(ats, reverse=True)
    deal_entry = next(a for a in data["timeline"] if a["text"] == "Discussed the price")
    assert deal_entry["where"] == {"kind": "deal", "id": page_crm["deal"], "name": "Pump order"}


def test_customer_page_table(page_crm):
    r = run("customer", "show", "Acme GmbH")
    assert r.code == 0, r.err
    out = r.out
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    fields = out.split("\n\n")[0]
    assert "website" not in fields and "industry" not in fields  # empty: left out
    assert "info@acme.de" in fields
    assert "Open deals (1)" in out and "Old valves" not in out.split("Open deals")[1].split(
        "Timeline")[0]  # fmt: skip
    (deal_row,) = [line for line in out.splitlines() if line.startswith(page_crm["deal"] + " ")]
    assert "Pump order" in deal_row and "new" in deal_row and "1,200.50" in deal_row
    assert "2026-12-15" in deal_row
    assert "1 closed deal(s)" in r.err
    assert "Open tasks (1)" in out
    (task_row,) = [line for line in out.splitlines() if line.startswith(page_crm["task"] + " ")]
    assert "Send drawings" in task_row and "Pump order" in task_row
    timeline = out.split("\nTimeline\n")[1]
    assert timeline.index("Drawings requested") < timeline.index("Discussed the price")
    (call,) = [line for line in timeline.splitlines() if "Discussed the price" in line]
    assert "call" in call and "deal Pump order" in call
    assert any("lead Li Wei" in line for line in timeline.splitlines())  # the convert entry
