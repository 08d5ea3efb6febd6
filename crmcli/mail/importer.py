"""Messages onto the timeline: each message matched by its addresses to customers
(their own e-mails and their contacts') and leads, and logged as an `email` activity
on every record it matches; mail among the company's own people never.

`import_messages` is the one entry point (crm mail import, crm mail log, crm mail
fetch). An entry's id is derived from the message's Message-ID and the record it is
on (entry_id), so the same message imported twice, from two copies of a mailbox or on
two clones, gives the same file: it is written once and never changed after.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmcli.mail.parse import Mail, NotMail, add_body, in_zone, parse_head

if TYPE_CHECKING:
    from crmcli.store import Store

Record = dict[str, Any]
OUTCOMES = ("logged", "already", "unknown", "internal", "unreadable")
# A message given with where it came from ("inbox.mbox message 12"), or bare
Message = bytes | tuple[str, bytes]


@dataclass
class ImportSummary:
    """Messages by outcome (OUTCOMES: logged, already there, unknown, internal,
    unreadable), the leads made, and one row per message: {source, message_id, date,
    from, subject, outcome, entries: [{id, on, kind, name, deal, new}], reason}."""

    dry_run: bool = False
    logged: int = 0
    already: int = 0
    unknown: int = 0
    internal: int = 0
    unreadable: int = 0
    leads_created: list[str] = field(default_factory=list)
    rows: list[Record] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {o: getattr(self, o) for o in OUTCOMES}

    @property
    def entries_written(self) -> int:
        return sum(1 for r in self.rows for e in r["entries"] if e["new"])

    def as_json(self) -> Record:
        """The summary as `--format json` prints it."""
        return {**self.counts, "entries": self.entries_written, "leads_created":
                self.leads_created, "dry_run": self.dry_run, "rows": self.rows}  # fmt: skip


def mail_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """settings `mail` with its defaults (settings.validate has checked it)."""
    from crmcli.settings import MAIL_DEFAULTS

    return {**MAIL_DEFAULTS, **(settings.get("mail") or {})}


class Ours:
    """Whether an address is one of the company's own: settings mail.me, or a domain
    of mail.internal_domains (or a subdomain of one)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        mail = mail_settings(settings)
        self.me = {a.strip().lower() for a in mail["me"]}
        self.domains = tuple(d.strip().lower().lstrip("@") for d in mail["internal_domains"])

    def __call__(self, address: str | None) -> bool:
        if not address:
            return False
        if address in self.me:
            return True
        domain = address.rsplit("@", 1)[-1]
        return any(domain == d or domain.endswith("." + d) for d in self.domains)


def entry_id(key: str, kind: str, rid: str) -> str:
    """The id of the entry of message `key` on record `rid`: `m-` and 20 characters
    of base32 of a hash (100 bits), the same on every clone."""
    digest = hashlib.sha256(f"{key}\0{kind}\0{rid}".encode()).digest()
    return "m-" + base64.b32encode(digest).decode("ascii")[:20].lower()


def message_key(mail: Mail) -> str:
    """What a message is known by: its Message-ID, else a hash of its stable headers
    (Date, From, To, Cc, Subject)."""
    if mail.message_id:
        return mail.message_id
    h = hashlib.sha256(mail.stable.encode("utf-8", "surrogatepass"))
    return "sha256:" + h.hexdigest()


class Book:
    """Who each address belongs to, read once per import through the index: customers'
    and their contacts' e-mails, leads' e-mails (a converted lead's go to its customer);
    the customers' deals for linking an entry to one."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.owners: dict[str, list[tuple[str, str]]] = {}  # address -> [(kind, id)]
        self.names: dict[tuple[str, str], str] = {}
        for c in store.query("customer", fields=("id", "name", "emails", "contacts")):
            self.names["customer", c["id"]] = c["name"]
            emails = list(c.get("emails") or [])
            for contact in c.get("contacts") or []:
                if isinstance(contact, dict):
                    emails += [e for e in contact.get("emails") or [] if isinstance(e, str)]
            for e in emails:
                self.add(e, "customer", c["id"])
        for lead in store.query("lead", fields=("id", "name", "emails", "status", "customer")):
            self.names["lead", lead["id"]] = lead["name"]
            converted = lead.get("status") == "converted" and lead.get("customer")
            for e in lead.get("emails") or []:
                if not (converted and ("customer", lead["customer"]) in self.owners.get(e, [])):
                    self.add(e, "lead", lead["id"])
        self.deals: dict[str, list[Record]] = {}
        for d in store.query("deal", fields=("id", "title", "customer", "status")):
            if d.get("customer"):
                self.deals.setdefault(d["customer"], []).append(d)
        self._threads: dict[str, str] | None = None
        self.threads()  # read before this import writes (a read after would sync its files)

    def add(self, address: str, kind: str, rid: str) -> None:
        owners = self.owners.setdefault(address.strip().lower(), [])
        if (kind, rid) not in owners:
            owners.append((kind, rid))

    def records(self, addresses: Iterable[str]) -> list[tuple[str, str]]:
        """The records the addresses belong to, each once, in the addresses' order."""
        out: list[tuple[str, str]] = []
        for a in addresses:
            out += [r for r in self.owners.get(a, []) if r not in out]
        return out

    def threads(self) -> dict[str, str]:
        """message id -> deal of the e-mail entries linked to a deal (read when first
        needed, then kept up to date by `linked`)."""
        if self._threads is None:
            self._threads = {}
            for a in self.store.query("activity", fields=("kind", "message_id", "deal")):
                if a.get("kind") == "email" and a.get("message_id") and a.get("deal"):
                    self._threads[a["message_id"]] = a["deal"]
        return self._threads

    def linked(self, message_id: str | None, deal: str) -> None:
        if message_id:
            self.threads()[message_id] = deal

    def deal_for(self, customer: str, mail: Mail) -> str | None:
        """The deal an entry on `customer` links: the one its thread is on, else the one
        whose title the subject names (the longest), else the customer's only open one."""
        deals = self.deals.get(customer, [])
        if not deals:
            return None
        ids = {d["id"] for d in deals}
        for ref in [mail.in_reply_to, *reversed(mail.references)]:
            if ref and self.threads().get(ref) in ids:
                return self.threads()[ref]
        from crmcli.store import fold

        subject = fold(mail.subject)
        named = [d for d in deals if len(d["title"]) >= 3 and fold(d["title"]) in subject]
        if named:
            return max(named, key=lambda d: (len(d["title"]), d.get("status") == "open"))["id"]
        open_ = [d for d in deals if d.get("status") == "open"]
        return open_[0]["id"] if len(open_) == 1 else None


def import_messages(
    store: Store,
    messages: Iterable[Message],
    *,
    dry_run: bool = False,
    create_leads: bool = False,
    keep_body: bool = False,
) -> ImportSummary:
    """Log each message (raw RFC 5322 bytes, or (source, bytes)) on every customer and
    lead its addresses match; unknown correspondents become leads with
    `create_leads`; the whole body is kept with `keep_body` or settings mail.keep_body.
    All under one lock: one commit under git autocommit. `dry_run` writes nothing."""
    run = _Run(
        store, dry_run, create_leads, keep_body or mail_settings(store.settings)["keep_body"]
    )
    held = contextlib.nullcontext() if dry_run else _writing(store)
    with held:
        try:
            for n, message in enumerate(messages, 1):
                source, raw = message if isinstance(message, tuple) else (f"message {n}", message)
                run.one(source, raw)
        finally:
            if not dry_run:
                _note(store, run.summary)
    return run.summary


@contextlib.contextmanager
def _writing(store: Store) -> Iterator[None]:
    """The writer lock (one commit) and bulk writes (one sync at the end)."""
    with store.lock(), store.bulk():
        yield


def _note(store: Store, summary: ImportSummary) -> None:
    """The commit message of an import that wrote something."""
    n = summary.entries_written
    if not n:
        return
    logged = summary.logged
    leads = len(summary.leads_created)
    also = f", {leads} new lead{'s' if leads != 1 else ''}" if leads else ""
    store.note_change(
        f"mail: log {logged} message{'s' if logged != 1 else ''} "
        f"({n} entr{'ies' if n != 1 else 'y'}{also})"
    )


class _Run:
    """One import: the address book, what is ours, the summary."""

    def __init__(self, store: Store, dry_run: bool, create_leads: bool, keep_body: bool) -> None:
        self.store = store
        self.book = Book(store)
        self.ours = Ours(store.settings)
        self.dry_run = dry_run
        self.create_leads = create_leads
        self.keep_body = keep_body
        self.summary = ImportSummary(dry_run=dry_run)
        self.sources = set(store.settings.get("sources") or [])

    def one(self, source: str, raw: bytes) -> None:
        row: Record = {"source": source, "message_id": None, "date": None, "from": None,
                       "subject": None, "outcome": None, "entries": [], "reason": None}  # fmt: skip
        self.summary.rows.append(row)
        try:
            mail = parse_head(raw)
        except NotMail as e:
            self._outcome(row, "unreadable", f"not a mail message: {e}")
            return
        at = in_zone(mail.at, self.store.ctx.tz) if mail.at else self.store.ctx.now_iso()
        row.update(message_id=mail.message_id, date=at, subject=mail.subject)
        row["from"] = mail.from_text
        external = [a for a in mail.addresses if not self.ours(a)]
        if not external:
            self._outcome(row, "internal", "only the company's own addresses")
            return
        matched = self.book.records(external)
        if not matched and self.create_leads:
            matched = [("lead", self._new_lead(a, mail, at)) for a in external]
        if not matched:
            self._outcome(row, "unknown", "no customer, contact or lead has these addresses")
            return
        key = message_key(mail)
        ids = [entry_id(key, kind, rid) for kind, rid in matched]
        fresh = [not self.store.exists("activity", eid) for eid in ids]
        if any(fresh):  # (the body is read only for a message not logged yet)
            add_body(mail, raw)
        for record, eid, new in zip(matched, ids, fresh, strict=True):
            row["entries"].append(self._entry(mail, eid, at, record, new))
        self._outcome(row, "logged" if any(fresh) else "already", None)

    def _outcome(self, row: Record, outcome: str, reason: str | None) -> None:
        row["outcome"] = outcome
        row["reason"] = reason
        setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)

    def _entry(self, mail: Mail, eid: str, at: str, record: tuple[str, str], new: bool) -> Record:
        """The entry `eid` of `mail` on `record` (kind, id), written when `new`."""
        kind, rid = record
        deal = self.book.deal_for(rid, mail) if kind == "customer" and new else None
        if deal:
            self.book.linked(mail.message_id, deal)
        if new and not self.dry_run:
            self.store.write("activity", self.record(mail, eid, at, rid, deal), create=True)
        name = self.book.names.get((kind, rid))
        return {"id": eid, "on": rid, "kind": kind, "name": name, "deal": deal, "new": new}

    def record(self, mail: Mail, eid: str, at: str, rid: str, deal: str | None) -> Record:
        """The activity of kind `email` (models.SCHEMAS: the fields from `deal` on)."""
        rec: Record = {
            "id": eid,
            "on": rid,
            "kind": "email",
            "text": mail.subject or "(no subject)",
            "by": mail.names.get(mail.sender or "") or mail.sender,
            "at": at,
            "deal": deal,
            "direction": "out" if self.ours(mail.sender) else "in",
            "from": mail.from_text,
            "to": mail.to,
            "cc": mail.cc,
            "subject": mail.subject,
            "message_id": mail.message_id,
            "in_reply_to": mail.in_reply_to,
            "references": mail.references,
            "snippet": mail.snippet,
            "attachments": mail.attachments,
        }
        if self.keep_body:
            rec["body"] = mail.text
        return rec

    def _new_lead(self, address: str, mail: Mail, at: str) -> str:
        """A lead for an unknown correspondent (--create-leads); its id and times come
        from the address and the message, so two clones make the same file."""
        digest = hashlib.sha256(f"lead\0{address}".encode()).digest()
        lid = "l-" + base64.b32encode(digest).decode("ascii")[:12].lower()
        if not self.dry_run and not self.store.exists("lead", lid):
            name = mail.names.get(address) or address.split("@", 1)[0]
            self.store.save(
                "lead",
                {"id": lid, "name": name, "emails": [address], "created": at, "updated": at,
                 "source": "email" if "email" in self.sources else None},
                create=True,
            )  # fmt: skip
            self.summary.leads_created.append(lid)
        elif self.dry_run:
            self.summary.leads_created.append(lid)
        self.book.names["lead", lid] = mail.names.get(address) or address.split("@", 1)[0]
        self.book.add(address, "lead", lid)
        return lid
