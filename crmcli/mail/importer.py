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

from crmcli.mail.parse import Mail, NotMail, body_of, in_zone, parse_head

if TYPE_CHECKING:
    from crmcli.store import Store

Record = dict[str, Any]
OUTCOMES = ("logged", "already", "unknown", "internal", "unreadable")
CHUNK = 200  # messages whose bodies are read together (by a worker process in a big import)
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
        self._threads: dict[str, str] | None = None  # read when first needed: not at all
        # by an import that writes nothing (its index may be catching up)

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
            entries = self.store.query("activity", {"kind": "email"}, fields=("message_id", "deal"))
            for a in entries:
                if a.get("message_id") and a.get("deal"):
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
    with held, _Bodies() as bodies:
        try:
            _run_all(run, messages, bodies)
        finally:
            if not dry_run:
                run.index(everything=True)
                _note(store, run.summary)
    return run.summary


def _run_all(run: _Run, messages: Iterable[Message], bodies: _Bodies) -> None:
    """Each message's headers matched here, the bodies of those to write read a chunk
    at a time (by a worker while this process writes the chunk before)."""
    batch: list[_Pending] = []
    waiting: tuple[list[_Pending], Any] | None = None
    for n, message in enumerate(messages, 1):
        source, raw = message if isinstance(message, tuple) else (f"message {n}", message)
        pending = run.prepare(source, raw)
        if pending is not None:
            batch.append(pending)
        if len(batch) >= CHUNK:
            ready = bodies.submit([p.raw for p in batch])
            if waiting is not None:
                run.finish(*waiting)
            waiting, batch = (batch, ready), []
    if waiting is not None:
        run.finish(*waiting)
    if batch:
        run.finish(batch, bodies.submit([p.raw for p in batch]))


def _bodies_of(raws: list[bytes]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    return [body_of(raw) for raw in raws]


class _Done:
    """A result computed here, as a future would give it."""

    def __init__(self, raws: list[bytes]) -> None:
        self.raws = raws

    def result(self) -> list[tuple[str, str, list[dict[str, Any]]]]:
        return _bodies_of(self.raws)


class _Bodies:
    """Reads the bodies of chunks of messages: in worker processes (one per CPU but
    one) once a full chunk comes, so a big import uses every core; here otherwise."""

    def __init__(self) -> None:
        self.pool: Any = None
        self.tried = False

    def __enter__(self) -> _Bodies:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def submit(self, raws: list[bytes]) -> Any:
        if not self.tried and len(raws) >= CHUNK:
            self.tried = True
            self.pool = _pool()
        return self.pool.submit(_bodies_of, raws) if self.pool else _Done(raws)


def _pool() -> Any:
    """A pool of forked workers, or None (one CPU, no fork, or CRM_MAIL_WORKERS=0)."""
    import multiprocessing
    import os

    workers = int(os.environ.get("CRM_MAIL_WORKERS") or max(0, (os.cpu_count() or 1) - 1))
    if workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


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


def _entry_files(store: Store) -> set[str]:
    """The ids of the e-mail entries there are (`m-` files in activities/), listed
    once: a stat per message would cost more."""
    import os

    try:
        names = os.listdir(store.folder("activity"))
    except FileNotFoundError:
        return set()
    return {n[:-5] for n in names if n.startswith("m-") and n.endswith(".yaml")}


@dataclass
class _Pending:
    """A matched message whose entries are written once its body is read."""

    row: Record
    mail: Mail
    raw: bytes
    at: str
    matched: list[tuple[str, str]]
    ids: list[str]


class _Run:
    """One import: the address book, what is ours, the summary."""

    def __init__(self, store: Store, dry_run: bool, create_leads: bool, keep_body: bool) -> None:
        self.store = store
        self.book = Book(store)
        self.ours = Ours(store.settings)
        if not self.ours.me and not self.ours.domains:
            store.warn("settings mail.me and mail.internal_domains are empty: no message "
                       "counts as sent by you (direction out) or as internal")  # fmt: skip
        self.dry_run = dry_run
        self.create_leads = create_leads
        self.keep_body = keep_body
        self.summary = ImportSummary(dry_run=dry_run)
        self.sources = set(store.settings.get("sources") or [])
        self.written: set[str] = set()  # entry ids this import wrote
        self.present = _entry_files(store)  # ids of the entries already there
        self.unindexed: list[Record] = []  # entries written, not yet put in the index
        self.aging: list[tuple[int, list[Record]]] = []  # (when, entries) to put in the index

    def prepare(self, source: str, raw: bytes) -> _Pending | None:
        """Match one message by its headers; what is to be written (None: nothing,
        the row says why)."""
        row: Record = {"source": source, "message_id": None, "date": None, "from": None,
                       "subject": None, "outcome": None, "entries": [], "reason": None}  # fmt: skip
        self.summary.rows.append(row)
        try:
            mail = parse_head(raw)
        except NotMail as e:
            return self._outcome(row, "unreadable", f"not a mail message: {e}")
        at = in_zone(mail.at, self.store.ctx.tz) if mail.at else self.store.ctx.now_iso()
        row.update(message_id=mail.message_id, date=at, subject=mail.subject)
        row["from"] = mail.from_text
        external = [a for a in mail.addresses if not self.ours(a)]
        if not external:
            return self._outcome(row, "internal", "only the company's own addresses")
        matched = self.book.records(external)
        if not matched and self.create_leads:
            matched = [("lead", self._new_lead(a, mail, at)) for a in external]
        if not matched:
            return self._outcome(row, "unknown", "no customer, contact or lead has these addresses")
        key = message_key(mail)
        ids = [entry_id(key, kind, rid) for kind, rid in matched]
        pending = _Pending(row, mail, raw, at, matched, ids)
        if self.dry_run or all(eid in self.present for eid in ids):
            self.finish([pending], None)  # (the body is read only for what is written)
            return None
        return pending

    def finish(self, batch: list[_Pending], bodies: Any) -> None:
        """Write the entries of matched messages (`bodies`: their bodies, to come)."""
        texts = bodies.result() if bodies is not None else [None] * len(batch)
        for p, body in zip(batch, texts, strict=True):
            if body is not None:
                p.mail.text, p.mail.snippet, p.mail.attachments = body
            fresh = [eid not in self.written and eid not in self.present for eid in p.ids]
            for record, eid, new in zip(p.matched, p.ids, fresh, strict=True):
                p.row["entries"].append(self._entry(p.mail, eid, p.at, record, new))
            self._outcome(p.row, "logged" if any(fresh) else "already", None)
        self.index(everything=False)

    def index(self, *, everything: bool) -> None:
        """Put the entries written into the index once their files are old enough to
        keep a signature (index.RACY_NS; `everything`: all now, at the end), so the
        next command does not parse ten thousand new files."""
        import time

        from crmcli.index import RACY_NS

        now = time.time_ns()
        if self.unindexed:
            self.aging.append((now, self.unindexed))
            self.unindexed = []
        ready = [recs for t, recs in self.aging if everything or now - t >= RACY_NS]
        self.aging = [(t, recs) for t, recs in self.aging if not everything and now - t < RACY_NS]
        if ready:
            self.store.index_written("activity", [r for recs in ready for r in recs])

    def _outcome(self, row: Record, outcome: str, reason: str | None) -> None:
        row["outcome"] = outcome
        row["reason"] = reason
        setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)
        return None

    def _entry(self, mail: Mail, eid: str, at: str, record: tuple[str, str], new: bool) -> Record:
        """The entry `eid` of `mail` on `record` (kind, id), written when `new`."""
        kind, rid = record
        deal = self.book.deal_for(rid, mail) if kind == "customer" and new else None
        if deal:
            self.book.linked(mail.message_id, deal)
        if new and not self.dry_run:
            rec = self.store.write("activity", self.record(mail, eid, at, rid, deal), create=True)
            self.written.add(eid)
            self.unindexed.append(rec)
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
