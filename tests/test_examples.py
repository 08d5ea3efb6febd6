"""The demo CRM in examples/ that README's quick start runs on stays valid."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"


@pytest.fixture
def demo(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "demo"
    shutil.copytree(DEMO, root)
    monkeypatch.setenv("CRM_DIR", str(root))
    return root


def test_demo_is_clean_for_doctor(demo):
    r = run("doctor")
    assert r.code == 0, r.out + r.err
    assert "no problems" in r.err


@pytest.mark.parametrize("group", ["customer", "lead", "deal", "task"])
def test_demo_lists_every_kind(demo, group):
    r = run(group, "list", "--format", "json")
    assert r.code == 0, r.err
    assert r.err == ""
    assert len(r.json()) >= 3
    assert run(group, "list").code == 0


def test_demo_has_chinese_and_english_names(demo):
    names = {c["name"] for c in run("customer", "list", "--format", "json").json()}
    assert "Acme Pumps GmbH" in names and "北京华泰机械有限公司" in names


@pytest.mark.parametrize(
    "report", ["funnel", "forecast", "owners", "customers", "sources", "stalled"]
)
def test_demo_reports(demo, report):
    r = run("report", report, "--format", "json")
    assert r.code == 0, r.err
    assert isinstance(r.json(), dict)


def test_demo_remind_has_work(demo):
    r = run("task", "remind")
    assert r.code == 0
    assert "alice" in r.out and "bob" in r.out
