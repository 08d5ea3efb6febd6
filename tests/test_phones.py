"""Phones never change country silently; search and tables read them as people write them."""

from __future__ import annotations

import pytest
from conftest import run, set_settings

from crmcli.contactinfo import display_phone, parse_phone, phone_search_keys


def ok(*args: str, input: str | None = None):
    r = run(*args, input=input)
    assert r.code == 0, r.err
    return r


@pytest.fixture
def de(crm):
    set_settings(crm, default_region="DE")
    return crm


def test_a_number_valid_in_the_default_region_goes_to_e164():
    assert parse_phone("0171 2345678", "DE") == ("+491712345678", None)
    assert parse_phone("+86 138 1234 5678", "DE") == ("+8613812345678", None)
    assert parse_phone("0086 138 1234 5678", "DE") == ("+8613812345678", None)


def test_a_number_not_valid_in_the_default_region_is_kept_as_written_with_a_note():
    stored, note = parse_phone("138 1234 5678", "DE")
    assert stored == "138 1234 5678"  # not +49 138...: a Chinese mobile stays Chinese
    assert "not a valid number in DE" in note and "CN" in note.split("valid in ")[-1]


def test_a_number_that_is_no_phone_is_still_an_error():
    from crmcli.errors import CrmError

    with pytest.raises(CrmError, match="not a valid phone number"):
        parse_phone("+1 12", "DE")


def test_customer_add_warns_and_keeps_a_foreign_number(de):
    r = ok("customer", "add", "Acme", "--phone", "13812345678", "--format", "json")
    rec = r.json()
    assert rec["phones"] == ["13812345678"]
    assert any("kept as written" in w and "CN" in w for w in rec["warnings"])
    assert "Warning: phone '13812345678' kept as written" in r.err


def test_lead_add_edit_and_contact_add_warn(de):
    r = ok("lead", "add", "Li", "--phone", "13812345678")
    assert "kept as written" in r.err and "CN" in r.err
    r = ok("lead", "edit", "Li", "--phone", "13987654321")
    assert "'13987654321' kept as written" in r.err
    ok("customer", "add", "Acme")
    r = ok("customer", "contact", "add", "Acme", "Wang", "--phone", "13812345678")
    assert "kept as written" in r.err
    (c,) = ok("customer", "show", "Acme", "--format", "json").json()["contacts"]
    assert c["phones"] == ["13812345678"]
    assert ok("lead", "show", "Li", "--format", "json").json()["phones"] == [
        "13812345678",
        "13987654321",
    ]


def test_import_keeps_a_foreign_number_with_a_note_on_the_row(de, tmp_path):
    f = tmp_path / "cards.csv"
    f.write_text("name,phone\nWang Fang,13812345678\nKlaus,0171 2345678\n", encoding="utf-8")
    s = ok("lead", "import", str(f), "--format", "json").json()
    wang, klaus = s["rows"]
    assert any("'13812345678' kept as written" in n and "CN" in n for n in wang["notes"])
    assert klaus["notes"] == []
    phones = {x["name"]: x["phones"] for x in ok("lead", "list", "--format", "json").json()}
    assert phones == {"Wang Fang": ["13812345678"], "Klaus": ["+491712345678"]}


def test_search_finds_a_phone_written_in_national_format(de):
    ok("customer", "add", "Acme", "--phone", "+49 171 2345678")
    ok("lead", "add", "Klaus", "--phone", "+49 171 2345678")
    for needle in ("0171 2345678", "+49 171 2345678", "01712345678", "2345678"):
        found = ok("customer", "list", "--search", needle, "--format", "json").json()
        assert [c["name"] for c in found] == ["Acme"], needle
        found = ok("lead", "list", "--search", needle, "--format", "json").json()
        assert [x["name"] for x in found] == ["Klaus"], needle
    assert ok("customer", "list", "--search", "0172 2345678", "--format", "json").json() == []


def test_phone_search_keys():
    assert phone_search_keys("0171 2345678", "DE") == ["01712345678", "491712345678"]
    assert phone_search_keys("acme", "DE") == []


def test_display_phone_groups_for_reading():
    assert display_phone("+491712345678", "DE") == "0171 2345678"
    assert display_phone("+8613812345678", "DE") == "+86 138 1234 5678"
    assert display_phone("13812345678", "DE") == "13812345678"  # kept as written
    assert display_phone("+491712345678", None) == "+49 171 2345678"


def test_tables_show_grouped_phones_files_keep_e164(de):
    ok("customer", "add", "Acme", "--phone", "0171 2345678", "--phone", "+86 138 1234 5678")
    out = ok("customer", "list").out
    assert "0171 2345678" in out
    show = ok("customer", "show", "Acme").out
    assert "0171 2345678, +86 138 1234 5678" in show
    ok("lead", "add", "Klaus", "--phone", "+8613812345678")
    assert "+86 138 1234 5678" in ok("lead", "show", "Klaus").out
    (path,) = (de / "customers").glob("*.yaml")
    text = path.read_text(encoding="utf-8")
    assert "+491712345678" in text and "+8613812345678" in text
