"""The index holds plain data and is used only when this user's crm made it here:
a crafted, copied, foreign or broken index file is discarded and built again."""

from __future__ import annotations

import gc
import json
import os
import pickle
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import run

from crmcli import index, models, yamlio


def write_task(root: Path, rid: str, title: str) -> None:
    """A task file written outside crm (as git or an editor would)."""
    stamp = "2026-11-01T10:00:00+08:00"
    rec = models.new_record("task", id=rid, title=title, created=stamp, updated=stamp)
    (root / "tasks" / f"{rid}.yaml").write_text(yamlio.dumps(rec), encoding="utf-8")


def index_file(root: Path) -> Path:
    (found,) = (root / ".crm").glob("index-*.sqlite")
    return found


class _Touch:
    """Loading this pickle creates the marker file: what a crafted index could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_crafted_index_in_a_cloned_repository_runs_nothing(crm, tmp_path, monkeypatch):
    run("task", "add", "Call Acme", "--due", "2026-11-20")
    run("task", "add", "Send offer", "--due", "2026-11-22")
    expected = run("task", "remind")
    assert expected.code == 0 and "Call Acme" in expected.out
    run("deal", "list")  # the index knows the (empty) deals folder
    marker = tmp_path / "ran"
    bomb = pickle.dumps(_Touch(marker), protocol=5)
    fake = {"id": "zzzz0000", "title": "Fake deal", "status": "open", "stage": "new"}
    db = sqlite3.connect(index_file(crm))
    # a row for the empty folder, whose digest anyone can compute: served without a stat
    db.execute(
        "INSERT INTO rec (kind, name, sig, ok, status, due, json, lite, blob) "
        "VALUES ('deal', 'zzzz0000.yaml', 1, 1, 'open', 0, ?, ?, ?)",
        (json.dumps(fake), bomb, bomb),
    )
    db.execute("UPDATE rec SET json=?, lite=?, blob=? WHERE kind='task'",
               (json.dumps({"title": "Lie"}), bomb, bomb))  # fmt: skip
    db.commit()
    db.close()
    git(crm, "init", "-q")
    git(crm, "add", "-A")
    git(crm, "add", "-f", ".crm")
    git(crm, "commit", "-q", "-m", "crm with a crafted index")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(crm), str(clone))
    assert list((clone / ".crm").glob("index-*.sqlite"))  # the crafted file came along
    monkeypatch.setenv("CRM_DIR", str(clone))
    got = run("task", "remind")
    assert not marker.exists()
    assert got.code == 0, got.err
    assert got.out == expected.out and "Fake deal" not in got.out
    doctor = run("doctor")
    assert ".crm/: git tracks" in doctor.out and "git rm -r --cached .crm" in doctor.out


def lying_index(crm: Path, monkeypatch) -> None:
    """A task whose index row (trusted: not racy) claims another title."""
    monkeypatch.setattr(index, "RACY_NS", 0)
    run("task", "add", "Real task", "--due", "2026-11-20")
    assert [t["title"] for t in run("task", "list", "--format", "json").json()] == ["Real task"]
    db = sqlite3.connect(index_file(crm))
    (text,) = db.execute("SELECT json FROM rec WHERE kind='task'").fetchone()
    db.execute("UPDATE rec SET json=? WHERE kind='task'", (text.replace("Real task", "Lie"),))
    db.commit()
    db.close()
    assert titles() == ["Lie"]  # (what a lying row in a trusted index would do)


def titles() -> list[str]:
    r = run("task", "list", "--format", "json")
    assert r.code == 0, r.err
    return [t["title"] for t in r.json()]


def test_index_of_another_user_is_rebuilt(crm, monkeypatch):
    lying_index(crm, monkeypatch)
    path = index_file(crm)
    if os.getuid() == 0:
        os.chown(path, 4242, 4242)
        assert titles() == ["Real task"]
        assert index_file(crm).stat().st_uid == 0  # built again, by this user
    else:  # cannot chown: this user is someone else now
        monkeypatch.setattr(index, "_uid", lambda: os.getuid() + 1)
        assert titles() == ["Real task"]


@pytest.mark.parametrize(
    "change",
    ["version = version - 1", "root_ino = root_ino + 1"],  # another schema; another CRM root
)
def test_index_whose_meta_is_not_this_crms_is_rebuilt(crm, monkeypatch, change):
    lying_index(crm, monkeypatch)
    db = sqlite3.connect(index_file(crm))
    db.execute(f"UPDATE meta SET {change}")
    db.commit()
    db.close()
    assert titles() == ["Real task"]


def test_copied_index_file_is_rebuilt(crm, monkeypatch):
    lying_index(crm, monkeypatch)
    path = index_file(crm)
    copy = path.with_name("copy")
    copy.write_bytes(path.read_bytes())  # a new inode, as cp or git checkout makes
    os.replace(copy, path)
    assert titles() == ["Real task"]


def test_index_with_another_table_layout_is_rebuilt(crm):
    run("task", "add", "Real task")
    assert titles() == ["Real task"]
    path = index_file(crm)
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE rec (kind TEXT, name TEXT, blob BLOB)")
    db.commit()
    db.close()
    assert titles() == ["Real task"]
    assert titles() == ["Real task"]
    db = sqlite3.connect(index_file(crm))
    assert db.execute("SELECT count(*) FROM rec WHERE kind='task' AND ok=1").fetchone() == (1,)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_garbage_or_truncated_index_is_rebuilt(crm, damage):
    for i in range(100):  # enough rows for a file of many pages
        write_task(crm, f"t{i:07d}", f"Task {i} {'x' * 600}")
    assert len(titles()) == 100
    path = index_file(crm)
    if damage == "garbage":
        path.write_bytes(b"not a database " * 1000)
    else:
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size * 3 // 4)
    assert len(titles()) == 100
    assert len(titles()) == 100
    db = sqlite3.connect(index_file(crm))
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT count(*) FROM rec WHERE kind='task'").fetchone() == (100,)


def test_index_under_a_linked_crm_folder_is_not_used(crm, tmp_path):
    run("task", "add", "Real task")
    assert titles() == ["Real task"]
    gc.collect()  # an index connection left from the command above closes now, not later
    elsewhere = tmp_path / "elsewhere"
    (crm / ".crm").rename(elsewhere)
    (crm / ".crm").symlink_to(elsewhere)  # as a repository could carry it
    before = {p.name: p.read_bytes() for p in elsewhere.glob("index-*")}
    write_task(crm, "abcd0001", "Hand-written")
    assert titles() == ["Hand-written", "Real task"]
    assert {p.name: p.read_bytes() for p in elsewhere.glob("index-*")} == before


@pytest.mark.parametrize(
    "value",
    [
        {"a": Decimal("1.50"), "b": 3, "c": True, "d": None, "e": [], "f": {"g": '中文\n"q"'}},
        [Decimal("1E+2"), Decimal("100"), Decimal("-0"), Decimal("0E-8"), Decimal("1.5E-7")],
        {"inf": float("inf"), "nan": float("nan"), "f": 1.5, 3: "int key", "s": "\x00dec:5"},
        {"tag": "~", "m": {"m": [1]}, "d": {"d": "1"}, "x": Decimal("NaN")},
    ],
)
def test_index_values_read_back_exactly(value):
    def typed(v):  # equal values of the same types, Decimals to the exponent
        if isinstance(v, dict):
            return [(typed(k), typed(x)) for k, x in v.items()]
        if isinstance(v, list):
            return [typed(x) for x in v]
        return (type(v).__name__, repr(v))

    text = index.dumps(value)
    assert isinstance(text, str)
    assert typed(index.loads(text)) == typed(value)
