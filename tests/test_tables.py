"""Tables that can be read and grepped (issue 14 item 6): at 80 columns the id and the
name are never dropped, cut or wrapped; off a terminal a row is one line."""

from __future__ import annotations

import re

import pytest
from conftest import added, run
from rich.cells import cell_len

from crmcli import render

LONG_OWNER = "Maximilian-Alexander von Hohenzollern"
TAGS = ["key-account", "trade-show-2026", "needs-follow-up", "vip"]


@pytest.fixture
def crowded(crm):
    """Customers that fill 80 columns: a long owner, four tags, long and CJK names."""
    tags = [a for t in TAGS for a in ("--tag", t)]
    ids = {}
    for name in ("北京精密机械制造股份有限公司", "Müller Maschinenbau GmbH & Co. KG", "王芳"):
        rec = added("customer", name, "--owner", LONG_OWNER, "--email",
                    "procurement.department@example-industries.de", *tags)  # fmt: skip
        ids[name] = rec["id"]
    added("customer", "Acme", "--owner", "bob")
    return ids


def _rows(out: str) -> list[str]:
    return out.splitlines()[2:]  # header and rule off


def test_customer_list_at_80_columns_keeps_id_and_name_whole_on_one_line(crowded):
    r = run("customer", "list")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert lines[0].split()[:2] == ["id", "name"]
    assert len(_rows(r.out)) == 4  # one line a record: nothing wrapped
    for name, id_ in crowded.items():
        (row,) = [line for line in lines if line.startswith(id_ + " ")]
        assert name in row  # the whole name, on the id's line
    assert "…" in r.out  # what did not fit was cut, not wrapped


def test_grep_finds_whole_rows(crowded):
    added("deal", "Pumps for the new plant", "--customer", "Müller Maschinenbau GmbH & Co. KG",
          "--amount", "1200", "--owner", LONG_OWNER, "--tag", "q4")  # fmt: skip
    added("deal", "Valves", "--customer", "Acme", "--amount", "80")
    out = run("deal", "list").out
    hits = [line for line in out.splitlines() if "Müller" in line]
    assert len(hits) == 1
    assert "Pumps for the new plant" in hits[0] and "1,200" in hits[0]


def test_other_columns_are_cut_then_dropped_least_useful_first():
    cols = [("id", {}), ("name", {}), ("tags", {"priority": 0}), ("e-mail", {"priority": 3})]
    specs = [render._column(c, i) for i, c in enumerate(cols)]
    for c, natural in zip(specs, (8, 30, 40, 30), strict=True):
        c["natural"], c["head"] = natural, len(c["header"])

    def fit(width: int) -> list[tuple[str, int]]:
        return [(c["header"], c["width"]) for c in render._fit(specs, width, tty=False)]

    assert fit(120) == [("id", 8), ("name", 30), ("tags", 40), ("e-mail", 30)]
    assert fit(100) == [("id", 8), ("name", 30), ("tags", 26), ("e-mail", 30)]  # tags cut
    assert fit(80) == [("id", 8), ("name", 30), ("tags", 8), ("e-mail", 28)]  # then e-mail
    assert fit(50) == [("id", 8), ("name", 30), ("e-mail", 8)]  # tags dropped first
    assert fit(20) == [("id", 8), ("name", 30)]  # never the id or the name
    with pytest.raises(TypeError, match="ratio"):
        render._column(("x", {"ratio": 2}), 0)


def test_on_a_terminal_a_long_name_wraps_but_the_id_never(crm, monkeypatch):
    name = "Shenzhen Huaqiangbei Electronics Science and Technology Joint Stock Company Ltd"
    rec = added("customer", name, "--owner", LONG_OWNER, *[a for t in TAGS for a in ("--tag", t)])
    added("customer", "Acme")
    monkeypatch.setattr(render, "is_terminal", lambda stream=None: True)
    r = run("customer", "list")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert any(line.startswith(rec["id"] + " ") for line in lines)  # whole, never folded
    assert len(lines) > 4  # the name took more than one line
    words = r.out.split()
    assert all(word in words for word in name.split())


def test_a_column_the_same_on_every_row_is_said_once(crm):
    added("customer", "Acme", "--owner", "carol")
    added("customer", "Globex", "--owner", "carol")
    r = run("customer", "list")
    assert "owner" not in r.out.splitlines()[0]
    assert "owner: carol (every row)" in r.err
    added("customer", "Initech", "--owner", "dave")
    r = run("customer", "list")
    assert "owner" in r.out.splitlines()[0] and "every row" not in r.err


def test_task_list_shows_kind_and_severity_of_complaints(crm):
    added("customer", "Acme")
    added("task", "Pump leaks", "--kind", "complaint", "--severity", "critical",
          "--customer", "Acme")  # fmt: skip
    added("task", "Call back", "--due", "tomorrow")
    out = run("task", "list").out
    assert "kind" in out.splitlines()[0]
    (row,) = [line for line in out.splitlines() if "Pump leaks" in line]
    assert "complaint (critical)" in row


def test_closed_deals_show_when_and_why_lost(crm, monkeypatch):
    added("customer", "Acme")
    added("deal", "Pumps", "--customer", "Acme", "--amount", "100")
    added("deal", "Valves", "--customer", "Acme", "--amount", "100")
    assert run("deal", "won", "Valves").code == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-25T09:00:00+08:00")
    assert run("deal", "lost", "Pumps", "--reason", "too expensive").code == 0
    out = run("deal", "list", "--status", "all").out
    head = out.splitlines()[0].split()
    assert "closed" in head
    (lost,) = [line for line in out.splitlines() if "Pumps" in line]
    assert "Nov 25: too expensive" in lost
    (won,) = [line for line in out.splitlines() if "Valves" in line]
    assert "Nov 23" in won and "too expensive" not in won


def test_show_times_are_local_and_short(crm):
    rec = added("customer", "Acme")
    path = crm / "customers" / f"{rec['id']}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(rec["created"], "2026-11-20T02:30:00+00:00"), encoding="utf-8")
    out = run("customer", "show", "Acme").out
    assert re.search(
        r"^created +2026-11-20 10:30", out, re.M
    )  # Asia/Shanghai, no seconds or offset
    assert "+00:00" not in out and "T02:30" not in out
    assert run("customer", "show", "Acme", "-f", "json").json()["created"].endswith("+00:00")


def test_report_cells_of_two_lines_show_as_two_lines(crm):
    added("customer", "Acme GmbH")
    added("deal", "Pumps", "--customer", "Acme GmbH", "--amount", "100")
    out = run("report", "stalled", "--days", "0").out
    assert "\\n" not in out  # no escaped line break: the customer is on a line of its own
    lines = out.splitlines()
    (i,) = [n for n, line in enumerate(lines) if line.startswith("Pumps ")]
    assert lines[i + 1].startswith("Acme GmbH ")
