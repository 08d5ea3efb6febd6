"""Read commands check the index in forked processes while they work (crmcli.fresh):
an answer from rows that turn out stale is never printed, and whatever the checks
find, the output is what the usual way (sync first) prints, once."""

from __future__ import annotations

import io
import os

import pytest
from conftest import added, run

from crmcli import fresh, index
from crmcli.render import SafeStream
from crmcli.store import Store, atomic_write


@pytest.fixture
def checks(crm, monkeypatch) -> list[str]:
    """Files count as settled at once (no 3 s racy window); the kinds whose checks a
    command forked, in order."""
    monkeypatch.setattr(index, "RACY_NS", 0)
    forked: list[str] = []
    real = index.Index._check_later

    def spy(self, kind, folder, last):
        started = real(self, kind, folder, last)
        if started:
            forked.append(kind)
        return started

    monkeypatch.setattr(index.Index, "_check_later", spy)
    return forked


def edit_in_place(path, old: str, new: str) -> None:
    """Rewrite a file in place, as nano or VS Code do (its folder's mtime stays)."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    with open(path, "r+", encoding="utf-8") as f:
        f.write(text.replace(old, new))
        f.truncate()


def usual(*args: str):
    """The command run the usual way (sync first, nothing held)."""
    os.environ["CRM_NO_BACKGROUND"] = "1"
    try:
        return run(*args)
    finally:
        del os.environ["CRM_NO_BACKGROUND"]


def test_unchanged_files_are_checked_in_the_background(crm, checks):
    added("customer", "Acme GmbH")
    added("deal", "Pump order", "--customer", "Acme GmbH", "--amount", "5000")
    assert run("deal", "list").code == 0  # synced: the digests are stored
    checks.clear()
    r = run("deal", "list", "--format", "json")
    assert r.code == 0, r.err
    assert "deal" in checks  # read from the index as it was, checked by a child
    assert r.out == usual("deal", "list", "--format", "json").out


def test_an_edit_in_place_is_seen_and_only_the_fresh_answer_printed(crm, checks):
    cid = added("customer", "Acme GmbH")["id"]
    assert run("customer", "list").code == 0
    edit_in_place(crm / "customers" / f"{cid}.yaml", "Acme GmbH", "Acme AG")
    checks.clear()
    r = run("customer", "list", "--format", "json")
    assert "customer" in checks  # the stale rows were read first ...
    assert r.code == 0, r.err
    assert [c["name"] for c in r.json()] == ["Acme AG"]  # ... and never printed
    assert r.err == ""


def test_a_check_that_fails_counts_as_stale(crm, checks, monkeypatch):
    added("customer", "Acme GmbH")
    assert run("customer", "list").code == 0
    parent, real = os.getpid(), index.scan

    def broken_in_child(folder):
        if os.getpid() != parent:
            raise OSError("no stat")
        return real(folder)

    monkeypatch.setattr(index, "scan", broken_in_child)
    seen: list[list[str]] = []
    real_stale = index.Index.stale
    monkeypatch.setattr(
        index.Index, "stale", lambda self: seen.append(real_stale(self)) or seen[-1]
    )
    r = run("customer", "list", "--format", "json")
    assert r.code == 0, r.err
    assert seen and "customer" in seen[0]  # the failed check: stale, so run again
    assert [c["name"] for c in r.json()] == ["Acme GmbH"]


@pytest.mark.parametrize("change", ["lock", "file"])
def test_a_change_after_a_stale_read_is_never_made(crm, checks, change, tmp_path):
    cid = added("customer", "Acme GmbH")["id"]
    assert run("customer", "list").code == 0
    edit_in_place(crm / "customers" / f"{cid}.yaml", "Acme GmbH", "Acme AG")
    made: list[list[str]] = []

    def command() -> None:  # reads, then changes something from what it read
        store = Store(crm)
        names = [c["name"] for c in store.query("customer")]
        if change == "lock":
            with store.lock():
                made.append(names)
        else:
            atomic_write(tmp_path / "out.txt", "\n".join(names).encode())
            made.append(names)

    streams = [SafeStream(io.StringIO()), SafeStream(io.StringIO())]
    fresh.run(command, streams, again=lambda: None)
    assert checks == ["customer"]  # the first run read the stale row ...
    assert made == [["Acme AG"]]  # ... and stopped before its change; the second made it
    if change == "file":
        assert (tmp_path / "out.txt").read_text() == "Acme AG"


def test_long_output_is_let_through_once_checked(crm, checks, monkeypatch):
    cids = [added("customer", f"Customer {i:02}")["id"] for i in range(30)]
    assert run("customer", "list").code == 0
    monkeypatch.setattr(fresh, "HOLD_LIMIT", 100)  # settles at the first rows
    last = crm / "customers" / f"{cids[-1]}.yaml"
    edit_in_place(last, "Customer 29", "Customer 999")  # (a new size, whatever the clock)
    r = run("customer", "list", "--format", "json")
    assert r.code == 0, r.err
    names = [c["name"] for c in r.json()]  # one whole JSON array: nothing twice
    assert len(names) == 30 and "Customer 999" in names and "Customer 29" not in names
    assert r.out == usual("customer", "list", "--format", "json").out


def test_an_error_is_printed_once_with_its_exit_code(crm, checks):
    added("customer", "Acme GmbH")
    assert run("customer", "list").code == 0
    r = run("customer", "show", "nobody-here")
    assert r.code == 1
    assert r.err.count("Error:") == 1, r.err


def test_writing_commands_never_read_in_the_background(crm, checks):
    added("customer", "Acme GmbH")
    assert run("customer", "list").code == 0
    checks.clear()
    assert run("customer", "edit", "Acme GmbH", "--tag", "vip").code == 0
    assert checks == []


def test_ctrl_c_stops_the_read_and_never_runs_it_again(crm, checks):
    cid = added("customer", "Acme GmbH")["id"]
    assert run("customer", "list").code == 0
    edit_in_place(crm / "customers" / f"{cid}.yaml", "Acme GmbH", "Acme AG")  # stale
    calls: list[int] = []

    def command() -> None:
        calls.append(len(Store(crm).query("customer")))
        raise KeyboardInterrupt

    out = io.StringIO()
    streams = [SafeStream(out), SafeStream(io.StringIO())]
    with pytest.raises(KeyboardInterrupt):
        fresh.run(command, streams, again=lambda: None)
    assert calls == [1]  # once: a Ctrl-C is never taken for a stale read
    assert streams[0].inner is out  # the streams are the caller's again
    assert not fresh.background()
