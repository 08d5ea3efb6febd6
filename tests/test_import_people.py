"""Import: a new person at a known company is not lost; a summary a person can act on."""

from __future__ import annotations

from conftest import run


def ok(*args: str, input: str | None = None):
    r = run(*args, input=input)
    assert r.code == 0, r.err
    return r


def acme() -> str:
    r = ok("customer", "add", "Acme GmbH", "--email", "info@acme.de",
           "--phone", "+49 30 1234567", "--format", "json")  # fmt: skip
    cid = r.json()["id"]
    ok("customer", "contact", "add", "Acme GmbH", "Li Wei", "--phone", "+49 30 7654321")
    return cid


CARDS = (
    "name,email,phone\n"
    "Eva Neu,eva@acme.de,+49 30 1234567\n"  # a new person on the office line
    "Max Mit,max@acme.de,+49 30 7654321\n"  # a new person on a contact's line
    "Li Wei,,+49 30 7654321\n"  # the contact herself
    "Acme GmbH,,+49 30 1234567\n"  # the customer itself
)


def test_a_new_person_on_a_customers_shared_phone_is_a_new_lead(crm, tmp_path):
    cid = acme()
    f = tmp_path / "cards.csv"
    f.write_text(CARDS, encoding="utf-8")
    s = ok("lead", "import", str(f), "--format", "json").json()
    assert [r["outcome"] for r in s["rows"]] == ["created", "created", "skipped", "skipped"]
    eva, maxm = s["rows"][:2]
    assert any(f"customer {cid} (Acme GmbH)" in n for n in eva["notes"])
    assert any(f"Li Wei of customer {cid}" in n for n in maxm["notes"])
    names = sorted(x["name"] for x in ok("lead", "list", "--format", "json").json())
    assert names == ["Eva Neu", "Max Mit"]


def test_as_contact_adds_the_new_person_to_that_customer(crm, tmp_path):
    cid = acme()
    f = tmp_path / "cards.csv"
    f.write_text(CARDS + "Eva Neu,eva@acme.de,\n", encoding="utf-8")
    s = ok("lead", "import", str(f), "--as-contact", "--format", "json").json()
    outcomes = [(r["outcome"], r["id"]) for r in s["rows"]]
    assert outcomes[:2] == [("merged", cid), ("merged", cid)]
    assert "added as a contact of customer" in s["rows"][0]["reason"]
    # the contact added by this import is a customer's from then on
    assert s["rows"][4]["outcome"] == "skipped" and "Eva Neu of customer" in s["rows"][4]["reason"]
    assert ok("lead", "list", "--format", "json").json() == []
    f.write_text("name,email,title\n,,Boss\nAnna,anna@x.de,\n", encoding="utf-8")
    r = ok("lead", "import", str(f))  # some rejected: no error
    assert "1 created" in r.out and "1 rejected" in r.out
    cust = ok("customer", "show", cid, "--format", "json").json()
    added = {c["name"]: c for c in cust["contacts"]}
    assert set(added) == {"Li Wei", "Eva Neu", "Max Mit"}
    assert added["Eva Neu"]["emails"] == ["eva@acme.de"]
    assert added["Eva Neu"]["phones"] == ["+49301234567"]
    assert any("contact Eva Neu" in a["text"] for a in cust["timeline"])


def test_as_contact_never_adds_contacts_to_a_person_customer(crm, tmp_path):
    ok("customer", "add", "Wang Fang", "--kind", "person", "--phone", "+86 138 0013 8000")
    f = tmp_path / "cards.csv"
    f.write_text("name,phone\nWang Lei,+86 138 0013 8000\n", encoding="utf-8")
    s = ok("lead", "import", str(f), "--as-contact", "--format", "json").json()
    assert s["rows"][0]["outcome"] == "created"
    assert "also on customer" in s["rows"][0]["notes"][0]
    (cust,) = ok("customer", "list", "--format", "json").json()
    assert cust["contacts"] == []


def test_as_contact_dry_run_writes_nothing(crm, tmp_path):
    cid = acme()
    f = tmp_path / "cards.csv"
    f.write_text(CARDS, encoding="utf-8")
    before = (crm / "customers" / f"{cid}.yaml").read_bytes()
    s = ok("lead", "import", str(f), "--as-contact", "--dry-run", "--format", "json").json()
    assert s["merged"] == 2
    assert (crm / "customers" / f"{cid}.yaml").read_bytes() == before


# ----- the summary ------------------------------------------------------------------


def test_table_lists_rows_to_look_at_and_leaves_out_nothing_new(crm, tmp_path):
    acme()
    f = tmp_path / "cards.csv"
    f.write_text(
        "name,email,phone\n"
        "Front Desk,info@acme.de,\n"  # a customer's e-mail: nothing new
        "Anna,anna@x.de,\n"
        "Anna,anna@x.de,\n"  # a duplicate bringing nothing new
        "Anna,anna@x.de,+49 30 5555555\n"  # merged: a new phone
        "Bob,bob@x.de,Handy\n",  # created, with a note
        encoding="utf-8",
    )
    r = ok("lead", "import", str(f))
    assert "line 2" not in r.out and "line 4" not in r.out  # nothing new: not listed
    assert "line 5" in r.out and "merged" in r.out
    assert "line 6" in r.out and "Handy" in r.out
    assert "2 duplicates with nothing new not listed (--verbose lists them)" in r.err
    assert "0 merged" not in r.out and "2 skipped as duplicates" in r.out


def test_verbose_lists_every_row(crm, tmp_path):
    f = tmp_path / "cards.csv"
    f.write_text("name,email\nAnna,anna@x.de\nAnna,anna@x.de\n", encoding="utf-8")
    r = ok("lead", "import", str(f), "--verbose")
    assert "line 2" in r.out and "line 3" in r.out and "nothing new" in r.out
    assert "--verbose" not in r.err


def test_notes_of_skipped_and_rejected_rows_are_shown(crm, tmp_path):
    from conftest import set_settings

    set_settings(crm, default_region="DE")
    ok("lead", "add", "Wang", "--email", "wang@x.cn")
    f = tmp_path / "cards.csv"
    f.write_text("name,email,phone\nWang,wang@x.cn,13812345678\n", encoding="utf-8")
    ok("lead", "import", str(f))  # merged: the phone is new
    r = ok("lead", "import", str(f))  # now nothing new, but its phone was kept as written
    assert "line 2" in r.out and "kept as written" in r.out


def test_every_row_rejected_exits_1(crm, tmp_path):
    f = tmp_path / "cards.csv"
    f.write_text("name,email,title\n,,Boss\n,,Clerk\n", encoding="utf-8")
    r = run("lead", "import", str(f))
    assert r.code == 1
    assert "Error: every row was rejected (2 of 2), nothing imported; cards.csv line 2" in r.err
    assert "line 2" in r.out  # the table still says why
    r = run("lead", "import", str(f), "--format", "json")
    assert r.code == 1 and r.json()["rejected"] == 2 and "Error: every row" in r.err
    assert ok("lead", "list", "--format", "json").json() == []
    f.write_text("name,email,title\n,,Boss\nAnna,anna@x.de,\n", encoding="utf-8")
    r = ok("lead", "import", str(f))  # some rejected: no error
    assert "1 created" in r.out and "1 rejected" in r.out
