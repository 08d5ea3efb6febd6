"""One way to change a record (issue 12): the change set and its one apply function,
`edit` with nothing to change or a contradiction, and note/assign/rm alike on every noun."""

import pytest
from conftest import added, refused, run, snapshot

from crmcli import customers, models
from crmcli.changes import ChangeSet, ConflictError, apply
from crmcli.commands.common import state
from crmcli.errors import CrmError


def customer(**values):
    return models.new_record("customer", id="c1", name="Acme", **values)


# ----- the change set without the CLI ---------------------------------------------------


def test_apply_sets_unsets_adds_removes_and_custom_fields():
    rec = customer(website="x.de", tags=["old", "keep"], fields={"size": "9", "gone": "1"})
    changes = ChangeSet(
        set={"industry": "pumps", "fields.size": "10"},
        unset=["website", "fields.gone"],
        add={"tags": ["new"], "emails": ["a@acme.de"]},
        remove={"tags": ["old"]},
    )
    out = apply("customer", rec, changes)
    assert out["industry"] == "pumps" and out["website"] is None
    assert out["tags"] == ["keep", "new"] and out["emails"] == ["a@acme.de"]
    assert out["fields"] == {"size": "10"}
    assert rec["tags"] == ["keep", "old"] and rec["fields"]["gone"] == "1"  # a copy changed


def test_apply_clears_a_field_to_the_empty_value_of_its_type():
    rec = customer(tags=["a"], tier="A", fields={"k": "v"})
    out = apply("customer", rec, ChangeSet(unset=["tags", "tier", "fields"]))
    assert (out["tags"], out["tier"], out["fields"]) == ([], None, {})


@pytest.mark.parametrize(
    "changes, message",
    [
        (ChangeSet(remove={"tags": ["nope"]}), "customer c1 has no tag 'nope'"),
        (ChangeSet(remove={"emails": ["x@y.de"]}), "customer c1 has no e-mail 'x@y.de'"),
        (ChangeSet(unset=["name"]), "cannot unset 'name' on customer c1"),
        (ChangeSet(unset=["fields.none"]), "cannot unset 'fields.none'"),
        (ChangeSet(set={"colour": "red"}), "a customer has no field 'colour'"),
    ],
)
def test_apply_refuses_what_the_record_does_not_have(changes, message):
    with pytest.raises(CrmError, match=message):
        apply("customer", customer(), changes)


def test_apply_matches_items_to_remove_by_the_rule_given():
    rec = customer(emails=["a@acme.de"])
    same = {"emails": lambda item, value: item.lower() == value}
    assert apply("customer", rec, ChangeSet(remove={"emails": ["A@ACME.DE"]}), same)["emails"] == []


@pytest.mark.parametrize(
    "values, message",
    [
        ({"set": {"website": "x"}, "unset": ["website"]}, "--website and --unset website"),
        ({"add": {"tags": ["a"]}, "remove": {"tags": ["a"]}}, "--tags a and --remove-tags a"),
        ({"set": {"fields.k": "v"}, "unset": ["fields.k"]}, "--k and --unset fields.k"),
        ({"set": {"fields.k": "v"}, "unset": ["fields"]}, "--k and --unset fields"),
        ({"add": {"tags": ["a"]}, "unset": ["tags"]}, "--tags and --unset tags"),
    ],
)
def test_a_contradiction_is_refused_naming_both_changes(values, message):
    with pytest.raises(ConflictError, match=message):
        ChangeSet(**values)


def test_options_name_the_changes_in_messages():
    with pytest.raises(ConflictError, match="^--tag vip and --remove-tag vip contradict"):
        ChangeSet(
            add={"tags": ["vip"]},
            remove={"tags": ["vip"]},
            options={"add:tags": "--tag", "remove:tags": "--remove-tag"},
        )


def test_empty_and_of():
    assert ChangeSet().empty
    assert apply("customer", customer(), ChangeSet()) == customer()
    cs = ChangeSet.of(name="Acme", owner=None, tags=["a"], emails=[], fields={"k": "v"})
    assert not cs.empty
    assert (cs.set, cs.add, cs.unset) == ({"name": "Acme", "fields.k": "v"}, {"tags": ["a"]}, [])


def test_the_domain_records_its_commit_message(store):
    rec, _ = customers.add(store, ChangeSet.of(name="Acme"))
    rec, _ = customers.edit(store, rec, ChangeSet.of(website="acme.de"))
    assert rec["website"] == "acme.de"
    assert store.messages == ['customer: add "Acme"', 'customer: edit "Acme"']


# ----- edit on every noun ---------------------------------------------------------------


@pytest.fixture
def records(crm):
    """One record of each noun, by noun."""
    cust = added("customer", "Acme")
    return {
        "customer": cust,
        "lead": added("lead", "Li Wei"),
        "deal": added("deal", "Pumps", "--customer", cust["id"]),
        "task": added("task", "Call"),
    }


NOUNS = ["customer", "lead", "deal", "task"]


@pytest.mark.parametrize("noun", NOUNS)
def test_edit_with_nothing_to_change_says_so(crm, records, noun):
    before = snapshot(crm)
    r = run(noun, "edit", records[noun]["id"])
    refused(r, "nothing to change", f"crm {noun} edit --help")
    assert snapshot(crm) == before


CONTRADICTIONS = {
    "customer": (["--website", "x.de", "--unset", "website"], "--website", "--unset website"),
    "lead": (["--company", "Acme", "--unset", "company"], "--company", "--unset company"),
    "deal": (["--close", "+2w", "--unset", "close"], "--close", "--unset close"),
    "task": (["--due", "tomorrow", "--unset", "due"], "--due", "--unset due"),
}


@pytest.mark.parametrize("noun", NOUNS)
def test_a_contradictory_edit_is_a_usage_error(crm, records, noun):
    args, first, second = CONTRADICTIONS[noun]
    before = snapshot(crm)
    r = run(noun, "edit", records[noun]["id"], *args)
    assert r.code == 2, (r.out, r.err)
    errors = [line for line in r.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and first in errors[0] and second in errors[0], r.err
    assert "Traceback" not in r.err
    assert snapshot(crm) == before


@pytest.mark.parametrize("noun", ["customer", "lead", "deal"])
def test_adding_and_removing_one_tag_is_a_usage_error(crm, records, noun):
    r = run(noun, "edit", records[noun]["id"], "--tag", "vip", "--remove-tag", "vip")
    assert r.code == 2
    assert "Error: --tag vip and --remove-tag vip contradict each other" in r.err


@pytest.mark.parametrize("noun", ["customer", "lead", "deal"])
def test_setting_and_unsetting_a_custom_field_is_a_usage_error(crm, records, noun):
    r = run(noun, "edit", records[noun]["id"], "--field", "k=v", "--unset", "fields.k")
    assert r.code == 2
    assert "Error: --field k=v and --unset fields.k contradict each other" in r.err


@pytest.mark.parametrize("noun", NOUNS)
def test_edit_says_what_it_did_alike_on_every_noun(crm, records, noun):
    rec = records[noun]
    name = models.display_name(noun, rec)
    r = run(noun, "edit", rec["id"], "--owner", "bob")
    assert r.code == 0, r.err
    assert r.out == f"Updated {noun} {rec['id']} ({name})\n"
    assert state.store.messages[-1].startswith(f'{noun}: edit "{name}"')


# ----- note, assign, rm: one command on every noun ---------------------------------------


@pytest.mark.parametrize("noun", ["customer", "lead", "deal"])
def test_note_and_assign_alike(crm, records, noun):
    rec = records[noun]
    name = models.display_name(noun, rec)
    r = run(noun, "note", rec["id"], "-", input="Called\n")
    assert r.code == 0 and r.out.startswith(f"Noted on {noun} {rec['id']} ({name}) as ")
    assert state.store.messages == [f'{noun}: note on "{name}"']
    assert run(noun, "show", rec["id"], "-f", "json").json()["timeline"][0]["text"] == "Called"
    r = run(noun, "assign", rec["id"], "bob")
    assert r.code == 0 and r.out == f"Assigned {noun} {rec['id']} ({name}) to bob\n"
    assert state.store.messages == [f'{noun}: assign "{name}" to bob']
    refused(run(noun, "note", rec["id"], " "), "the text is empty")
    refused(run(noun, "assign", "nothing-like-it", "bob"), f"no {noun} matches")


@pytest.mark.parametrize("noun", NOUNS)
def test_rm_alike(crm, records, noun):
    rec = records[noun]
    name = models.display_name(noun, rec)
    r = run(noun, "rm", rec["id"], *([] if noun == "task" else ["--force"]))
    assert r.code == 0, r.err
    assert r.out.startswith(f"Removed {noun} {rec['id']} ({name})")
    assert state.store.messages == [f'{noun}: remove "{name}"']
    refused(run(noun, "rm", rec["id"]), f"no {noun} matches")


@pytest.mark.parametrize("noun", ["customer", "lead", "deal"])
def test_rm_refuses_while_linked_unless_force(crm, records, noun):
    rec = records[noun]
    task = added("task", "Follow up", f"--{noun}", rec["id"])
    before = snapshot(crm)
    refused(run(noun, "rm", rec["id"]), f"{noun} {rec['id']} is linked from", "--force")
    assert snapshot(crm) == before
    r = run(noun, "rm", rec["id"], "--force")
    assert r.code == 0 and "unlinked" in r.out
    assert run("task", "show", task["id"], "-f", "json").json()[noun] is None


@pytest.mark.parametrize("noun", NOUNS)
def test_an_edit_that_changes_nothing_says_so_and_writes_nothing(crm, records, noun):
    rec = records[noun]
    before = snapshot(crm)
    r = run(noun, "edit", rec["id"], "--owner", rec["owner"])
    assert r.code == 0, r.err
    assert r.out == f"No change to {noun} {rec['id']} ({models.display_name(noun, rec)})\n"
    assert state.store.messages == []
    assert snapshot(crm) == before
