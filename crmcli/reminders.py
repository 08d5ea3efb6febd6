"""What `crm task remind` shows, as data, and its plain-text form for cron mail.

The reminder holds: open tasks overdue or due within the window (default: the
rest of today), open deals past their close date, big deals waiting for
approval, customers due for contact, and the mail threads awaiting their reply
or owed ours (crmcli.mail.threads). When all are empty nothing needs attention
and the command prints nothing, so `mail -E` sends no mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from crmcli import models
from crmcli.formats import clock_text, day_text, money_text, time_text
from crmcli.models import Record
from crmcli.store import Store
from crmcli.tasks import (
    Links,
    contact_due,
    due_of,
    end_of_today,
    is_all_day,
    late_by,
)

SECTIONS = ("tasks", "deals_past_close", "deals_awaiting_approval", "contact_due",
            "awaiting_reply", "owes_reply")  # fmt: skip
NO_OWNER = "(no owner)"


def window_end(now: datetime, tz: tzinfo, within: str | None) -> datetime:
    """The end of the reminder window. None: the end of today. A duration in
    hours or minutes counts from now; one in days, weeks or months runs to the
    end of the day it reaches (so `--within 1d` is today and tomorrow)."""
    if not within:
        return end_of_today(now, tz)
    from crmcli.dates import parse_duration

    step = parse_duration(within)
    if step.years or step.months or step.days:
        return end_of_today(now + step, tz)
    return now + step


def _close_date(deal: Record, store: Store) -> date | None:
    text = deal.get("close_date")
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        store.warn(f"deals/{deal['id']}.yaml: close_date '{text}' is not YYYY-MM-DD")
        return None


def _big_deal(store: Store) -> Decimal:
    return Decimal(str(store.settings.get("big_deal", 100000)))


def build(store: Store, *, owner: str | None = None, within: str | None = None) -> dict[str, Any]:
    """Everything that needs attention now, as one JSON-ready object:
    {now, until, tasks, deals_past_close, deals_awaiting_approval, contact_due,
    awaiting_reply, owes_reply} (the last two: crmcli.mail.threads.waiting).
    Tasks carry `overdue`, `late` and `linked` ({kind, id, name} or null);
    deals past close `days_past_close` and `customer_name`."""
    from crmcli.dates import iso

    now, tz = store.ctx.now(), store.ctx.tz
    until = window_end(now, tz, within)
    today = now.astimezone(tz).date()
    links = Links.load(store)

    where = {"status": "open", "owner": owner, "due_before": until + timedelta(seconds=1)}
    task_items = []
    for t in store.query("task", where, order="list"):
        due = due_of(t, tz)
        if due is None or due > until:  # (a hand-written due with a fraction of a second)
            continue
        link = links.linked(t)
        task_items.append(
            {
                **t,
                "overdue": due < now,  # type: ignore[operator]
                "late": late_by(due, now, tz),  # type: ignore[arg-type]
                "linked": {"kind": link[0], "id": link[1], "name": link[2]} if link else None,
            }
        )

    def customer_name(d: Record) -> dict[str, Any]:
        cust = links.customers.get(d.get("customer") or "")
        return {"customer_name": cust["name"] if cust else None}

    past, approval = [], []
    midnight = datetime.combine(today, time(), tzinfo=tz)  # the index: deals closing before
    for d in store.query("deal", {"status": "open", "owner": owner, "due_before": midnight}):
        closes = _close_date(d, store)
        if closes is not None and closes < today:
            past.append({**d, **customer_name(d), "days_past_close": (today - closes).days})
    big = _big_deal(store)
    for d in links.deals.values():  # (the light deals, read once)
        amount = d.get("amount")
        if (
            d.get("status") == "open"
            and (owner is None or d.get("owner") == owner)
            and d.get("needs_approval")
            and isinstance(amount, (int, Decimal))
            and amount >= big
        ):
            whole = store.load("deal", d["id"])
            approval.append({**whole, **customer_name(whole)})
    past.sort(key=lambda d: (-d["days_past_close"], d["id"]))
    approval.sort(key=lambda d: (-(d.get("amount") or 0), d["id"]))

    return {
        "now": iso(now),
        "until": iso(until),
        "tasks": task_items,
        "deals_past_close": past,
        "deals_awaiting_approval": approval,
        "contact_due": contact_due(store, now, owner=owner, links=links),
        **_mail(store, owner),
    }


def _mail(store: Store, owner: str | None) -> dict[str, list[Record]]:
    from crmcli.mail.threads import waiting

    return waiting(store, owner=owner)


def is_empty(data: dict[str, Any]) -> bool:
    return not any(data[s] for s in SECTIONS)


# ----- plain text ---------------------------------------------------------------------


def _when(task: dict[str, Any], now: datetime, tz: tzinfo) -> str:
    if task["late"]:
        return f"{task['late']} late"
    due = due_of(task, tz)
    assert due is not None
    day = due.date() if is_all_day(due) else due.astimezone(tz).date()
    today = now.astimezone(tz).date()
    if day == today:
        prefix = "today"
    elif (day - today).days == 1:
        prefix = "tomorrow"
    else:
        prefix = day_text(day, weekday=True)
    if is_all_day(due):
        return f"due {prefix}"
    return f"due {prefix} {clock_text(due.astimezone(tz))}"


def _ago(since: datetime, now: datetime) -> str:
    days = (now - since).days
    return "today" if days <= 0 else f"{days}d ago"


WIDTH = 80
LABEL = 20  # the column of "2d late", "due today 15:00", ...


def _width(text: str) -> int:
    """Columns `text` takes in a terminal or a fixed-width mail (CJK: two each)."""
    if text.isascii():
        return len(text)
    from unicodedata import east_asian_width

    return len(text) + sum(text.count(c) for c in set(text) if east_asian_width(c) in "WF")


def _fit(first: str, pieces: list[tuple[str, str]], indent: str) -> list[str]:
    """`first` followed by (separator, text) pieces, wrapped to WIDTH columns:
    a piece that does not fit starts a continuation line at `indent`."""
    lines: list[str] = []
    cur, fresh = first, True
    for sep, piece in pieces:
        joined = piece if fresh else sep + piece
        if _width(cur + joined) <= WIDTH:
            cur, fresh = cur + joined, False
            continue
        if not fresh:
            lines.append(cur.rstrip())
            cur, fresh = indent, True
        while _width(cur + piece) > WIDTH:  # one piece wider than a line: cut it
            room = WIDTH - _width(cur)
            n = 0
            while n < len(piece) and _width(piece[: n + 1]) <= room:
                n += 1
            space = piece.rfind(" ", 0, n + 1)
            if space > 0:  # break between words when there is a space to break at
                n = space
            n = max(n, 1)
            lines.append((cur + piece[:n]).rstrip())
            cur, piece = indent, piece[n:].lstrip() or ""
        cur, fresh = cur + piece, False
    lines.append(cur.rstrip())
    return lines


def _items(
    data: dict[str, Any], now: datetime, tz: tzinfo
) -> Iterator[tuple[str | None, str, str, list[tuple[str, str]]]]:
    """(owner, section, label, pieces of the line) of every item of the reminder."""
    from crmcli.dates import parse_iso

    for t in data["tasks"]:
        pieces = [("", t["title"])]
        if t.get("priority") in ("high", "urgent"):
            pieces.append((" ", f"[{t['priority']}]"))
        if t.get("kind") == "complaint":
            pieces.append((" ", f"[complaint, {t.get('severity') or 'no severity'}]"))
        if t["linked"]:
            pieces.append((" - ", f"{t['linked']['kind']}: {t['linked']['name']}"))
        pieces.append((" ", f"({t['id']})"))
        yield t.get("owner"), "Tasks", _when(t, now, tz), pieces
    for d in data["deals_past_close"]:
        pieces = [("", d["title"])]
        if d.get("customer_name"):
            pieces.append((" - ", d["customer_name"]))
        money = money_text(d.get("amount"), d.get("currency"))
        if money:
            pieces.append((" - ", money))
        pieces.append((" ", f"(closes {d['close_date']}, {d['id']})"))
        label = f"{d['days_past_close']}d past close"
        yield d.get("owner"), "Deals past their close date", label, pieces
    for d in data["deals_awaiting_approval"]:
        pieces = [("", d["title"])]
        if d.get("customer_name"):
            pieces.append((" - ", d["customer_name"]))
        pieces += [(" - ", money_text(d.get("amount"), d.get("currency"))), (" ", f"({d['id']})")]
        yield d.get("owner"), "Big deals waiting for approval", "", pieces
    for c in data["contact_due"]:
        if c["last_contact"]:
            seen = f"last contact {_ago(parse_iso(c['last_contact'], tz), now)}"
        else:
            seen = f"no contact since added {_ago(parse_iso(c['created'], tz), now)}"
        pieces = [
            ("", models.display_name("customer", c)),
            (" - ", f"{seen}, every {c['cadence']}"),
            (" ", f"({c['id']})"),
        ]
        yield c.get("owner"), "Customers due for contact", "", pieces
    for key, section in (("owes_reply", "Mail you owe a reply"),
                         ("awaiting_reply", "Mail awaiting their reply")):  # fmt: skip
        for m in data[key]:
            yield m.get("owner"), section, f"{m['days']}d since", _thread_pieces(m)


def _thread_pieces(m: dict[str, Any]) -> list[tuple[str, str]]:
    """A waiting mail thread as pieces of a line: subject - who - deal (entry)."""
    pieces = [("", m["subject"] or "(no subject)")]
    who = ", ".join(r["name"] or r["id"] for r in m["records"])
    if who:
        pieces.append((" - ", who))
    if m.get("deal_title"):
        pieces.append((" - ", m["deal_title"]))
    pieces.append((" ", f"({m['entry']})"))
    return pieces


def to_text(data: dict[str, Any], tz: tzinfo, limit: int = 0) -> str:
    """The reminder as plain text (no colour, no box drawing), grouped by owner,
    lines within 80 columns. Empty when nothing needs attention. With `limit`,
    each owner's section lists that many items and says how many more there are."""
    from crmcli.dates import parse_iso
    from crmcli.render import safe

    if is_empty(data):
        return ""
    now = parse_iso(data["now"], tz).astimezone(tz)
    by_owner: dict[str, dict[str, list[str]]] = {}
    shown: dict[tuple[str, str], int] = {}
    indent = " " * (LABEL + 3)

    def add(owner: str | None, section: str, label: str, pieces: list[tuple[str, str]]) -> None:
        key = (safe(owner, lines=False) if owner else NO_OWNER, section)
        shown[key] = shown.get(key, 0) + 1
        if limit and shown[key] > limit:
            return
        first = f"  {label:<{LABEL}} " if label else "  "
        pieces = [(sep, safe(text, lines=False)) for sep, text in pieces]
        lines = _fit(first, pieces, indent if label else "    ")
        by_owner.setdefault(key[0], {}).setdefault(section, []).extend(lines)

    for owner, section, label, pieces in _items(data, now, tz):
        add(owner, section, label, pieces)

    counts = [
        (len(data["tasks"]), "task"),
        (len(data["deals_past_close"]) + len(data["deals_awaiting_approval"]), "deal"),
        (len(data["contact_due"]), "customer"),
        (len(data["owes_reply"]) + len(data["awaiting_reply"]), "mail thread"),
    ]
    summary = ", ".join(f"{n} {w}{'' if n == 1 else 's'}" for n, w in counts if n)
    zone = getattr(tz, "key", None) or now.strftime("%z")
    lines = [f"crm reminder, {time_text(now, weekday=True)} {zone}: {summary}"]
    order = [
        "Tasks",
        "Deals past their close date",
        "Big deals waiting for approval",
        "Customers due for contact",
        "Mail you owe a reply",
        "Mail awaiting their reply",
    ]
    for owner in sorted(by_owner, key=lambda o: (o == NO_OWNER, o)):
        lines += ["", f"{owner}:"]
        for section in order:
            if section in by_owner[owner]:
                lines.append(f" {section}")
                lines += by_owner[owner][section]
                more = shown[(owner, section)] - limit if limit else 0
                if more > 0:
                    lines.append(f"  ... and {more} more (--limit 0 shows all)")
    return "\n".join(lines) + "\n"
