"""Contacts of a company customer: add, edit and rm by name (issue 14 item 5)."""

from __future__ import annotations

from conftest import added, refused, run, snapshot


def _contacts(name: str = "Acme GmbH") -> list[dict]:
    return run("customer", "show", name, "-f", "json").json()["contacts"]


def test_contact_rm_removes_only_that_person(crm):
    added("customer", "Acme GmbH")
    assert run("customer", "contact", "add", "Acme GmbH", "Li Wei", "--title", "Buyer").code == 0
    assert run("customer", "contact", "add", "Acme GmbH", "Zoë Müller").code == 0
    r = run("customer", "contact", "rm", "Acme GmbH", "zoe muller")  # case and accents aside
    assert r.code == 0, r.err
    assert "Removed contact Zoë Müller" in r.out
    assert [c["name"] for c in _contacts()] == ["Li Wei"]


def test_contact_rm_of_no_such_contact_names_those_there_are(crm):
    added("customer", "Acme GmbH")
    assert run("customer", "contact", "add", "Acme GmbH", "Li Wei").code == 0
    before = snapshot(crm)
    refused(run("customer", "contact", "rm", "Acme GmbH", "Wang"), "no contact 'Wang'", "'Li Wei'")
    refused(run("customer", "contact", "rm", "Nobody", "Li Wei"), "no customer matches")
    assert snapshot(crm) == before
