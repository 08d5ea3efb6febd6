"""What `crm task remind` and `crm today` show: one list of sections (SECTIONS), each
built once by a function of crmcli.agenda, with how one item reads in the reminder's
plain text (cron mail) and as a row of today's table.

The reminder holds: open tasks overdue or due within the window (default: the
rest of today), open deals past their close date, big deals waiting for
approval, customers due for contact, and the mail threads that owe or await a
reply (crmcli.mail.threads). When all are empty nothing needs attention and the
command prints nothing, so `mail -E` sends no mail.

`crm today` holds: tasks overdue and due today, open complaints, deals past or
near their close date, deals waiting for my approval, customers due for contact,
stalled deals, the mail threads that owe or await a reply. A new section, for
either or both, is one entry in SECTIONS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

from crmcli import agenda, models
from crmcli.formats import clock_text, day_text, money_text, time_text
from crmcli.mail import threads as mail_threads
from crmcli.store import Store
from crmcli.tasks import due_of, end_of_today, is_all_day

NO_OWNER = "(no owner)"
REMIND, TODAY = "remind", "today"

Item = dict[str, Any]
# One item as a line of the reminder: (label, [(separator, text), ...]), at `now` in a zone
Line = Callable[[Item, datetime, tzinfo], tuple[str, list[tuple[str, str]]]]
# One item as a row of today's table, at `now` in a zone
Row = Callable[[Item, datetime, tzinfo], list[Any]]


class Section(NamedTuple):
    """One section: its JSON key, its heading, what an item is (`noun`, for the
    reminder's summary), its builder (agenda), the views it is in (REMIND, TODAY),
    how an item reads in the reminder (`line`) and in today's table (`columns`,
    `row`; render.table's columns), and the command that lists all (`more`)."""

    key: str
    title: str
    noun: str
    build: Callable[[agenda.Ask], list[Item]]
    views: tuple[str, ...]
    line: Line | None = None
    columns: tuple[Any, ...] = ()
    row: Row | None = None
    more: str = ""


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


def sections(view: str) -> list[Section]:
    """The sections of `view` (REMIND or TODAY), in the order they show."""
    return [s for s in SECTIONS if view in s.views]


def build(
    store: Store,
    *,
    owner: str | None = None,
    within: str | None = None,
    view: str = REMIND,
    approver: str | None = None,
) -> dict[str, Any]:
    """Everything that needs attention now, as one JSON-ready object: {now, until}
    and a list of items under each section's key (the reminder's: tasks,
    deals_past_close, deals_awaiting_approval, contact_due). `owner`: whose work
    (None: everyone's); `approver`: whose approval today's approvals are waiting for
    (None: anyone's); `within`: the tasks' window (window_end)."""
    from crmcli.dates import iso
    from crmcli.tasks import Links

    now, tz = store.ctx.now(), store.ctx.tz
    until = window_end(now, tz, within)
    ask = agenda.Ask(store, now, until, owner, approver, Links.load(store))
    data: dict[str, Any] = {"now": iso(now), "until": iso(until)}
    for section in sections(view):
        data[section.key] = section.build(ask)
    return data


def is_empty(data: dict[str, Any], view: str = REMIND) -> bool:
    return not any(data[s.key] for s in sections(view))


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


# ----- items as lines of the reminder ----------------------------------------------------


def _task_line(t: Item, now: datetime, tz: tzinfo) -> tuple[str, list[tuple[str, str]]]:
    pieces = [("", t["title"])]
    if t.get("priority") in ("high", "urgent"):
        pieces.append((" ", f"[{t['priority']}]"))
    if t.get("kind") == "complaint":
        pieces.append((" ", f"[complaint, {t.get('severity') or 'no severity'}]"))
    if t["linked"]:
        pieces.append((" - ", f"{t['linked']['kind']}: {t['linked']['name']}"))
    pieces.append((" ", f"({t['id']})"))
    return _when(t, now, tz), pieces


def _deal_pieces(d: Item) -> list[tuple[str, str]]:
    pieces = [("", d["title"])]
    if d.get("customer_name"):
        pieces.append((" - ", d["customer_name"]))
    money = money_text(d.get("amount"), d.get("currency"))
    if money:
        pieces.append((" - ", money))
    return pieces


def _past_close_line(d: Item, now: datetime, tz: tzinfo) -> tuple[str, list[tuple[str, str]]]:
    pieces = [*_deal_pieces(d), (" ", f"(closes {d['close_date']}, {d['id']})")]
    return f"{d['days_past_close']}d past close", pieces


def _approval_line(d: Item, now: datetime, tz: tzinfo) -> tuple[str, list[tuple[str, str]]]:
    return "", [*_deal_pieces(d), (" ", f"({d['id']})")]


def _last_contact(c: Item, now: datetime, tz: tzinfo) -> str:
    from crmcli.dates import parse_iso

    if c["last_contact"]:
        return f"last contact {_ago(parse_iso(c['last_contact'], tz), now)}"
    return f"no contact since added {_ago(parse_iso(c['created'], tz), now)}"


def _contact_line(c: Item, now: datetime, tz: tzinfo) -> tuple[str, list[tuple[str, str]]]:
    seen = _last_contact(c, now, tz)
    return "", [
        ("", models.display_name("customer", c)),
        (" - ", f"{seen}, every {c['cadence']}"),
        (" ", f"({c['id']})"),
    ]


def _items(
    data: dict[str, Any], now: datetime, tz: tzinfo
) -> Iterator[tuple[str | None, str, str, list[tuple[str, str]]]]:
    """(owner, section title, label, pieces of the line) of every item of the reminder."""
    for section in sections(REMIND):
        assert section.line is not None
        for item in data[section.key]:
            label, pieces = section.line(item, now, tz)
            yield item.get("owner"), section.title, label, pieces


# ----- items as rows of today's table -----------------------------------------------------


def _task_row(t: Item, now: datetime, tz: tzinfo) -> list[Any]:
    when = _when(t, now, tz).removeprefix("due ").removeprefix("today ")  # today, 15:00
    pri = "" if t.get("priority") == "normal" else t.get("priority")
    return [t["id"], when, t["title"], t["linked"]["name"] if t["linked"] else "", pri, t["owner"]]


def _complaint_row(t: Item, now: datetime, tz: tzinfo) -> list[Any]:
    from crmcli.dates import humanize_delta, parse_iso

    age = humanize_delta(now - parse_iso(t["created"], tz)).split()[0]
    return [t["id"], t["tier"], t.get("severity"), age, t["title"],
            t["linked"]["name"] if t["linked"] else "", t["owner"]]  # fmt: skip


def _closing_row(d: Item, now: datetime, tz: tzinfo) -> list[Any]:
    days = d["days_past_close"]
    when = f"{days}d past" if days > 0 else "today" if days == 0 else f"in {-days}d"
    return [d["id"], when, d["title"], d.get("customer_name"),
            money_text(d.get("amount"), d.get("currency")), d["owner"]]  # fmt: skip


def _approval_row(d: Item, now: datetime, tz: tzinfo) -> list[Any]:
    return [d["id"], d["title"], d.get("customer_name"),
            money_text(d.get("amount"), d.get("currency")), d["owner"]]  # fmt: skip


def _contact_row(c: Item, now: datetime, tz: tzinfo) -> list[Any]:
    from crmcli.dates import parse_iso

    last = f"{_ago(parse_iso(c['last_contact'], tz), now)}" if c["last_contact"] else "never"
    return [c["id"], c["name"], c.get("tier"), c["cadence"], last, c["owner"]]


def _thread_line(m: Item, now: datetime, tz: tzinfo) -> tuple[str, list[tuple[str, str]]]:
    """A mail thread waiting: subject - who - deal (entry)."""
    pieces = [("", m["subject"] or "(no subject)")]
    who = ", ".join(r["name"] or r["id"] for r in m["records"])
    if who:
        pieces.append((" - ", who))
    if m.get("deal_title"):
        pieces.append((" - ", m["deal_title"]))
    return f"{m['days']}d since", [*pieces, (" ", f"({m['entry']})")]


def _thread_row(m: Item, now: datetime, tz: tzinfo) -> list[Any]:
    who = ", ".join(r["name"] or r["id"] for r in m["records"])
    return [m["entry"], f"{m['days']}d", m["subject"], who, m.get("deal_title"), m["owner"]]


def _stalled_row(d: Item, now: datetime, tz: tzinfo) -> list[Any]:
    return [d["id"], d["title"], f"{d['idle_days']}d", d["last_activity"],
            d.get("customer_name"), d["owner"]]  # fmt: skip


_R = {"justify": "right"}
_LOW = {"priority": 0}
_THREAD_COLUMNS = ("entry", ("since", _R), ("subject", {"wrap": True}), ("with", {"priority": 2}),
                   ("deal", _LOW), "owner")  # fmt: skip

SECTIONS: list[Section] = [
    Section("tasks", "Tasks", "task", agenda.tasks_due, (REMIND, TODAY), _task_line,
            ("id", ("when", {"min": 9}), "title", ("for", {"priority": 2}), ("pri", _LOW),
             "owner"),
            _task_row, "crm task list --due-before today"),
    Section("complaints", "Open complaints", "task", agenda.complaints, (TODAY,), None,
            ("id", ("tier", {"priority": 2}), ("severity", {"priority": 3}), ("age", _LOW),
             "title", ("for", {"priority": 2}), "owner"),
            _complaint_row, "crm task list --kind complaint"),
    Section("deals_past_close", "Deals past their close date", "deal", agenda.deals_past_close,
            (REMIND,), _past_close_line),
    Section("deals_closing", "Deals past or within a week of their close date", "deal",
            agenda.deals_closing, (TODAY,), None,
            ("id", ("close", {"min": 9, "priority": 3}), "title", ("customer", {"priority": 2}),
             ("amount", _R), "owner"),
            _closing_row, "crm deal list --closing-before +1w"),
    Section("deals_awaiting_approval", "Big deals waiting for approval", "deal",
            agenda.big_deals_awaiting_approval, (REMIND,), _approval_line),
    Section("awaiting_my_approval", "Deals waiting for your approval", "deal",
            agenda.awaiting_my_approval, (TODAY,), None,
            ("id", "title", ("customer", {"priority": 2}), ("amount", _R), "owner"),
            _approval_row, "crm deal list"),
    Section("contact_due", "Customers due for contact", "customer", agenda.contact_due,
            (REMIND, TODAY), _contact_line,
            ("id", "name", ("tier", _LOW), ("every", {"priority": 2}), ("last contact", {"min": 10}),
             "owner"),
            _contact_row, "crm task list --due-contact"),
    Section("stalled", "Stalled deals", "deal", agenda.stalled, (TODAY,), None,
            ("id", "title", ("idle", _R), ("last activity", _LOW), ("customer", {"priority": 2}),
             "owner"),
            _stalled_row, "crm report stalled"),
    Section("owes_reply", "Mail you owe a reply", "mail thread", mail_threads.owes_reply,
            (REMIND, TODAY), _thread_line, _THREAD_COLUMNS, _thread_row,
            "crm task remind --format json"),
    Section("awaiting_reply", "Mail awaiting their reply", "mail thread",
            mail_threads.awaiting_reply, (REMIND, TODAY), _thread_line, _THREAD_COLUMNS,
            _thread_row, "crm task remind --format json"),
]  # fmt: skip


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

    counts: dict[str, int] = {}
    for section in sections(REMIND):
        counts[section.noun] = counts.get(section.noun, 0) + len(data[section.key])
    summary = ", ".join(f"{n} {w}{'' if n == 1 else 's'}" for w, n in counts.items() if n)
    zone = getattr(tz, "key", None) or now.strftime("%z")
    lines = [f"crm reminder, {time_text(now, weekday=True)} {zone}: {summary}"]
    order = [section.title for section in sections(REMIND)]
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
