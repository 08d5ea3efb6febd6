"""The dashboard (crm report dashboard): every report as a chart beside its numbers,
in one HTML page that needs nothing else.

`panels` runs the reports (crmcli/reports: the same functions over the same records
as `crm report X`) and keeps each report's dict as its JSON prints it; `page` lays
them out: per panel a chart (crmcli/charts.py, inline SVG), a small table of the
numbers (money exact: formats.money_text), and the report's data as a JSON script
(id `data-KEY`), so what a chart shows can be checked against `crm report X --format
json`. Nothing is fetched: no external script, style, font or image; a print
stylesheet lays it out for paper or PDF.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from crmcli.formats import money_text
from crmcli.models import Record
from crmcli.reports.base import Scope

FORECAST_MONTHS = 6  # the forecast's months, from the current one
WON_MONTHS = 12  # won revenue per month: the current month and the 11 before it
CHANGES_DAYS = 30  # the changes waterfall: the last 30 days (--since -30d)
TABLE_ROWS = 15  # rows of the customers and stalled tables (the JSON keeps all)


@dataclass
class Panel:
    """One report on the page: its chart, its numbers, the data behind both."""

    key: str  # funnel, forecast, won_by_month, changes, sources, customers, stalled
    title: str
    command: str  # the crm command whose JSON the data is
    data: dict[str, Any]
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    chart: Callable[[dict[str, Any]], Any] | None = None  # None: charts.CHARTS[key]
    more: list[tuple[list[str], list[list[Any]]]] = field(default_factory=list)  # more tables


# ----- the numbers -------------------------------------------------------------------------


def money_cell(amount: dict[str, Decimal]) -> str:
    """Money per currency, exact, one currency a line; '-' for none."""
    return "\n".join(money_text(v, cur) for cur, v in amount.items()) or "-"


def money_rows(cells: list[Any], amounts: list[dict[str, Decimal]]) -> list[list[Any]]:
    """Rows of a table with a `cur` column, as the terminal tables have: one row per
    currency met in `amounts` (the `cells` before the currency on the first only),
    each amount exact ('-' where a currency has none)."""
    curs = sorted({cur for m in amounts for cur in m})
    if not curs:
        return [[*cells, "", *("-" for _ in amounts)]]
    blank = ["" for _ in cells]
    return [
        [*(cells if i == 0 else blank), cur, *(money_text(m[cur]) if cur in m else "-"
                                               for m in amounts)]
        for i, cur in enumerate(curs)
    ]  # fmt: skip


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value}%"


def _count(n: int) -> str:
    return f"{n:,}"


# The fields of the records the reports read (the dashboard reads only these: a
# projection from the index, so 100,000 records fit in memory with the charts).
DEAL_FIELDS = ("id", "title", "customer", "owner", "status", "stage", "stage_history", "amount",
               "currency", "close_date", "closed_at", "created", "snoozed_until")  # fmt: skip
ACTIVITY_FIELDS = ("on", "kind", "text", "at")


def panels(
    store: Any, scope: Scope, months: int = FORECAST_MONTHS, live: Any = None
) -> list[Panel]:
    """Every panel of the dashboard, in order, for the CRM in `store` (each list of
    records is read once, and leads and activities only while their panel needs them).
    With --as-of, `store` is the CRM as it stood then and `live` the CRM (its git
    history gives the changes)."""
    from crmcli.reports import customers, sources

    deals = store.query("deal", fields=DEAL_FIELDS)
    fields = tuple(dict.fromkeys(customers.CUSTOMER_FIELDS + sources.CUSTOMER_FIELDS))
    customer_records = store.query("customer", fields=fields)
    parts = [
        funnel_panel(deals, scope),
        forecast_panel(deals, scope, months),
        won_panel(deals, scope),
        changes_panel(live or store, scope),
        sources_panel(
            store.query("lead", fields=sources.LEAD_FIELDS), deals, customer_records, scope
        ),  # fmt: skip
        customers_panel(customer_records, deals, scope, store.query("customer", {"merged": True})),
        stalled_panel(
            deals, store.query("activity", fields=ACTIVITY_FIELDS), customer_records, scope
        ),
    ]
    if scope.as_of:
        for p in parts:
            if p.key != "changes":
                p.command += f" --as-of {scope.as_of['at']}"
    return parts


def funnel_panel(deals: list[Record], scope: Scope) -> Panel:
    from crmcli.reports.funnel import funnel

    data = funnel(deals, scope)
    rows = []
    for s in data["stages"]:
        cells = [s["stage"], _count(s["reached"]), _pct(s["conversion"]), _count(s["count"])]
        rows += money_rows(cells, [s["amount"], s["weighted"]])
    o = data["open"]
    rows += money_rows(["open", "", "", _count(o["count"])], [o["amount"], o["weighted"]])
    for key in ("won", "lost"):
        rows += money_rows([key, "", "", _count(data[key]["count"])], [data[key]["amount"], {}])
    return Panel(
        "funnel",
        "Funnel",
        "crm report funnel",
        data,
        ["stage", "reached", "conv.", "open now", "cur", "amount", "weighted"],
        rows,
        [f"Win rate {_pct(data['win_rate'])}. conv.: of the deals that reached a stage, "
         "the share that reached the next (the last stage: won)."],
    )  # fmt: skip


def forecast_panel(deals: list[Record], scope: Scope, months: int) -> Panel:
    from crmcli.charts import month_targets
    from crmcli.reports.forecast import forecast

    data = forecast(deals, scope, months=months)
    goals = month_targets(data)
    rows = []
    for m in data["months"]:
        amounts = [m["best_case"], m["commit"], m["weighted"], m["won"]["amount"]]
        rows += money_rows([m["month"], _count(m["count"])],
                           amounts + ([goals.get(m["month"], {})] if goals else []))  # fmt: skip
    for key, label in (("past_close_date", "close date past"), ("no_close_date", "no close date"),
                       ("later", "closing later")):  # fmt: skip
        part = data[key]
        if part["count"]:
            amounts = [part["best_case"], part["commit"], part["weighted"], {}]
            rows += money_rows([label, _count(part["count"])], amounts + ([{}] if goals else []))
    columns = ["month", "deals", "cur", "best case", "commit", "weighted", "won"]
    periods = data.get("targets") or []
    return Panel(
        "forecast",
        "Forecast by month" + (" against target" if periods else ""),
        f"crm report forecast --months {months}",
        data,
        [*columns, "target"] if goals else columns,
        rows,
        [f"Open deals by the month of their close date; commit: stages at "
         f"{data['commit_probability']}% or more; won: deals closed in the month."]
        + (["Targets: won in the period (attainment), and the open deals closing in it "
            "from today (coverage: weighted / what is left to win)."] if periods else []),
        more=[(["period", "cur", "target", "won", "attain.", "best case", "commit", "weighted",
                "coverage"], [target_row(t["period"], t) for t in periods])] if periods else [],
    )  # fmt: skip


def target_row(label: str, t: dict[str, Any]) -> list[str]:
    """A `targets` entry of a report as a table row (money exact)."""
    return [label, t["currency"], money_text(t["target"]), money_text(t["won"]),
            _pct(t["attainment"]), money_text(t["best_case"]), money_text(t["commit"]),
            money_text(t["weighted"]), _pct(t["coverage"])]  # fmt: skip


def month_windows(scope: Scope, count: int = WON_MONTHS) -> list[tuple[str, str, str]]:
    """(YYYY-MM, first day, last day) of the `count` months up to the current one."""
    today = scope.now.date()
    y, m = today.year, today.month
    found = []
    for _ in range(count):
        first = date(y, m, 1)
        last = (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)
        found.append((f"{y:04d}-{m:02d}", first.isoformat(), last.isoformat()))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return found[::-1]


def won_panel(deals: list[Record], scope: Scope) -> Panel:
    """Won revenue per month: `report owners` over each month (its total)."""
    from crmcli.dates import parse_when
    from crmcli.reports.owners import owners

    won = [d for d in deals if d.get("status") == "won"]
    months = []
    for key, first, last in month_windows(scope):
        window = replace(scope, since=parse_when(first, scope.now),
                         until=parse_when(last, scope.now, end_of_day=True))  # fmt: skip
        total = owners(won, [], window)["total"]
        months.append({"month": key, "since": first, "until": last, "won": total["won"],
                       "won_amount": total["won_amount"]})  # fmt: skip
    data = {"report": "won_by_month", "owner": scope.owner, "months": months}
    rows = []
    for m in months:
        rows += money_rows([m["month"], _count(m["won"])], [m["won_amount"]])
    return Panel(
        "won_by_month",
        f"Won revenue per month (last {WON_MONTHS} months)",
        "crm report owners --since FIRST --until LAST (its total), for each month",
        data,
        ["month", "won deals", "cur", "won amount"],
        rows,
        ["Deals won (closed_at) in each month; the current month so far."],
    )


def changes_panel(store: Any, scope: Scope) -> Panel:
    """The changes of the last 30 days (report changes --since -30d) as a waterfall;
    a CRM without git history gets a note saying so instead."""
    from crmcli.asof import deal_changes
    from crmcli.dates import iso, parse_when
    from crmcli.errors import CrmError
    from crmcli.reports.changes import changes

    since = f"-{CHANGES_DAYS}d"
    window = replace(scope, since=parse_when(since, scope.now), until=None)
    command = f"crm report changes --since {since}"
    if scope.as_of:  # the 30 days up to then
        window = replace(window, until=scope.now, as_of=None)
        command = f"crm report changes --since {iso(window.since)} --until {iso(scope.now)}"
    title = f"Pipeline changes of the last {CHANGES_DAYS} days"
    try:
        start, end, versions, commits = deal_changes(store, window.since, window.until)
    except CrmError as e:
        data = {"report": "changes", "error": str(e)}
        why = f"Not available: {e}"
        return Panel("changes", title, command, data, [], [], [why],
                     chart=lambda d: _placeholder(title, "needs the CRM's git history"))  # fmt: skip
    data = changes(start, end, versions, window, commits=commits)
    rows = [
        [cur if i == 0 else "", s["step"].replace("_", " "), _count(s["count"]),
         money_text(s["amount"])]
        for cur, steps in data["waterfall"].items()
        for i, s in enumerate(steps)
        if s["step"] in ("start", "end") or s["count"] or s["amount"]
    ]  # fmt: skip
    moved = len(data["deals"])
    return Panel(
        "changes",
        title,
        command,
        data,
        ["cur", "open pipeline", "deals", "amount"],
        rows,
        [f"Start + added + reopened - won - lost - removed ± changed = end, exactly; "
         f"{moved} deal{'s' if moved != 1 else ''} changed (crm report changes lists them)."],
    )  # fmt: skip


def _placeholder(title: str, text: str) -> Any:
    from crmcli import charts

    return charts.nothing(title, text)


def sources_panel(
    leads: list[Record], deals: list[Record], customer_records: list[Record], scope: Scope
) -> Panel:
    from crmcli.reports.sources import sources

    data = sources(leads, deals, scope, customers=customer_records)
    rows = []
    for s in [*data["sources"], {"source": "total", **data["total"]}]:
        cells = [s["source"] if s["source"] is not None else "(none)", _count(s["leads"]),
                 _count(s["converted"]), _pct(s["conversion_rate"]), _count(s["deals_won"]),
                 _count(s["from_customers"]["count"])]  # fmt: skip
        rows += money_rows(cells, [s["won_amount"]])
    return Panel(
        "sources",
        "Lead sources to won revenue",
        "crm report sources",
        data,
        ["source", "leads", "converted", "rate", "won", "via cust.", "cur", "won amount"],
        rows,
        ["A won deal is credited to the source of the lead it came from, else of its "
         "customer's lead, else of its customer (via cust.: those through customers)."],
    )  # fmt: skip


def customers_panel(
    customer_records: list[Record], deals: list[Record], scope: Scope, merged: list[Record]
) -> Panel:
    from crmcli.reports.customers import customers

    data = customers(customer_records, deals, scope, merged=merged)
    data["applied"] = None  # as `crm report customers` prints it without --apply
    paying = [c for c in data["customers"] if c["revenue"]]
    rows = []
    for c in paying[:TABLE_ROWS]:
        for i, cur in enumerate(sorted(c["revenue"])):
            cells = [str(c["rank"]), c["name"], c["tier"]] if i == 0 else ["", "", ""]
            rows.append([*cells, cur, money_text(c["revenue"][cur]),
                         _pct(c["cumulative_share"].get(cur))])  # fmt: skip
    tiers = data["tiers"]
    notes = [f"Tiers: A {tiers['A']}, B {tiers['B']}, C {tiers['C']} (A: the first 80% of "
             "the revenue, B: the next 15%). Total: " + money_cell(data["totals"]).replace("\n", ", ")]  # fmt: skip
    if len(paying) > TABLE_ROWS:
        notes.append(f"{len(paying) - TABLE_ROWS} more customers with revenue in the data.")
    return Panel(
        "customers",
        "Customers by won revenue (ABC)",
        "crm report customers --limit 0",
        data,
        ["#", "customer", "tier", "cur", "revenue", "cum. share"],
        rows,
        notes,
    )


def stalled_panel(
    deals: list[Record], activities: list[Record], customer_records: list[Record], scope: Scope
) -> Panel:
    from crmcli.reports.stalled import stalled

    data = stalled(deals, activities, customer_records, scope)
    rows = [
        [d["title"] + (f"\n{d['customer_name']}" if d["customer_name"] else ""), d["owner"] or "",
         d["stage"],
         "-" if d["amount"] is None else money_text(d["amount"], d["currency"]),
         str(d["idle_days"])]
        for d in data["deals"][:TABLE_ROWS]
    ]  # fmt: skip
    total = data["total"]
    notes = [f"{total['count']} stalled, " + money_cell(total["amount"]).replace("\n", ", ")
             + (f"; {data['snoozed']} snoozed (left off)" if data["snoozed"] else "")]  # fmt: skip
    if len(data["deals"]) > TABLE_ROWS:
        notes.append(f"{len(data['deals']) - TABLE_ROWS} more in the data (crm report stalled).")
    return Panel(
        "stalled",
        f"Stalled deals (idle {data['days']} days or more)",
        "crm report stalled --limit 0",
        data,
        ["deal", "owner", "stage", "amount", "idle days"],
        rows,
        notes,
    )


# ----- the page ----------------------------------------------------------------------------

STYLE = """
:root{--ink:#222;--muted:#666;--rule:#ddd}
*{box-sizing:border-box}
body{font-family:system-ui,"Noto Sans CJK SC","Noto Sans",sans-serif;color:var(--ink);
 margin:0 auto;padding:1.5rem;max-width:1200px;font-size:14px;line-height:1.4}
header h1{margin:0;font-size:1.6rem}header p{margin:.2rem 0 1rem;color:var(--muted)}
nav{margin-bottom:1rem;font-size:.9rem}nav a{margin-right:.8rem;color:#08519c}
section.panel{border-top:2px solid var(--rule);padding:.8rem 0 1.2rem}
section.panel h2{margin:.2rem 0 .6rem;font-size:1.15rem}
.body{display:flex;flex-wrap:wrap;gap:1.2rem;align-items:flex-start}
.chart{flex:1 1 520px;margin:0;min-width:0}.chart svg{width:100%;height:auto;display:block}
.numbers{flex:1 1 480px;min-width:0;overflow-x:auto}
table{border-collapse:collapse;font-size:.8rem;width:100%}table+table{margin-top:.8rem}
th,td{padding:.2rem .45rem;border-bottom:1px solid var(--rule);vertical-align:top;text-align:left}
th{background:#f3f3f3;font-weight:600}td.n{text-align:right;white-space:nowrap}
td:first-child{white-space:nowrap}
p.note,p.source{color:var(--muted);font-size:.8rem;margin:.4rem 0 0}
code{font-size:.8rem}
@page{size:A4;margin:12mm}
@media print{body{padding:0;max-width:none;font-size:9pt}nav{display:none}
 section.panel{break-inside:avoid;page-break-inside:avoid}
 .body{display:block}.numbers{margin-top:.4rem}.chart svg{max-width:15cm;margin:0 auto}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

# First on the page: keeps every script error, for CHECK to report.
ERRORS = """window.crmErrors=[];window.addEventListener("error",function(e){
window.crmErrors.push("script error: "+e.message)});"""

# Runs when the page opens: marks <body data-ok="yes"> when every panel has its chart
# drawn (a box of some size) and its data readable and no script failed; else
# data-ok="no" and the problems in data-problems.
CHECK = """
(function(){var bad=(window.crmErrors||[]).slice();
document.querySelectorAll("section.panel").forEach(function(s){var k=s.dataset.chart;
var svg=document.getElementById("chart-"+k);var box=svg&&svg.getBoundingClientRect();
if(!svg||box.width<50||box.height<50){bad.push(k+": no chart")}
try{JSON.parse(document.getElementById("data-"+k).textContent)}catch(e){bad.push(k+": "+e)}});
document.body.setAttribute("data-ok",bad.length?"no":"yes");
document.body.setAttribute("data-problems",bad.join("; "));})();
"""

NUMERIC = {"reached", "conv.", "open now", "amount", "weighted", "deals", "best case", "commit",
           "won", "won deals", "won amount", "leads", "converted", "rate", "#", "revenue",
           "cum. share", "idle days", "attain.", "coverage", "target", "via cust."}  # fmt: skip


def _cell(text: Any, numeric: bool) -> str:
    body = "<br>".join(escape(str(line)) for line in str(text).split("\n"))
    return f'<td class="n">{body}</td>' if numeric else f"<td>{body}</td>"


def table_html(columns: list[str], rows: list[list[Any]]) -> str:
    """A small HTML table of the numbers (cells already text; a newline: a new line)."""
    if not rows:
        return ""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(_cell(v, c in NUMERIC) for c, v in zip(columns, row, strict=True))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def json_script(key: str, data: dict[str, Any]) -> str:
    """The data as <script type="application/json" id="data-KEY"> (exact decimals; every
    '<' escaped, so no text in a record can end the script)."""
    from crmcli.encode import to_json

    text = to_json(data, indent=None).replace("<", "\\u003c")
    return f'<script type="application/json" id="data-{key}">{text}</script>'


def panel_html(panel: Panel) -> str:
    from crmcli import charts

    draw = panel.chart or charts.CHARTS[panel.key]
    svg = charts.inline_svg(draw(panel.data), panel.key, panel.title)
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in panel.notes)
    more = "".join(table_html(columns, rows) for columns, rows in panel.more)
    return (
        f'<section class="panel" id="{panel.key}" data-chart="{panel.key}">'
        f"<h2>{escape(panel.title)}</h2>"
        f'<div class="body"><figure class="chart">{svg}</figure>'
        f'<div class="numbers">{table_html(panel.columns, panel.rows)}{more}{notes}'
        f'<p class="source">Numbers: <code>{escape(panel.command)}</code></p></div></div>'
        f"{json_script(panel.key, panel.data)}</section>"
    )


def page(parts: list[Panel], title: str, subtitle: str) -> str:
    """The whole HTML page: every panel, a print stylesheet, the check script."""
    nav = "".join(f'<a href="#{p.key}">{escape(p.title)}</a>' for p in parts)
    body = "\n".join(panel_html(p) for p in parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><script>{ERRORS}</script><style>{STYLE}</style></head>\n"
        f'<body data-charts="{len(parts)}"><header><h1>{escape(title)}</h1>'
        f"<p>{escape(subtitle)}</p></header><nav>{nav}</nav>\n{body}\n"
        f"<script>{CHECK}</script></body></html>\n"
    )


def title(settings: dict[str, Any], scope: Scope) -> str:
    name = settings.get("name") or "crm"
    return f"{name}: pipeline dashboard" + (f" ({scope.owner})" if scope.owner else "")


def subtitle(scope: Scope) -> str:
    from crmcli import __version__
    from crmcli.formats import time_text

    zone = getattr(scope.tz, "key", None) or str(scope.tz)
    owner = f"deals and leads of {scope.owner}; " if scope.owner else ""
    past = scope.as_of or {}
    then = f", commit {past['commit'][:7]}" if past.get("commit") else ""
    unknown = "".join(f" Not known without git history: {u}." for u in past.get("unknown") or [])
    return (
        f"As of {time_text(scope.now)} ({zone}{then}); {owner}made by crm {__version__}.{unknown}"
    )
