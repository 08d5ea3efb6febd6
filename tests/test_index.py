"""The derived index never serves stale data, and deleting .crm/ changes no answer."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from conftest import added, run

from crmcli.store import Store


def names(*args: str) -> list[str]:
    r = run("customer", "list", *args, "--format", "json")
    assert r.code == 0, r.err
    return [c["name"] for c in r.json()]


def add(name: str, *args: str) -> str:
    return added("customer", name, *args)["id"]


def age(path, seconds: int = 3600) -> None:
    """Make a file look old, so the index trusts its signature (not racy)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns - seconds * 10**9, st.st_mtime_ns - seconds * 10**9))


def test_hand_edit_same_size_same_mtime_is_seen(crm):
    cid = add("Acme")
    path = crm / "customers" / f"{cid}.yaml"
    age(path)
    assert names() == ["Acme"]  # indexed, trusted
    st = path.stat()
    text = path.read_text(encoding="utf-8").replace("name: Acme", "name: Acmf")
    with open(path, "w", encoding="utf-8") as f:  # in place, as an editor might
        f.write(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    assert path.stat().st_size == st.st_size
    assert names() == ["Acmf"]


def test_edit_within_the_same_second_is_seen(crm):
    cid = add("Acme")
    path = crm / "customers" / f"{cid}.yaml"
    assert names() == ["Acme"]  # indexed while racy (just written)
    path.write_text(
        path.read_text(encoding="utf-8").replace("name: Acme", "name: Acmz"), encoding="utf-8"
    )
    assert names() == ["Acmz"]


def test_added_deleted_and_replaced_files_are_seen(crm):
    a = add("Alpha")
    b = add("Beta")
    for p in (crm / "customers").glob("*.yaml"):
        age(p)
    assert names() == ["Alpha", "Beta"]
    # a file added outside crm (as git pull would)
    shutil.copy(crm / "customers" / f"{a}.yaml", crm / "customers" / "zzzz0001.yaml")
    assert names() == ["Alpha", "Alpha", "Beta"]
    (crm / "customers" / "zzzz0001.yaml").unlink()
    (crm / "customers" / f"{b}.yaml").unlink()
    assert names() == ["Alpha"]
    # replaced by rename (as git checkout does), with the old mtime
    path = crm / "customers" / f"{a}.yaml"
    st = path.stat()
    tmp = crm / "customers" / "new.tmp"
    tmp.write_text(path.read_text(encoding="utf-8").replace("Alpha", "Gamma"), encoding="utf-8")
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, path)
    assert names() == ["Gamma"]


def test_file_broken_after_indexing_is_reported(crm):
    cid = add("Acme")
    add("Other")
    path = crm / "customers" / f"{cid}.yaml"
    age(path)
    assert names() == ["Acme", "Other"]
    path.write_text("name: [broken\n", encoding="utf-8")
    r = run("customer", "list", "--format", "json")
    assert [c["name"] for c in r.json()] == ["Other"]
    assert f"customers/{cid}.yaml: not valid YAML" in r.err
    # and warned again on the next command (not only when first parsed)
    assert f"customers/{cid}.yaml" in run("customer", "list").err


def test_deleting_the_index_changes_no_answer(crm):
    ids = [add(n, "-e", f"{n.lower()}@x.de") for n in ("Alpha", "Beta", "Gamma")]
    run("customer", "note", ids[0], "hello")
    before = [
        run("customer", "list", "-f", "json").out,
        run("customer", "show", ids[0], "-f", "json").out,
    ]
    shutil.rmtree(crm / ".crm")
    after = [
        run("customer", "list", "-f", "json").out,
        run("customer", "show", ids[0], "-f", "json").out,
    ]
    assert before == after


def test_find_agrees_with_filtering_all(crm, monkeypatch):
    store = Store(crm)
    c = store.create("customer", name="Zoë Müller", emails=["zoe@x.de"])
    store.create(
        "customer", name="北京机械", contacts=[{"name": "Li Wei", "emails": [], "phones": []}]
    )
    store.create("task", title="Call", customer=c["id"], due="2026-11-20T09:00:00+08:00")
    store.create("task", title="Later", due="2026-12-20T09:00:00+08:00", status="done")
    store.create("deal", title="Late", customer=c["id"], stage="new", close_date="2026-11-22")
    store.create("deal", title="Today", customer=c["id"], stage="new", close_date="2026-11-23")
    store.create("deal", title="Open-ended", customer=c["id"], stage="new")
    from crmcli.dates import parse_iso

    cutoff = parse_iso("2026-11-23T10:00:00+08:00")
    queries = [
        ("customer", {"text": "ZOE"}),
        ("customer", {"text": "li wei"}),
        ("customer", {"text": "机械"}),
        ("task", {"status": "open", "due_before": cutoff}),
        ("task", {"customer": c["id"]}),
        ("task", {"status": ["open", "done"]}),
        ("deal", {"status": "open", "due_before": parse_iso("2026-11-23T00:00:00+08:00")}),
    ]
    for kind, cond in queries:
        fresh = Store(crm)
        via_index = fresh.query(kind, cond)
        monkeypatch.setenv("CRM_NO_INDEX", "1")
        plain = Store(crm).query(kind, cond)
        monkeypatch.delenv("CRM_NO_INDEX")
        assert [r["id"] for r in via_index] == [r["id"] for r in plain], (kind, cond)
        assert via_index == plain
    assert len(Store(crm).query("customer", {"text": "zoe"})) == 1
    late = Store(crm).query("deal", {"due_before": parse_iso("2026-11-23T00:00:00+08:00")})
    assert [d["title"] for d in late] == ["Late"]  # closing before the day began


def test_unusable_index_falls_back_to_files(crm):
    add("Acme")
    (crm / ".crm").mkdir(exist_ok=True)
    for p in (crm / ".crm").glob("index-*"):
        p.unlink()
    # a directory where the index file should be: SQLite cannot open it
    store = Store(crm)
    store._get_index().path.mkdir(parents=True)
    assert [c["name"] for c in store.query("customer")] == ["Acme"]


@pytest.mark.parametrize("via_index", [True, False])
def test_same_process_sees_its_own_writes(crm, monkeypatch, via_index):
    if not via_index:
        monkeypatch.setenv("CRM_NO_INDEX", "1")
    store = Store(crm)
    c = store.create("customer", name="Acme")
    assert store.query("activity", {"on": c["id"]}) == []
    store.add_activity(c["id"], "note", "hi")
    assert [a["text"] for a in store.timeline(c["id"])] == ["hi"]


def test_light_records_agree_with_whole_ones(crm, monkeypatch):
    from crmcli import models

    store = Store(crm)
    c = store.create("customer", name="Acme", tier="A", cadence="30d")
    store.create("deal", title="Pumps", customer=c["id"], stage="new")
    store.create("task", title="Call", customer=c["id"], due="2026-11-20T09:00:00+08:00")
    store.add_activity(c["id"], "note", "hi")
    store.write_tombstone("customer", "dead0001", c["id"])
    for kind in ("customer", "deal", "task", "activity"):
        light = Store(crm).query(kind, fields=models.LIGHT_FIELDS[kind])
        monkeypatch.setenv("CRM_NO_INDEX", "1")
        plain = Store(crm).query(kind, fields=models.LIGHT_FIELDS[kind])
        monkeypatch.delenv("CRM_NO_INDEX")
        assert light == plain
        assert [set(r) for r in light] == [set(models.LIGHT_FIELDS[kind])] * len(light)
    assert (
        Store(crm).query("customer", fields=models.LIGHT_FIELDS["customer"])[0]["cadence"] == "30d"
    )


def test_folder_digest_is_the_same_in_every_process_and_sees_every_change():
    import subprocess
    import sys

    from crmcli.index import _digest

    current = {"a.yaml": (11, 5), "b.yaml": (-22, 6)}
    code = (
        "from crmcli.index import _digest; print(_digest({'a.yaml': (11, 5), 'b.yaml': (-22, 6)}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert int(other.stdout) == _digest(current)  # str hashes differ per process; this must not
    assert _digest({"a.yaml": (11, 5), "c.yaml": (-22, 6)}) != _digest(current)  # renamed
    assert _digest({"a.yaml": (11, 5), "b.yaml": (-23, 6)}) != _digest(current)  # edited
    assert _digest({"a.yaml": (11, 5)}) != _digest(current)  # deleted


def test_task_list_json_from_the_index_is_what_the_records_print(crm, monkeypatch):
    """`task list` takes the index's JSON lines in SQL order (a table parses only the
    page it shows): the same bytes as sorting the loaded records by urgency."""
    store = Store(crm)
    due = "2026-11-20T09:00:00+08:00"
    store.create(
        "task", title="Ann's", due=due, priority="low", created="2026-01-02T00:00:00+08:00"
    )
    store.create(
        "task", title="Bo", due=due, priority="urgent", created="2026-01-03T00:00:00+08:00"
    )
    store.create(
        "task", title="Cy", due=due, priority="urgent", created="2026-01-01T00:00:00+08:00"
    )
    store.create("task", title="Dee", due="2026-11-19T09:00:00+00:00", priority="high", owner="bob")
    store.create("task", title="Eve", due="2026-11-19T16:00:00+08:00")  # earlier in UTC
    store.create("task", title="Flo")  # no due: last
    acme = store.create("customer", name="Acme 北京")["id"]
    pumps = store.create("deal", title="Pumps", customer=acme, stage="new")["id"]
    store.create("task", title="Ivy", due=due, customer=acme, created="2026-01-04T00:00:00+08:00")
    store.create("task", title="Jo", due=due, deal=pumps, created="2026-01-05T00:00:00+08:00")
    store.create(
        "task", title="Kim", due=due, customer="gone0001", created="2026-01-06T00:00:00+08:00"
    )
    store.create("task", title="Gus", status="done", due=due, done_at=due)
    store.create("task", title="Hal", due="2027-01-01T09:00:00+08:00", owner="bob")
    for args in (
        ["--overdue"],
        ["--status", "all"],
        ["--status", "done"],
        ["--owner", "bob"],
        ["--due-before", "2026-11-20", "--status", "all"],
        ["--overdue", "--status", "all", "--limit", "2"],
        ["--overdue", "--status", "done"],
    ):
        for fmt in ("json", "csv", "table"):
            fast = run("task", "list", *args, "--format", fmt)
            monkeypatch.setenv("CRM_NO_INDEX", "1")
            slow = run("task", "list", *args, "--format", fmt)
            monkeypatch.delenv("CRM_NO_INDEX")
            assert fast.code == slow.code == 0, fast.err
            assert (fast.out, fast.err) == (slow.out, slow.err), (args, fmt)
    titles = [t["title"] for t in run("task", "list", "--status", "all", "-f", "json").json()]
    assert titles == ["Eve", "Dee", "Cy", "Bo", "Ivy", "Jo", "Kim", "Gus", "Ann's", "Hal", "Flo"]
    table = run("task", "list").out
    assert "Acme 北京" in table and "Pumps" in table and "gone0001" in table


def test_query_json_sees_this_process_writes_and_loaded_records(crm):
    store = Store(crm)
    assert store.query("task", json=True) == []
    store.create("task", title="New")
    assert [json.loads(t)["title"] for t in store.query("task", json=True)] == ["New"]
    store._all("task")  # the kind read whole (query's fallback): answered from those
    assert [json.loads(t)["title"] for t in store.query("task", json=True)] == ["New"]
