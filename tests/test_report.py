"""Reports: every figure of a small hand-computed CRM, edge cases, JSON shapes,
filters, and tables at 80 columns with CJK names.

The fixture (now = 2026-11-23 10:00 +08:00, pipeline new 10% / qualified 25% /
proposal 50% / negotiation 75%, commit 70%, stall 14 days):

  deal  title             customer  owner  amount   status  stage        history (2026)
  D1    Pump order        Acme      alice  1000 USD won     proposal     new 09-01, qualified 09-11,
                                                                         proposal 09-21, won 10-01
  D2    Valves            北京机械   bob    600 USD  won     new          new 10-01, won 10-21
  D3    Spare parts       Acme      alice  300 USD  lost    qualified    new 08-01, qualified 08-06,
                                                                         lost 08-16
  D4    Big install       Globex    alice  2000 USD open    negotiation  new 10-10, proposal 10-20,
                                                                         negotiation 11-01; close 12-15
  D5    Service contract  北京机械   bob    400 USD  open    proposal     new 11-01, proposal 11-05;
                                                                         close 11-30; call 11-08
  D6    Filters           Globex    bob    -        open    new          new 11-20; no close date
  D7    Old quote         Acme      alice  500 USD  open    qualified    new 06-01, qualified 06-11;
                                                                         close 10-31; note 11-20
  D8    Snoozed deal      Umbrella  alice  700 USD  open    new          new 07-01; close 2027-01-15;
                                                                         snoozed until 12-01
  D9    Euro pumps        Initech   bob    800 EUR  won     qualified    new 11-01, qualified 11-03,
                                                                         won 11-10
  D10   Legacy            Globex    alice  250 USD  open    demo (gone)  new 05-01, demo 05-10
All times 10:00 +08:00; closed_at = the won/lost entry.
"""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal as D

import pytest
from conftest import NOW, _write_tz, run, set_settings, snapshot
from rich.cells import cell_len

from crmcli.dates import parse_iso
from crmcli.reports.base import Scope, Window
from crmcli.reports.customers import apply_tiers, customers
from crmcli.reports.forecast import forecast
from crmcli.reports.funnel import funnel
from crmcli.reports.owners import owners
from crmcli.reports.sources import sources
from crmcli.reports.stalled import stalled
from crmcli.store import Store, init


def T(s: str) -> str:
    return f"2026-{s}:00+08:00"


def build(store: Store) -> tuple[dict[str, str], dict[int, str]]:
    c = {
        "acme": store.create("customer", name="Acme", owner="alice")["id"],
        "bj": store.create("customer", name="北京机械有限公司", owner="bob")["id"],
        "globex": store.create("customer", name="Globex", owner="alice")["id"],
        "initech": store.create(
            "customer", name="Initech", owner="bob", tier="B", tier_manual=True
        )["id"],
        "umbrella": store.create("customer", name="Umbrella", owner="alice")["id"],
    }

    def deal(title, cust, owner, amount, status, stage, hist, currency="USD", **kw):
        return store.create(
            "deal",
            title=title,
            customer=c[cust],
            owner=owner,
            amount=amount,
            currency=currency,
            status=status,
            stage=stage,
            stage_history=[{"stage": s, "at": T(at), "by": owner} for s, at in hist],
            created=T(hist[0][1]),
            **kw,
        )["id"]

    d = {}
    d[1] = deal("Pump order", "acme", "alice", D(1000), "won", "proposal",
                [("new", "09-01T10:00"), ("qualified", "09-11T10:00"),
                 ("proposal", "09-21T10:00"), ("won", "10-01T10:00")],
                closed_at=T("10-01T10:00"))  # fmt: skip
    d[2] = deal("Valves", "bj", "bob", D(600), "won", "new",
                [("new", "10-01T10:00"), ("won", "10-21T10:00")],
                closed_at=T("10-21T10:00"))  # fmt: skip
    d[3] = deal("Spare parts", "acme", "alice", D(300), "lost", "qualified",
                [("new", "08-01T10:00"), ("qualified", "08-06T10:00"), ("lost", "08-16T10:00")],
                closed_at=T("08-16T10:00"))  # fmt: skip
    d[4] = deal("Big install", "globex", "alice", D(2000), "open", "negotiation",
                [("new", "10-10T10:00"), ("proposal", "10-20T10:00"),
                 ("negotiation", "11-01T10:00")],
                close_date="2026-12-15")  # fmt: skip
    d[5] = deal("Service contract", "bj", "bob", D(400), "open", "proposal",
                [("new", "11-01T10:00"), ("proposal", "11-05T10:00")],
                close_date="2026-11-30")  # fmt: skip
    d[6] = deal("Filters", "globex", "bob", None, "open", "new", [("new", "11-20T10:00")])
    d[7] = deal("Old quote", "acme", "alice", D(500), "open", "qualified",
                [("new", "06-01T10:00"), ("qualified", "06-11T10:00")],
                close_date="2026-10-31")  # fmt: skip
    d[8] = deal("Snoozed deal", "umbrella", "alice", D(700), "open", "new",
                [("new", "07-01T10:00")], close_date="2027-01-15",
                snoozed_until="2026-12-01")  # fmt: skip
    d[9] = deal("Euro pumps", "initech", "bob", D(800), "won", "qualified",
                [("new", "11-01T10:00"), ("qualified", "11-03T10:00"), ("won", "11-10T10:00")],
                currency="EUR", closed_at=T("11-10T10:00"))  # fmt: skip
    d[10] = deal("Legacy", "globex", "alice", D(250), "open", "demo",
                 [("new", "05-01T10:00"), ("demo", "05-10T10:00")])  # fmt: skip
    store.create("activity", on=d[7], kind="note", text="Still interested", by="alice",
                 at=T("11-20T10:00"))  # fmt: skip
    store.create("activity", on=d[5], kind="call", text="No answer", by="bob",
                 at=T("11-08T10:00"))  # fmt: skip

    def task(title, owner, due, status, done_at=None):
        store.create("task", title=title, owner=owner, due=due, status=status, done_at=done_at)

    task("T1", "alice", T("11-10T18:00"), "done", T("11-10T12:00"))  # on time
    task("T2", "alice", T("11-12T18:00"), "done", T("11-13T09:00"))  # late
    task("T3", "alice", T("11-20T18:00"), "open")  # overdue
    task("T4", "bob", T("11-30T18:00"), "open")  # not due yet
    task("T5", "bob", "2026-11-15", "done", T("11-15T20:00"))  # a bare date: on time
    task("T6", "bob", T("11-01T09:00"), "cancelled")  # not counted
    task("T7", "alice", None, "done", T("11-02T09:00"))  # no due: not counted

    def lead(name, source, owner, status, created, deal=None):
        store.create("lead", name=name, source=source, owner=owner, status=status, deal=deal,
                     created=T(created))  # fmt: skip

    lead("L1", "website", "alice", "converted", "08-20T10:00", d[1])
    lead("L2", "website", "alice", "new", "11-01T10:00")
    lead("L3", "referral", "bob", "converted", "10-25T10:00", d[9])
    lead("L4", "referral", "bob", "converted", "10-28T10:00", d[5])
    lead("L5", None, "bob", "disqualified", "09-01T10:00")
    lead("L6", "trade-show", "alice", "converted", "09-15T10:00", d[2])
    return c, d


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The fixture CRM, built once per module (creating files is the slow part)."""
    root = tmp_path_factory.mktemp("template") / "crm"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_NOW", NOW)
        mp.setenv("CRM_USER", "alice")
        init(root, "Test CRM")
        _write_tz(root)
        set_settings(root, owners=["alice", "bob", "carol"])
        c, d = build(Store(root))
    return root, c, d


@pytest.fixture
def full(crm, template):
    src, c, d = template
    shutil.rmtree(crm)
    shutil.copytree(src, crm, ignore=shutil.ignore_patterns(".crm"))
    return Store(crm), c, d


def at(text: str, store: Store):
    return parse_iso(text, store.ctx.tz)


def jrun(*args: str):
    r = run("report", *args, "--format", "json")
    assert r.code == 0, r.err
    return json.loads(r.out, parse_float=D)


USD = "USD"


# ----- funnel ----------------------------------------------------------------------------


def test_funnel_every_figure(full):
    store, c, d = full
    data = funnel(store.query("deal"), Scope(store.settings, store.ctx.now()))
    assert data["report"] == "funnel"
    assert (data["since"], data["until"], data["owner"]) == (None, None, None)
    rows = {r["stage"]: r for r in data["stages"]}
    assert [r["stage"] for r in data["stages"]] == ["new", "qualified", "proposal", "negotiation"]
    # reached: D2 (new -> won) and D4 (new -> proposal) skipped stages: they count for the
    # stages before the furthest they got; won deals reached every stage; D10 reached new.
    assert [r["reached"] for r in data["stages"]] == [10, 7, 5, 4]
    assert [r["next"] for r in data["stages"]] == ["qualified", "proposal", "negotiation", "won"]
    # 7/10, 5/7, 4/5, won 3/4
    assert [r["conversion"] for r in data["stages"]] == [D("70.0"), D("71.4"), D("80.0"),
                                                          D("75.0")]  # fmt: skip
    assert [r["probability"] for r in data["stages"]] == [10, 25, 50, 75]
    # now: new D6 (no amount) + D8 700; qualified D7 500; proposal D5 400; negotiation D4 2000
    assert [r["count"] for r in data["stages"]] == [2, 1, 1, 1]
    assert rows["new"]["amount"] == {USD: D(700)}
    assert rows["qualified"]["amount"] == {USD: D(500)}
    assert rows["proposal"]["amount"] == {USD: D(400)}
    assert rows["negotiation"]["amount"] == {USD: D(2000)}
    assert rows["new"]["weighted"] == {USD: D("70.00")}
    assert rows["qualified"]["weighted"] == {USD: D("125.00")}
    assert rows["proposal"]["weighted"] == {USD: D("200.00")}
    assert rows["negotiation"]["weighted"] == {USD: D("1500.00")}
    # finished stays: new 10,20,5,10,4,10,2,9 days -> 70/8 = 8.75; qualified 10,10,7 -> 9;
    # proposal 10,12 -> 11; negotiation: only D4, still there -> none
    assert [r["avg_days"] for r in data["stages"]] == [D("8.8"), D("9.0"), D("11.0"), None]
    assert data["open"] == {"count": 5, "amount": {USD: D(3600)}, "weighted": {USD: D("1895.00")}}
    assert data["won"] == {"count": 3, "amount": {"EUR": D(800), USD: D(1600)}}
    assert data["lost"] == {"count": 1, "amount": {USD: D(300)}}
    assert data["win_rate"] == D("75.0")
    assert data["unknown_stages"] == [{"stage": "demo", "count": 1, "amount": {USD: D(250)}}]


def test_funnel_owner_and_window(full):
    store, c, d = full
    deals, s, now = store.query("deal"), store.settings, store.ctx.now()
    bob = funnel(deals, Scope(s, now, owner="bob"))  # D2, D5, D6, D9
    assert [r["reached"] for r in bob["stages"]] == [4, 3, 3, 2]
    assert [r["conversion"] for r in bob["stages"]] == [D("75.0"), D("100.0"), D("66.7"),
                                                         D("100.0")]  # fmt: skip
    assert bob["won"] == {"count": 2, "amount": {"EUR": D(800), USD: D(600)}}
    assert bob["lost"] == {"count": 0, "amount": {}}
    assert bob["win_rate"] == D("100.0")
    assert bob["unknown_stages"] == []
    # created 2026-10-01 .. 2026-10-31: D2 and D4
    w = funnel(deals, Scope(s, now, since=at("2026-10-01", store),
                            until=at("2026-10-31T23:59:59", store)))  # fmt: skip
    assert [r["reached"] for r in w["stages"]] == [2, 2, 2, 2]
    assert [r["count"] for r in w["stages"]] == [0, 0, 0, 1]
    assert w["won"] == {"count": 1, "amount": {USD: D(600)}}
    assert w["since"] == "2026-10-01T00:00:00+08:00"
    assert w["until"] == "2026-10-31T23:59:59+08:00"


def test_funnel_cli_json_and_filters(full):
    data = jrun("funnel")
    assert [r["reached"] for r in data["stages"]] == [10, 7, 5, 4]
    assert data["open"]["weighted"] == {USD: D("1895.00")}
    assert set(data) == {"report", "since", "until", "owner", "as_of", "stages", "open", "won",
                         "lost", "win_rate", "unknown_stages"}  # fmt: skip
    assert set(data["stages"][0]) == {"stage", "probability", "reached", "count", "amount",
                                      "weighted", "next", "conversion", "avg_days"}  # fmt: skip
    w = jrun("funnel", "--since", "2026-10-01", "--until", "2026-10-31", "--owner", "alice")
    assert [r["reached"] for r in w["stages"]] == [1, 1, 1, 1]  # D4 only
    assert w["owner"] == "alice"
    # money stays exact in the JSON text
    r = run("report", "funnel", "--format", "json")
    assert '"USD": 70.00\n' in r.out and '"USD": 1895.00\n' in r.out


def test_funnel_one_stage_pipeline(crm):
    set_settings(crm, pipeline=[{"stage": "active", "probability": 40}])
    store = Store(crm)
    store.create(
        "deal",
        title="A",
        amount=D(100),
        stage="active",
        status="open",
        stage_history=[{"stage": "active", "at": T("11-01T10:00"), "by": "alice"}],
    )
    store.create("deal", title="B", amount=D(50), stage="active", status="won",
                 stage_history=[{"stage": "active", "at": T("11-01T10:00"), "by": "alice"},
                                {"stage": "won", "at": T("11-03T10:00"), "by": "alice"}],
                 closed_at=T("11-03T10:00"))  # fmt: skip
    store.create(
        "deal",
        title="C",
        amount=D(30),
        stage="new",
        status="open",
        stage_history=[{"stage": "new", "at": T("11-01T10:00"), "by": "alice"}],
    )
    data = funnel(store.query("deal"), Scope(store.settings, store.ctx.now()))
    assert len(data["stages"]) == 1
    row = data["stages"][0]
    assert (row["stage"], row["reached"], row["count"], row["next"]) == ("active", 2, 1, "won")
    assert row["conversion"] == D("50.0")
    assert row["amount"] == {USD: D(100)}
    assert row["weighted"] == {USD: D("40.00")}
    assert row["avg_days"] == D("2.0")
    assert data["win_rate"] == D("100.0")
    assert data["unknown_stages"] == [{"stage": "new", "count": 1, "amount": {USD: D(30)}}]
    r = run("report", "funnel")
    assert r.code == 0, r.err
    assert "active" in r.out and "new" in r.out


def test_unknown_stage_everywhere(crm):
    """A deal in a stage removed from the pipeline never crashes a report."""
    store = Store(crm)
    store.create("deal", title="Old", amount=D(10), stage="demo", status="open", owner="alice",
                 stage_history=[{"stage": "demo", "at": T("01-01T10:00"), "by": "alice"}],
                 created=T("01-01T10:00"), close_date="2026-11-30")  # fmt: skip
    for name in ("funnel", "forecast", "owners", "customers", "sources", "stalled"):
        r = run("report", name)
        assert r.code == 0, (name, r.err)
        data = jrun(name)
        if name in ("funnel", "forecast"):
            assert data["unknown_stages"] == [{"stage": "demo", "count": 1,
                                               "amount": {USD: D(10)}}]  # fmt: skip
    fc = jrun("forecast")
    assert fc["months"][0]["count"] == 0
    st = jrun("stalled")
    assert [(x["stage"], x["known_stage"]) for x in st["deals"]] == [("demo", False)]


# ----- forecast --------------------------------------------------------------------------


def test_forecast_every_figure(full):
    store, c, d = full
    data = forecast(store.query("deal"), Scope(store.settings, store.ctx.now()))
    assert data["report"] == "forecast"
    assert data["commit_probability"] == 70
    m = data["months"]
    assert [x["month"] for x in m] == ["2026-11", "2026-12", "2027-01"]
    # Nov: D5 (proposal 50%, 400); won D9 800 EUR on 11-10
    assert m[0] == {"month": "2026-11", "count": 1, "best_case": {USD: D(400)}, "commit": {},
                    "weighted": {USD: D("200.00")},
                    "won": {"count": 1, "amount": {"EUR": D(800)}}, "target": None}  # fmt: skip
    # Dec: D4 (negotiation 75% >= 70: commit)
    assert m[1] == {"month": "2026-12", "count": 1, "best_case": {USD: D(2000)},
                    "commit": {USD: D(2000)}, "weighted": {USD: D("1500.00")},
                    "won": {"count": 0, "amount": {}}, "target": None}  # fmt: skip
    # Jan: D8 (new 10%), snoozed but still forecast
    assert m[2] == {"month": "2027-01", "count": 1, "best_case": {USD: D(700)}, "commit": {},
                    "weighted": {USD: D("70.00")}, "won": {"count": 0, "amount": {}},
                    "target": None}  # fmt: skip
    assert data["total"] == {"count": 3, "best_case": {USD: D(3100)}, "commit": {USD: D(2000)},
                             "weighted": {USD: D("1770.00")}}  # fmt: skip
    # D7 closes 10-31, already past; D6 has no close date (nor amount)
    assert data["past_close_date"] == {"count": 1, "best_case": {USD: D(500)}, "commit": {},
                                       "weighted": {USD: D("125.00")}}  # fmt: skip
    assert data["no_close_date"] == {"count": 1, "best_case": {}, "commit": {}, "weighted": {}}
    assert data["later"] == {"count": 0, "best_case": {}, "commit": {}, "weighted": {}}
    assert data["unknown_stages"] == [{"stage": "demo", "count": 1, "amount": {USD: D(250)}}]


def test_forecast_months_owner_and_commit_setting(full, crm):
    store, c, d = full
    one = forecast(store.query("deal"), Scope(store.settings, store.ctx.now()), months=1)
    assert [x["month"] for x in one["months"]] == ["2026-11"]
    assert one["later"] == {"count": 2, "best_case": {USD: D(2700)}, "commit": {USD: D(2000)},
                            "weighted": {USD: D("1570.00")}}  # fmt: skip
    bob = jrun("forecast", "--owner", "bob")
    assert [x["count"] for x in bob["months"]] == [1, 0, 0]
    assert bob["no_close_date"]["count"] == 1
    assert bob["unknown_stages"] == []
    set_settings(crm, commit_probability=50)
    data = jrun("forecast")
    assert data["months"][0]["commit"] == {USD: D(400)}
    r = run("report", "forecast", "--months", "0")
    assert r.code == 2 and "0 is not in the range 1<=x<=120" in r.err


# ----- owners ----------------------------------------------------------------------------


def test_owners_every_figure(full):
    store, c, d = full
    data = owners(store.query("deal"), store.query("task"), Scope(store.settings, store.ctx.now()))
    assert data["report"] == "owners"
    rows = {o["owner"]: o for o in data["owners"]}
    assert [o["owner"] for o in data["owners"]] == ["alice", "bob", "carol"]
    assert rows["alice"] == {
        "owner": "alice", "open": 4, "won": 1, "lost": 1, "win_rate": D("50.0"),
        "won_amount": {USD: D(1000)}, "avg_cycle_days": D("30.0"),
        "tasks_on_time": 1, "tasks_late": 1, "tasks_overdue": 1, "targets": [],
    }  # fmt: skip
    assert rows["bob"] == {
        "owner": "bob", "open": 2, "won": 2, "lost": 0, "win_rate": D("100.0"),
        "won_amount": {"EUR": D(800), USD: D(600)}, "avg_cycle_days": D("14.5"),
        "tasks_on_time": 1, "tasks_late": 0, "tasks_overdue": 0, "targets": [],
    }  # fmt: skip
    assert rows["carol"] == {
        "owner": "carol", "open": 0, "won": 0, "lost": 0, "win_rate": None, "won_amount": {},
        "avg_cycle_days": None, "tasks_on_time": 0, "tasks_late": 0, "tasks_overdue": 0,
        "targets": [],
    }  # fmt: skip
    assert data["total"] == {
        "open": 6, "won": 3, "lost": 1, "win_rate": D("75.0"),
        "won_amount": {"EUR": D(800), USD: D(1600)}, "avg_cycle_days": D("19.7"),
        "tasks_on_time": 2, "tasks_late": 1, "tasks_overdue": 1, "targets": [],
    }  # fmt: skip


def test_owners_window_and_owner(full):
    store, c, d = full
    # closed / done from 2026-10-15: D2, D9 won; D1 and D3 out; all done tasks in
    data = jrun("owners", "--since", "2026-10-15")
    rows = {o["owner"]: o for o in data["owners"]}
    assert (rows["alice"]["open"], rows["alice"]["won"], rows["alice"]["lost"]) == (4, 0, 0)
    assert rows["alice"]["win_rate"] is None and rows["alice"]["won_amount"] == {}
    assert (rows["alice"]["tasks_on_time"], rows["alice"]["tasks_late"]) == (1, 1)
    assert rows["bob"]["won"] == 2
    # until 2026-11-12: T2 (done 11-13) and T5 (11-15) fall outside, D9 (11-10) inside
    data = jrun("owners", "--since", "2026-10-15", "--until", "2026-11-12")
    rows = {o["owner"]: o for o in data["owners"]}
    assert (rows["alice"]["tasks_on_time"], rows["alice"]["tasks_late"]) == (1, 0)
    assert rows["bob"]["tasks_on_time"] == 0 and rows["bob"]["won"] == 2
    carol = jrun("owners", "--owner", "carol")
    assert [o["owner"] for o in carol["owners"]] == ["carol"]
    assert carol["total"]["open"] == 0 and carol["owner"] == "carol"


# ----- customers (ABC) -------------------------------------------------------------------


def test_customers_every_figure(full):
    store, c, d = full
    data = customers(
        store.query("customer"), store.query("deal"), Scope(store.settings, store.ctx.now())
    )
    assert data["report"] == "customers"
    assert data["totals"] == {"EUR": D(800), USD: D(1600)}
    assert data["tiers"] == {"A": 3, "B": 0, "C": 2}
    rows = data["customers"]
    assert [r["name"] for r in rows] == ["Acme", "Initech", "北京机械有限公司", "Globex",
                                          "Umbrella"]  # fmt: skip
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["tier"] for r in rows] == ["A", "A", "A", "C", "C"]
    acme, initech, bj, globex, umbrella = rows
    assert acme == {
        "rank": 1, "id": c["acme"], "name": "Acme", "tier": "A", "stored_tier": None,
        "tier_manual": False, "revenue": {USD: D(1000)}, "share": {USD: D("62.5")},
        "cumulative_share": {USD: D("62.5")}, "purchases": 1, "last_won": "2026-10-01",
        "days_since_last_won": 53,
    }  # fmt: skip
    assert (bj["share"], bj["cumulative_share"]) == ({USD: D("37.5")}, {USD: D("100.0")})
    assert (bj["purchases"], bj["last_won"], bj["days_since_last_won"]) == (1, "2026-10-21", 33)
    assert initech["revenue"] == {"EUR": D(800)} and initech["share"] == {"EUR": D("100.0")}
    assert (initech["stored_tier"], initech["tier_manual"]) == ("B", True)
    assert initech["days_since_last_won"] == 13
    assert globex["revenue"] == {} and globex["purchases"] == 0
    assert globex["last_won"] is None and globex["days_since_last_won"] is None
    assert data["without_customer"] == {"count": 0, "amount": {}}


def test_customers_abc_boundaries(store):
    """A while the cumulative share before the customer is below 80%, B below 95%."""
    revenue = {"X1": 50, "X2": 30, "X3": 10, "X4": 5, "X5": 3, "X6": 2}
    for name, amount in revenue.items():
        cid = store.create("customer", name=name)["id"]
        store.create("deal", title=f"d{name}", customer=cid, amount=D(amount), stage="new",
                     status="won", closed_at=T("11-01T10:00"))  # fmt: skip
    store.create("customer", name="X7")
    store.create("deal", title="orphan", amount=D(9), stage="new", status="won",
                 closed_at=T("11-01T10:00"))  # fmt: skip
    data = customers(
        store.query("customer"), store.query("deal"), Scope(store.settings, store.ctx.now())
    )
    got = [(r["name"], r["tier"], r["cumulative_share"].get(USD)) for r in data["customers"]]
    assert got == [
        ("X1", "A", D("50.0")),  # before 0%
        ("X2", "A", D("80.0")),  # before 50%: crosses 80%, still A
        ("X3", "B", D("90.0")),  # before 80%: not below 80%
        ("X4", "B", D("95.0")),  # before 90%
        ("X5", "C", D("98.0")),  # before 95%
        ("X6", "C", D("100.0")),
        ("X7", "C", None),  # no revenue
    ]
    assert data["tiers"] == {"A": 2, "B": 2, "C": 3}
    assert data["totals"] == {USD: D(100)}
    assert data["without_customer"] == {"count": 1, "amount": {USD: D(9)}}


def test_customers_ties_share_a_tier(store):
    for name, amount in {"P": 70, "Q": 15, "R": 15}.items():
        cid = store.create("customer", name=name)["id"]
        store.create("deal", title=f"d{name}", customer=cid, amount=D(amount), stage="new",
                     status="won", closed_at=T("11-01T10:00"))  # fmt: skip
    data = customers(
        store.query("customer"), store.query("deal"), Scope(store.settings, store.ctx.now())
    )
    # R comes after Q (85% before it) but has Q's revenue: it gets Q's tier
    assert [(r["name"], r["tier"]) for r in data["customers"]] == [("P", "A"), ("Q", "A"),
                                                                   ("R", "A")]  # fmt: skip


def test_customers_per_currency_and_window(full):
    store, c, d = full
    # won from 2026-10-15: D2 (北京, 600 USD), D9 (Initech, 800 EUR)
    data = jrun("customers", "--since", "2026-10-15")
    assert data["totals"] == {"EUR": D(800), USD: D(600)}
    acme = next(r for r in data["customers"] if r["name"] == "Acme")
    assert (acme["tier"], acme["revenue"], acme["purchases"]) == ("C", {}, 0)
    bob = jrun("customers", "--owner", "bob")
    assert [r["name"] for r in bob["customers"]] == ["Initech", "北京机械有限公司"]
    assert bob["totals"] == {"EUR": D(800), USD: D(600)}
    assert bob["applied"] is None


def test_customers_apply_writes_tiers_but_not_manual_ones(full, crm):
    store, c, d = full
    before = snapshot(crm)
    r = run("report", "customers", "--apply", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert sorted((a["name"], a["from"], a["to"]) for a in data["applied"]) == [
        ("Acme", None, "A"), ("Globex", None, "C"), ("Umbrella", None, "C"),
        ("北京机械有限公司", None, "A"),
    ]  # fmt: skip
    assert "Set the tier of 4 customers; left 1 with a manual tier alone" in r.err
    from crmcli.commands.common import state

    assert state.store.messages == ["report: set ABC tier of 4 customers (A 2, C 2)"]
    fresh = Store(crm)
    tiers = {x["name"]: x["tier"] for x in fresh.query("customer")}
    assert tiers == {"Acme": "A", "北京机械有限公司": "A", "Globex": "C", "Umbrella": "C",
                     "Initech": "B"}  # fmt: skip
    changed = {p for p, b in snapshot(crm).items() if before.get(p) != b}
    assert changed == {f"customers/{c[k]}.yaml" for k in ("acme", "bj", "globex",
                                                                     "umbrella")}  # fmt: skip
    # applying again changes nothing
    again = snapshot(crm)
    r = run("report", "customers", "--apply", "--format", "json")
    assert r.code == 0 and json.loads(r.out)["applied"] == []
    assert snapshot(crm) == again


def test_customers_apply_notes_the_change(full):
    store, c, d = full
    with store.lock():
        data = customers(
            store.query("customer"), store.query("deal"), Scope(store.settings, store.ctx.now())
        )
        changes = apply_tiers(store, data)
    assert {rec["name"] for rec, _, _ in changes} == {"Acme", "北京机械有限公司", "Globex",
                                                       "Umbrella"}  # fmt: skip


def test_customers_apply_refuses_owner(full, crm):
    before = snapshot(crm)
    r = run("report", "customers", "--apply", "--owner", "bob")
    assert r.code == 1
    assert r.err.startswith("Error: --apply ranks every customer")
    assert snapshot(crm) == before


# ----- sources ---------------------------------------------------------------------------


def test_sources_every_figure(full):
    store, c, d = full
    data = sources(store.query("lead"), store.query("deal"), Scope(store.settings, store.ctx.now()))
    assert data["report"] == "sources"
    assert [s["source"] for s in data["sources"]] == ["referral", "website", "trade-show",
                                                      "email", "event", "phone", None]  # fmt: skip
    rows = {s["source"]: s for s in data["sources"]}
    assert rows["referral"] == {"source": "referral", "leads": 2, "converted": 2,
                                "conversion_rate": D("100.0"), "deals_won": 1,
                                "won_amount": {"EUR": D(800)},
                                "from_leads": {"count": 1, "amount": {"EUR": D(800)}}, "from_customers": {"count": 0, "amount": {}}}  # fmt: skip
    assert rows["website"] == {"source": "website", "leads": 2, "converted": 1,
                               "conversion_rate": D("50.0"), "deals_won": 1,
                               "won_amount": {USD: D(1000)},
                               "from_leads": {"count": 1, "amount": {USD: D(1000)}}, "from_customers": {"count": 0, "amount": {}}}  # fmt: skip
    assert rows["trade-show"] == {"source": "trade-show", "leads": 1, "converted": 1,
                                  "conversion_rate": D("100.0"), "deals_won": 1,
                                  "won_amount": {USD: D(600)},
                                  "from_leads": {"count": 1, "amount": {USD: D(600)}}, "from_customers": {"count": 0, "amount": {}}}  # fmt: skip
    assert rows["email"] == {"source": "email", "leads": 0, "converted": 0,
                             "conversion_rate": None, "deals_won": 0, "won_amount": {},
                             "from_leads": {"count": 0, "amount": {}}, "from_customers": {"count": 0, "amount": {}}}  # fmt: skip
    assert rows[None] == {"source": None, "leads": 1, "converted": 0,
                          "conversion_rate": D("0.0"), "deals_won": 0, "won_amount": {},
                          "from_leads": {"count": 0, "amount": {}}, "from_customers": {"count": 0, "amount": {}}}  # fmt: skip
    assert data["total"] == {"leads": 6, "converted": 4, "conversion_rate": D("66.7"),
                             "deals_won": 3, "won_amount": {"EUR": D(800), USD: D(1600)},
                             "from_leads": {"count": 3, "amount": {"EUR": D(800), USD: D(1600)}}, "from_customers": {"count": 0, "amount": {}}}  # fmt: skip


def test_sources_window_and_owner(full):
    data = jrun("sources", "--since", "2026-10-01")  # L2, L3, L4
    rows = {s["source"]: s for s in data["sources"]}
    assert (rows["referral"]["leads"], rows["referral"]["converted"]) == (2, 2)
    assert (rows["website"]["leads"], rows["website"]["conversion_rate"]) == (1, D("0.0"))
    assert rows["website"]["deals_won"] == 0
    assert None not in rows
    assert data["total"]["leads"] == 3
    alice = jrun("sources", "--owner", "alice")  # L1, L2, L6
    assert alice["total"] == {"leads": 3, "converted": 2, "conversion_rate": D("66.7"),
                              "deals_won": 2, "won_amount": {USD: D(1600)},
                              "from_leads": {"count": 2, "amount": {USD: D(1600)}}, "from_customers": {"count": 0, "amount": {}}}  # fmt: skip


def test_sources_deal_counted_once_in_total(store):
    deal = store.create("deal", title="Shared", amount=D(5), stage="new", status="won",
                        closed_at=T("11-01T10:00"))["id"]  # fmt: skip
    store.create("lead", name="A", source="web", status="converted", deal=deal)
    store.create("lead", name="B", source="event", status="converted", deal=deal)
    data = sources(store.query("lead"), store.query("deal"), Scope(store.settings, store.ctx.now()))
    assert data["total"]["deals_won"] == 1 and data["total"]["won_amount"] == {USD: D(5)}


# ----- stalled ---------------------------------------------------------------------------


def test_stalled_every_figure(full):
    store, c, d = full
    data = stalled(store.query("deal"), store.query("activity"), store.query("customer"),
                   Scope(store.settings, store.ctx.now()))  # fmt: skip
    assert data["report"] == "stalled" and data["days"] == 14
    # D10 idle since 05-10, D4 since 11-01, D5 since its call on 11-08;
    # D7 had a note on 11-20, D6 is 3 days old, D8 is snoozed until 12-01
    assert [x["id"] for x in data["deals"]] == [d[10], d[4], d[5]]
    assert data["deals"][0] == {
        "id": d[10], "title": "Legacy", "customer": c["globex"], "customer_name": "Globex",
        "owner": "alice", "stage": "demo", "known_stage": False, "amount": D(250),
        "currency": USD, "close_date": None, "last_activity_at": "2026-05-10T10:00:00+08:00",
        "last_activity": "stage: demo", "idle_days": 197,
    }  # fmt: skip
    d4, d5 = data["deals"][1:]
    assert (d4["idle_days"], d4["last_activity"], d4["known_stage"]) == (22, "stage: negotiation",
                                                                         True)  # fmt: skip
    assert (d5["idle_days"], d5["last_activity"], d5["last_activity_at"]) == (
        15, "call: No answer", "2026-11-08T10:00:00+08:00")  # fmt: skip
    assert d5["customer_name"] == "北京机械有限公司"
    assert data["total"] == {"count": 3, "amount": {USD: D(2650)}}
    assert data["snoozed"] == 1


def test_stalled_days_owner_and_setting(full, crm):
    data = jrun("stalled", "--days", "20")
    assert [x["title"] for x in data["deals"]] == ["Legacy", "Big install"]
    bob = jrun("stalled", "--owner", "bob")
    assert [x["title"] for x in bob["deals"]] == ["Service contract"]
    assert bob["snoozed"] == 0 and bob["owner"] == "bob"
    set_settings(crm, stall_days=16)
    assert [x["title"] for x in jrun("stalled")["deals"]] == ["Legacy", "Big install"]
    assert jrun("stalled")["days"] == 16


def test_stalled_and_customers_limit_table_rows(full):
    r = run("report", "stalled", "--limit", "1")
    assert r.code == 0
    assert "Legacy" in r.out and "Big install" not in r.out
    assert "2 more not shown (--limit 0 shows all)" in r.err
    assert "3 stalled" in r.out
    r = run("report", "customers", "--limit", "2")
    assert "Acme" in r.out and "Initech" in r.out and "Globex" not in r.out
    assert "3 more not shown" in r.err
    data = jrun("stalled", "--limit", "1")  # --limit cuts the JSON list too (issue 12)
    assert len(data["deals"]) == 1 and data["total"]["count"] == 3
    assert len(jrun("stalled")["deals"]) == 3
    assert len(jrun("customers", "--limit", "2")["customers"]) == 2


def test_stalled_snooze_ends_on_its_day(crm, monkeypatch):
    store = Store(crm)
    store.create("deal", title="Napping", amount=D(1), stage="new", status="open",
                 created=T("01-01T10:00"), snoozed_until="2026-11-23")  # fmt: skip
    data = jrun("stalled")
    assert [x["title"] for x in data["deals"]] == ["Napping"] and data["snoozed"] == 0
    monkeypatch.setenv("CRM_NOW", "2026-11-22T10:00:00+08:00")
    data = jrun("stalled")
    assert data["deals"] == [] and data["snoozed"] == 1


# ----- currencies, empty CRM, errors -----------------------------------------------------


def test_several_currencies_are_never_added(crm):
    store = Store(crm)
    for title, amount, cur in (("U", 100, "USD"), ("E", 200, "EUR"), ("C", 300, "CNY"),
                               ("U2", 50, "USD"), ("N", 7, None)):  # fmt: skip
        store.create("deal", title=title, amount=D(amount), currency=cur, stage="proposal",
                     status="open", close_date="2026-12-01", created=T("10-01T10:00"),
                     stage_history=[{"stage": "proposal", "at": T("10-01T10:00"),
                                     "by": "alice"}])  # fmt: skip
    f = funnel(store.query("deal"), Scope(store.settings, store.ctx.now()))
    # a deal without a currency is in the CRM's currency (USD here)
    assert f["stages"][2]["amount"] == {"CNY": D(300), "EUR": D(200), USD: D(157)}
    assert f["stages"][2]["weighted"] == {"CNY": D(150), "EUR": D(100), USD: D("78.50")}
    assert f["open"]["amount"] == {"CNY": D(300), "EUR": D(200), USD: D(157)}
    fc = forecast(store.query("deal"), Scope(store.settings, store.ctx.now()))
    assert fc["months"][1]["best_case"] == {"CNY": D(300), "EUR": D(200), USD: D(157)}
    st = stalled(store.query("deal"), [], [], Scope(store.settings, store.ctx.now()))
    assert st["total"]["amount"] == {"CNY": D(300), "EUR": D(200), USD: D(157)}
    r = run("report", "forecast")
    assert r.code == 0
    dec = [m for x in r.out.splitlines() if (m := re.search(r"\b(CNY|EUR|USD)\s+(\S+)", x))][:3]
    assert [m[1] for m in dec] == ["CNY", "EUR", "USD"]
    assert [m[2] for m in dec] == ["300.00", "200.00", "157.00"]


EMPTY_KEYS = {
    "funnel": {"report", "as_of", "since", "until", "owner", "stages", "open", "won", "lost", "win_rate",
               "unknown_stages"},
    "forecast": {"report", "as_of", "owner", "commit_probability", "months", "total", "targets",
                 "past_close_date",
                 "no_close_date", "later", "unknown_stages"},
    "owners": {"report", "as_of", "since", "until", "owner", "owners", "total"},
    "customers": {"report", "as_of", "since", "until", "owner", "totals", "tiers", "customers",
                  "without_customer", "applied"},
    "sources": {"report", "as_of", "since", "until", "owner", "sources", "total"},
    "stalled": {"report", "as_of", "owner", "days", "deals", "total", "snoozed"},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EMPTY_KEYS))
def test_empty_crm(crm, name):
    data = jrun(name)
    assert set(data) == EMPTY_KEYS[name]
    assert data["report"] == name
    r = run("report", name)
    assert r.code == 0, r.err
    assert "Traceback" not in r.err


def test_empty_crm_figures(crm):
    f = jrun("funnel")
    assert [(s["reached"], s["count"], s["amount"], s["conversion"], s["avg_days"])
            for s in f["stages"]] == [(0, 0, {}, None, None)] * 4  # fmt: skip
    assert f["win_rate"] is None and f["won"] == {"count": 0, "amount": {}}
    fc = jrun("forecast")
    assert [m["count"] for m in fc["months"]] == [0, 0, 0]
    assert jrun("owners")["owners"] == []
    assert jrun("customers")["customers"] == []
    s = jrun("sources")
    assert [x["leads"] for x in s["sources"]] == [0] * 6 and s["total"]["conversion_rate"] is None
    assert jrun("stalled")["deals"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (("funnel", "--since", "someday"), "Error: cannot understand the date 'someday'"),
        (("owners", "--since", "2026-11-01", "--until", "2026-10-01"), "Error: --since"),
    ],
)
def test_bad_options(crm, args, message):
    r = run("report", *args)
    assert r.code == 1
    assert r.err.startswith(message)
    assert r.out == ""


def test_usage_errors_exit_2(crm):
    assert run("report", "forecast", "--months", "x").code == 2
    r = run("report", "stalled", "--days", "-1")
    assert r.code == 2 and "'--days'" in r.err and "-1 is not in the range" in r.err
    assert run("report", "funnel", "--format", "xml").code == 2
    assert run("report", "nosuch").code == 2


def test_window_is_inclusive():
    import datetime as dt

    tz = dt.timezone(dt.timedelta(hours=8))
    a = dt.datetime(2026, 1, 1, tzinfo=tz)
    b = dt.datetime(2026, 1, 31, 23, 59, 59, tzinfo=tz)
    w = Window(a, b)
    assert a in w and b in w and None not in w
    assert dt.datetime(2026, 2, 1, tzinfo=tz) not in w
    assert None in Window()


# ----- tables at 80 columns --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EMPTY_KEYS))
def test_tables_fit_80_columns_with_cjk(full, crm, name):
    store, c, d = full
    # a long Chinese name, on the deal customer of a stalled deal and in the ABC table
    bj = store.load("customer", c["bj"])
    bj["name"] = "北京精密机械制造股份有限公司华北销售分公司"
    store.save("customer", bj)
    wang = "王小明的华东区大客户销售团队"
    store.create("task", title="回访", owner=wang, due=T("11-01T10:00"), status="open")
    store.create("lead", name="李四", source="上海国际工业博览会展位", owner=wang)
    store.create("deal", title="上海电气集团股份有限公司涡轮机年度采购", amount=D("1234567.89"),
                 currency="CNY", stage="proposal", status="open", owner=wang,
                 customer=c["bj"], created=T("01-01T10:00"), close_date="2026-12-01")  # fmt: skip
    r = run("report", name)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines, name
    widest = max(cell_len(line) for line in lines)
    assert widest <= 80, "\n".join(x for x in lines if cell_len(x) > 80)
    assert "\x1b[" not in r.out  # no colour off a terminal
    if name in ("customers", "stalled"):
        assert "北京" in r.out
    if name in ("owners", "stalled"):
        assert "王小明" in r.out
    if name == "sources":
        assert "上海国际" in r.out


def test_funnel_table_draws_bars(full):
    r = run("report", "funnel")
    rows: dict[str, str] = {}
    for line in r.out.splitlines():  # the first table: the bars
        if "#" in line:
            rows.setdefault(line.split()[0], line)
    bars = {k: rows[k].count("#") for k in ("new", "qualified", "proposal", "negotiation")}
    # reached 10, 7, 5, 4 on a 40-cell bar
    assert bars == {"new": 40, "qualified": 28, "proposal": 20, "negotiation": 16}
    assert "Win rate: 75.0%" in r.out
    assert "demo" in r.out  # the stage no longer in the pipeline, listed apart


def test_customers_count_a_deal_of_a_merged_away_customer_for_the_one_kept(store):
    """A deal from another clone can still point at a customer merged away here."""
    keep = store.create("customer", name="Acme")["id"]
    store.create("deal", title="direct", customer=keep, amount=D(10), stage="new",
                 status="won", closed_at=T("11-01T10:00"))  # fmt: skip
    store.create("deal", title="via old id", customer="old00001", amount=D(5), stage="new",
                 status="won", closed_at=T("11-01T10:00"))  # fmt: skip
    store.create("deal", title="via two merges", customer="old00002", amount=D(1), stage="new",
                 status="won", closed_at=T("11-01T10:00"))  # fmt: skip
    store.write_tombstone("customer", "old00001", keep)
    store.write_tombstone("customer", "old00002", "old00001")
    r = run("report", "customers", "--format", "json")
    assert r.code == 0, r.err
    data = r.json()
    assert [(c["name"], c["revenue"], c["purchases"]) for c in data["customers"]] == [
        ("Acme", {USD: 16}, 3)
    ]
    assert data["without_customer"]["count"] == 0


def test_owners_and_stalled_read_only_what_they_are_given(full):
    """The commands pass light records and projections (the whole ones cost seconds
    and a hundred MB at 100,000 records): the answers are those of whole records."""
    from crmcli.reports.owners import DEAL_FIELDS, TASK_FIELDS

    store, _c, _d = full
    now = store.ctx.now()
    since = at("2026-01-01T00:00", store)
    deals, tasks = store.query("deal"), store.query("task")
    assert tasks and any(t.get("status") == "done" for t in tasks)
    whole = owners(deals, tasks, Scope(store.settings, now, since=since))
    light = owners(store.query("deal", fields=DEAL_FIELDS), store.query("task", fields=TASK_FIELDS),
                   Scope(store.settings, now, since=since))  # fmt: skip
    assert light == whole
    whole = stalled(
        deals, store.query("activity"), store.query("customer"), Scope(store.settings, now)
    )
    light = stalled(store.query("deal", {"status": "open"}), store.query("activity"),
                    store.query("customer", fields=("id", "name")), Scope(store.settings, now))  # fmt: skip
    assert light == whole and whole["deals"]


def test_customers_and_sources_read_only_what_they_are_given(full, monkeypatch):
    from crmcli.reports.customers import CUSTOMER_FIELDS
    from crmcli.reports.sources import LEAD_FIELDS

    store, _c, _d = full
    now, settings = store.ctx.now(), store.settings
    gone = store.create("customer", name="Merged away")["id"]
    store.write_tombstone("customer", gone, _c["acme"])
    [tomb] = store.query("customer", {"merged": True}, fields=("id", "merged_into"))
    assert tomb == {"id": gone, "merged_into": _c["acme"]}
    monkeypatch.setenv("CRM_NO_INDEX", "1")
    assert Store(store.root).query("customer", {"merged": True}, fields=tuple(tomb)) == [tomb]
    monkeypatch.delenv("CRM_NO_INDEX")
    everyone = [*store.query("customer"), *store.query("customer", {"merged": True})]
    merged = [c for c in everyone if "merged_into" in c]
    live = [c for c in everyone if "merged_into" not in c]
    deals, won = store.query("deal"), store.query("deal", {"status": "won"})
    assert won and len(won) < len(deals)
    whole = customers(live, deals, Scope(settings, now), merged=merged)
    light = customers(store.query("customer", fields=CUSTOMER_FIELDS), won, Scope(settings, now),
                      merged=store.query("customer", {"merged": True}))  # fmt: skip
    assert light == whole and whole["totals"]
    whole = sources(store.query("lead"), deals, Scope(settings, now))
    light = sources(store.query("lead", fields=LEAD_FIELDS), won, Scope(settings, now))
    assert light == whole and whole["total"]["deals_won"]
