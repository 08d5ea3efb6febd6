"""REFs (crmcli/refs.py): exact, id prefix, substring, did-you-mean, merged records,
names already taken; through the domain and the CLI, with and without the index."""

from __future__ import annotations

import pytest
from conftest import added, refused, run, snapshot

from crmcli import refs
from crmcli.errors import AmbiguousError, NotFoundError
from crmcli.store import Store


@pytest.fixture
def crowd(crm, index):
    """Customers, a deal and tasks with names that exercise every level."""
    s = Store(crm)
    s.create("customer", id="abcd1111", name="Acme GmbH", emails=["info@acme.de"],
             contacts=[{"name": "Zhang Wei", "emails": ["zhang@acme.de"]}])  # fmt: skip
    s.create("customer", id="beef0001", name="Bolt AG")
    s.create("customer", id="cafe0001", name="Café Müller")
    s.create("customer", id="d00d0001", name="北京华泰机械有限公司")
    s.create("customer", id="e0000001", name="Beefy Foods")
    s.create("customer", id="f0000001", name="Acme")
    s.create("deal", id="dea10001", title="Pump order for Bolt", customer="beef0001", stage="new")
    s.create("task", id="7a5k0001", title="Call Zhang about pumps")
    return Store(crm)


def found(store: Store, ref: str, kind: str = "customer") -> tuple[str, int]:
    m = refs.match(store, kind, ref)
    return m.record["id"], m.level


# ----- the levels ----------------------------------------------------------------------


def test_exact_id_name_and_email(crowd):
    assert found(crowd, "abcd1111") == ("abcd1111", refs.EXACT)
    assert found(crowd, "ABCD1111") == ("abcd1111", refs.EXACT)
    assert found(crowd, "  acme gmbh ") == ("abcd1111", refs.EXACT)
    assert found(crowd, "INFO@ACME.DE") == ("abcd1111", refs.EXACT)
    assert found(crowd, "zhang@acme.de") == ("abcd1111", refs.EXACT)  # a contact's e-mail
    assert found(crowd, "cafe muller") == ("cafe0001", refs.EXACT)
    assert found(crowd, "acme") == ("f0000001", refs.EXACT)  # not "Acme GmbH" by substring


def test_a_unique_id_prefix_comes_before_a_substring(crowd):
    # "beef" starts an id and is inside "Beefy Foods": the prefix wins
    assert found(crowd, "beef") == ("beef0001", refs.PREFIX)
    assert found(crowd, "beef00") == ("beef0001", refs.PREFIX)
    assert found(crowd, "bee") == ("e0000001", refs.SUBSTRING)  # 3: too short for a prefix


def test_a_unique_substring_of_a_name_or_a_contact_s_name(crowd):
    assert found(crowd, "gmbh") == ("abcd1111", refs.SUBSTRING)
    assert found(crowd, "MÜLLER") == ("cafe0001", refs.SUBSTRING)
    assert found(crowd, "muller") == ("cafe0001", refs.SUBSTRING)  # accents aside
    assert found(crowd, "华泰") == ("d00d0001", refs.SUBSTRING)  # CJK inside a longer name
    assert found(crowd, "机械有限") == ("d00d0001", refs.SUBSTRING)
    assert found(crowd, "zhang w") == ("abcd1111", refs.SUBSTRING)  # the contact Zhang Wei
    assert found(crowd, "foods") == ("e0000001", refs.SUBSTRING)
    assert found(crowd, "pump ord", "deal") == ("dea10001", refs.SUBSTRING)
    assert found(crowd, "zhang about", "task") == ("7a5k0001", refs.SUBSTRING)


def test_a_substring_needs_three_characters_or_two_chinese(crowd):
    with pytest.raises(NotFoundError):
        refs.resolve(crowd, "customer", "fo")  # in "Beefy Foods" only, but too short
    with pytest.raises(NotFoundError):
        refs.resolve(crowd, "customer", "华")
    with pytest.raises(NotFoundError):
        refs.resolve(crowd, "customer", "info@acme")  # e-mails: exact only


def test_an_e_mail_or_phone_inside_the_index_text_is_no_substring_match(crowd):
    crowd.create("customer", id="a0000009", name="Phone Co", phones=["+49301234567"])
    with pytest.raises(NotFoundError):
        refs.resolve(Store(crowd.root), "customer", "1234567")


def test_several_substring_matches_list_the_candidates(crowd):
    with pytest.raises(AmbiguousError) as e:
        refs.resolve(crowd, "customer", "acm")
    assert e.value.message == "'acm' matches 2 customers; use an id"
    assert e.value.details == ["  abcd1111  Acme GmbH", "  f0000001  Acme"]
    assert e.value.level == refs.SUBSTRING
    r = run("customer", "show", "acm")
    refused(r, "'acm' matches 2 customers")
    assert r.err.splitlines()[1:] == ["  abcd1111  Acme GmbH", "  f0000001  Acme"]


def test_a_long_list_of_candidates_is_cut(crm):
    s = Store(crm)
    for i in range(refs.LISTED + 3):
        s.create("customer", name=f"Pumpwerk {i}")
    with pytest.raises(AmbiguousError) as e:
        refs.resolve(Store(crm), "customer", "pumpwerk")
    assert len(e.value.details) == refs.LISTED + 1
    assert e.value.details[-1] == "  ... and 3 more"
    assert len(e.value.candidates) == refs.LISTED + 3


def test_show_by_substring_through_the_cli(crowd):
    r = run("customer", "show", "华泰", "-f", "json")
    assert r.code == 0, r.err
    assert r.json()["id"] == "d00d0001" and r.err == ""
    r = run("deal", "show", "pump order", "-f", "json")
    assert r.json()["id"] == "dea10001"
    assert run("task", "done", "call zhang").code == 0
    assert Store(crowd.root).load("task", "7a5k0001")["status"] == "done"
    r = run("task", "add", "Follow up", "--customer", "müller", "-f", "json")
    assert r.json()["customer"] == "cafe0001"


def test_empty_and_odd_refs_match_nothing(crowd):
    for ref in ("", "   ", "..", "../customers", "*", "%"):
        with pytest.raises(NotFoundError, match="no customer matches"):
            refs.resolve(crowd, "customer", ref)


# ----- did you mean --------------------------------------------------------------------


def test_no_match_offers_near_names_with_ids(crowd):
    r = run("customer", "show", "acme gmhb")
    refused(r, "no customer matches 'acme gmhb'")
    lines = r.err.splitlines()
    assert lines[0] == "Error: no customer matches 'acme gmhb'"
    assert lines[1] == "Did you mean:"
    assert lines[2] == "  abcd1111  Acme GmbH"  # the nearest first
    r = run("customer", "show", "cafe mueller")
    assert r.err.splitlines()[1:3] == ["Did you mean:", "  cafe0001  Café Müller"]
    r = run("customer", "show", "bolt")  # a word of a name: "Bolt AG"
    assert r.code == 0  # (a substring: found)
    r = run("customer", "show", "blot")
    assert "  beef0001  Bolt AG" in r.err.splitlines()


def test_did_you_mean_offers_at_most_five_and_nothing_when_nothing_is_near(crm, index):
    s = Store(crm)
    for i in range(8):
        s.create("customer", name=f"Nordwind {i}")
    r = run("customer", "show", "nordwnd 3")
    lines = r.err.splitlines()
    assert lines[:2] == ["Error: no customer matches 'nordwnd 3'", "Did you mean:"]
    assert len(lines) == 2 + refs.NEAR
    assert lines[2].endswith("  Nordwind 3")
    r = run("customer", "show", "xyzzy")
    assert r.err == "Error: no customer matches 'xyzzy'\n"


# ----- merged customers ----------------------------------------------------------------


def test_a_merged_customer_s_old_name_email_and_id_lead_to_the_one_kept(crm, index):
    keep = added("customer", "Acme GmbH", "-e", "info@acme.de")["id"]
    old = added("customer", "ACME Deutschland", "-e", "kontakt@acme-de.de")["id"]
    assert run("customer", "merge", keep, old).code == 0
    tomb = (crm / "customers" / f"{old}.yaml").read_text(encoding="utf-8")
    assert tomb.startswith(f"id: {old}\nmerged_into: {keep}\nname: ACME Deutschland\n")
    assert "- kontakt@acme-de.de" in tomb
    note = f"Note: '%s' was merged into customer {keep} (Acme GmbH)\n"
    for ref in ("acme deutschland", old, old[:5]):
        r = run("customer", "show", ref, "-f", "json")
        assert r.code == 0, r.err
        assert r.json()["id"] == keep
        assert r.err == note % ref, ref
    # the merged e-mail is on the one kept now: found there, no note
    r = run("customer", "show", "kontakt@acme-de.de", "-f", "json")
    assert r.json()["id"] == keep and r.err == ""
    # dropped from it later, the tombstone still leads there
    run("customer", "edit", keep, "--remove-email", "kontakt@acme-de.de")
    r = run("customer", "show", "KONTAKT@acme-de.de", "-f", "json")
    assert r.json()["id"] == keep and r.err == note % "KONTAKT@acme-de.de"
    # a tombstone's old name is no substring match, and is listed nowhere
    assert run("customer", "show", "deutschl").code == 1
    assert [c["id"] for c in run("customer", "list", "-f", "json").json()] == [keep]
    assert run("doctor").code == 0


def test_a_live_name_wins_over_a_merged_one(crm, index):
    keep = added("customer", "Acme Holding")["id"]
    old = added("customer", "Acme")["id"]
    run("customer", "merge", keep, old)
    new = added("customer", "Acme")["id"]
    r = run("customer", "show", "acme", "-f", "json")
    assert r.json()["id"] == new and r.err == ""


def test_old_tombstones_without_a_name_keep_working(crm, index):
    s = Store(crm)
    s.create("customer", id="keep0001", name="Acme")
    (crm / "customers" / "old00001.yaml").write_text(
        "id: old00001\nmerged_into: keep0001\nupdated: '2026-01-01T00:00:00+08:00'\n"
    )
    assert refs.resolve(Store(crm), "customer", "old00001")["id"] == "keep0001"
    assert refs.resolve(Store(crm), "customer", "old0")["id"] == "keep0001"
    assert refs.resolve(Store(crm), "customer", "acme")["id"] == "keep0001"
    s = Store(crm)
    with pytest.raises(NotFoundError):
        refs.resolve(s, "customer", "old name")
    r = run("customer", "show", "old00001", "-f", "json")
    assert r.json()["id"] == "keep0001"
    assert r.err == "Note: 'old00001' was merged into customer keep0001 (Acme)\n"


def test_an_old_name_two_merges_share_leading_apart_is_ambiguous(crm):
    s = Store(crm)
    s.create("customer", id="keep0001", name="One")
    s.create("customer", id="keep0002", name="Two")
    s.write_tombstone("customer", "old00001", "keep0001", {"name": "Acme"})
    s.write_tombstone("customer", "old00002", "keep0002", {"name": "acme"})
    with pytest.raises(AmbiguousError) as e:
        refs.resolve(Store(crm), "customer", "Acme")
    assert e.value.details == ["  keep0001  One", "  keep0002  Two"]
    s.write_tombstone("customer", "old00002", "keep0001", {"name": "acme"})
    s = Store(crm)
    assert refs.resolve(s, "customer", "Acme")["id"] == "keep0001"
    assert s.notices == ["'Acme' was merged into customer keep0001 (One)"]


# ----- names already taken -------------------------------------------------------------


def test_add_warns_when_the_name_is_taken(crm, index):
    first = added("customer", "Acme GmbH")["id"]
    r = run("customer", "add", "ACME GmbH")
    assert r.code == 0
    warning = (
        f"customer {first} already has the name 'ACME GmbH': "
        "the name alone no longer finds one; use an id"
    )
    assert r.err == f"Warning: {warning}\n"
    rec = added("customer", "acme gmbh")
    (warning,) = rec["warnings"]  # both others, in id order
    assert warning.startswith("customer ") and f"{first}" in warning
    assert " already have the name 'acme gmbh'" in warning
    assert added("customer", "Acme")["warnings"] == []  # a substring is no clash


def test_edit_warns_when_the_new_name_is_taken(crm, index):
    a = added("customer", "Acme")["id"]
    b = added("customer", "Bolt")["id"]
    r = run("customer", "edit", b, "--name", "acme", "-f", "json")
    assert r.code == 0
    assert r.json()["warnings"] == [
        f"customer {a} already has the name 'acme': the name alone no longer finds one; use an id"
    ]
    assert r.err.startswith("Warning: customer ")
    r = run("customer", "edit", b, "--website", "bolt.de", "-f", "json")  # name unchanged
    assert r.json()["warnings"] == [] and r.err == ""
    r = run("customer", "edit", b, "--name", "Bolt")
    assert r.code == 0 and r.err == ""


def test_every_noun_warns_about_a_taken_name_or_title(crm, index):
    cid = added("customer", "Acme")["id"]
    lead = added("lead", "Li Wei")["id"]
    assert added("lead", "li wei")["warnings"] == [
        f"lead {lead} already has the name 'li wei': the name alone no longer finds one; use an id"
    ]
    deal = added("deal", "Pump order", "--customer", cid)["id"]
    rec = added("deal", "Pump Order", "--customer", cid)
    assert rec["warnings"] == [
        f"deal {deal} already has the title 'Pump Order': "
        "the title alone no longer finds one; use an id"
    ]
    r = run("deal", "edit", rec["id"], "--title", "Valve order", "-f", "json")
    assert r.json()["warnings"] == []
    task = added("task", "Call Zhang")["id"]
    assert added("task", "call zhang")["warnings"][0].startswith(f"task {task} already has")
    run("task", "done", task)
    # only open tasks count: a done one's title leaves a REF to the open one working
    assert len(added("task", "Call Zhang")["warnings"]) == 1  # the other open one
    r = run("task", "add", "Email Zhang")
    assert r.err == ""


def test_a_recurring_series_resolves_to_its_open_task_by_a_substring(crm):
    from crmcli import tasks

    s = Store(crm)
    for rid, status in (("wk000001", "done"), ("wk000002", "done"), ("wk000003", "open")):
        s.create("task", id=rid, title="Weekly report", status=status, series="wk000001")
    s.create("task", id="ot000001", title="Other", status="open")
    s = Store(crm)
    assert tasks.resolve(s, "weekly")["id"] == "wk000003"
    with pytest.raises(AmbiguousError):  # two done: no single one preferred
        tasks.resolve(s, "weekly", prefer="done")


def test_history_takes_the_best_level_across_kinds(crm):
    from crmcli.commands.history import find_record

    s = Store(crm)
    s.create("customer", id="c0000001", name="Pumps")
    s.create("deal", id="d0000001", title="Pumps for Acme", customer="c0000001", stage="new")
    s = Store(crm)
    assert find_record(s, "pumps", None, live=True)[:2] == ("customer", "c0000001")
    assert find_record(s, "for acme", None, live=True)[:2] == ("deal", "d0000001")


# ----- speed: what resolution reads ---------------------------------------------------


def test_resolution_never_reads_a_kind_whole(crowd, index, monkeypatch):
    """Through the index every level asks query for a few fields (never the
    whole-kind read of the fallback); a full id reads no list at all."""
    s = Store(crowd.root)
    if index:
        monkeypatch.setattr(s, "_all", lambda *a, **k: pytest.fail("a kind was read whole"))
    for ref in ("acme gmbh", "info@acme.de", "beef", "华泰", "zhang w"):
        refs.resolve(s, "customer", ref)
    with pytest.raises(NotFoundError):
        refs.resolve(s, "customer", "nordwind")
    monkeypatch.setattr(s, "query", lambda *a, **k: pytest.fail("query was asked"))
    assert refs.resolve(s, "customer", "abcd1111")["name"] == "Acme GmbH"


def test_query_by_id_prefix(crowd):
    s = Store(crowd.root)
    s.write_tombstone("customer", "beef0002", "beef0001", {"name": "Old Bolt"})
    s = Store(crowd.root)
    assert s.query("customer", {"id_prefix": "beef"}, fields=("id",)) == [{"id": "beef0001"}]
    assert s.query("customer", {"id_prefix": "beef", "merged": True}, fields=("id", "name")) == [
        {"id": "beef0002", "name": "Old Bolt"}
    ]
    assert s.query("customer", {"id_prefix": "zzzz"}) == []
    with pytest.raises(ValueError, match="not the start of an id"):
        s.query("customer", {"id_prefix": "BE*"})


def test_a_failed_resolution_changes_nothing(crowd):
    before = snapshot(crowd.root)
    refused(run("customer", "rm", "acm"), "matches 2 customers")
    refused(run("customer", "edit", "nobody", "--name", "X"), "no customer matches")
    assert snapshot(crowd.root) == before


def test_a_title_taken_is_seen_right_after_the_add_that_took_it(crm, index):
    """The warning reads the index as the last command left it (add must not stat
    every task file for advice): each write puts its own row there, so a second add
    of the same title warns at once."""
    first = run("task", "add", "Call Li Wei back")
    assert first.code == 0 and "already has the title" not in first.err
    second = run("task", "add", "Call Li Wei back")
    assert second.code == 0
    assert "already has the title 'Call Li Wei back'" in second.err


def test_a_title_whose_file_is_gone_is_not_taken(crm, index):
    """A task removed by hand (rm, git checkout) since the index last saw it takes no
    title: the warning checks the files it names are there."""
    first = added("task", "Call Li Wei back")
    (crm / "tasks" / f"{first['id']}.yaml").unlink()
    again = run("task", "add", "Call Li Wei back")
    assert again.code == 0 and "already has the title" not in again.err
