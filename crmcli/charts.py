"""Charts of the reports, drawn with matplotlib (Agg, no display; imported only
here, and this module only by `--chart` and `crm report dashboard`).

One function per report takes the report's dict (crmcli/reports: the very dict its
JSON prints) and returns a matplotlib Figure; nothing here computes a figure the
report does not give. `render` turns a Figure into SVG or PNG bytes. Money is drawn
in one panel per currency (amounts in two currencies never share an axis) and
labelled exactly (formats.money_text). Text is set in a CJK font (quotes.find_font:
Debian's fonts-noto-cjk, or env CRM_FONT) and SVG text is drawn as paths, so a
viewer needs no font; with no CJK font: a warning, and matplotlib's own font.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from crmcli.formats import money_text

Figure = Any  # matplotlib.figure.Figure (imported lazily)
Money = dict[str, Decimal]

WIDTH = 6.4  # inches
PANEL = 2.4  # the height of one currency's panel, inches
COLOURS = {
    "best": "#9ecae1",
    "commit": "#4292c6",
    "weighted": "#08519c",
    "won": "#31a354",
    "lost": "#de2d26",
    "target": "#e6550d",
    "bar": "#4682b4",
    "total": "#6a6a6a",
    "A": "#31a354",
    "B": "#fdae6b",
    "C": "#bdbdbd",
}
FORMATS = ("svg", "png")
BARS = 60  # the Pareto chart draws a bar per customer up to this many
_ready: list[bool] = []


# ----- set-up, fonts, output ---------------------------------------------------------------


def setup() -> None:
    """matplotlib ready (once): Agg, SVG text as paths, a CJK font, quiet about glyphs."""
    if _ready:
        return
    import logging
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
    family = cjk_family()
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "path",
            "font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
        }
    )
    _ready.append(True)


def cjk_family() -> str | None:
    """The family name of the CJK font (quotes.find_font finds its file), added to
    matplotlib's fonts; None, with a warning saying what to install, when there is none."""
    from matplotlib import font_manager

    from crmcli import render
    from crmcli.errors import CrmError
    from crmcli.quotes import find_font

    try:
        path = find_font()[0]
        font_manager.fontManager.addfont(str(path))
    except (CrmError, OSError, RuntimeError, ValueError) as e:
        why = str(e) if "CRM_FONT" in str(e) else "no CJK font found"
        render.warn(
            f"{why}: chinese, japanese and korean names show as empty boxes in the charts; "
            "install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk) "
            "or set CRM_FONT to a .ttf/.otf/.ttc file"
        )
        return None
    names = [f.name for f in font_manager.fontManager.ttflist if f.fname == str(path)]
    simplified = [n for n in names if n.endswith(" SC") and "Mono" not in n]
    return (simplified or names or [None])[0]


def chart_format(name: str, what: str = "--chart") -> str:
    """svg or png, from the file name; CrmError for any other (before any work)."""
    from crmcli.errors import CrmError

    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in FORMATS:
        raise CrmError(f"{what} {name}: give a file name ending in .svg or .png")
    return suffix


def render(fig: Figure, fmt: str, salt: str = "crm") -> bytes:
    """The figure as SVG or PNG bytes, the same bytes for the same figure (no dates).
    `salt` makes the SVG's ids (clip paths) unique where several share one page."""
    import matplotlib

    meta = {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buf, format=fmt, metadata=meta, dpi=150 if fmt == "png" else 72)
    return buf.getvalue()


_PROLOGUE = re.compile(r"\A.*?(?=<svg)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def inline_svg(fig: Figure, key: str, label: str) -> str:
    """The figure as an <svg> element to put in an HTML page (no XML prologue, no
    metadata), with id `chart-KEY` and `label` for screen readers."""
    from html import escape

    text = render(fig, "svg", salt=key).decode("utf-8")
    text = _METADATA.sub("", _PROLOGUE.sub("", text, count=1), count=1)
    attrs = f'<svg id="chart-{key}" role="img" aria-label="{escape(label)}" '
    return text.replace("<svg ", attrs, 1)


# ----- shared drawing ----------------------------------------------------------------------


def _figure(panels: int = 1, height: float = PANEL) -> Any:
    from matplotlib.figure import Figure as MplFigure

    setup()
    return MplFigure(figsize=(WIDTH, max(1.6, height * max(1, panels))), layout="constrained")


def currencies(*amounts: Money) -> list[str]:
    """The currencies met in `amounts`, sorted."""
    return sorted({cur for m in amounts for cur in m})


def _money_axes(fig: Figure, curs: Sequence[str], extra: int = 0) -> Any:
    """(currency, axes) for each currency, stacked, each y axis ticked with exact
    amounts; and the `extra` axes below them."""
    from matplotlib.ticker import FuncFormatter

    axes = list(fig.subplots(len(curs) + extra, 1, squeeze=False)[:, 0])
    for cur, ax in zip(curs, axes, strict=False):
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
        ax.set_ylabel(cur)
    return list(zip(curs, axes, strict=False)), axes[len(curs) :]


def _nothing(fig: Figure, title: str, text: str) -> Figure:
    """A figure that says there is nothing to draw (still a chart in its place)."""
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", color=COLOURS["total"])
    return fig


def _whole() -> Any:
    """Ticks at whole numbers only (counts, days)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def nothing(title: str, text: str) -> Figure:
    """A small chart that only says `text` (a panel with nothing to draw)."""
    return _nothing(_figure(height=1.6), title, text)


def _num(value: Decimal | int | None) -> float:
    return float(value) if value is not None else 0.0


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value}%"


# ----- one chart per report ----------------------------------------------------------------


def funnel(data: dict[str, Any]) -> Figure:
    """Deals that reached each stage (and won), centred like a funnel, with the
    conversion to the next stage."""
    stages = data["stages"]
    names = [s["stage"] for s in stages] + ["won"]
    values = [s["reached"] for s in stages] + [data["won"]["count"]]
    fig = _figure(height=0.42 * len(names) + 0.9)
    title = "Funnel: deals that reached each stage"
    if not any(values):
        return _nothing(fig, title, "no deals")
    ax = fig.subplots()
    top = max(values)
    colours = [COLOURS["bar"]] * len(stages) + [COLOURS["won"]]
    rows = range(len(names))
    bars = ax.barh(rows, values, left=[(top - v) / 2 for v in values], color=colours)
    labels = [f"{s['reached']}  ({_pct(s['conversion'])} on)" for s in stages]
    ax.bar_label(bars, labels=[*labels, str(data["won"]["count"])], label_type="center",
                 color="white", fontweight="bold")  # fmt: skip
    ax.set_yticks(list(rows), labels=names)
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.spines[["left", "bottom"]].set_visible(False)
    ax.set_title(f"{title} (win rate {_pct(data['win_rate'])})")
    return fig


def forecast(data: dict[str, Any]) -> Figure:
    """Open deals by month of close date: best case, commit and weighted side by
    side, the deals won in the month, each month's team target (a mark); then the
    target periods (months, quarters) against what was won and could still close."""
    months = data["months"]
    keys = ("best_case", "commit", "weighted")
    goals = month_targets(data)
    curs = currencies(*(m[k] for m in months for k in keys), *(m["won"]["amount"] for m in months),
                      *goals.values())  # fmt: skip
    periods = data.get("targets") or []
    fig = _figure(len(curs) + bool(periods))
    title = f"Forecast by month (commit: stages at {data['commit_probability']}% or more)"
    if not curs and not periods:
        return _nothing(fig, title, "no open deals with an amount in these months")
    pairs, rest = _money_axes(fig, curs, extra=bool(periods))
    x = range(len(months))
    width = 0.2
    for i, (cur, ax) in enumerate(pairs):
        series = [(k, [m[k].get(cur) for m in months]) for k in keys]
        series.append(("won", [m["won"]["amount"].get(cur) for m in months]))
        for j, (name, values) in enumerate(series):
            colour = COLOURS[name.split("_")[0]]
            offset = [p + (j - 1.5) * width for p in x]
            ax.bar(offset, [_num(v) for v in values], width, color=colour,
                   label=name.replace("_", " "))  # fmt: skip
        marks = [goals.get(m["month"], {}).get(cur) for m in months]
        if any(g is not None for g in marks):
            ax.scatter(list(x), [_num(g) if g is not None else float("nan") for g in marks],
                       marker="_", s=900, linewidths=2.5, color=COLOURS["target"], label="target",
                       zorder=3)  # fmt: skip
        ax.set_xticks(list(x), labels=[m["month"] for m in months])
        if i == 0:
            ax.set_title(title)
            ax.legend(fontsize=7, ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.12),
                      frameon=False)  # fmt: skip
    if periods:
        _against(rest[0], [(t["period"], t) for t in periods], "Team targets")
    return fig


def month_targets(data: dict[str, Any]) -> dict[str, Money]:
    """{month: {currency: target}} of a forecast's months that have a team target (the
    currency is the one its `targets` entry gives)."""
    periods = {t["period"]: t for t in data.get("targets") or []}
    return {
        m["month"]: {periods[m["month"]]["currency"]: m["target"]}
        for m in data["months"]
        if m.get("target") is not None and m["month"] in periods
    }


def _against(ax: Any, entries: list[tuple[str, dict[str, Any]]], title: str) -> None:
    """Targets against what was won and the weighted pipeline that could still close:
    per entry (a label and a `targets` entry of a report) three bars, labelled with
    the exact amounts and the attainment."""
    from matplotlib.ticker import FuncFormatter

    y = range(len(entries))
    parts = (("target", COLOURS["target"]), ("won", COLOURS["won"]),
             ("weighted", COLOURS["weighted"]))  # fmt: skip
    for k, (key, colour) in enumerate(parts):
        values = [t[key] for _, t in entries]
        bars = ax.barh([p + (k - 1) * 0.27 for p in y], [_num(v) for v in values], 0.27,
                       color=colour, label="weighted (could still close)" if key == "weighted"
                       else key)  # fmt: skip
        labels = [money_text(v) + (f"  ({_pct(t['attainment'])})" if key == "won" else "")
                  for v, (_, t) in zip(values, entries, strict=True)]  # fmt: skip
        ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
    ax.set_yticks(list(y), labels=[f"{label} ({t['currency']})" for label, t in entries])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.margins(x=0.35)
    ax.legend(fontsize=7, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)
    ax.set_title(f"{title}: won (attainment) and the weighted pipeline", fontweight="normal")


def won_by_month(data: dict[str, Any]) -> Figure:
    """Won revenue per month (closed_at in the month)."""
    months = data["months"]
    curs = currencies(*(m["won_amount"] for m in months))
    fig = _figure(len(curs))
    title = "Won revenue per month"
    if not curs:
        return _nothing(fig, title, "no deals won in these months")
    for i, (cur, ax) in enumerate(_money_axes(fig, curs)[0]):
        values = [_num(m["won_amount"].get(cur)) for m in months]
        ax.bar([m["month"] for m in months], values, color=COLOURS["won"])
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        if i == 0:
            ax.set_title(title)
    return fig


def sources(data: dict[str, Any]) -> Figure:
    """Per source: leads and converted leads, then the won amount credited to it (through
    its leads or its customers) per currency."""
    rows = data["sources"]
    curs = currencies(*(s["won_amount"] for s in rows))
    names = [s["source"] if s["source"] is not None else "(none)" for s in rows]
    fig = _figure(1 + len(curs), height=0.28 * len(rows) + 1.0)
    title = "Lead sources: leads, converted, won"
    if not rows:
        return _nothing(fig, title, "no leads")
    axes = fig.subplots(1 + len(curs), 1, squeeze=False)[:, 0]
    y = range(len(rows))
    ax = axes[0]
    ax.barh([p - 0.2 for p in y], [s["leads"] for s in rows], 0.4, label="leads",
            color=COLOURS["best"])  # fmt: skip
    bars = ax.barh([p + 0.2 for p in y], [s["converted"] for s in rows], 0.4, label="converted",
                   color=COLOURS["weighted"])  # fmt: skip
    ax.bar_label(bars, labels=[_pct(s["conversion_rate"]) if s["leads"] else "" for s in rows],
                 fontsize=7, padding=2)  # fmt: skip
    ax.xaxis.set_major_locator(_whole())
    ax.set_yticks(list(y), labels=names)
    ax.invert_yaxis()
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.set_title(title)
    for cur, axc in zip(curs, axes[1:], strict=True):
        values = [s["won_amount"].get(cur) for s in rows]
        bars = axc.barh(list(y), [_num(v) for v in values], color=COLOURS["won"])
        axc.bar_label(bars, labels=[money_text(v) if v else "" for v in values], fontsize=7,
                      padding=2)  # fmt: skip
        axc.set_yticks(list(y), labels=names)
        axc.invert_yaxis()
        axc.set_xticks([])
        axc.margins(x=0.3)
        axc.set_title(f"Won amount ({cur}) credited to each source", fontweight="normal")
    return fig


def pareto(data: dict[str, Any]) -> Figure:
    """The ABC (Pareto) curve per currency: each customer's share of the revenue as a
    bar (coloured by tier), the cumulative share as a line, 80% and 95% marked."""
    rows = data["customers"]
    curs = sorted(data["totals"])
    fig = _figure(len(curs), height=3.0)
    title = "Customers by won revenue (ABC / Pareto)"
    if not curs:
        return _nothing(fig, title, "no won revenue")
    for i, (cur, ax) in enumerate(_money_axes(fig, curs)[0]):
        ranked = sorted((r for r in rows if r["revenue"].get(cur)),
                        key=lambda r, c=cur: r["cumulative_share"][c])  # fmt: skip
        x = list(range(1, len(ranked) + 1))
        curve = [_num(r["cumulative_share"][cur]) for r in ranked]
        if len(ranked) <= BARS:
            ax.bar(x, [_num(r["share"][cur]) for r in ranked], width=0.9,
                   color=[COLOURS[r["tier"]] for r in ranked])  # fmt: skip
        else:  # thousands of bars draw slowly and show nothing more: the area under the curve
            ax.fill_between(x, curve, color=COLOURS["best"], alpha=0.5, linewidth=0)
        ax.plot(x, curve, marker="o" if len(ranked) <= 40 else None, color=COLOURS["weighted"],
                label="cumulative")  # fmt: skip
        for level, tier in ((80, "A | B"), (95, "B | C")):
            ax.axhline(level, color=COLOURS["total"], linewidth=0.8, linestyle="--")
            ax.annotate(f"{level}% ({tier})", (1, level), xycoords=("axes fraction", "data"),
                        ha="right", va="bottom", fontsize=7, color=COLOURS["total"])  # fmt: skip
        ax.set_ylim(0, 105)
        ax.set_xlim(0.4, max(len(ranked), 6) + 0.6)
        ax.yaxis.set_major_formatter("{x:.0f}%")
        ax.set_ylabel(f"share of {cur}")
        if len(ranked) <= 12:
            ax.set_xticks(list(x), labels=[str(r["name"]) for r in ranked], fontsize=7,
                          rotation=20, ha="right")  # fmt: skip
        else:
            ax.set_xlabel("customers, highest revenue first")
        if i == 0:
            ax.set_title(title)
    return fig


def stalled(data: dict[str, Any], limit: int = 15) -> Figure:
    """The stalled deals, oldest first (the first `limit`): days idle, with amount."""
    deals = data["deals"][:limit]
    fig = _figure(height=0.36 * len(deals) + 1.0)
    title = f"Stalled deals: idle for {data['days']} days or more"
    if not deals:
        return _nothing(fig, title, "no stalled deals")
    ax = fig.subplots()
    y = range(len(deals))
    bars = ax.barh(list(y), [d["idle_days"] for d in deals], color=COLOURS["target"])
    amounts = ["" if d["amount"] is None else money_text(d["amount"], d["currency"]) for d in deals]
    ax.bar_label(bars, labels=[f"{d['idle_days']} d  {a}" for d, a in zip(deals, amounts,
                 strict=True)], fontsize=7, padding=2)  # fmt: skip
    names = [f"{d['title']} · {d['customer_name']}" if d["customer_name"] else d["title"]
             for d in deals]  # fmt: skip
    ax.set_yticks(list(y), labels=names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("days since the last activity")
    ax.xaxis.set_major_locator(_whole())
    ax.margins(x=0.3)
    more = len(data["deals"]) - len(deals)
    ax.set_title(title + (f" ({more} more in the table)" if more > 0 else ""))
    return fig


def waterfall(data: dict[str, Any]) -> Figure:
    """The open pipeline's waterfall per currency (report changes): start, each step
    up (green) or down (red) from where the one before ended, end; steps that moved
    nothing are left out."""
    flows = data["waterfall"]
    curs = sorted(flows)
    fig = _figure(len(curs), height=2.8)
    title = "Open pipeline: start, what moved it, end"
    if not curs:
        return _nothing(fig, title, "no open deals at either end")
    for i, (cur, ax) in enumerate(_money_axes(fig, curs)[0]):
        steps = [s for s in flows[cur]
                 if s["step"] in ("start", "end") or s["count"] or s["amount"]]  # fmt: skip
        bottoms, heights, colours, level = [], [], [], Decimal(0)
        for s in steps:
            amount = s["amount"]
            if s["step"] in ("start", "end"):
                bottoms.append(0.0)
                heights.append(_num(amount))
                colours.append(COLOURS["weighted"])
                level = amount
                continue
            bottoms.append(_num(level))
            heights.append(_num(amount))
            colours.append(COLOURS["won"] if amount >= 0 else COLOURS["lost"])
            level += amount
        names = [s["step"].replace("_", " ") for s in steps]
        bars = ax.bar(names, heights, bottom=bottoms, color=colours)
        labels = [money_text(s["amount"]) if s["step"] in ("start", "end")
                  else ("+" if s["amount"] >= 0 else "") + money_text(s["amount"])
                  for s in steps]  # fmt: skip
        ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
        ends = [b + h for b, h in zip(bottoms, heights, strict=True)] + bottoms
        low, high = min(0.0, *ends), max(0.0, *ends)
        ax.set_ylim(low - (high - low) * 0.05, high + (high - low) * 0.15 or 1)
        ax.tick_params(axis="x", labelsize=8)
        if i == 0:
            ax.set_title(title)
    return fig


def owners(data: dict[str, Any]) -> Figure:
    """Won amount per owner in each currency; then, where settings have targets, each
    owner's (and the team's) target against won and the weighted pipeline."""
    rows = data["owners"]
    curs = currencies(*(o["won_amount"] for o in rows))
    entries = [(f"{o['owner']} {t['period']}", t) for o in rows for t in o.get("targets") or []]
    entries += [(f"team {t['period']}", t) for t in data["total"].get("targets") or []]
    fig = _figure(len(curs) + bool(entries), height=max(PANEL, 0.5 * len(entries)))
    title = "Won amount by owner"
    if not curs and not entries:
        return _nothing(fig, title, "no deals won")
    pairs, rest = _money_axes(fig, curs, extra=bool(entries))
    names = [o["owner"] if o["owner"] is not None else "(none)" for o in rows]
    for i, (cur, ax) in enumerate(pairs):
        ax.bar(names, [_num(o["won_amount"].get(cur)) for o in rows], color=COLOURS["won"])
        if i == 0:
            ax.set_title(title)
    if entries:
        _against(rest[0], entries, "Targets")
    return fig


CHARTS: dict[str, Callable[[dict[str, Any]], Figure]] = {
    "funnel": funnel,
    "forecast": forecast,
    "owners": owners,
    "customers": pareto,
    "sources": sources,
    "stalled": stalled,
    "won_by_month": won_by_month,
    "changes": waterfall,
}


def write(report: str, data: dict[str, Any], path: Any) -> None:
    """Draw `report`'s chart of `data` into `path` (.svg or .png), whole or not at all."""
    from crmcli.errors import CrmError
    from crmcli.store import atomic_write

    fmt = chart_format(str(path))
    body = render(CHARTS[report](data), fmt)
    try:
        atomic_write(path, body)
    except OSError as e:
        raise CrmError(f"cannot write {path}: {e.strerror}") from None
