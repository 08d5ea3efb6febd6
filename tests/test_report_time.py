"""Reports over time (issue 17): --as-of on every report (from git, and wound back
without git), report changes (per category, who and when, the waterfall adding up
exactly), targets, and sources crediting deals through leads and customers."""

from __future__ import annotations

import json
import random
import subprocess
from decimal import Decimal as D
from pathlib import Path

import pytest
from conftest import refused, run, set_settings

from crmcli.reports.base import Scope
from crmcli.reports.changes import changes
from crmcli.store import Store, init

REPORTS = ("funnel", "forecast", "owners", "customers", "sources", "stalled")
USD = "USD"


def jout(r) -> dict:
    """The JSON a command printed, numbers as Decimals (money stays exact)."""
    assert r.code == 0, r.err
    return json.loads(r.out, parse_float=D)


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


class History:
    """A git CRM whose commits are made at fixed moments by named people."""

    def __init__(self, root: Path, mp) -> None:
        self.root, self.mp = root, mp

    def at(self, when: str, who: str, *args: str) -> dict | None:
        self.mp.setenv("CRM_NOW", f"2026-{when}+08:00")
        self.mp.setenv("CRM_USER", who)
        for role in ("AUTHOR", "COMMITTER"):
            self.mp.setenv(f"GIT_{role}_NAME", who)
            self.mp.setenv(f"GIT_{role}_EMAIL", f"{who}@example.com")
        r = run("--dir", str(self.root), *args, *(["--format", "json"] if "add" in args else []))
        assert r.code == 0, (args, r.err)
        return r.json() if "add" in args else None

    def report(self, *args: str, now: str = "10-12T12:00:00") -> dict:
        self.mp.setenv("CRM_NOW", f"2026-{now}+08:00")
        return jout(run("--dir", str(self.root), "report", *args, "--format", "json"))


def _gitenv(mp, home: Path) -> None:
    home.mkdir()
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.delenv("CRM_DIR", raising=False)


@pytest.fixture(scope="module")
def history_root(tmp_path_factory) -> Path:
    """Deals made in September, changed in October (since 10-01) by bob, carol,
    dave, erin, frank and gina: built once for the module (the tests only read it)."""
    base = tmp_path_factory.mktemp("history")
    with pytest.MonkeyPatch.context() as mp:
        _gitenv(mp, base / "home")
        root = base / "crm"
        _build(History(root, mp))
    return root


@pytest.fixture
def hist(history_root, tmp_path, monkeypatch) -> History:
    _gitenv(monkeypatch, tmp_path / "home")
    return History(history_root, monkeypatch)


def _build(h: History) -> None:
    root = h.root
    init(root, "Time CRM")
    set_settings(root, timezone="Asia/Shanghai", owners=["alice", "bob"])
    h.at("09-01T09:00:00", "alice", "init", str(root), "--git")
    acme = h.at("09-02T10:00:00", "alice", "customer", "add", "Acme GmbH", "--source", "event")
    c = ["--customer", acme["id"]]
    h.at("09-03T10:00:00", "alice", "deal", "add", "Pumps", *c, "--amount", "1000", "--close",
         "2026-10-15", "--owner", "alice")  # fmt: skip
    h.at("09-04T10:00:00", "bob", "deal", "add", "Valves", *c, "--amount", "500", "--currency",
         "EUR", "--close", "2026-10-20", "--owner", "bob")  # fmt: skip
    h.at("09-05T10:00:00", "bob", "deal", "add", "Service", *c, "--amount", "300", "--owner", "bob")
    h.at("09-06T10:00:00", "bob", "deal", "add", "Lost one", *c, "--amount", "70")
    h.at("09-07T10:00:00", "alice", "deal", "add", "Back", *c, "--amount", "200", "--stage",
         "proposal", "--close", "2026-12-31")  # fmt: skip
    h.at("09-08T10:00:00", "alice", "deal", "add", "Reopen me", *c, "--amount", "90")
    h.at("09-09T10:00:00", "alice", "deal", "lost", "Reopen me", "--reason", "timing")
    h.at("09-10T10:00:00", "alice", "deal", "add", "Dropped", *c, "--amount", "10")
    # October
    h.at("10-05T10:00:00", "bob", "deal", "move", "Pumps", "proposal")
    h.at("10-06T10:00:00", "carol", "deal", "edit", "Valves", "--amount", "650", "--close",
         "2026-11-30")  # fmt: skip
    h.at("10-07T10:00:00", "carol", "deal", "won", "Service")
    h.at("10-07T11:00:00", "carol", "deal", "lost", "Lost one", "--reason", "price")
    h.at("10-08T10:00:00", "dave", "deal", "add", "New one", *c, "--amount", "42.50")
    h.at("10-08T11:00:00", "dave", "deal", "edit", "Pumps", "--owner", "bob")
    h.at("10-09T10:00:00", "erin", "deal", "move", "Back", "qualified")
    h.at("10-09T11:00:00", "erin", "deal", "edit", "Back", "--amount", "150", "--close",
         "2026-12-01")  # fmt: skip
    h.at("10-10T10:00:00", "frank", "deal", "reopen", "Reopen me")
    h.at("10-11T10:00:00", "gina", "deal", "rm", "Dropped")


# ----- --as-of ----------------------------------------------------------------------------


def _without_as_of(data: dict) -> dict:
    data.pop("as_of")
    return data


@pytest.mark.parametrize("when", ["09-06T12:00:00", "10-07T10:30:00"])
def test_as_of_is_the_report_on_a_checkout_of_that_commit(hist, tmp_path, when):
    """Every report --as-of WHEN equals the same report run on a checkout of the last
    commit at or before WHEN, with WHEN as now."""
    sha = git(hist.root, "rev-list", "-1", f"--before=2026-{when}+08:00", "HEAD").strip()
    checkout = tmp_path / f"checkout-{when[:5]}"
    git(hist.root, "worktree", "add", "--detach", str(checkout), sha)
    for name in REPORTS:
        past = hist.report(name, "--as-of", f"2026-{when}")
        assert past["as_of"]["commit"] == sha and past["as_of"]["unknown"] == []
        hist.mp.setenv("CRM_NOW", f"2026-{when}+08:00")
        r = run("--dir", str(checkout), "report", name, "--format", "json")
        assert _without_as_of(past) == _without_as_of(jout(r)), name


def test_as_of_keeps_the_records_it_parsed(hist, monkeypatch):
    """Blobs parsed once are kept in the derived index (a blob never changes): the
    next --as-of parses nothing, and gives the same report."""
    first = hist.report("owners", "--as-of", "2026-09-04T12:00")
    moved = hist.report("changes", "--since", "2026-10-01")
    calls = []
    parse = Store.parse_record

    def counted(self, kind, rel, rid, data):  # blobs of a commit, not the work tree's files
        calls.extend([rel] if " at " in rel else [])
        return parse(self, kind, rel, rid, data)

    monkeypatch.setattr(Store, "parse_record", counted)
    assert hist.report("owners", "--as-of", "2026-09-04T12:00") == first
    assert hist.report("changes", "--since", "2026-10-01") == moved
    assert calls == []
    monkeypatch.setenv("CRM_NO_INDEX", "1")  # without the index: parsed again, the same
    assert hist.report("owners", "--as-of", "2026-09-04T12:00") == first
    assert calls


def test_as_of_shows_the_past_not_today(hist):
    then = hist.report("forecast", "--as-of", "2026-10-01", "--months", "2")
    now = hist.report("forecast", "--months", "2")
    assert then["as_of"]["at"] == "2026-10-01T00:00:00+08:00"
    # on 10-01 Pumps (1000, new) and Valves (500 EUR) closed in October; Service was open
    assert then["months"][0]["month"] == "2026-10"
    assert then["months"][0]["best_case"] == {"EUR": D(500), USD: D(1000)}
    assert now["months"][0]["best_case"] == {USD: D(1000)}  # Valves slipped to November
    funnel = hist.report("funnel", "--as-of", "2026-10-01")
    assert funnel["won"]["count"] == 0 and funnel["lost"]["count"] == 1  # Reopen me
    assert hist.report("funnel")["won"]["count"] == 1
    # --since/--until count within the past state
    window = hist.report("funnel", "--as-of", "2026-10-01", "--since", "2026-09-05")
    assert window["open"]["count"] == 4  # Service, Lost one, Back, Dropped (created 09-05..)


def test_as_of_table_says_which_commit(hist):
    hist.mp.setenv("CRM_NOW", "2026-10-12T12:00:00+08:00")
    r = run("--dir", str(hist.root), "report", "stalled", "--as-of", "2026-10-01")
    assert r.code == 0, r.err
    assert "as of 2026-10-01 00:00" in r.out
    assert r.err.startswith("As of 2026-10-01T00:00:00+08:00: commit ")


def test_as_of_before_the_crm_existed_is_an_error(hist):
    hist.mp.setenv("CRM_NOW", "2026-10-12T12:00:00+08:00")
    r = run("--dir", str(hist.root), "report", "funnel", "--as-of", "2026-08-01")
    refused(r, "--as-of 2026-08-01", "before the CRM's first commit", "2026-09-01")
    assert len(r.err.strip().splitlines()) == 1
    r = run("--dir", str(hist.root), "report", "funnel", "--as-of", "2027-01-01")
    refused(r, "in the future")
    r = run("--dir", str(hist.root), "report", "customers", "--as-of", "2026-10-01", "--apply")
    refused(r, "--apply", "--as-of")


def test_as_of_without_git_winds_the_records_back(crm, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-09-01T10:00:00+08:00")
    acme = run("customer", "add", "Acme", "--format", "json").json()["id"]
    run("deal", "add", "Won later", "--customer", acme, "--amount", "100")
    run("task", "add", "Call", "--due", "2026-09-10")
    monkeypatch.setenv("CRM_NOW", "2026-09-15T10:00:00+08:00")
    assert run("deal", "move", "Won later", "proposal").code == 0
    assert run("task", "done", "Call").code == 0
    monkeypatch.setenv("CRM_NOW", "2026-10-01T10:00:00+08:00")
    assert run("deal", "won", "Won later").code == 0
    run("deal", "add", "Added later", "--customer", acme, "--amount", "5")
    monkeypatch.setenv("CRM_NOW", "2026-10-02T10:00:00+08:00")
    r = run("report", "funnel", "--as-of", "2026-09-20", "--format", "json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["as_of"]["commit"] is None and data["as_of"]["unknown"]
    assert data["won"]["count"] == 0 and data["open"]["count"] == 1  # not yet won; not yet added
    assert [s["count"] for s in data["stages"]] == [0, 0, 1, 0]  # in proposal then
    owners = jout(run("report", "owners", "--as-of", "2026-09-12", "--format", "json"))
    assert owners["total"]["tasks_overdue"] == 1  # done on 09-15: still open and overdue then
    r = run("report", "funnel", "--as-of", "2026-09-20")
    assert r.code == 0
    assert "not known without git history: deals' amounts" in r.err
    r = run("report", "funnel", "--as-of", "2026-08-01")
    refused(r, "--as-of 2026-08-01", "before any record was created")


# ----- report changes ---------------------------------------------------------------------


def _by_title(data: dict) -> dict[str, dict]:
    return {d["title"]: d for d in data["deals"]}


def test_changes_every_category_with_who_and_when(hist):
    data = hist.report("changes", "--since", "2026-10-01")
    assert data["report"] == "changes" and data["commits"]["start"] and data["commits"]["end"]
    deals = _by_title(data)
    kinds = {t: [c["change"] for c in d["changes"]] for t, d in deals.items()}
    assert kinds == {
        "Pumps": ["advanced", "reassigned"],
        "Valves": ["raised", "slipped"],
        "Service": ["won"],
        "Lost one": ["lost"],
        "New one": ["added"],
        "Back": ["moved_back", "cut", "pulled_in"],
        "Reopen me": ["reopened"],
        "Dropped": ["removed"],
    }
    pumps = deals["Pumps"]["changes"]
    assert pumps[0] == {"change": "advanced", "from": "new", "to": "proposal", "by": "bob",
                        "at": "2026-10-05T10:00:00+08:00"}  # fmt: skip
    assert pumps[1] == {"change": "reassigned", "from": "alice", "to": "bob", "by": "dave",
                        "at": "2026-10-08T11:00:00+08:00"}  # fmt: skip
    raised, slipped = deals["Valves"]["changes"]
    assert (raised["from"], raised["to"], raised["delta"], raised["by"]) == (
        D(500), D(650), D(150), "carol")  # fmt: skip
    assert (slipped["from"], slipped["to"], slipped["days"]) == ("2026-10-20", "2026-11-30", 41)
    moved, cut, pulled = deals["Back"]["changes"]
    assert (moved["from"], moved["to"], moved["by"]) == ("proposal", "qualified", "erin")
    assert (cut["delta"], pulled["days"], pulled["by"]) == (D(-50), 30, "erin")
    lost = deals["Lost one"]["changes"][0]
    assert (lost["reason"], lost["by"], lost["at"]) == (
        "price",
        "carol",
        "2026-10-07T11:00:00+08:00",
    )
    assert deals["Reopen me"]["changes"][0]["by"] == "frank"
    assert deals["New one"]["changes"][0] == {"change": "added", "by": "dave",
                                             "at": "2026-10-08T10:00:00+08:00"}  # fmt: skip
    assert deals["Dropped"]["changes"][0]["by"] == "gina"
    assert data["totals"]["won"] == {"count": 1, "amount": {USD: D(300)}}
    assert data["totals"]["raised"] == {"count": 1, "amount": {"EUR": D(150)}}
    assert data["totals"]["cut"] == {"count": 1, "amount": {USD: D(50)}}


def test_changes_waterfall_adds_up(hist):
    data = hist.report("changes", "--since", "2026-10-01")
    usd = {s["step"]: s for s in data["waterfall"][USD]}
    # at 10-01 open in USD: Pumps 1000, Service 300, Lost one 70, Back 200, Dropped 10
    assert (usd["start"]["amount"], usd["start"]["count"]) == (D(1580), 5)
    assert usd["added"]["amount"] == D("42.50") and usd["reopened"]["amount"] == D(90)
    assert usd["won"]["amount"] == D(-300) and usd["lost"]["amount"] == D(-70)
    assert usd["removed"]["amount"] == D(-10) and usd["changed"]["amount"] == D(-50)
    assert (usd["end"]["amount"], usd["end"]["count"]) == (D("1282.50"), 4)
    for steps in data["waterfall"].values():
        assert [s["step"] for s in steps][0] == "start" and steps[-1]["step"] == "end"
        assert sum((s["amount"] for s in steps[:-1]), D(0)) == steps[-1]["amount"]
    eur = {s["step"]: s["amount"] for s in data["waterfall"]["EUR"]}
    assert (eur["start"], eur["changed"], eur["end"]) == (D(500), D(150), D(650))


def test_changes_owner_and_until(hist):
    data = hist.report("changes", "--since", "2026-10-01", "--owner", "alice")
    usd = {s["step"]: s["amount"] for s in data["waterfall"][USD]}
    # alice had Pumps (1000), Back (200), Dropped (10), Lost one? no (bob's: the adder)
    assert usd["reassigned_out"] == D(-1000)
    assert sum((a for k, a in usd.items() if k != "end"), D(0)) == usd["end"]
    early = hist.report("changes", "--since", "2026-10-01", "--until", "2026-10-06")
    assert set(_by_title(early)) == {"Pumps", "Valves"}
    assert [c["change"] for c in _by_title(early)["Pumps"]["changes"]] == ["advanced"]


def test_changes_table(hist):
    hist.mp.setenv("CRM_NOW", "2026-10-12T12:00:00+08:00")
    r = run("--dir", str(hist.root), "report", "changes", "--since", "2026-10-01")
    assert r.code == 0, r.err
    for text in ("Pumps", "advanced", "new → proposal", "carol", "reassigned", "Open pipeline",
                 "1,282.50"):  # fmt: skip
        assert text in r.out, text


def test_changes_before_the_first_commit_starts_from_nothing(hist):
    data = hist.report("changes", "--since", "2026-01-01")
    assert data["commits"]["start"] is None
    usd = {s["step"]: s["amount"] for s in data["waterfall"][USD]}
    assert usd["start"] == 0 and usd["end"] == D("1282.50")


def test_changes_without_git_is_an_error(crm):
    r = run("report", "changes", "--since", "-30d")
    refused(r, "report changes", "git", "crm init --git")
    assert len(r.err.strip().splitlines()) == 1
    r = run("report", "changes")
    assert r.code == 2  # --since is required


def _deal(rng: random.Random, rid: str) -> dict:
    status = rng.choice(["open", "open", "won", "lost"])
    return {
        "id": rid,
        "title": rid,
        "owner": rng.choice(["alice", "bob", None]),
        "status": status,
        "stage": rng.choice(["new", "qualified", "demo"]) if status == "open" else status,
        "amount": rng.choice([None, D(rng.randint(0, 10**6)) / 100]),
        "currency": rng.choice(["USD", "EUR", None]),
        "close_date": rng.choice([None, f"2026-1{rng.randint(0, 2)}-1{rng.randint(0, 9)}"]),
    }


@pytest.mark.parametrize("seed", range(20))
def test_waterfall_adds_up_exactly_for_any_change(seed):
    """Random deals at both ends (added, removed, closed, reopened, reassigned, new
    currency, no amount): every currency's steps add up to its end, to the cent,
    with and without --owner."""
    from datetime import datetime, timezone

    rng = random.Random(seed)
    ids = [f"d{i}" for i in range(40)]
    start = {i: _deal(rng, i) for i in ids if rng.random() < 0.8}
    end = {i: _deal(rng, i) for i in ids if rng.random() < 0.8}
    for i in ids:  # some unchanged
        if i in start and rng.random() < 0.3:
            end[i] = start[i]
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for owner in (None, "alice"):
        scope = Scope({"currency": "USD", "pipeline": [{"stage": "new", "probability": 10},
                       {"stage": "qualified", "probability": 50}]}, now, owner=owner)  # fmt: skip
        data = changes(start, end, {}, scope)
        for steps in data["waterfall"].values():
            assert sum((s["amount"] for s in steps[:-1]), D(0)) == steps[-1]["amount"]
        opened = {}
        for rec in end.values():
            if rec["status"] == "open" and (owner is None or rec["owner"] == owner):
                cur = rec["currency"] or "USD"
                opened[cur] = opened.get(cur, D(0)) + (rec["amount"] or 0)
        assert {c: s[-1]["amount"] for c, s in data["waterfall"].items() if s[-1]["amount"]} == {
            c: v for c, v in opened.items() if v
        }


# ----- targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "targets, key",
    [
        ("[1, 2]", "'targets'"),
        ({"alice": 300}, "'targets.alice'"),
        ({"alice": {"2026-Q5": 1}}, "'targets.alice.2026-Q5'"),
        ({"team": {"2026-13": 1}}, "'targets.team.2026-13'"),
        ({"team": {"Q4": 1}}, "'targets.team.Q4'"),
        ({"bob": {"2026-12": -5}}, "'targets.bob.2026-12'"),
        ({"bob": {"2026-12": "lots"}}, "'targets.bob.2026-12'"),
    ],
)
def test_malformed_targets_are_an_error_naming_the_key(crm, targets, key):
    set_settings(crm, targets=json.loads(targets) if isinstance(targets, str) else targets)
    r = run("report", "owners")
    refused(r, "crm.yaml", key)


def test_init_writes_targets_commented(tmp_path):
    from crmcli import settings, yamlio

    text = (init(tmp_path / "c", "X") / "crm.yaml").read_text(encoding="utf-8")
    assert Store(tmp_path / "c").settings["targets"] == {}
    [line] = [ln for ln in text.splitlines() if ln.startswith("# targets:")]
    example = settings.validate(yamlio.loads(line[2:]))["targets"]  # valid as it stands
    assert example == {"alice": {"2026-Q4": 300000},
                       "team": {"2026-Q4": 900000, "2026-12": 350000}}  # fmt: skip


@pytest.fixture
def targeted(crm):
    """Targets for alice (Q4) and the team (Q4 and November), in USD; now 11-23."""
    set_settings(crm, owners=["alice", "bob"], targets={
        "alice": {"2026-Q4": 1000}, "team": {"2026-Q4": 5000, "2026-11": 2000, "2027-01": 9}})  # fmt: skip
    store = Store(crm)
    acme = store.create("customer", name="Acme")["id"]
    deal = {"customer": acme, "created": "2026-09-01T10:00:00+08:00"}
    store.create("deal", title="Won Oct", amount=D(600), owner="alice", stage="won", status="won",
                 closed_at="2026-10-10T10:00:00+08:00", **deal)  # fmt: skip
    store.create("deal", title="Won Nov", amount=D(900), owner="bob", stage="won", status="won",
                 closed_at="2026-11-02T10:00:00+08:00", **deal)  # fmt: skip
    store.create("deal", title="Won EUR", amount=D(50), currency="EUR", owner="alice",
                 stage="won", status="won", closed_at="2026-11-02T10:00:00+08:00", **deal)  # fmt: skip
    store.create("deal", title="Dec", amount=D(800), owner="alice", stage="negotiation",
                 close_date="2026-12-20", **deal)  # fmt: skip
    store.create("deal", title="Nov", amount=D(400), owner="bob", stage="proposal",
                 close_date="2026-11-28", **deal)  # fmt: skip
    store.create("deal", title="Past", amount=D(999), owner="alice", stage="proposal",
                 close_date="2026-11-01", **deal)  # fmt: skip
    return crm


def test_owners_attainment_and_coverage(targeted):
    data = jout(run("report", "owners", "--format", "json"))
    alice = {o["owner"]: o for o in data["owners"]}["alice"]
    assert alice["targets"] == [
        {
            "period": "2026-Q4",
            "currency": USD,
            "target": D(1000),
            "won": D(600),
            "attainment": D("60.0"),
            "best_case": D(800),
            "commit": D(800),
            "weighted": D("600.00"),
            "coverage": D("150.0"),
        }
    ]  # fmt: skip  (the EUR deal and the past close date do not count)
    assert {o["owner"]: o for o in data["owners"]}["bob"]["targets"] == []
    team = data["total"]["targets"]
    assert [t["period"] for t in team] == ["2026-11", "2026-Q4"]
    assert (team[0]["won"], team[0]["weighted"], team[0]["attainment"]) == (
        D(900), D("200.00"), D("45.0"))  # fmt: skip
    assert (team[1]["won"], team[1]["weighted"], team[1]["coverage"]) == (
        D(1500), D("800.00"), D("22.9"))  # fmt: skip
    q3 = jout(run("report", "owners", "--period", "2026-Q3", "--format", "json"))
    assert q3["total"]["targets"] == []
    refused(run("report", "owners", "--period", "2026-W3"), "--period 2026-W3")
    r = run("report", "owners")
    assert "Targets in USD" in r.out and "60.0%" in r.out and "150.0%" in r.out


def test_forecast_shows_the_team_target(targeted):
    data = jout(run("report", "forecast", "--format", "json"))
    assert [m["target"] for m in data["months"]] == [D(2000), None, D(9)]
    assert [t["period"] for t in data["targets"]] == ["2026-11", "2026-Q4", "2027-01"]
    q4 = data["targets"][1]
    assert (q4["target"], q4["won"], q4["best_case"], q4["commit"], q4["weighted"]) == (
        D(5000), D(1500), D(1200), D(800), D("800.00"))  # fmt: skip
    mine = jout(run("report", "forecast", "--owner", "alice", "--format", "json"))
    assert [t["period"] for t in mine["targets"]] == ["2026-Q4"]
    r = run("report", "forecast")
    assert "target" in r.out and "2,000.00" in r.out


def test_no_targets_leave_the_columns_out(crm):
    r = run("report", "forecast")
    assert r.code == 0 and "target" not in r.out
    r = run("report", "owners")
    assert r.code == 0 and "Targets" not in r.out


# ----- sources ----------------------------------------------------------------------------


def test_sources_credit_the_lead_else_the_customer(crm):
    store = Store(crm)
    won = {"stage": "won", "status": "won", "closed_at": "2026-11-01T10:00:00+08:00"}
    via_lead = store.create("customer", name="Via lead", source="trade-show")["id"]
    show = store.create("customer", name="Show", source="trade-show")["id"]
    d1 = store.create("deal", title="Converted", customer=via_lead, amount=D(100), **won)["id"]
    store.create("deal", title="Repeat", customer=via_lead, amount=D(40), **won)
    store.create("deal", title="From the fair", customer=show, amount=D(7), **won)
    store.create("deal", title="Open", customer=show, amount=D(1000), stage="new")
    store.create("lead", name="Web lead", source="website", status="converted",
                 customer=via_lead, deal=d1, created="2026-01-01T10:00:00+08:00")  # fmt: skip
    store.create("lead", name="Later lead", source="email", customer=via_lead,
                 created="2026-06-01T10:00:00+08:00")  # fmt: skip
    data = jout(run("report", "sources", "--format", "json"))
    rows = {s["source"]: s for s in data["sources"]}
    assert rows["website"]["from_leads"] == {"count": 2, "amount": {USD: D(140)}}
    assert rows["website"]["from_customers"] == {"count": 0, "amount": {}}
    assert rows["email"]["deals_won"] == 0  # the first lead of the customer is credited
    assert rows["trade-show"]["from_customers"] == {"count": 1, "amount": {USD: D(7)}}
    assert rows["trade-show"]["deals_won"] == 1 and rows["trade-show"]["leads"] == 0
    assert data["total"]["deals_won"] == 3 and data["total"]["won_amount"] == {USD: D(147)}
    assert data["total"]["from_customers"]["count"] == 1
    r = run("report", "sources")
    assert "via cust." in r.out and "trade-show" in r.out
