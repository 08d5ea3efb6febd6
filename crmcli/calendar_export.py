"""Open tasks with a due as an iCalendar (RFC 5545) file, through the icalendar library.

Each task is a VEVENT (every calendar shows those; VTODO on request) with a
stable UID (`<task id>@crm`), so importing the file again updates the entries
instead of doubling them. A due with a time becomes a 30-minute entry at that
instant (written in UTC); an all-day due (a date without a time) becomes an
all-day entry on that date. DTSTAMP is the task's `updated` time, so the same
tasks always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta, timezone, tzinfo
from typing import Any

from crmcli.models import Record
from crmcli.tasks import Links, due_of, is_all_day

UID_DOMAIN = "crm"
EVENT_LENGTH = timedelta(minutes=30)
# RFC 5545 PRIORITY: 1 highest, 9 lowest.
ICS_PRIORITY = {"urgent": 1, "high": 3, "normal": 5, "low": 9}
COMPONENTS = ("event", "todo")


def uid(task: Record) -> str:
    return f"{task['id']}@{UID_DOMAIN}"


def _utc(value: str, tz: tzinfo) -> Any:
    from crmcli.dates import parse_iso

    return parse_iso(value, tz).astimezone(timezone.utc)


def _description(task: Record, links: Links) -> str:
    lines = []
    link = links.linked(task)
    if link:
        lines.append(f"{link[0].capitalize()}: {link[2]} ({link[1]})")
    lines.append(f"Kind: {task.get('kind')}, priority: {task.get('priority')}")
    if task.get("severity"):
        lines.append(f"Severity: {task['severity']}")
    if task.get("owner"):
        lines.append(f"Owner: {task['owner']}")
    if task.get("every"):
        lines.append(f"Repeats every {task['every']} (next one made on completion)")
    lines.append(f"crm task done {task['id']}")
    return "\n".join(lines)


def to_ics(
    tasks: Iterable[Record],
    links: Links,
    tz: tzinfo,
    *,
    name: str = "crm tasks",
    component: str = "event",
) -> bytes:
    """The iCalendar file of these tasks (those without a due are left out)."""
    import icalendar

    if component not in COMPONENTS:
        raise ValueError(component)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//crm//crm task export//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for task in tasks:
        due = due_of(task, tz)
        if due is None:
            continue
        item = icalendar.Event() if component == "event" else icalendar.Todo()
        item.add("uid", uid(task))
        item.add("dtstamp", _utc(task.get("updated") or task["created"], tz))
        if task.get("created"):
            item.add("created", _utc(task["created"], tz))
        if task.get("updated"):
            item.add("last-modified", _utc(task["updated"], tz))
        item.add("summary", task["title"])
        item.add("description", _description(task, links))
        item.add("categories", [task.get("kind") or "todo"])
        item.add("priority", ICS_PRIORITY.get(task.get("priority") or "normal", 5))
        if component == "event":
            if is_all_day(due):
                item.add("dtstart", due.date())
                item.add("dtend", due.date() + timedelta(days=1))
                item.add("transp", "TRANSPARENT")
            else:
                start = due.astimezone(timezone.utc)
                item.add("dtstart", start)
                item.add("dtend", start + EVENT_LENGTH)
        else:
            item.add("due", due.date() if is_all_day(due) else due.astimezone(timezone.utc))
            item.add("status", "NEEDS-ACTION")
        cal.add_component(item)
    return cal.to_ical()
