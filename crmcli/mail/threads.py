"""Mail threads from the logged e-mail entries, and who owes whom an answer.

A thread is the set of messages joined by Message-ID, In-Reply-To and References
(so a reply that drops the References header still joins its thread). A message
logged on several records (a customer and a lead) counts once. From the entries'
light fields only (models.LIGHT_FIELDS), read through the index.

- awaiting reply: our message is the last of its thread and has had no answer for
  settings mail.awaiting_days days (default 3);
- owes reply: their message is the last of its thread and we have not answered it
  within one working day (Saturday and Sunday do not count).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmcli.store import Store

Record = dict[str, Any]
FIELDS = ("id", "on", "kind", "at", "deal", "direction", "subject", "message_id",
          "in_reply_to", "references")  # fmt: skip


# A thread whose last message is older than this is let go: no longer waiting
LET_GO_DAYS = 30


def is_mail(entry: Record) -> bool:
    """An entry of a logged message (not a hand-written note of kind email)."""
    return entry.get("kind") == "email" and entry.get("direction") in ("in", "out")


class _Joiner:
    """Union-find over message ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def threads(store: Store, entries: list[Record] | None = None) -> list[list[Record]]:
    """Every thread: its messages (one entry each, with `records`: the ids of every
    record it is logged on) oldest first; threads newest first."""
    tz = store.ctx.tz
    if entries is None:
        entries = [
            a for a in store.query("activity", {"kind": "email"}, fields=FIELDS) if is_mail(a)
        ]
    messages: dict[str, Record] = {}
    joiner = _Joiner()
    for a in entries:
        key = a.get("message_id") or a["id"]
        if key in messages:
            messages[key]["records"].append(a["on"])
            messages[key]["deal"] = messages[key].get("deal") or a.get("deal")
            continue
        messages[key] = {**a, "key": key, "records": [a["on"]],
                         "when": store.ctx.parse_iso(a["at"]).astimezone(tz)}  # fmt: skip
        joiner.find(key)
        for ref in [a.get("in_reply_to"), *(a.get("references") or [])]:
            if ref:
                joiner.join(key, ref)
    grouped: dict[str, list[Record]] = {}
    for key, m in messages.items():
        grouped.setdefault(joiner.find(key), []).append(m)
    out = [sorted(ms, key=lambda m: (m["when"], m["key"])) for ms in grouped.values()]
    out.sort(key=lambda ms: (ms[-1]["when"], ms[-1]["key"]), reverse=True)
    return out


def after_working_day(when: datetime) -> datetime:
    """One working day after `when` (a weekend message counts from Monday 00:00)."""
    start = when
    while start.weekday() >= 5:
        start = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    due = start + timedelta(days=1)
    while due.weekday() >= 5:
        due += timedelta(days=1)
    return due


def waiting(
    store: Store, *, owner: str | None = None, now: datetime | None = None, links: Any = None
) -> dict[str, list[Record]]:
    """{awaiting_reply: [...], owes_reply: [...]}: the threads whose last message is
    ours and unanswered for mail.awaiting_days, or theirs and unanswered for a
    working day; longest waiting first. Each item: {thread, subject, direction, at,
    days, messages, message_id, entry, deal, deal_title, records: [{kind, id, name,
    owner}], owner}. `links`: the light customers, leads and deals (tasks.Links)."""
    from crmcli.mail.importer import mail_settings
    from crmcli.tasks import Links

    now = now or store.ctx.now()
    days = mail_settings(store.settings)["awaiting_days"]
    links = links or Links.load(store)
    awaiting, owes = [], []
    for thread in threads(store):
        last = thread[-1]
        if last.get("direction") == "out":
            due, bucket = last["when"] + timedelta(days=days), awaiting
        else:
            due, bucket = after_working_day(last["when"]), owes
        if due > now or now - last["when"] > timedelta(days=LET_GO_DAYS):
            continue
        item = _item(thread, links, now)
        if owner is None or item["owner"] == owner:
            bucket.append(item)
    for bucket in (awaiting, owes):
        bucket.sort(key=lambda i: (i["at"], i["entry"]))
    return {"awaiting_reply": awaiting, "owes_reply": owes}


def owes_reply(ask: Any) -> list[Record]:
    """The threads we owe a reply (a section of crm today and task remind: agenda.Ask)."""
    return _waiting_for(ask)["owes_reply"]


def awaiting_reply(ask: Any) -> list[Record]:
    """The threads awaiting their reply (a section of crm today and task remind)."""
    return _waiting_for(ask)["awaiting_reply"]


@functools.lru_cache(maxsize=1)
def _waiting_for(ask: Any) -> dict[str, list[Record]]:
    """`waiting` of one agenda.Ask, worked out once for both of its sections."""
    return waiting(ask.store, owner=ask.owner, now=ask.now, links=ask.links)


def _record(links: Any, rid: str) -> Record:
    """{kind, id, name, owner} of the customer, lead or deal `rid` (light records)."""
    for kind, table in (("customer", links.customers), ("lead", links.leads),
                        ("deal", links.deals)):  # fmt: skip
        r = table.get(rid)
        if r is not None:
            name = r.get("title") if kind == "deal" else r.get("name")
            return {"kind": kind, "id": rid, "name": name, "owner": r.get("owner")}
    return {"kind": None, "id": rid, "name": None, "owner": None}


def _item(thread: list[Record], links: Any, now: datetime) -> Record:
    from crmcli.dates import iso

    last = thread[-1]
    records = [_record(links, rid) for rid in last["records"]]
    deal = next((m["deal"] for m in reversed(thread) if m.get("deal")), None)
    return {
        "thread": thread[0]["key"],
        "subject": last.get("subject") or thread[0].get("subject"),
        "direction": last.get("direction"),
        "at": iso(last["when"]),
        "days": (now - last["when"]).days,
        "messages": len(thread),
        "message_id": last.get("message_id"),
        "entry": last["id"],
        "deal": deal,
        "deal_title": _record(links, deal)["name"] if deal else None,
        "records": records,
        "owner": next((r["owner"] for r in records if r.get("owner")), None),
    }


def for_record(store: Store, rid: str, *, deal: bool = False) -> list[Record]:
    """The mail threads of one customer or lead (`deal`: of one deal), newest first:
    {thread, subject, messages, last_at, last_direction, entries: [ids]}."""
    from crmcli.dates import iso

    where = {"kind": "email", "deal" if deal else "on": rid}
    mine = [a for a in store.query("activity", where, fields=FIELDS) if is_mail(a)]
    if not mine:
        return []
    out = []
    for thread in threads(store, mine):
        last = thread[-1]
        out.append({"thread": thread[0]["key"], "subject": last.get("subject"),
                    "messages": len(thread), "last_at": iso(last["when"]),
                    "last_direction": last.get("direction"),
                    "entries": [m["id"] for m in thread]})  # fmt: skip
    return out
