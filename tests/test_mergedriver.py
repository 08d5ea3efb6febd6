"""The three-way field merge: pure function on dicts, and the file wrapper."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import run

from crmcli import models, yamlio
from crmcli.mergedriver import MergeFailed, merge_files, merge_records

T0 = "2026-11-20T09:00:00+08:00"
T1 = "2026-11-21T09:00:00+08:00"
T2 = "2026-11-22T09:00:00+08:00"


def customer(**values):
    rec = models.new_record(
        "customer", id="acme0001", name="Acme", created=T0, updated=T0, emails=["a@acme.de"]
    )
    rec.update(values)
    return rec


def both_ways(base, ours, theirs):
    """The merge, checked to be the same whichever side is 'ours'."""
    one = merge_records(base, ours, theirs)
    two = merge_records(base, theirs, ours)
    assert one == two
    return one


def test_edits_to_different_fields_merge():
    base = customer()
    ours = customer(industry="pumps", updated=T1)
    theirs = customer(website="acme.de", owner="bob", updated=T2)
    out = both_ways(base, ours, theirs)
    assert out["industry"] == "pumps"
    assert out["website"] == "acme.de"
    assert out["owner"] == "bob"
    assert out["updated"] == T2
    assert "conflicts" not in out


def test_one_sided_change_wins_without_conflict():
    base = customer()
    ours = customer(name="Acme GmbH", updated=T1)
    assert merge_records(base, ours, base) == ours
    assert merge_records(base, base, ours) == ours


def test_same_field_both_sides_later_updated_wins_and_loser_is_kept():
    base = customer(industry="pumps")
    ours = customer(industry="valves", updated=T1)
    theirs = customer(industry="motors", updated=T2)
    out = both_ways(base, ours, theirs)
    assert out["industry"] == "motors"  # theirs is later
    assert out["conflicts"] == [{"field": "industry", "value": "valves", "from": T1}]


def test_same_field_tie_is_decided_by_value_the_same_both_ways():
    base = customer(industry="pumps")
    ours = customer(industry="valves", updated=T1)
    theirs = customer(industry="motors", updated=T1)
    out = both_ways(base, ours, theirs)
    assert out["industry"] in ("valves", "motors")
    loser = "motors" if out["industry"] == "valves" else "valves"
    assert out["conflicts"] == [{"field": "industry", "value": loser, "from": T1}]


def test_timestamps_with_different_offsets_compare_as_instants():
    base = customer(industry="pumps")
    ours = customer(industry="valves", updated="2026-11-21T10:00:00+08:00")  # 02:00Z
    theirs = customer(industry="motors", updated="2026-11-21T03:00:00+00:00")  # 03:00Z
    out = merge_records(base, ours, theirs)
    assert out["industry"] == "motors"
    assert out["updated"] == "2026-11-21T03:00:00+00:00"


def test_list_fields_take_both_additions_in_stable_order():
    base = customer(tags=["a", "b"], emails=["x@acme.de"])
    ours = customer(
        tags=["a", "b", "ours1", "ours2"], emails=["x@acme.de", "o@acme.de"], updated=T1
    )
    theirs = customer(tags=["a", "b", "their1"], emails=["x@acme.de", "t@acme.de"], updated=T2)
    out = merge_records(base, ours, theirs)
    assert out["tags"] == ["a", "b", "ours1", "ours2", "their1"]
    assert out["emails"] == ["x@acme.de", "o@acme.de", "t@acme.de"]
    assert "conflicts" not in out


def test_list_item_removed_on_one_side_stays_removed():
    base = customer(tags=["a", "old"])
    ours = customer(tags=["a"], updated=T1)
    theirs = customer(tags=["a", "old", "new"], updated=T2)
    assert both_ways(base, ours, theirs)["tags"] == ["a", "new"]


def test_contacts_added_on_both_sides_and_one_changed_on_both():
    li = {"name": "Li Wei", "title": "Buyer", "emails": [], "phones": []}
    base = customer(contacts=[li])
    ours = customer(contacts=[{**li, "title": "Head of purchasing"},
                              {"name": "Zhang", "title": None, "emails": [], "phones": []}],
                    updated=T1)  # fmt: skip
    theirs = customer(contacts=[{**li, "phones": ["+8613800138000"]},
                                {"name": "Wang", "title": None, "emails": [], "phones": []}],
                      updated=T2)  # fmt: skip
    out = merge_records(base, ours, theirs)
    assert [c["name"] for c in out["contacts"]] == ["Li Wei", "Zhang", "Wang"]  # ours' first
    assert out["contacts"][0] == {**li, "title": "Head of purchasing", "phones": ["+8613800138000"]}
    assert "conflicts" not in out


def test_custom_fields_merge_key_by_key():
    base = customer(fields={"size": "50"})
    ours = customer(fields={"size": "60", "erp": "SAP"}, updated=T1)
    theirs = customer(fields={"size": "70", "region": "north"}, updated=T2)
    out = merge_records(base, ours, theirs)
    assert out["fields"] == {"size": "70", "erp": "SAP", "region": "north"}
    assert out["conflicts"] == [{"field": "fields.size", "value": "60", "from": T1}]


def test_stage_history_is_a_union_sorted_by_at():
    first = {"stage": "new", "at": T0, "by": "alice"}
    late = {"stage": "proposal", "at": "2026-11-22T10:00:00+08:00", "by": "alice"}
    early = {"stage": "qualified", "at": "2026-11-21T10:00:00+08:00", "by": "bob"}
    base = {"id": "d1", "title": "Pump order", "stage": "new", "stage_history": [first],
            "amount": Decimal("1200.00"), "updated": T0}  # fmt: skip
    ours = {**base, "stage": "proposal", "stage_history": [first, late], "updated": T2}
    theirs = {**base, "stage": "qualified", "stage_history": [first, early], "updated": T1}
    out = both_ways(base, ours, theirs)
    assert [h["stage"] for h in out["stage_history"]] == ["new", "qualified", "proposal"]
    assert out["stage"] == "proposal"
    assert out["conflicts"] == [{"field": "stage", "value": "qualified", "from": T1}]
    assert out["amount"] == Decimal("1200.00")


def test_field_removed_on_one_side_changed_on_other_is_a_conflict_kept():
    base = customer(website="old.de")
    ours = {k: v for k, v in customer(updated=T2).items() if k != "website"}
    theirs = customer(website="new.de", updated=T1)
    out = merge_records(base, ours, theirs)
    assert "website" not in out
    assert out["conflicts"] == [{"field": "website", "value": "new.de", "from": T1}]


def test_existing_conflicts_are_kept_and_extended():
    old = {"field": "owner", "value": "carol", "from": T0}
    base = customer(industry="pumps", conflicts=[old])
    ours = customer(industry="valves", updated=T1, conflicts=[old])
    theirs = customer(industry="motors", updated=T2, conflicts=[old])
    out = merge_records(base, ours, theirs)
    assert out["conflicts"] == [old, {"field": "industry", "value": "valves", "from": T1}]


def test_added_on_both_sides_without_base():
    ours = customer(industry="pumps", updated=T1)
    theirs = customer(website="acme.de", updated=T2)
    out = merge_records(None, ours, theirs)
    assert out["industry"] == "pumps" and out["website"] == "acme.de"
    assert out["updated"] == T2


def test_tombstone_wins_and_keeps_the_other_sides_edits():
    base = customer()
    tomb = {"id": "acme0001", "merged_into": "keep0001", "updated": T1}
    edited = customer(industry="pumps", updated=T2)
    out = both_ways(base, tomb, edited)
    assert out["merged_into"] == "keep0001"
    assert out["conflicts"] == [{"field": "industry", "value": "pumps", "from": T2}]


@pytest.mark.parametrize("bad", [["a", "list"], "text", None])
def test_a_version_that_is_not_a_mapping_fails(bad):
    with pytest.raises(MergeFailed):
        merge_records(customer(), bad, customer(industry="x", updated=T1))


# ----- the file wrapper and the command ------------------------------------------------


def write(path, data):
    path.write_text(yamlio.dumps(data), encoding="utf-8")
    return path


def test_merge_files_writes_canonical_record_into_ours(tmp_path):
    base = write(tmp_path / "O", customer())
    ours = write(tmp_path / "A", customer(industry="pumps", updated=T1))
    # their version with keys in a scrambled order: the result is canonical anyway
    theirs_rec = customer(website="acme.de", updated=T2)
    write(tmp_path / "B", dict(reversed(list(theirs_rec.items()))))
    merge_files(base, ours, tmp_path / "B", "customers/acme0001.yaml")
    text = ours.read_text(encoding="utf-8")
    merged = yamlio.loads(text)
    assert list(merged) == [name for name, _ in models.SCHEMAS["customer"]]
    assert merged["industry"] == "pumps" and merged["website"] == "acme.de"
    assert text == yamlio.dumps(models.normalize("customer", merged))


def test_merge_driver_command_exit_codes(tmp_path):
    base = write(tmp_path / "O", customer())
    ours = write(tmp_path / "A", customer(industry="pumps", updated=T1))
    theirs = write(tmp_path / "B", customer(website="acme.de", updated=T2))
    r = run("merge-driver", str(base), str(ours), str(theirs), "customers/acme0001.yaml")
    assert r.code == 0, r.err
    assert yamlio.loads(ours.read_text())["website"] == "acme.de"

    broken = tmp_path / "B2"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    before = ours.read_bytes()
    r = run("merge-driver", str(base), str(ours), str(broken), "customers/acme0001.yaml")
    assert r.code == 1
    assert r.err.startswith("Error: cannot merge customers/acme0001.yaml")
    assert "not valid YAML" in r.err
    assert ours.read_bytes() == before
    assert "<<<<<<<" not in ours.read_text()


def test_kind_is_guessed_from_ours_path_without_a_name(tmp_path):
    folder = tmp_path / "customers"
    folder.mkdir()
    base = write(tmp_path / "O", customer())
    ours = write(folder / "acme0001.yaml", {"zzz": 1, **customer(industry="pumps", updated=T1)})
    theirs = write(tmp_path / "B", customer(website="acme.de", updated=T2))
    merge_files(base, ours, theirs)
    keys = list(yamlio.loads(ours.read_text()))
    assert keys[:2] == ["id", "name"] and keys[-1] == "zzz"


def test_one_event_on_both_sides_is_no_conflict():
    # the same task completed on two clones: one completion, the earlier done_at
    base = models.new_record("task", id="t0000001", title="Weekly call", every="1w",
                             created=T0, updated=T0)  # fmt: skip
    ours = dict(base, status="done", done_at=T1, series="t0000001", updated=T1)
    theirs = dict(base, status="done", done_at=T2, series="t0000001", updated=T2)
    out = both_ways(base, ours, theirs)
    assert out["done_at"] == T1 and out["updated"] == T2 and "conflicts" not in out
    # its next occurrence, made on both: one task, created at the earlier time
    nxt = models.new_record("task", id="t0000001-20261130", title="Weekly call", every="1w")
    out = both_ways(None, dict(nxt, created=T2, updated=T2), dict(nxt, created=T1, updated=T1))
    assert out["created"] == T1 and out["updated"] == T2 and "conflicts" not in out
    # done on one side, cancelled on the other is a real conflict
    gone = dict(base, status="cancelled", updated=T2)
    assert "conflicts" in both_ways(base, ours, gone)


def test_settle_keeps_ours_theirs_or_a_value_and_removes_the_entries():
    from crmcli.mergedriver import settle, value_at

    rec = customer(
        owner="dave", fields={"size": "10"}, contacts=[{"name": "Li Wei", "phones": ["1"]}]
    )
    rec["conflicts"] = [
        {"field": "owner", "value": "carol", "from": T1},
        {"field": "fields.size", "value": "50", "from": T1},
        {"field": "contacts[Li Wei].phones", "value": ["2"], "from": T1},
        {"field": "tier", "value": None, "from": T1},
    ]
    assert value_at(rec, "contacts[Li Wei].phones") == ["1"]
    out, kept = settle(rec, "owner", "ours")
    assert kept == "dave" and out["owner"] == "dave" and len(out["conflicts"]) == 3
    out, kept = settle(out, "contacts[Li Wei].phones", "theirs")
    assert out["contacts"] == [{"name": "Li Wei", "phones": ["2"]}] and kept == ["2"]
    out, kept = settle(out, "fields.size", "75")
    assert out["fields"] == {"size": "75"}
    out, kept = settle(out, "tier", "theirs")
    assert kept is None and "conflicts" not in out
    assert rec["owner"] == "dave" and len(rec["conflicts"]) == 4  # the input is left alone
    with pytest.raises(ValueError, match="no conflict on 'owner' \\(it has none\\)"):
        settle(out, "owner", "ours")
    with pytest.raises(ValueError, match="id is not changed"):
        settle(dict(rec, conflicts=[{"field": "id", "value": "x"}]), "id", "theirs")


def test_a_hand_off_made_on_either_clone_is_kept_at_the_earlier_time():
    """issue 18: `crm order export --new` on one clone or both: the deal stays handed off."""
    base = models.new_record(
        "deal", id="deal0001", title="Pumps", status="won", created=T0, updated=T0
    )
    ours = dict(base, handed_off_at=T1, updated=T1)
    # handed off on one clone only: kept, whichever side it is on
    assert both_ways(base, ours, base)["handed_off_at"] == T1
    # handed off on both: the first hand-off stands, and no conflict is recorded
    out = both_ways(base, ours, dict(base, handed_off_at=T2, updated=T2))
    assert out["handed_off_at"] == T1 and "conflicts" not in out
