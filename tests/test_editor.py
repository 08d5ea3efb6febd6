"""Editing a record's YAML in $EDITOR (crmcli.editor, issue 14 item 5): driven by an
editor script that the test writes; no terminal."""

from __future__ import annotations

import json
import shlex
import sys

import pytest
from conftest import added, refused, run, snapshot

from crmcli import editor
from crmcli.errors import CrmError

SCRIPT = """\
import json, pathlib, sys
plan, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
steps = json.loads(plan.read_text())
with open(str(plan) + ".seen", "a", encoding="utf-8") as f:
    f.write(json.dumps(target.read_text(encoding="utf-8")) + "\\n")
step = steps.pop(0)
plan.write_text(json.dumps(steps))
text = target.read_text(encoding="utf-8")
for old, new in step.get("replace", []):
    text = text.replace(old, new)
target.write_text(step.get("text", text), encoding="utf-8")
sys.exit(step.get("exit", 0))
"""


@pytest.fixture
def edits(tmp_path, monkeypatch):
    """edits(step, ...) makes $EDITOR a script that does one step a time it is run
    (replace: [[old, new]], text: the whole file, exit: a code) and returns a function
    giving the texts the editor was shown."""

    def plan(*steps: dict, var: str = "EDITOR"):
        script, path = tmp_path / "fake editor.py", tmp_path / "plan.json"
        script.write_text(SCRIPT, encoding="utf-8")
        path.write_text(json.dumps(list(steps)), encoding="utf-8")
        monkeypatch.delenv("VISUAL", raising=False)
        monkeypatch.setenv(var, shlex.join([sys.executable, str(script), str(path)]))
        seen = tmp_path / "plan.json.seen"
        return lambda: [json.loads(line) for line in seen.read_text("utf-8").splitlines()]

    return plan


@pytest.fixture
def acme(store):
    return store.create("customer", name="Acme GmbH", emails=["info@acme.de"])


def test_a_valid_edit_is_saved_whole(store, acme, edits):
    seen = edits({"replace": [["industry: null", "industry: pumps"]]})
    rec = editor.edit(store, "customer", acme["id"])
    assert rec["industry"] == "pumps"
    assert store.load("customer", acme["id"])["industry"] == "pumps"
    assert seen()[0].startswith(f"id: {acme['id']}\nname: Acme GmbH\n")  # the file as it is
    assert not list((store.root / ".crm").glob("edit-*"))  # the working copy is gone


def test_an_error_reopens_the_file_with_the_message_at_the_top(store, acme, edits):
    seen = edits(
        {"replace": [["emails:\n- info@acme.de", "emails: 5"], ["tier: null", "tier: 7"]]},
        {"replace": [["emails: 5", "emails: [sales@acme.de]"], ["tier: 7", "tier: B"]]},
    )
    rec = editor.edit(store, "customer", acme["id"])
    assert rec["emails"] == ["sales@acme.de"] and rec["tier"] == "B"
    second = seen()[1].splitlines()
    assert second[0].startswith("# crm: not saved: emails")
    assert second[1].startswith("#   tier")  # every problem, one a line
    assert second[2] == "# Fix it and save, or empty the file to change nothing."
    assert "emails: 5" in second  # what was typed is kept below


def test_unchanged_or_empty_changes_nothing(store, crm, acme, edits):
    before = snapshot(crm)
    edits({"replace": [["name:", "# a comment\nname:"]]})
    assert editor.edit(store, "customer", acme["id"]) is None
    edits({"text": "# nothing\n"})
    assert editor.edit(store, "customer", acme["id"]) is None
    assert snapshot(crm) == before


@pytest.mark.parametrize(
    "step, words",
    [
        ({"replace": [["name: Acme GmbH", "name: [unclosed"]]}, ["not valid YAML"]),
        ({"replace": [[": company", ": galaxy"]]}, ["kind"]),
        ({"replace": [["id: ", "id: other-"]]}, ["id", "cannot change"]),
    ],
    ids=["yaml", "value", "id"],
)
def test_a_broken_record_is_never_saved(store, crm, acme, edits, step, words):
    before = snapshot(crm)
    seen = edits(step, {})  # the second time the person saves it as it was shown
    with pytest.raises(CrmError) as e:
        editor.edit(store, "customer", acme["id"])
    assert "nothing changed" in e.value.message and all(w in e.value.message for w in words)
    assert e.value.message.startswith(f"customers/{acme['id']}.yaml: ")
    assert seen()[1].startswith("# crm: not saved: ")
    assert snapshot(crm) == before


def test_a_failing_or_missing_editor_changes_nothing(store, crm, acme, edits, monkeypatch):
    before = snapshot(crm)
    edits({"replace": [["industry: null", "industry: pumps"]], "exit": 3})
    with pytest.raises(CrmError, match="exited with 3; nothing changed"):
        editor.edit(store, "customer", acme["id"])
    monkeypatch.setenv("EDITOR", "no-such-editor-here --wait")
    with pytest.raises(CrmError, match="cannot run the editor 'no-such-editor-here'"):
        editor.edit(store, "customer", acme["id"])
    assert snapshot(crm) == before
    assert not list((crm / ".crm").glob("edit-*"))


def test_visual_wins_over_editor(store, acme, edits, monkeypatch):
    edits({"replace": [["industry: null", "industry: valves"]]}, var="VISUAL")
    monkeypatch.setenv("EDITOR", "no-such-editor-here")
    assert editor.edit(store, "customer", acme["id"])["industry"] == "valves"


def test_a_record_changed_meanwhile_is_not_overwritten(store, crm, acme, edits, monkeypatch):
    path = crm / "customers" / f"{acme['id']}.yaml"
    edits({"replace": [["industry: null", "industry: pumps"]]})
    original = editor.run_editor

    def meanwhile(work):  # another command saves the record while the person types
        original(work)
        path.write_text(path.read_text("utf-8").replace("Acme GmbH", "Acme AG"), "utf-8")

    monkeypatch.setattr(editor, "run_editor", meanwhile)
    with pytest.raises(CrmError, match="changed while you edited it; nothing saved"):
        editor.edit(store, "customer", acme["id"])
    text = path.read_text("utf-8")
    assert "name: Acme AG" in text and "industry: null" in text
    (kept,) = (crm / ".crm").glob("edit-*")  # the text typed is not lost
    assert "industry: pumps" in kept.read_text("utf-8")


@pytest.mark.parametrize(
    "kind, args, old, new",
    [
        ("customer", ["Acme GmbH"], "industry: null", "industry: pumps"),
        ("lead", ["Li Wei"], "company: null", "company: Acme Trading"),
        ("deal", ["Pump order", "--customer", "Acme GmbH"], "amount: null", "amount: 1200.50"),
        ("task", ["Call back"], "priority: normal", "priority: urgent"),
    ],
)
def test_edit_editor_on_every_noun(crm, edits, kind, args, old, new):
    if kind == "deal":
        added("customer", "Acme GmbH")
    rec = added(kind, *args)
    seen = edits({"replace": [[old, new]]}, {})
    r = run(kind, "edit", rec["id"][:6], "--editor")
    assert r.code == 0, r.err
    assert r.out.startswith(f"Updated {kind} {rec['id']}")
    assert new in (crm / f"{kind}s" / f"{rec['id']}.yaml").read_text("utf-8")
    assert old in seen()[0]
    r = run(kind, "edit", rec["id"], "--editor")  # saved as it was: nothing changes
    assert r.code == 0 and r.out.startswith(f"No change to {kind} {rec['id']}")


def test_edit_editor_refuses_other_changes_and_broken_records(crm, edits):
    rec = added("customer", "Acme GmbH")
    before = snapshot(crm)
    r = run("customer", "edit", "Acme GmbH", "--editor", "--website", "acme.de")
    assert r.code == 2 and "--editor edits the whole record" in r.err
    edits({"replace": [["tier: null", "tier: [A]"]]}, {})
    refused(run("customer", "edit", "Acme GmbH", "--editor"), f"customers/{rec['id']}.yaml", "tier")
    assert snapshot(crm) == before
