"""crm report ...: funnel, forecast, owners, customers, sources, stalled, dashboard.

Thin: parse the options, call the report in crmcli.reports, print JSON or draw
tables. Money is shown per currency (a `cur` column, or `AMOUNT CUR` lines),
never added across currencies.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import typer

from crmcli.commands.common import (
    LimitOpt,
    OwnerOpt,
    ShowFormat,
    ShowFormatOpt,
    default_limit,
    get_store,
    group,
    limited,
)
from crmcli.errors import CrmError
from crmcli.settings import PERIOD_RE

app = group(
    "Reports: funnel, forecast, owners, customers, sources, stalled deals, changes.",
    "crm report funnel --since 2026-01-01 --format json",
)

SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="From this date (included): 2026-01-01, -30d, 'last monday'."),
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Up to this date (the whole day included).")
]
ChartOpt = Annotated[
    str | None,
    typer.Option(
        "--chart",
        metavar="FILE",
        help="Also draw the report's chart into FILE.svg or FILE.png.",
        show_default=False,
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="The report as the CRM stood then: 2026-10-01, '30 days ago' (git history).",
    ),
]
FULL = "█"
EIGHTHS = " ▏▎▍▌▋▊▉"


# ----- helpers -------------------------------------------------------------------------


def _records(as_of: str | None, fmt: ShowFormat) -> Any:
    """Where the records come from: the CRM now, or with --as-of as it stood then
    (crmcli.asof: a Store over a past commit, or today's records wound back); for a
    table, stderr says which commit, or what could not be known without git."""
    store = get_store()
    if not as_of:
        return store
    from crmcli import render
    from crmcli.asof import past

    when = store.ctx.parse_when(as_of)
    if when > store.ctx.now():
        raise CrmError(f"--as-of {as_of}: that is in the future")
    source = past(store, when, as_of)
    info = source.as_of
    if fmt != ShowFormat.table:
        return source
    if info["commit"]:
        render.message(f"As of {info['at']}: commit {info['commit'][:7]} of {info['commit_date']}")
    for text in info["unknown"]:
        render.message(f"As of {info['at']}, not known without git history: {text}")
    return source


def _report_scope(
    store: Any, owner: str | None, since: str | None = None, until: str | None = None
) -> Any:
    """The reports' Scope: the settings, now, the --since/--until window, --owner;
    with --as-of, the past state's settings and moment as now."""
    from crmcli.dates import parse_when
    from crmcli.reports.base import Scope

    now = store.ctx.now()
    start = parse_when(since, now) if since else None
    end = parse_when(until, now, end_of_day=True) if until else None
    if start and end and start > end:
        raise CrmError(f"--since {since} is after --until {until}")
    return Scope(store.settings, now, start, end, owner, getattr(store, "as_of", None))


def _check_chart(chart: str | None) -> None:
    """Refuse a --chart name that is not .svg or .png before any work."""
    if chart is not None:
        from crmcli.charts import chart_format

        chart_format(chart)


def _drawn_or_json(
    chart: str | None,
    report: str,
    data: dict[str, Any],
    fmt: ShowFormat,
    limit: int | None = None,
    cut: str | None = None,
) -> bool:
    """--chart FILE: the report's chart (crmcli/charts.py, matplotlib) into FILE; then
    with --format json the report printed (its list `cut` to --limit) and True: the
    table is left to print otherwise."""
    from crmcli import render

    if chart is not None:
        from crmcli import charts
        from crmcli.store import user_path

        charts.write(report, data, user_path(chart, "--chart"))
        render.message(f"Chart -> {chart}")
    if fmt != ShowFormat.json:
        return False
    if cut is not None:
        data[cut] = list(limited(data[cut], limit))
    render.print_json(data)
    return True


def _bar(value: Decimal | int | None, maximum: Decimal | int, width: int) -> str:
    """A horizontal bar `width` cells long at most: eighth blocks on a terminal,
    '#' off one (plain text that any viewer shows)."""
    from crmcli.render import is_terminal

    if not value or not maximum or width <= 0:
        return ""
    cells = Decimal(value) * width / Decimal(maximum)
    if not is_terminal():
        return "#" * max(1, int(cells.to_integral_value()))
    eighths = max(1, int((cells * 8).to_integral_value()))
    full, part = divmod(eighths, 8)
    return FULL * full + (EIGHTHS[part] if part else "")


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value}%"


def _num(value: Any) -> str:
    from crmcli.render import cell

    return "-" if value is None else cell(value)


def _days(value: Decimal | None) -> str:
    return "-" if value is None else str(value)


def _money_rows(amounts: Sequence[dict[str, Decimal]]) -> list[tuple[str, list[str]]]:
    """(currency, [formatted amount per column]) for every currency met in `amounts`;
    one row with '-' when there is no money at all."""
    currencies = sorted({c for m in amounts for c in m})
    if not currencies:
        return [("", ["-" for _ in amounts])]
    return [(cur, [_num(m.get(cur)) if cur in m else "-" for m in amounts]) for cur in currencies]


def _money_lines(
    head: Sequence[Any], amounts: Sequence[dict[str, Decimal]], tail: Sequence[Any] = ()
) -> list[list[Any]]:
    """The table rows of one entry whose money is spread over currencies: the `head`
    and `tail` cells on its first row only (blank below), each row's currency and
    `amounts` between them (_money_rows)."""
    return [
        [*(head if i == 0 else [""] * len(head)), cur, *cells,
         *(tail if i == 0 else [""] * len(tail))]
        for i, (cur, cells) in enumerate(_money_rows(amounts))
    ]  # fmt: skip


def _money_text(amount: dict[str, Decimal]) -> str:
    return "\n".join(f"{_num(v)} {c}" for c, v in amount.items()) or "-"


def _table(
    columns: Sequence[Any], rows: list[list[Any]], title: str | None = None, empty: str = ""
) -> None:
    from crmcli import render

    def lines(v: Any) -> Any:  # a cell of several lines (a deal and its customer)
        return render.lines_cell(v) if isinstance(v, str) and "\n" in v else v

    render.table(
        columns,
        [[lines(v) for v in row] for row in rows],
        title=title,
        empty=empty or "nothing to show",
    )


def _line(text: str = "") -> None:
    from crmcli import render

    render.console().print(render.safe(text), markup=False, highlight=False)


def _scope(data: dict[str, Any], what: str) -> str:
    """A title like 'Funnel: deals created 2026-01-01..2026-11-23, owner bob'."""
    parts = []
    since, until = data.get("since"), data.get("until")
    if since or until:
        parts.append(f"{what} {(since or '')[:10]}..{(until or '')[:10]}")
    if data.get("owner"):
        parts.append(f"owner {data['owner']}")
    return ", ".join(parts)


def _as_of(name: str, data: dict[str, Any]) -> str:
    """`name`, and with --as-of the moment: 'Funnel as of 2026-10-01 00:00'."""
    if not data.get("as_of"):
        return name
    return f"{name} as of {data['as_of']['at'][:16].replace('T', ' ')}"


def _title(name: str, data: dict[str, Any], what: str = "") -> str:
    scope = _scope(data, what)
    name = _as_of(name, data)
    return f"{name} ({scope})" if scope else name


def _limited(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The rows a table shows: --limit, else 50 (0: all)."""
    n = default_limit(limit)
    return rows[:n] if n else rows


def _more(rows: list[Any], shown: list[Any]) -> None:
    from crmcli import render

    if len(rows) > len(shown):
        render.message(f"{len(rows) - len(shown)} more not shown (--limit 0 shows all)")


R = {"justify": "right"}
NAME = {"key": True}  # the name of what a row is about: never cut nor dropped


def _unknown_stages(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    _line()
    _table(
        ["stage", ("deals", R), ("amount", R)],
        [[r["stage"], r["count"], _money_text(r["amount"])] for r in rows],
        title="Open deals in stages not in the pipeline",
    )


# ----- funnel --------------------------------------------------------------------------


@app.command("funnel")
def funnel_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    as_of: AsOfOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
    chart: ChartOpt = None,
) -> None:
    """The pipeline as a funnel, from the deals' stage histories.

    Per open stage: deals that reached it, conversion to the next, deals in it
    now (amount, weighted), mean days spent in it; won, lost and the win rate.

    --since/--until pick the deals created in that window.

    Example: crm report funnel --since 2026-01-01 --owner bob --chart funnel.svg
    """
    from crmcli.reports.funnel import funnel

    _check_chart(chart)
    store = _records(as_of, fmt)
    data = funnel(store.query("deal"), _report_scope(store, owner, since, until))
    if _drawn_or_json(chart, "funnel", data, fmt):
        return
    from crmcli import render

    stages = data["stages"]
    top = max((s["reached"] for s in stages), default=0)
    width = max(10, min(40, render.console().width - 38))
    rows = []
    for s in stages:
        bar = _bar(s["reached"], top, width)
        pad = (width - len(bar)) // 2
        rows.append([s["stage"], " " * pad + bar, s["reached"], _pct(s["conversion"])])
    _table(
        [("stage", NAME), ("", {"priority": 2}), ("reached", R),
         ("conv.", R)],
        rows,
        title=_title("Funnel", data, "deals created"),
    )  # fmt: skip
    _line()
    rows = []
    for s in stages:
        rows += _money_lines(
            [s["stage"], s["count"]], [s["amount"], s["weighted"]], [_days(s["avg_days"])]
        )
    total = data["open"]
    rows += _money_lines(["open", total["count"]], [total["amount"], total["weighted"]], [""])
    for key in ("won", "lost"):
        rows += _money_lines([key, data[key]["count"]], [data[key]["amount"]], ["", ""])
    _table(
        [("stage", NAME), ("deals", R), "cur", ("amount", R), ("weighted", R), ("days", R)],
        rows,
        title="Now in each stage",
    )
    _line(f"Win rate: {_pct(data['win_rate'])} (won / (won + lost))")
    _line("conv.: of the deals that reached a stage, the share that reached the next")
    _line("(the last stage: won); days: mean of the finished stays in the stage")
    _unknown_stages(data["unknown_stages"])


# ----- forecast ------------------------------------------------------------------------


@app.command("forecast")
def forecast_cmd(
    months: Annotated[
        int,
        typer.Option("--months", min=1, max=120, help="How many months, from the current one."),
    ] = 3,
    owner: OwnerOpt = None,
    as_of: AsOfOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
    chart: ChartOpt = None,
) -> None:
    """Open deals by month of close date: best case, commit, weighted.

    Also the deals won so far in each month.

    Deals with no close date, a close date already past, or one after the last
    month are counted apart.

    Example: crm report forecast --months 6 --owner bob
    """
    from crmcli.reports.forecast import forecast

    _check_chart(chart)
    store = _records(as_of, fmt)
    data = forecast(store.query("deal"), _report_scope(store, owner), months=months)
    if _drawn_or_json(chart, "forecast", data, fmt):
        return
    rows = []
    targeted = any(m["target"] is not None for m in data["months"])
    for m in data["months"]:
        money = [m["best_case"], m["commit"], m["weighted"], m["won"]["amount"]]
        target = [_num(m["target"])] if targeted else []
        rows += _money_lines([m["month"], m["count"]], money, target)
    title = _as_of("Forecast", data) + f" (commit: stages at {data['commit_probability']}% or more)"
    if data["owner"]:
        title = _as_of("Forecast", data) + (
            f" ({data['owner']}; commit: stages at {data['commit_probability']}%+)"
        )
    _table(
        ["month", ("deals", R), "cur", ("best case", R), ("commit", R), ("weighted", R),
         ("won", R), *([("target", R)] if targeted else [])],
        rows,
        title=title,
    )  # fmt: skip
    if data["targets"]:
        _line()
        _targets_table([(data["owner"] or "team", t) for t in data["targets"]], cases=True)
    rows = []
    for key, label in (
        ("past_close_date", "close date past"),
        ("no_close_date", "no close date"),
        ("later", "closing later"),
    ):
        part = data[key]
        if not part["count"]:
            continue
        money = [part["best_case"], part["commit"], part["weighted"]]
        rows += _money_lines([label, part["count"]], money)
    if rows:
        _line()
        _table(
            [("open deals", NAME), ("deals", R), "cur", ("best case", R), ("commit", R),
             ("weighted", R)],
            rows,
            title="Not in these months",
        )  # fmt: skip
    _unknown_stages(data["unknown_stages"])


# ----- owners --------------------------------------------------------------------------


@app.command("owners")
def owners_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    period: Annotated[
        str | None,
        typer.Option("--period", help="Target period: 2026-12 or 2026-Q4 (default: today's)."),
    ] = None,
    as_of: AsOfOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
    chart: ChartOpt = None,
) -> None:
    """Deals and tasks per owner: plan against execution.

    Open, won and lost deals, win rate, won amount, mean sales cycle; tasks done
    on time, done late, and overdue now. With settings targets: target, won,
    attainment and the weighted pipeline that can still close in the period.

    --since/--until pick deals closed and tasks done in that window; --period the
    target period (default: the month and quarter of today).

    Example: crm report owners --since 2026-07-01 --period 2026-Q4
    """
    from crmcli.reports.owners import DEAL_FIELDS, TASK_FIELDS, owners

    _check_chart(chart)
    store = _records(as_of, fmt)
    scope = _report_scope(store, owner, since, until)
    if period is not None and not PERIOD_RE.match(period):
        raise CrmError(f"--period {period}: write a month (2026-12) or a quarter (2026-Q4)")
    data = owners(
        store.query("deal", fields=DEAL_FIELDS),
        store.query("task", fields=TASK_FIELDS),
        scope,
        period=period,
    )
    if _drawn_or_json(chart, "owners", data, fmt):
        return
    entries = [*data["owners"], {"owner": "total", **data["total"]}]
    rows = []
    for o in entries:
        name = o["owner"] if o["owner"] is not None else "(none)"
        head = [name, o["open"], o["won"], o["lost"], _pct(o["win_rate"])]
        rows += _money_lines(head, [o["won_amount"]], [_days(o["avg_cycle_days"])])
    _table(
        [("owner", NAME), ("open", R), ("won", R), ("lost", R), ("win %", R), "cur",
         ("won amount", R), ("cycle d", R)],
        rows,
        title=_title("Deals by owner", data, "closed"),
        empty="no owners",
    )  # fmt: skip
    _line()
    from crmcli import render

    width = max(8, min(20, render.console().width - 56))
    rows = []
    for o in entries:
        done = o["tasks_on_time"] + o["tasks_late"]
        rows.append(
            [o["owner"] if o["owner"] is not None else "(none)", o["tasks_on_time"],
             o["tasks_late"], o["tasks_overdue"], _pct(_share(o["tasks_on_time"], done)),
             _bar(o["tasks_on_time"], done, width)]
        )  # fmt: skip
    _table(
        [("owner", NAME), ("on time", R), ("late", R), ("overdue", R), ("on time %", R),
         ("", {"priority": 2})],
        rows,
        title=_title("Tasks by owner", data, "done"),
        empty="no owners",
    )  # fmt: skip
    targets = [(o["owner"] if o["owner"] != "total" else "team", t)
               for o in entries for t in o["targets"]]  # fmt: skip
    if targets:
        _line()
        _targets_table(targets)


def _targets_table(rows: list[tuple[str, dict[str, Any]]], *, cases: bool = False) -> None:
    """Targets against won and the pipeline that can still close in the period
    (`cases`: its best case and commit too)."""
    extra = [("best case", R), ("commit", R)] if cases else []
    _table(
        [("who", NAME), "period", ("target", R), ("won", R), ("attained", R), *extra,
         ("weighted", R), ("coverage", R)],
        [[who, t["period"], _num(t["target"]), _num(t["won"]), _pct(t["attainment"]),
          *([_num(t["best_case"]), _num(t["commit"])] if cases else []),
          _num(t["weighted"]), _pct(t["coverage"])] for who, t in rows],
        title=f"Targets in {rows[0][1]['currency']} (pipeline: open deals that can still "
        "close in the period; coverage: weighted / what is left to win)",
    )  # fmt: skip


def _share(part: int, whole: int) -> Decimal | None:
    from crmcli.reports.base import percent

    return percent(part, whole)


# ----- customers -----------------------------------------------------------------------


def _apply_tiers(store: Any, compute: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """report customers --apply: the report, computed under the lock, and the tiers
    it wrote ({id, name, from, to} each)."""
    from crmcli import render
    from crmcli.reports.customers import apply_tiers

    with store.lock():
        data = compute()
        changes = apply_tiers(store, data)
        if changes:
            counts = {t: sum(1 for _, _, n in changes if n == t) for t in "ABC"}
            summary = ", ".join(f"{t} {n}" for t, n in counts.items() if n)
            store.note_change(f"report: set ABC tier of {len(changes)} customers ({summary})")
    applied = [
        {"id": rec["id"], "name": rec["name"], "from": old, "to": new} for rec, old, new in changes
    ]
    new_tier = {a["id"]: a["to"] for a in applied}
    for row in data["customers"]:
        row["stored_tier"] = new_tier.get(row["id"], row["stored_tier"])
    manual = sum(1 for r in data["customers"] if r["tier_manual"])
    render.message(
        f"Set the tier of {len(applied)} customer{'s' if len(applied) != 1 else ''}"
        + (f"; left {manual} with a manual tier alone" if manual else "")
    )
    return data, applied


def _customers_table(data: dict[str, Any], limit: int | None) -> None:
    rows = []
    shown = _limited(data["customers"], limit)
    for c in shown:
        tier = c["tier"] + ("*" if c["tier_manual"] else "")
        money = [c["revenue"], c["share"], c["cumulative_share"]]
        currencies = sorted(c["revenue"]) or [""]
        for i, cur in enumerate(currencies):
            first = i == 0
            rows.append(
                [c["rank"] if first else "", c["name"] if first else "", tier if first else "",
                 cur, _num(money[0].get(cur)), _pct(money[1].get(cur)), _pct(money[2].get(cur)),
                 c["purchases"] if first else "",
                 _num(c["days_since_last_won"]) if first else ""]
            )  # fmt: skip
    _table(
        [("#", R), ("customer", NAME), "tier", "cur",
         ("revenue", R), ("share", R), ("cum.", R), ("buys", R), ("days", R)],
        rows,
        title=_title("Customers by won revenue", data, "won"),
        empty="no customers",
    )  # fmt: skip
    _more(data["customers"], shown)
    tiers = data["tiers"]
    _line(
        f"A: {tiers['A']}  B: {tiers['B']}  C: {tiers['C']}  "
        "(A: first 80% of revenue, B: next 15%); days: since last won"
    )
    if any(c["tier_manual"] for c in data["customers"]):
        _line("*: tier set by hand (tier_manual), --apply leaves it alone")
    if data["without_customer"]["count"]:
        w = data["without_customer"]
        _line(f"Won deals with no customer on file: {w['count']} "
              f"({_money_text(w['amount']).replace(chr(10), ', ')})")  # fmt: skip


@app.command("customers")
def customers_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Write the tiers into the customers (not manual tiers)."),
    ] = False,
    limit: LimitOpt = None,
    as_of: AsOfOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
    chart: ChartOpt = None,
) -> None:
    """Customers ranked by won revenue, with ABC tiers (Pareto).

    A make up the first 80% of the revenue, B the next 15%, C the rest; with
    purchases and days since the last won deal.

    --since/--until pick the deals won in that window; --owner the customers of
    that owner. --apply writes the tiers into the customer records, leaving
    tiers set by hand (tier_manual: true) alone.

    Example: crm report customers --since -12m --apply
    """
    from crmcli.reports.customers import CUSTOMER_FIELDS, customers

    _check_chart(chart)
    if apply and as_of:
        raise CrmError("--apply writes today's tiers: leave out --as-of")
    store = _records(as_of, fmt)
    scope = _report_scope(store, owner, since, until)
    if apply and owner:
        raise CrmError("--apply ranks every customer: leave out --owner")

    def compute() -> dict[str, Any]:
        return customers(
            store.query("customer", fields=CUSTOMER_FIELDS),
            store.query("deal", {"status": "won"}),  # only won deals count
            scope,
            merged=store.query("customer", {"merged": True}),
        )

    data, applied = _apply_tiers(store, compute) if apply else (compute(), None)
    data["applied"] = applied
    if _drawn_or_json(chart, "customers", data, fmt, limit, cut="customers"):
        return
    _customers_table(data, limit)


# ----- sources -------------------------------------------------------------------------


@app.command("sources")
def sources_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    as_of: AsOfOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
    chart: ChartOpt = None,
) -> None:
    """Per source: leads, conversion rate, deals won and their amount.

    A won deal is credited to the source of the lead it came from (the lead
    converted into it, else a lead of its customer), else to its customer's
    source; the table says how many came through customers.

    --since/--until pick the leads and customers created in that window.

    Example: crm report sources --since 2026-01-01 --format json
    """
    from crmcli import render
    from crmcli.reports.sources import CUSTOMER_FIELDS, LEAD_FIELDS, sources

    _check_chart(chart)
    store = _records(as_of, fmt)
    scope = _report_scope(store, owner, since, until)
    data = sources(
        store.query("lead", fields=LEAD_FIELDS),
        store.query("deal", {"status": "won"}),  # only won deals count
        scope,
        customers=store.query("customer", fields=CUSTOMER_FIELDS),
    )
    if _drawn_or_json(chart, "sources", data, fmt):
        return
    width = max(6, min(30, render.console().width - 75))
    rows = []
    for s in [*data["sources"], {"source": "total", **data["total"]}]:
        name = s["source"] if s["source"] is not None else "(none)"
        rate = s["conversion_rate"]
        bar = _bar(rate, 100, width) if s["source"] != "total" else ""
        head = [name, s["leads"], s["converted"], _pct(rate), bar, s["deals_won"],
                s["from_customers"]["count"]]  # fmt: skip
        rows += _money_lines(head, [s["won_amount"]])
    _table(
        [("source", NAME), ("leads", R), ("conv.", R), ("rate", R), ("", {"priority": 2}),
         ("won", R), ("via cust.", R), "cur", ("won amount", R)],
        rows,
        title=_title("Sources", data, "leads and customers created"),
    )  # fmt: skip
    _line("won: deals won, credited to their lead's source, else their customer's")
    _line("(via cust.: how many of them through the customer)")


# ----- stalled -------------------------------------------------------------------------


@app.command("stalled")
def stalled_cmd(
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=0,
            max=36500,
            help="Idle for this many days (default: settings stall_days).",
        ),
    ] = None,
    owner: OwnerOpt = None,
    limit: LimitOpt = None,
    as_of: AsOfOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
    chart: ChartOpt = None,
) -> None:
    """Open deals with no stage change and no timeline entry for N days.

    Oldest first. Snoozed deals (snoozed_until in the future) are left off and
    counted.

    Example: crm report stalled --days 30 --owner bob
    """
    from crmcli.reports.stalled import stalled

    _check_chart(chart)
    store = _records(as_of, fmt)
    data = stalled(
        store.query("deal", {"status": "open"}),
        store.query("activity"),
        store.query("customer", fields=("id", "name")),
        _report_scope(store, owner),
        days=days,
    )
    if _drawn_or_json(chart, "stalled", data, fmt, limit, cut="deals"):
        return
    rows = []
    shown = _limited(data["deals"], limit)
    for d in shown:
        stage = d["stage"] if d["known_stage"] else f"{d['stage']} (?)"
        amount = "-" if d["amount"] is None else f"{_num(d['amount'])} {d['currency']}"
        deal = d["title"] + (f"\n{d['customer_name']}" if d["customer_name"] else "")
        when = f"{d['last_activity_at'][:10]}\n{d['last_activity']}"
        rows.append([deal, d["owner"] or "", stage, amount, d["idle_days"], when])
    title = _as_of(f"Deals idle for {data['days']} days or more", data)
    if data["owner"]:
        title += f" (owner {data['owner']})"
    _table(
        [("deal", {"wrap": True}), ("owner", {"priority": 2}), "stage", ("amount", R), ("days", R),
         ("last activity", {"priority": 0})],
        rows,
        title=title,
        empty="no stalled deals",
    )  # fmt: skip
    _more(data["deals"], shown)
    if any(not d["known_stage"] for d in shown):
        _line("(?): a stage that is not in the pipeline")
    total = data["total"]
    parts = [f"{total['count']} stalled"]
    if total["amount"]:
        parts.append(_money_text(total["amount"]).replace("\n", ", "))
    if data["snoozed"]:
        parts.append(f"{data['snoozed']} snoozed (left off)")
    _line("; ".join(parts))


# ----- changes -------------------------------------------------------------------------


def _change_text(c: dict[str, Any]) -> str:
    """What one change did, for the table: 'qualified → proposal', '+12 days'."""
    kind = c["change"]
    if kind in ("added", "removed"):
        return ""
    if kind in ("slipped", "pulled_in"):
        sign = "+" if kind == "slipped" else "-"
        return f"{c['from']} → {c['to']} ({sign}{c['days']} d)"
    if kind in ("raised", "cut"):
        return f"{_num(c['from'])} → {_num(c['to'])}"
    text = f"{c['from'] or '-'} → {c['to'] or '-'}"
    if kind == "lost" and c.get("reason"):
        text += f" ({c['reason']})"
    return text


def _changes_tables(data: dict[str, Any], limit: int | None) -> None:
    rows = []
    shown = _limited(data["deals"], limit)
    for d in shown:
        amount = "-" if d["amount"] is None else f"{_num(d['amount'])} {d['currency']}"
        for i, c in enumerate(d["changes"]):
            first = i == 0
            when = (c["at"] or "")[:10]
            rows.append(
                [
                    d["title"] if first else "",
                    amount if first else "",
                    c["change"].replace("_", " "),
                    _change_text(c),
                    c["by"] or "",
                    when,
                ]
            )
    _table(
        [("deal", NAME), ("amount", {**R, "priority": 4, "min": 16}), "change",
         ("what", {"wrap": True}), ("by", {"priority": 2}), ("when", {"min": 10})],
        rows,
        title=f"Changes {data['since'][:10]}..{(data['until'] or 'now')[:10]}"
        + (f", owner {data['owner']}" if data["owner"] else ""),
        empty="no deal changed",
    )  # fmt: skip
    _more(data["deals"], shown)
    _line()
    rows = []
    for cur, steps in data["waterfall"].items():
        for i, s in enumerate(steps):
            if s["step"] not in ("start", "end") and not s["count"] and not s["amount"]:
                continue
            label = s["step"].replace("_", " ")
            rows.append([cur if i == 0 else "", label, s["count"], _num(s["amount"])])
    _table(
        ["cur", ("open pipeline", NAME), ("deals", R), ("amount", R)],
        rows,
        title="Open pipeline, start to end",
        empty="no open deals at either end",
    )  # fmt: skip
    _line("end = start + added + reopened - won - lost - removed ± changed (and with")
    _line("--owner ± reassigned); a deal won or lost counts its amount at the end")


@app.command("changes")
def changes_cmd(
    since: Annotated[
        str,
        typer.Option("--since", help="From this moment: 2026-11-01, '30 days ago', -30d."),
    ],
    until: UntilOpt = None,
    owner: OwnerOpt = None,
    limit: LimitOpt = None,
    fmt: ShowFormatOpt = ShowFormat.table,
    chart: ChartOpt = None,
) -> None:
    """How the pipeline moved between two moments, from the git history.

    Deal by deal: added, advanced or moved back, won, lost (why), reopened,
    slipped or pulled in (close date), amount raised or cut, reassigned, removed;
    who made each change and when (the commit). Then the open pipeline per
    currency: at the start, plus added, minus won and lost, plus or minus the
    changes, equals the open pipeline at the end, exactly.

    --until: up to that moment (default: the last commit).

    Example: crm report changes --since "30 days ago" --owner bob
    """
    from crmcli.asof import deal_changes
    from crmcli.reports.changes import changes

    _check_chart(chart)
    store = get_store()
    scope = _report_scope(store, owner, since, until)
    assert scope.since is not None
    start, end, versions, commits = deal_changes(store, scope.since, scope.until)
    data = changes(start, end, versions, scope, commits=commits)
    if _drawn_or_json(chart, "changes", data, fmt, limit, cut="deals"):
        return
    _changes_tables(data, limit)


# ----- dashboard -----------------------------------------------------------------------


@app.command("dashboard")
def dashboard_cmd(
    output: Annotated[
        str,
        typer.Option("--output", "-o", metavar="FILE", help="The HTML file to write (FILE.html)."),
    ] = "dashboard.html",
    months: Annotated[
        int,
        typer.Option("--months", min=1, max=120, help="Months of the forecast, from this one."),
    ] = 6,
    owner: OwnerOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Every report as a chart beside its numbers, in one HTML file that needs nothing
    else (no network): opens offline in any browser and prints to PDF.

    The funnel, the forecast by month, won revenue per month (last 12 months), the
    changes of the last 30 days, lead sources to won revenue, the ABC (Pareto) curve
    of customers and the stalled deals; each chart's data is the JSON of its report.
    --as-of: every panel as the CRM stood then (the changes: the 30 days before it).

    Example: crm report dashboard -o pipeline.html --owner bob
    """
    from crmcli import dashboard, render
    from crmcli.store import atomic_write, user_path

    if not output.lower().endswith((".html", ".htm")):
        raise CrmError(f"--output {output}: give a file name ending in .html")
    store = _records(as_of, ShowFormat.table)  # says on stderr which commit it reads
    scope = _report_scope(store, owner)
    text = dashboard.page(
        dashboard.panels(store, scope, months=months, live=get_store()),
        dashboard.title(store.settings, scope),
        dashboard.subtitle(scope),
    )
    try:
        atomic_write(user_path(output, "--output"), text.encode("utf-8"))
    except OSError as e:
        raise CrmError(f"cannot write {output}: {e.strerror}") from None
    render.message(f"Dashboard -> {output}")
