"""No odd entry in a record folder stops the CRM: a FIFO, a device, a directory, a
symbolic link or a huge file named like a record is skipped with a warning naming
it, with and without the index, and never opened or followed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run, set_settings

from crmcli import models, yamlio

STAMP = "2026-11-01T10:00:00+08:00"


def task_text(rid: str, title: str) -> str:
    rec = models.new_record("task", id=rid, title=title, created=STAMP, updated=STAMP)
    return yamlio.dumps(rec)


@pytest.fixture(params=["index", "no-index"])
def via(request, monkeypatch) -> str:
    if request.param == "no-index":
        monkeypatch.setenv("CRM_NO_INDEX", "1")
    return request.param


def titles_and_warnings() -> tuple[list[str], str]:
    r = run("task", "list", "--format", "json")
    assert r.code == 0, r.err
    return [t["title"] for t in r.json()], r.err


def make_outside_link(crm: Path, tmp_path: Path) -> str:
    secret = tmp_path / "outside.yaml"
    secret.write_text(task_text("abcd0002", "Outside the CRM"), encoding="utf-8")
    (crm / "tasks" / "abcd0002.yaml").symlink_to(secret)
    return "is a symbolic link; crm does not follow links in record folders"


def make_inside_link(crm: Path, tmp_path: Path) -> str:
    (crm / "tasks" / "abcd0002.yaml").symlink_to("abcd0001.yaml")
    return "is a symbolic link; crm does not follow links in record folders"


def make_directory(crm: Path, tmp_path: Path) -> str:
    (crm / "tasks" / "abcd0002.yaml").mkdir()
    return "is a directory, not a record file"


def make_huge_file(crm: Path, tmp_path: Path) -> str:
    text = task_text("abcd0002", "Huge " + "x" * 1_100_000)
    (crm / "tasks" / "abcd0002.yaml").write_text(text, encoding="utf-8")
    return "is over 1,000,000 bytes, too big for a record (settings max_record_bytes)"


@pytest.mark.parametrize(
    "make", [make_outside_link, make_inside_link, make_directory, make_huge_file]
)
def test_odd_entry_is_skipped_by_name(crm, tmp_path, via, make):
    (crm / "tasks" / "abcd0001.yaml").write_text(task_text("abcd0001", "Real task"))
    why = make(crm, tmp_path)
    for _ in range(2):  # the index's first build and its next read say the same
        listed, err = titles_and_warnings()
        assert listed == ["Real task"]
        assert f"Warning: skipping tasks/abcd0002.yaml: {why}" in err
    doctor = run("doctor")
    assert f"tasks/abcd0002.yaml: {why}" in doctor.out


def test_device_is_never_opened(crm, via):
    try:
        os.mknod(crm / "tasks" / "abcd0002.yaml", 0o600 | 0o020000, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("cannot make a device here")
    (crm / "tasks" / "abcd0001.yaml").write_text(task_text("abcd0001", "Real task"))
    listed, err = titles_and_warnings()
    assert listed == ["Real task"]
    assert "Warning: skipping tasks/abcd0002.yaml: is a device, not a record file" in err


@pytest.mark.parametrize("no_index", ["", "1"])
def test_fifo_is_skipped_without_blocking(crm, no_index):
    (crm / "tasks" / "abcd0001.yaml").write_text(task_text("abcd0001", "Real task"))
    os.mkfifo(crm / "tasks" / "abcd0002.yaml")
    env = {k: v for k, v in os.environ.items() if k != "CRM_NO_INDEX"}
    if no_index:
        env["CRM_NO_INDEX"] = "1"
    why = "Warning: skipping tasks/abcd0002.yaml: is a FIFO (named pipe), not a record file"
    for args in (["task", "remind"], ["doctor"]) if not no_index else (["task", "list"],):
        proc = subprocess.run(
            [sys.executable, "-m", "crmcli", *args],
            env=env, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if args[0] == "doctor":
            assert "tasks/abcd0002.yaml: is a FIFO (named pipe)" in proc.stdout
        else:
            assert proc.returncode == 0, proc.stderr
            assert why in proc.stderr
    assert "Real task" in run("task", "list").out


def test_show_of_a_linked_record_is_an_error_naming_it(crm, tmp_path):
    make_outside_link(crm, tmp_path)
    r = run("task", "show", "abcd0002")
    assert r.code == 1
    assert r.err.startswith("Error: tasks/abcd0002.yaml: is a symbolic link")


def test_max_record_bytes_setting(crm, via):
    (crm / "tasks" / "abcd0001.yaml").write_text(task_text("abcd0001", "Real task"))
    make_huge_file(crm, crm)
    assert titles_and_warnings()[0] == ["Real task"]
    set_settings(crm, max_record_bytes=2_000_000)
    assert len(titles_and_warnings()[0]) == 2
    set_settings(crm, max_record_bytes=100)
    listed, err = titles_and_warnings()
    assert listed == []
    assert "tasks/abcd0001.yaml: is over 100 bytes" in err


@pytest.mark.parametrize("value", [0, -5, "1MB", True, 1.5])
def test_max_record_bytes_must_be_a_positive_whole_number(crm, value):
    set_settings(crm, max_record_bytes=value)
    r = run("task", "list")
    assert r.code == 1
    assert "'max_record_bytes' must be a whole number of at least 1" in r.err


def test_show_of_a_huge_field_is_cut_in_the_table_and_whole_in_json(crm):
    cid = run("customer", "add", "Huge Co", "--field", "note=x", "--format", "json").json()["id"]
    path = crm / "customers" / f"{cid}.yaml"
    path.write_text(path.read_text().replace("note: x", "note: " + "y" * 900_000))
    r = run("customer", "show", cid)
    assert r.code == 0, r.err
    assert "…" in r.out and "(899,000 more characters)" in r.out
    assert len(r.out) < 5000  # (drawing the whole value took rich about a second)
    whole = run("customer", "show", cid, "--format", "json").json()
    assert whole["fields"]["note"] == "y" * 900_000
