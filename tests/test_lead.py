"""Leads through the CLI and the domain functions."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import refused, run, set_settings, snapshot
from rich.cells import cell_len

from crmcli import leads
from crmcli.changes import ChangeSet
from crmcli.commands.common import parse_fields, state
from crmcli.errors import CrmError
from crmcli.store import Store

LEAD_KEYS = [
    "id", "name", "company", "title", "emails", "phones", "source", "status", "owner",
    "tags", "customer", "deal", "batches", "fields", "created", "updated",
]  # fmt: skip


_LISTS = {"-e": "emails", "-p": "phones", "--tag": "tags", "--field": "fields"}
_TEXTS = {"--company": "company", "--title": "title", "--source": "source", "--owner": "owner"}


def add(name: str, *args: str) -> str:
    """A lead made through the domain function (quicker than the CLI), with the
    options `lead add` takes; the command itself is tested on its own below."""
    kw: dict = {}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in _LISTS:
            kw.setdefault(_LISTS[flag], []).append(value)
        else:
            kw[_TEXTS[flag]] = value
    kw["fields"] = parse_fields(kw.get("fields"))
    rec, _ = leads.add(Store(Path(os.environ["CRM_DIR"])), ChangeSet.of(name=name, **kw))
    return rec["id"]


def messages() -> list[str]:
    """What the last command said it changed (store.note_change)."""
    return state.store.messages


# ----- add ------------------------------------------------------------------------------


def test_add_prints_one_line_with_id(crm):
    r = run("lead", "add", "Li Wei")
    assert r.code == 0, r.err
    lid = r.out.split()[2].rstrip(":")
    assert r.out == f"Added lead {lid}: Li Wei\n"
    assert (crm / "leads" / f"{lid}.yaml").is_file()
    assert messages() == ['lead: add "Li Wei"']


def test_add_json_is_the_record(crm):
    r = run(
        "lead", "add", "Li Wei", "--company", "Acme Trading", "--title", "Buyer",
        "-e", "Li.Wei@Acme.CN", "-e", "li@home.cn", "-p", "+86 138 0013 8000",
        "--source", "trade-show", "--owner", "bob", "--tag", "hot", "--tag", "canton",
        "--field", "booth=12A", "--format", "json",
    )  # fmt: skip
    assert r.code == 0, r.err
    rec = r.json()
    assert list(rec) == [*LEAD_KEYS, "warnings"]
    assert rec["name"] == "Li Wei"
    assert rec["company"] == "Acme Trading"
    assert rec["title"] == "Buyer"
    assert rec["emails"] == ["li.wei@acme.cn", "li@home.cn"]
    assert rec["phones"] == ["+8613800138000"]
    assert rec["source"] == "trade-show"
    assert rec["owner"] == "bob"
    assert rec["status"] == "new"
    assert rec["tags"] == ["canton", "hot"]
    assert rec["fields"] == {"booth": "12A"}
    assert rec["customer"] is None and rec["deal"] is None and rec["batches"] == []
    assert rec["created"] == rec["updated"] == "2026-11-23T10:00:00+08:00"
    assert rec["warnings"] == []


def test_add_default_owner_is_the_acting_user(crm):
    lid = add("Li Wei")
    assert run("lead", "show", lid, "-f", "json").json()["owner"] == "alice"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-e", "not-an-email"], "not a valid e-mail address"),
        (["-p", "+1 12"], "not a valid phone number"),
        (["--field", "novalue"], "--field 'novalue' must look like KEY=VALUE"),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(crm, args, message):
    refused(run("lead", "add", "Li Wei", *args), message)
    assert list((crm / "leads").glob("*.yaml")) == []


def test_add_refuses_an_empty_name(crm):
    refused(run("lead", "add", "  "), "a lead needs a name")


def test_add_warns_when_a_lead_or_customer_has_the_email(crm):
    run("customer", "add", "Acme", "-e", "li@acme.cn")
    add("Li Wei", "-e", "li@acme.cn")
    r = run("lead", "add", "Wei Li", "-e", "LI@acme.cn", "-f", "json")
    assert r.code == 0
    assert len(r.json()["warnings"]) == 2
    assert "already has e-mail li@acme.cn" in r.err
    assert "lead " in r.err and "customer " in r.err


def test_add_warns_on_unknown_source(crm):
    r = run("lead", "add", "Li Wei", "--source", "carrier-pigeon")
    assert r.code == 0
    assert "Warning: source 'carrier-pigeon' is not in settings sources" in r.err


# ----- list -----------------------------------------------------------------------------


@pytest.fixture
def three(crm, monkeypatch):
    """Three leads added a day apart: oldest Zoë (contacted), then 李伟, then Bob."""
    monkeypatch.setenv("CRM_NOW", "2026-11-20T10:00:00+08:00")
    zoe = add("Zoë Müller", "-e", "zoe@example.de", "--source", "website", "--tag", "eu")
    run("lead", "status", zoe, "contacted")
    monkeypatch.setenv("CRM_NOW", "2026-11-21T10:00:00+08:00")
    li = add("李伟", "--company", "北京泵业有限公司", "-p", "+86 138 0013 8000",
             "--source", "trade-show", "--owner", "bob")  # fmt: skip
    monkeypatch.setenv("CRM_NOW", "2026-11-22T10:00:00+08:00")
    bob = add("Bob Stone", "--company", "Stone & Sons", "--source", "website")
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:00:00+08:00")
    return {"zoe": zoe, "li": li, "bob": bob}


def names(*args: str) -> list[str]:
    r = run("lead", "list", *args, "--format", "json")
    assert r.code == 0, r.err
    return [x["name"] for x in r.json()]


def test_list_shows_every_status_newest_first(three, index):
    run("lead", "status", three["bob"], "disqualified")
    assert names() == ["Bob Stone", "李伟", "Zoë Müller"]
    assert names("--sort", "name") == ["Bob Stone", "Zoë Müller", "李伟"]


def test_list_sort_by_updated(three, index):
    run("lead", "note", three["zoe"], "a note does not change the lead")
    run("lead", "edit", three["zoe"], "--title", "CTO")
    assert names("--sort", "updated") == ["Zoë Müller", "Bob Stone", "李伟"]
    refused(run("lead", "list", "--sort", "size"), "cannot sort by 'size'")


def test_list_filters(three, index):
    assert names("--status", "contacted") == ["Zoë Müller"]
    assert names("--status", "new", "--status", "contacted") == ["Bob Stone", "李伟", "Zoë Müller"]
    assert names("--status", "NEW") == ["Bob Stone", "李伟"]
    assert names("--source", "website") == ["Bob Stone", "Zoë Müller"]
    assert names("--owner", "bob") == ["李伟"]
    assert names("--tag", "eu") == ["Zoë Müller"]
    assert names("--status", "converted") == []


def test_list_unknown_status_is_an_error(three, index):
    refused(run("lead", "list", "--status", "hot"), "unknown lead status 'hot'")


def test_search_name_company_email_phone_case_and_accent_insensitive(three):
    assert names("--search", "zoe muller") == ["Zoë Müller"]
    assert names("--search", "EXAMPLE.DE") == ["Zoë Müller"]
    assert names("--search", "泵业") == ["李伟"]
    assert names("--search", "stone & sons") == ["Bob Stone"]
    assert names("--search", "138 0013") == ["李伟"]
    assert names("--search", "nobody") == []


def test_list_by_batch(crm, store, index):
    store.create("lead", name="From cards", batches=["b-2026-11-20", "b2"])
    store.create("lead", name="Other import", batches=["b3"])
    add("Typed in")
    assert names("--batch", "b2") == ["From cards"]
    assert names("--batch", "b-2026-11-20") == ["From cards"]
    assert names("--batch", "b") == []


def test_list_csv_has_header_and_the_columns(three, index):
    r = run("lead", "list", "--format", "csv", "--sort", "name")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].startswith("id,name,company,title,emails,phones,source,status,owner")
    assert lines[1].split(",")[1:3] == ["Bob Stone", "Stone & Sons"]
    assert len(lines) == 4


def test_table_fits_80_columns_with_chinese_names(crm):
    add("欧阳娜娜", "--company", "深圳市华强北电子科技股份有限公司", "--source", "trade-show",
        "--owner", "zhangsan")  # fmt: skip
    add("李伟", "--company", "北京泵业有限公司", "--source", "referral")
    add("Maximilian Alexander von Hohenzollern-Sigmaringen", "--company", "Ämter & Söhne GmbH")
    r = run("lead", "list")
    assert r.code == 0, r.err
    assert max(cell_len(line) for line in r.out.splitlines()) <= 80
    assert "欧阳娜娜" in r.out and "李伟" in r.out
    assert "id" in r.out.splitlines()[0] and "status: new (every row)" in r.err


def test_list_empty_and_limit(crm, index):
    r = run("lead", "list")
    assert r.code == 0 and r.out == "" and "no leads" in r.err
    for i in range(3):
        add(f"Lead {i}")
    r = run("lead", "list", "--limit", "2")
    assert "1 more not shown" in r.err
    assert len(names("--limit", "2")) == 2  # --limit cuts JSON too (issue 12)
    assert len(names()) == 3  # without it JSON lists all


# ----- show, REF ------------------------------------------------------------------------


def test_show_json_has_timeline_and_tasks(crm, store):
    lid = add("Li Wei", "-e", "li@acme.cn")
    run("lead", "note", lid, "Met at the fair")
    store.create("task", title="Call Li", lead=lid)
    rec = run("lead", "show", "li@acme.cn", "--format", "json").json()
    assert list(rec) == [*LEAD_KEYS, "timeline", "tasks"]
    assert [a["text"] for a in rec["timeline"]] == ["Met at the fair"]
    assert list(rec["timeline"][0]) == ["id", "on", "kind", "text", "by", "at"]
    assert [t["title"] for t in rec["tasks"]] == ["Call Li"]


def test_show_table_has_fields_links_and_timeline(crm):
    lid = add("李伟", "--company", "北京泵业有限公司", "--field", "booth=12A")
    run("lead", "note", lid, "想要样品")
    run("lead", "convert", lid, "--deal", "Pump order")
    r = run("lead", "show", "李伟")
    assert r.code == 0, r.err
    assert r.out.startswith(f"李伟 ({lid})")
    assert "fields.booth" in r.out and "12A" in r.out
    assert "(北京泵业有限公司)" in r.out  # the customer link, named
    assert "(Pump order)" in r.out  # the deal link, named
    assert "Timeline" in r.out and "想要样品" in r.out and "converted to customer" in r.out
    assert max(cell_len(line) for line in r.out.splitlines()) <= 80


def test_show_by_prefix_and_case_insensitive_name(crm):
    lid = add("Li Wei")
    assert run("lead", "show", lid[:4], "-f", "json").json()["id"] == lid
    assert run("lead", "show", "li wei", "-f", "json").json()["id"] == lid


def test_unknown_ref_is_an_error_everywhere(crm):
    add("Li Wei")
    for args in (
        ["show", "nobody"],
        ["edit", "nobody", "--title", "x"],
        ["note", "nobody", "hi"],
        ["assign", "nobody", "bob"],
        ["status", "nobody", "contacted"],
        ["convert", "nobody"],
        ["rm", "nobody"],
    ):
        refused(run("lead", *args), "no lead matches 'nobody'")


def test_ambiguous_ref_lists_the_candidates(crm, store):
    a = store.create("lead", id="abcd1111", name="Li Wei")
    b = store.create("lead", id="abcd2222", name="Li Wei")
    before = snapshot(crm)
    for args in (["show", "li wei"], ["status", "abcd", "contacted"], ["convert", "Li Wei"]):
        r = run("lead", *args)
        refused(r, "matches 2 leads; use an id")
        assert a["id"] in r.err and b["id"] in r.err
    assert snapshot(crm) == before


# ----- edit -----------------------------------------------------------------------------


def test_edit_adds_removes_and_unsets(crm):
    lid = add("Li Wei", "--company", "Acme", "--title", "Buyer", "-e", "old@acme.cn",
              "-p", "+86 138 0013 8000", "--tag", "a", "--field", "x=1", "--source", "email")  # fmt: skip
    r = run(
        "lead", "edit", lid, "--name", "Li Wei (李伟)", "-e", "new@acme.cn",
        "--remove-email", "OLD@acme.cn", "--remove-phone", "+86 138-0013-8000", "--add-tag", "b",
        "--tag", "c", "--remove-tag", "a", "--field", "y=2", "--unset", "fields.x",
        "--unset", "title", "--company", "Acme Ltd", "--owner", "bob", "--format", "json",
    )  # fmt: skip
    assert r.code == 0, r.err
    rec = r.json()
    assert rec["name"] == "Li Wei (李伟)"
    assert rec["company"] == "Acme Ltd"
    assert rec["title"] is None
    assert rec["emails"] == ["new@acme.cn"]
    assert rec["phones"] == []
    assert rec["tags"] == ["b", "c"]
    assert rec["fields"] == {"y": "2"}
    assert rec["owner"] == "bob"
    assert rec["source"] == "email"
    assert len(messages()) == 1 and messages()[0].startswith('lead: edit "Li Wei (李伟)" (')


@pytest.mark.parametrize(
    "args, message",
    [
        (["--remove-tag", "nope"], "has no tag 'nope'"),
        (["--remove-email", "x@y.cn"], "has no e-mail 'x@y.cn'"),
        (["--remove-phone", "555 1234"], "has no phone '555 1234'"),
        (["--unset", "status"], "cannot unset 'status'"),
        (["--name", " "], "a lead needs a name"),
        (["-e", "bad"], "not a valid e-mail address"),
    ],
)
def test_edit_errors_leave_the_file_unchanged(crm, args, message):
    lid = add("Li Wei", "--tag", "a")
    before = snapshot(crm)
    refused(run("lead", "edit", lid, "--title", "CTO", *args), message)
    assert snapshot(crm) == before


def test_edit_without_change_keeps_the_bytes(crm):
    lid = add("Li Wei", "--title", "CTO")
    before = snapshot(crm)
    r = run("lead", "edit", lid, "--title", "CTO")
    assert r.code == 0 and r.out == f"No change to lead {lid} (Li Wei)\n"
    assert snapshot(crm) == before
    assert messages() == []


# ----- note, assign, status ---------------------------------------------------------------


def test_note_from_argument_and_stdin(crm, store):
    lid = add("Li Wei")
    r = run("lead", "note", lid, "Met at the fair")
    assert r.code == 0 and r.out.startswith(f"Noted on lead {lid} (Li Wei) as ")
    assert messages() == ['lead: note on "Li Wei"']
    run("lead", "note", lid, "-", input="From stdin\nsecond line\n")
    texts = sorted(a["text"] for a in Store(crm).timeline(lid))
    assert texts == ["From stdin\nsecond line", "Met at the fair"]
    assert all(a["by"] == "alice" and a["kind"] == "note" for a in Store(crm).timeline(lid))
    refused(run("lead", "note", lid, "-", input="  \n"), "the text is empty")


def test_assign_records_on_the_timeline(crm, store):
    lid = add("Li Wei")
    t = store.create("task", title="Call", lead=lid, owner="alice")
    r = run("lead", "assign", "Li Wei", "bob")
    assert r.code == 0 and r.out == f"Assigned lead {lid} (Li Wei) to bob\n"
    assert messages() == ['lead: assign "Li Wei" to bob']
    s = Store(crm)
    assert s.load("lead", lid)["owner"] == "bob"
    assert s.load("task", t["id"])["owner"] == "alice"
    assert [a["text"] for a in s.timeline(lid)] == ["owner alice -> bob"]
    r = run("lead", "assign", lid, "carol", "--with-open-work")
    assert "with 1 open task(s)" in r.out
    assert Store(crm).load("task", t["id"])["owner"] == "carol"


def test_status_changes_are_on_the_timeline(crm):
    lid = add("Li Wei")
    r = run("lead", "status", lid, "contacted")
    assert r.code == 0 and r.out == f"lead {lid} (Li Wei): new -> contacted\n"
    assert messages() == ['lead: "Li Wei" new -> contacted']
    run("lead", "status", lid, "Disqualified", "--note", "no budget")
    s = Store(crm)
    assert s.load("lead", lid)["status"] == "disqualified"
    assert sorted(a["text"] for a in s.timeline(lid)) == [
        "status contacted -> disqualified: no budget",
        "status new -> contacted",
    ]
    assert {a["kind"] for a in s.timeline(lid)} == {"status"}


def test_status_unchanged_writes_nothing(crm):
    lid = add("Li Wei")
    before = snapshot(crm)
    r = run("lead", "status", lid, "new")
    assert r.code == 0 and "is already new" in r.out
    assert snapshot(crm) == before and messages() == []


@pytest.mark.parametrize(
    "status, message",
    [
        ("hot", "unknown lead status 'hot' (use new, contacted, qualified, disqualified)"),
        ("converted", "only through: crm lead convert REF"),
    ],
)
def test_status_errors(crm, status, message):
    lid = add("Li Wei")
    before = snapshot(crm)
    refused(run("lead", "status", lid, status), message)
    assert snapshot(crm) == before


def test_status_of_a_converted_lead_cannot_change(crm):
    lid = add("Li Wei")
    run("lead", "convert", lid)
    before = snapshot(crm)
    refused(run("lead", "status", lid, "new"), "is converted")
    assert snapshot(crm) == before


# ----- convert --------------------------------------------------------------------------


def test_convert_company_lead_makes_a_company_customer_with_the_contact(crm, store):
    lid = add("Li Wei", "--company", "Acme Trading", "--title", "Buyer", "-e", "li@acme.cn",
              "-p", "+86 138 0013 8000", "--source", "trade-show", "--owner", "bob",
              "--tag", "hot", "--field", "booth=12A")  # fmt: skip
    run("lead", "note", lid, "Wants samples")
    r = run("lead", "convert", lid)
    assert r.code == 0, r.err
    s = Store(crm)
    [cust] = s.query("customer")
    assert r.out == f"Converted lead {lid} (Li Wei) to new customer {cust['id']} (Acme Trading)\n"
    assert messages() == ['lead: convert "Li Wei" to new customer "Acme Trading"']
    assert cust["name"] == "Acme Trading" and cust["kind"] == "company"
    assert [{k: v for k, v in c.items() if k != "id"} for c in cust["contacts"]] == [
        {"name": "Li Wei", "title": "Buyer", "emails": ["li@acme.cn"], "phones": ["+8613800138000"]}
    ]
    assert cust["emails"] == [] and cust["phones"] == []
    assert cust["source"] == "trade-show" and cust["owner"] == "bob"
    assert cust["tags"] == ["hot"] and cust["fields"] == {"booth": "12A"}
    lead = s.load("lead", lid)
    assert lead["status"] == "converted"
    assert lead["customer"] == cust["id"] and lead["deal"] is None
    # the lead keeps its timeline; the customer gets a copy plus its own entry
    lead_texts = sorted(a["text"] for a in s.timeline(lid))
    assert lead_texts == ["Wants samples", f"converted to customer Acme Trading ({cust['id']})"]
    cust_tl = s.timeline(cust["id"])
    assert sorted(a["text"] for a in cust_tl) == [
        "Wants samples",
        f"created from lead Li Wei ({lid})",
    ]
    copied = next(a for a in cust_tl if a["text"] == "Wants samples")
    original = next(a for a in s.timeline(lid) if a["text"] == "Wants samples")
    assert (copied["by"], copied["at"], copied["kind"]) == (
        original["by"],
        original["at"],
        original["kind"],
    )
    assert copied["id"] != original["id"]
    assert len(s.query("deal")) == 0


def test_convert_lead_without_company_makes_a_person_customer(crm):
    lid = add("Zoë Müller", "-e", "zoe@example.de", "-p", "+49 30 1234567", "--source", "website")
    r = run("lead", "convert", "zoe@example.de", "--format", "json")
    assert r.code == 0, r.err
    data = r.json()
    assert list(data) == ["lead", "customer", "deal", "customer_action", "warnings"]
    cust = data["customer"]
    assert cust["kind"] == "person" and cust["name"] == "Zoë Müller"
    assert cust["emails"] == ["zoe@example.de"] and cust["phones"] == ["+49301234567"]
    assert cust["contacts"] == []
    assert cust["source"] == "website" and cust["owner"] == "alice"
    assert data["customer_action"] == "created" and data["deal"] is None
    assert data["lead"]["id"] == lid and data["lead"]["status"] == "converted"
    assert data["lead"]["customer"] == cust["id"]
    assert data["lead"]["updated"] == "2026-11-23T10:00:00+08:00"


def test_convert_attaches_to_an_existing_customer_with_the_company_name(crm):
    cid = run("customer", "add", "Acme Trading", "--source", "referral", "-f", "json").json()["id"]
    lid = add("Li Wei", "--company", "ACME trading", "-e", "li@acme.cn", "--source", "trade-show")
    r = run("lead", "convert", lid)
    assert r.code == 0, r.err
    assert "A customer named 'Acme Trading' exists already" in r.err
    assert r.out == f"Converted lead {lid} (Li Wei) to existing customer {cid} (Acme Trading)\n"
    s = Store(crm)
    assert len(s.query("customer")) == 1
    cust = s.load("customer", cid)
    assert [c["name"] for c in cust["contacts"]] == ["Li Wei"]
    assert cust["source"] == "referral"  # an existing customer keeps its own
    assert s.load("lead", lid)["customer"] == cid
    assert [a["text"] for a in s.timeline(cid)] == [f"lead Li Wei ({lid}) converted, as a contact"]
    assert run("lead", "convert", lid).code == 1


def test_convert_matched_json_says_so(crm):
    run("customer", "add", "Acme Trading")
    lid = add("Li Wei", "--company", "Acme Trading")
    assert run("lead", "convert", lid, "-f", "json").json()["customer_action"] == "matched"


def test_convert_with_customer_option_attaches_the_person(crm):
    cid = run("customer", "add", "Big Buyer Ltd", "-f", "json").json()["id"]
    run("customer", "contact", "add", cid, "Li Wei", "-e", "old@bb.cn")
    lid = add("Li Wei", "--company", "Something Else", "--title", "CTO", "-e", "li@bb.cn")
    r = run("lead", "convert", lid, "--customer", "big buyer ltd", "-f", "json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["customer_action"] == "attached"
    assert data["customer"]["id"] == cid
    # the contact of the same name is completed, not duplicated
    assert [{k: v for k, v in c.items() if k != "id"} for c in data["customer"]["contacts"]] == [
        {"name": "Li Wei", "title": "CTO", "emails": ["old@bb.cn", "li@bb.cn"], "phones": []}
    ]
    assert len(Store(crm).query("customer")) == 1


def test_convert_into_a_person_customer_of_the_same_name_merges_contact_details(crm):
    cid = run("customer", "add", "Zoë Müller", "--kind", "person", "-f", "json").json()["id"]
    lid = add("Zoë Müller", "-e", "zoe@example.de")
    data = run("lead", "convert", lid, "--customer", cid, "-f", "json").json()
    assert data["customer"]["emails"] == ["zoe@example.de"]
    assert data["customer"]["contacts"] == []


def test_convert_unknown_customer_is_an_error(crm):
    lid = add("Li Wei")
    before = snapshot(crm)
    refused(run("lead", "convert", lid, "--customer", "nobody"), "no customer matches 'nobody'")
    assert snapshot(crm) == before


def test_convert_with_a_deal_has_the_exact_amount(crm):
    set_settings(
        crm,
        currency="CNY",
        pipeline=[{"stage": "lead-in", "probability": 5}, {"stage": "offer", "probability": 50}],
    )
    lid = add("李伟", "--company", "北京泵业有限公司", "--owner", "bob")
    r = run("lead", "convert", lid, "--deal", "Pump order", "--amount", "1234567.10")
    assert r.code == 0, r.err
    s = Store(crm)
    [deal] = s.query("deal")
    assert (
        r.out.splitlines()[1] == f"Opened deal {deal['id']}: Pump order (lead-in, 1,234,567.10 CNY)"
    )
    assert messages()[0] == (
        'lead: convert "李伟" to new customer "北京泵业有限公司" with deal "Pump order"'
    )
    assert messages()[1].startswith("deal: add")
    assert deal["amount"] == Decimal("1234567.10")
    assert "amount: 1234567.10\n" in (crm / "deals" / f"{deal['id']}.yaml").read_text()
    assert deal["currency"] == "CNY" and deal["stage"] == "lead-in" and deal["status"] == "open"
    assert deal["owner"] == "bob"
    [cust] = s.query("customer")
    assert deal["customer"] == cust["id"]
    assert deal["stage_history"] == [
        {"stage": "lead-in", "at": "2026-11-23T10:00:00+08:00", "by": "alice"}
    ]
    assert list(deal["stage_history"][0]) == ["stage", "at", "by"]
    lead = s.load("lead", lid)
    assert lead["deal"] == deal["id"]
    assert f"deal Pump order ({deal['id']})" in s.timeline(lid)[0]["text"]
    assert f"deal Pump order ({deal['id']})" in s.timeline(cust["id"])[0]["text"]
    assert "converting lead 李伟" in s.timeline(deal["id"])[0]["text"]


def test_convert_json_amount_is_an_exact_number(crm):
    lid = add("Li Wei")
    r = run(
        "lead", "convert", lid, "--deal", "Big", "--amount", "0.10000000000000000001", "-f", "json"
    )
    assert r.code == 0, r.err
    assert '"amount": 0.10000000000000000001,' in r.out
    assert r.json()["deal"]["title"] == "Big"


def test_convert_deal_without_amount(crm):
    lid = add("Li Wei")
    deal = run("lead", "convert", lid, "--deal", "Maybe", "-f", "json").json()["deal"]
    assert deal["amount"] is None and deal["stage"] == "new" and deal["currency"] == "USD"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--deal", "X", "--amount", "abc"], "amount 'abc' is not a number"),
        (["--deal", "X", "--amount", "12,000"], "amount '12,000' is not a number"),
        (["--deal", "X", "--amount", "NaN"], "amount 'NaN' is not a number"),
        (["--deal", "X", "--amount", "-5"], "amount '-5' is not a number"),
        (["--deal", "X", "--amount", "1e3"], "amount '1e3' is not a number"),
        (["--amount", "100"], "--amount needs --deal TITLE"),
        (["--deal", " "], "the deal title is empty"),
    ],
)
def test_convert_bad_input_writes_nothing(crm, args, message):
    lid = add("Li Wei", "--company", "Acme")
    run("lead", "note", lid, "hello")
    before = snapshot(crm)
    refused(run("lead", "convert", lid, *args), message)
    assert snapshot(crm) == before


def test_convert_twice_is_an_error(crm):
    lid = add("Li Wei", "--company", "Acme")
    assert run("lead", "convert", lid).code == 0
    before = snapshot(crm)
    refused(run("lead", "convert", lid, "--deal", "Again"), "already converted")
    assert snapshot(crm) == before


def test_convert_with_two_customers_of_the_company_name_asks_which(crm):
    run("customer", "add", "Acme")
    run("customer", "add", "ACME")
    lid = add("Li Wei", "--company", "acme")
    before = snapshot(crm)
    refused(run("lead", "convert", lid), "several customers are named 'acme'")
    assert snapshot(crm) == before


def test_convert_links_the_leads_tasks_to_the_customer(crm, store):
    lid = add("Li Wei")
    t = store.create("task", title="Send samples", lead=lid)
    other = store.create("task", title="Elsewhere", lead=lid, customer="zzzz0000")
    cid = run("lead", "convert", lid, "-f", "json").json()["customer"]["id"]
    s = Store(crm)
    assert s.load("task", t["id"])["customer"] == cid
    assert s.load("task", other["id"])["customer"] == "zzzz0000"


# ----- rm -------------------------------------------------------------------------------


def test_rm_removes_the_lead_and_its_timeline(crm):
    lid = add("Li Wei")
    run("lead", "note", lid, "hi")
    r = run("lead", "rm", "Li Wei")
    assert r.code == 0 and r.out == f"Removed lead {lid} (Li Wei)\n"
    assert messages() == ['lead: remove "Li Wei"']
    assert snapshot(crm, "*/*.yaml") == {}


def test_rm_refuses_while_linked_unless_force(crm, store):
    lid = add("Li Wei")
    t = store.create("task", title="Call", lead=lid)
    before = snapshot(crm)
    refused(run("lead", "rm", lid), "is linked from task")
    assert snapshot(crm) == before
    r = run("lead", "rm", lid, "--force")
    assert r.code == 0 and "unlinked 1 record(s)" in r.out
    assert Store(crm).load("task", t["id"])["lead"] is None


def test_rm_of_a_converted_lead_keeps_the_customers_copy(crm):
    lid = add("Li Wei")
    run("lead", "note", lid, "Wants samples")
    cid = run("lead", "convert", lid, "-f", "json").json()["customer"]["id"]
    assert run("lead", "rm", lid).code == 0
    s = Store(crm)
    assert "Wants samples" in [a["text"] for a in s.timeline(cid)]
    assert s.query("lead") == []


# ----- domain functions -----------------------------------------------------------------


def test_domain_add_and_select(store):
    a, warnings = leads.add(
        store, ChangeSet.of(name=" Li Wei ", company=" ", emails=["LI@x.cn"], tags=["b", "a"])
    )
    assert warnings == []
    assert a["name"] == "Li Wei" and a["company"] is None and a["tags"] == ["a", "b"]
    b, _ = leads.add(store, ChangeSet.of(name="Ana", company="Café Río", batches=["b1"]))
    recs = store.query("lead")
    assert [r["name"] for r in leads.select(recs, leads.LeadFilter(sort="name"))] == [
        "Ana",
        "Li Wei",
    ]
    assert leads.select(recs, leads.LeadFilter(search="cafe rio")) == [b]
    assert leads.select(recs, leads.LeadFilter(batch="b1")) == [b]
    assert leads.select(recs, leads.LeadFilter(("new",), owner="alice", search="x.cn")) == [a]
    with pytest.raises(CrmError, match="unknown lead status 'won'"):
        leads.select(recs, leads.LeadFilter(("won",)))


def test_domain_matches_phone_digits(store):
    rec, _ = leads.add(store, ChangeSet.of(name="Li", phones=["+86 138 0013 8000"]))
    assert leads.matches(rec, "13800138000")
    assert leads.matches(rec, "0013-8000")
    assert not leads.matches(rec, "99")


def test_domain_parse_amount():
    assert leads.parse_amount("24000") == Decimal("24000")
    assert leads.parse_amount(" 1234.50 ") == Decimal("1234.50")
    assert str(leads.parse_amount("1234.50")) == "1234.50"
    assert leads.parse_amount(None) is None
    assert leads.parse_amount(Decimal("0.5")) == Decimal("0.5")
    for bad in ("abc", "", "1.2.3", "inf", "-1", "1e3", "1,000", 1.5):
        with pytest.raises(CrmError):
            leads.parse_amount(bad)


def test_domain_check_status():
    assert leads.check_status(" Qualified ", manual=True) == "qualified"
    assert leads.check_status("converted") == "converted"
    with pytest.raises(CrmError, match="only through"):
        leads.check_status("converted", manual=True)
    with pytest.raises(CrmError, match="unknown lead status"):
        leads.check_status("won")


def test_domain_set_status_and_convert(store):
    rec, _ = leads.add(store, ChangeSet.of(name="Li Wei", company="Acme", owner="bob"))
    rec = leads.set_status(store, rec, "qualified", note="budget ok")
    assert rec["status"] == "qualified"
    assert store.timeline(rec["id"])[0]["text"] == "status new -> qualified: budget ok"
    result = leads.convert(store, rec, deal_title="Pumps", amount=Decimal("99.99"))
    assert result["customer_action"] == "created"
    assert result["customer"]["owner"] == "bob"
    assert result["deal"]["amount"] == Decimal("99.99")
    assert result["deal"]["owner"] == "bob"
    assert result["lead"]["status"] == "converted"
    with pytest.raises(CrmError, match="converting twice"):
        leads.convert(store, result["lead"])
    with pytest.raises(CrmError, match="is converted"):
        leads.set_status(store, result["lead"], "new")
    assert leads.linked(store, result["lead"]) == {
        "customer": store.load("customer", result["customer"]["id"]),
        "deal": store.load("deal", result["deal"]["id"]),
    }


def test_domain_edit(store):
    rec, _ = leads.add(store, ChangeSet.of(name="Li", emails=["a@x.cn"]))
    rec, warnings = leads.edit(
        store, rec, ChangeSet(add={"emails": ["b@x.cn"]}, remove={"emails": ["A@x.cn"]})
    )
    assert rec["emails"] == ["b@x.cn"] and warnings == []
    with pytest.raises(CrmError, match="cannot unset 'name'"):
        leads.edit(store, rec, ChangeSet(unset=["name"]))


def test_linked_survives_a_missing_customer(store):
    rec, _ = leads.add(store, ChangeSet.of(name="Li"))
    rec = store.save("lead", dict(rec, status="converted", customer="gone0000"))
    assert leads.linked(store, rec) == {"customer": None, "deal": None}


def test_edit_removes_a_phone_written_locally_with_default_region(crm):
    set_settings(crm, default_region="CN")
    lid = add("Li Wei", "-p", "138 0013 8000")
    r = run("lead", "edit", lid, "--remove-phone", "138-0013-8000", "-f", "json")
    assert r.code == 0, r.err
    assert r.json()["phones"] == []
