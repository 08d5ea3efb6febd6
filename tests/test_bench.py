"""The benchmark harness stays runnable: the generator makes a valid, realistic
CRM, and bench/run.py --quick goes through every case without crashing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import snapshot

from crmcli.store import Store

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import taskwarrior  # noqa: E402

ID = re.compile(r"^[a-z0-9]{8}$")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("bench") / "crm"
    return root, generate.generate(root, 200, seed=7, now=generate.NOW)


def test_generated_crm_is_valid_and_realistic(generated):
    root, counts = generated
    assert counts == {"customer": 20, "lead": 30, "deal": 20, "task": 70, "activity": 60}
    store = Store(root)
    recs = {kind: store.query(kind) for kind in counts}
    assert store.warnings == []
    assert {k: len(v) for k, v in recs.items()} == counts
    assert all(ID.match(r["id"]) for rs in recs.values() for r in rs)
    assert store.settings["owners"][:2] == ["alice", "bob"]
    assert store.settings["timezone"] == "Asia/Shanghai"

    now = datetime.fromisoformat(generate.NOW)
    tasks = recs["task"]
    overdue = [
        t
        for t in tasks
        if t["status"] == "open" and t["due"] and datetime.fromisoformat(t["due"]) < now
    ]
    assert len(overdue) == 21  # 30% of 70
    assert {t["status"] for t in tasks} == {"open", "done", "cancelled"}
    assert all(t["done_at"] for t in tasks if t["status"] == "done")

    ids = {kind: {r["id"] for r in rs} for kind, rs in recs.items()}
    deals = recs["deal"]
    assert all(isinstance(d["amount"], Decimal) for d in deals)
    assert all(d["customer"] in ids["customer"] for d in deals)
    for d in deals:
        assert list(d["stage_history"][0]) == ["stage", "at", "by"]
        assert d["stage_history"][-1]["stage"] == d["stage"]
        assert (d["closed_at"] is not None) == (d["status"] != "open")
    assert {d["status"] for d in deals} >= {"open", "won"}
    converted = [x for x in recs["lead"] if x["status"] == "converted"]
    assert converted and all(
        x["customer"] in ids["customer"] and x["deal"] in ids["deal"] for x in converted
    )
    assert len({x["source"] for x in recs["lead"]}) >= 4
    linked = ids["customer"] | ids["deal"] | ids["lead"]
    assert all(a["on"] in linked for a in recs["activity"])
    names = [r["name"] for r in recs["customer"]] + [x["name"] for x in recs["lead"]]
    assert any(re.search(r"[\u4e00-\u9fff]", n) for n in names)
    assert any(re.fullmatch(r"[A-Za-z' .()\u00c0-\u00ff0-9-]+", n) for n in names)


def test_generator_is_deterministic_and_has_a_tasks_mode(generated, tmp_path):
    root, _ = generated
    again = tmp_path / "again"
    generate.generate(again, 200, seed=7, now=generate.NOW)
    assert snapshot(again, "**/*.yaml") == snapshot(root, "**/*.yaml")
    tasks = tmp_path / "tasks"
    counts = generate.generate(tasks, 300, seed=7, now=generate.NOW, tasks_only=True)
    assert counts["task"] == 300 and counts["lead"] == counts["activity"] == 0
    assert len(Store(tasks).query("task")) == 300


def test_taskwarrior_export_shifts_dates_keeping_overdue(generated):
    root, _ = generated
    tasks = taskwarrior.read_tasks(root)
    items = taskwarrior.to_taskwarrior(tasks, shift_seconds=86400 * 10)
    assert len(items) == len(tasks)
    task, item = next((t, i) for t, i in zip(tasks, items, strict=True) if t["due"])
    due = datetime.strptime(item["due"], "%Y%m%dT%H%M%S%z")
    assert (due - datetime.fromisoformat(task["due"])).total_seconds() == 86400 * 10
    assert {i["status"] for i in items} == {"pending", "completed", "deleted"}


def test_run_quick_goes_through_every_case(tmp_path):
    saved = tmp_path / "runs.json"
    argv = ["--quick", "--cache", str(tmp_path / "cache"), "--json", str(saved), "--timeout", "60"]
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(saved.read_text())["results"]
    assert len(results) >= 10
    for r in results:  # every command ran and did its work: no error, timeout or n/a
        assert r["status"] == "pass" or r["status"].startswith("FAIL ("), r
        assert len(r["seconds"]) == 1, r
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| `crm")]
    commands = {row.split("|")[1].strip() for row in rows}
    assert {
        "`crm --version`",
        "`crm --help`",
        "`crm task list --overdue --format json`",
        "`crm task remind`",
        "`crm today`",
        "`crm report funnel`",
        "`crm doctor`",
        '`crm task add "x"`',
        "`crm lead import (50 rows CSV)`",
        "`crm mail import (100 messages mbox)`",
        "`crm mail import (100 messages mbox) again`",
    } <= commands
    again = next(r for r in rows if "messages mbox) again" in r)
    assert "no file changed" in again and " 0 logged" in again, again
    for row in rows:
        result = row.split("|")[8].strip()
        assert re.match(r"^(pass|FAIL \(.+\)|n/a|error|timeout)$", result), row
    doctor = next(r for r in rows if "`crm doctor`" in r)
    assert "problems found" in doctor or "no problems" in doctor, doctor  # it ran, not "error"
    version = next(r for r in rows if "`crm --version`" in r)
    assert "pass" in version or "FAIL (time)" in version


def test_generated_git_history(tmp_path, monkeypatch):
    """generate.py --history: about N commits spread over the year before now, the
    work tree clean at HEAD, and the reports over time run on it."""
    from conftest import run

    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "crm"
    generate.generate(root, 200, seed=7, now=generate.NOW, history=30)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=True).stdout  # fmt: skip

    dates = git("log", "--format=%cI").split()
    assert len(dates) == 30
    assert git("status", "--porcelain", "--untracked-files=no") == ""
    first, last = datetime.fromisoformat(dates[-1]), datetime.fromisoformat(dates[0])
    assert (datetime.fromisoformat(generate.NOW) - first).days == 365 and last > first
    assert len(set(git("log", "--format=%an").split())) > 1  # the owners made the commits
    monkeypatch.setenv("CRM_NOW", generate.NOW)
    r = run("--dir", str(root), "report", "changes", "--since", "60 days ago", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out, parse_float=Decimal)
    assert data["deals"] and data["commits"]["start"]
    for steps in data["waterfall"].values():
        assert sum((s["amount"] for s in steps[:-1]), Decimal(0)) == steps[-1]["amount"]
    r = run("--dir", str(root), "report", "funnel", "--as-of", "6 months ago", "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["as_of"]["commit"]
