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


def test_contact_edit_changes_that_contact_only(crm):
    added("customer", "Acme GmbH")
    assert run("customer", "contact", "add", "Acme GmbH", "Li Wei", "--title", "Buyer",
               "--email", "li@acme.cn").code == 0  # fmt: skip
    assert run("customer", "contact", "add", "Acme GmbH", "Zoë Müller").code == 0
    r = run("customer", "contact", "edit", "Acme GmbH", "li wei", "--title", "Head of Purchasing",
            "--email", "LI.WEI@acme.cn", "--remove-email", "li@acme.cn", "--name", "Li Wei (李伟)")  # fmt: skip
    assert r.code == 0, r.err
    assert "Updated contact Li Wei (李伟)" in r.out
    li, zoe = _contacts()
    assert (li["name"], li["title"], li["emails"]) == ("Li Wei (李伟)", "Head of Purchasing",
                                                       ["li.wei@acme.cn"])  # fmt: skip
    assert zoe["name"] == "Zoë Müller" and zoe["title"] is None
    r = run(
        "customer",
        "contact",
        "edit",
        "Acme GmbH",
        "Li Wei (李伟)",
        "--unset",
        "title",
        "-f",
        "json",
    )
    assert r.code == 0 and r.json()["title"] is None and r.json()["id"] == li["id"]


def test_contact_edit_refusals_change_nothing(crm):
    added("customer", "Acme GmbH")
    assert run("customer", "contact", "add", "Acme GmbH", "Li Wei").code == 0
    assert run("customer", "contact", "add", "Acme GmbH", "Zoë Müller").code == 0
    before = snapshot(crm)
    refused(run("customer", "contact", "edit", "Acme GmbH", "Wang", "--title", "X"), "no contact")
    refused(run("customer", "contact", "edit", "Acme GmbH", "Li Wei"), "nothing to change")
    refused(run("customer", "contact", "edit", "Acme GmbH", "Li Wei", "--name", "zoe müller"),
            "already has a contact named")  # fmt: skip
    refused(run("customer", "contact", "edit", "Acme GmbH", "Li Wei", "--remove-email", "x@y.z"),
            "has no e-mail 'x@y.z'")  # fmt: skip
    refused(
        run("customer", "contact", "edit", "Acme GmbH", "Li Wei", "--name", " "), "needs a name"
    )
    r = run("customer", "contact", "edit", "Acme GmbH", "Li Wei", "--unset", "name")
    assert r.code == 1 and "cannot unset 'name'" in r.err
    assert snapshot(crm) == before
