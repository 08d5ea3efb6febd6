"""Hand edits never lose data silently.

A file crm would read differently from how a person reads it (a key twice, as a git
conflict resolved by keeping both sides leaves it; anchors, merge keys, keys that are
not text) is a broken file: skipped with a warning, reported by doctor, never
rewritten or saved over. A key a kind does not define is kept as written and never
read as a field of the kind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run

from crmcli.errors import RecordError
from crmcli.store import Store


def _line(path: Path, text: str) -> int:
    """The 1-based number of the first line of `path` that is `text`."""
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


@pytest.fixture
def acme(store):
    """Acme (broken by the tests) and Good Co (which must keep listing: text that only
    looks like an anchor or alias reads as written)."""
    store.create("customer", name="Good Co", industry="&co *best* AT&T", website="- *x")
    return store.create("customer", name="Acme", emails=["a@acme.example"])


def _both_sides_kept(crm: Path, rid: str) -> Path:
    """Acme's file as a person leaves it who kept both sides of a conflict on `emails`."""
    path = crm / "customers" / f"{rid}.yaml"
    with path.open("a", encoding="utf-8") as f:
        f.write("emails:\n- b@acme.example\n")
    return path


# ----- a key twice ---------------------------------------------------------------------


def test_a_duplicated_key_is_skipped_with_both_lines_named(crm, acme):
    path = _both_sides_kept(crm, acme["id"])
    first, second = _line(path, "emails:"), len(path.read_text(encoding="utf-8").splitlines()) - 1
    r = run("customer", "list", "--format", "json")
    assert r.code == 0, r.err
    assert [c["name"] for c in r.json()] == ["Good Co"]
    assert r.err == (
        f"Warning: skipping customers/{acme['id']}.yaml: not valid YAML: "
        f"duplicate key 'emails' at lines {first} and {second}\n"
    )


def test_doctor_names_both_lines_and_fix_leaves_the_bytes(crm, acme):
    path = _both_sides_kept(crm, acme["id"])
    before = path.read_bytes()
    want = f"customers/{acme['id']}.yaml: not valid YAML: duplicate key 'emails' at lines 4 and 22"
    for args in (["doctor"], ["doctor", "--fix"]):
        r = run(*args)
        assert r.code == 1
        assert want in r.out.splitlines()
        assert "rewrote" not in r.out
        assert path.read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ["customer", "edit", "{id}", "--add-tag", "t"],
        ["customer", "note", "{id}", "Called"],
        ["customer", "edit", "{id}", "--email", "c@acme.example"],
    ],
)
def test_an_edit_never_saves_over_it(crm, acme, args):
    path = _both_sides_kept(crm, acme["id"])
    before = path.read_bytes()
    r = run(*[a.format(id=acme["id"]) for a in args])
    assert r.code == 1
    assert r.err.startswith(f"Error: customers/{acme['id']}.yaml: not valid YAML: duplicate key")
    assert len(r.err.strip().splitlines()) == 1
    assert path.read_bytes() == before
    assert list((crm / "activities").glob("*.yaml")) == []  # no note written either


def test_save_never_replaces_a_file_it_cannot_read(crm, acme):
    """Whatever a command holds in memory, a file broken since is not saved over."""
    s = Store(crm)
    rec = s.load("customer", acme["id"])
    path = _both_sides_kept(crm, acme["id"])
    before = path.read_bytes()
    with pytest.raises(RecordError) as e:
        s.save("customer", {**rec, "tags": ["t"]})
    assert e.value.message.startswith(f"customers/{acme['id']}.yaml: not valid YAML: duplicate")
    assert e.value.message.endswith("nothing written (fix the file first)")
    assert path.read_bytes() == before


# ----- what crm would read differently ---------------------------------------------------

# (text added to Acme's file, what the warning says)
UNREADABLE = [
    ("name: Acme Two\n", "duplicate key 'name' at lines 2 and 22"),
    ("fields:\n  region: north\n  region: south\n", "duplicate key 'region' at lines 22 and 23"),
    ("other: &a [x]\nmore: *a\n", "line 22: anchors and aliases (&a) are not supported"),
    ("other: &a x\n", "line 22: anchors and aliases (&a) are not supported"),
    ("<<: {industry: pumps}\n", "line 22: merge keys (<<) are not supported"),
    ("1: x\n", "line 22: the key 1 is a number, not text: put it in quotes ('1')"),
    ("true: y\n", "line 22: the key true is true or false, not text"),
    ("null: z\n", "line 22: the key null is null, not text"),
    ("? [a, b]\n: c\n", "line 22: a key that is a list or a mapping is not supported"),
    ("other:\n- {2024: won}\n", "line 23: the key 2024 is a number, not text"),
]


@pytest.mark.parametrize("added, said", UNREADABLE)
def test_yaml_read_otherwise_than_written_is_a_broken_file(crm, acme, added, said):
    path = crm / "customers" / f"{acme['id']}.yaml"
    text = path.read_text(encoding="utf-8")
    if added.startswith("fields:"):
        text = text.replace("fields: {}\n", "")
    path.write_text(text + added, encoding="utf-8")
    before = path.read_bytes()
    r = run("customer", "list", "--format", "json")
    assert r.code == 0, r.err
    assert [c["name"] for c in r.json()] == ["Good Co"]
    assert f"skipping customers/{acme['id']}.yaml: not valid YAML: {said}" in r.err
    r = run("doctor", "--fix")
    assert r.code == 1 and f"customers/{acme['id']}.yaml: not valid YAML: {said}" in r.out
    r = run("customer", "edit", acme["id"], "--add-tag", "t")
    assert r.code == 1 and said in r.err
    assert path.read_bytes() == before


def test_a_duplicated_setting_is_an_error_naming_both_lines(crm):
    path = crm / "crm.yaml"
    with path.open("a", encoding="utf-8") as f:
        f.write("owners: [bob]\n")
    first = next(
        i for i, t in enumerate(path.read_text().splitlines(), 1) if t.startswith("owners:")
    )
    last = len(path.read_text().splitlines())
    r = run("customer", "list")
    assert r.code == 1
    assert r.err.strip().endswith(
        f"crm.yaml: not valid YAML: duplicate key 'owners' at lines {first} and {last}"
    )
    r = run("doctor")
    assert f"crm.yaml: not valid YAML: duplicate key 'owners' at lines {first} and {last}" in r.out


# ----- keys a kind does not define --------------------------------------------------------


@pytest.fixture
def world(store):
    """A customer with a deal, a task due today and a lead; ids by name."""
    acme = store.create("customer", name="Acme", emails=["a@acme.example"])
    deal = store.create("deal", title="Pump order", stage="new", customer=acme["id"])
    task = store.create(
        "task", title="Call Acme", due="2026-11-23T09:00:00+08:00", customer=acme["id"]
    )
    lead = store.create("lead", name="Bob Li", company="Acme", customer=acme["id"])
    return {"acme": acme["id"], "deal": deal["id"], "task": task["id"], "lead": lead["id"]}


CONTACTS = ["contacts:\n- Alice Wu\n", "contacts:\n", "contacts: 5\n"]


@pytest.mark.parametrize("contacts", CONTACTS)
def test_a_lead_with_contacts_stops_no_command(crm, world, tmp_path, contacts):
    path = crm / "leads" / f"{world['lead']}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + contacts, encoding="utf-8")
    r = run("lead", "list", "--format", "json")
    assert r.code == 0, r.err
    assert [x["name"] for x in r.json()] == ["Bob Li"]
    r = run("customer", "show", world["acme"], "--format", "json")
    assert r.code == 0, r.err
    assert [x["id"] for x in r.json()["leads"]] == [world["lead"]]
    assert run("deal", "show", world["deal"]).code == 0
    r = run("task", "remind")
    assert r.code == 0 and "Call Acme" in r.out, r.err
    cards = tmp_path / "cards.csv"
    cards.write_text("name,email\nAnn Lee,ann@x.example\n", encoding="utf-8")
    r = run("lead", "import", str(cards))
    assert r.code == 0 and "1 created" in r.out + r.err, r.err
    assert r.err.count("Error") == 0


def test_an_unknown_key_is_kept_as_written_and_doctor_only_notes_it(crm, world):
    path = crm / "leads" / f"{world['lead']}.yaml"
    text = path.read_text(encoding="utf-8")
    hand = text.replace("phones: []\n", "phones: []\ncontacts: [Alice Wu, {name: X}]\n")
    path.write_text(hand, encoding="utf-8")
    for args in (["doctor"], ["doctor", "--fix"]):
        r = run(*args)
        assert r.code == 0, r.out + r.err
        assert r.out == f"leads/{world['lead']}.yaml: unknown key 'contacts' (kept as written)\n"
        assert "(1 note)" in r.err
        assert path.read_text(encoding="utf-8") == hand
    r = run("lead", "show", world["lead"], "--format", "json")
    assert r.json()["contacts"] == ["Alice Wu", {"name": "X"}]
    assert run("lead", "edit", world["lead"], "--add-tag", "vip").code == 0
    after = path.read_text(encoding="utf-8")
    assert "phones: []\ncontacts:\n- Alice Wu\n- name: X\nsource:" in after  # where written
    assert "- vip" in after
    r = run("doctor", "--format", "json")
    assert [p["problem"] for p in r.json()] == ["unknown key 'contacts' (kept as written)"]
    assert r.json()[0]["note"] is True and r.json()[0]["fixable"] is False


def test_a_deal_s_unknown_keys_are_no_fields(crm, world):
    path = crm / "deals" / f"{world['deal']}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "foo: [1, 2]\nemails: [x@deal.example]\ncontacts: 5\n", "utf-8")
    r = run("deal", "show", "x@deal.example")
    assert r.code == 1 and "no deal matches 'x@deal.example'" in r.err  # no e-mail of a deal
    r = run("deal", "list", "--format", "json")
    assert r.code == 0 and r.json()[0]["foo"] == [1, 2]
    r = run("deal", "show", world["deal"], "--format", "json")
    assert r.code == 0 and r.json()["foo"] == [1, 2]
