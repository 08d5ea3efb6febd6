"""The import engine: clean each card, find what it duplicates, create or merge.

One import is one batch (`imp-YYYYMMDD-HHMMSS-xxxx`). For each card, in order:

- rejected: the reader could not use it, or it has no name;
- skipped: its e-mail belongs to a customer or one of its contacts, or its
  phone does and so does its name (a card with neither is matched by name), or
  it matches a lead and brings nothing new. A card whose only tie to a customer
  is a phone, under another name, is a new person there: a lead with a note,
  or with `as_contact` a new contact of that customer (outcome merged);
- merged: its e-mail matches a lead, or its phone matches a lead of the same
  name (colleagues share office lines); empty fields of the lead are filled,
  new e-mails, phones and tags added, the batch appended, a timeline entry left;
- created: a new lead, with the batch and a timeline entry.

An import stopped between writing a lead and its timeline entry is completed by
the next run: a lead it matches that has a batch no import entry on its timeline
names gets that entry then (see Importer._complete; crm doctor reports such leads).

Leads created earlier in the same import are matched too, so duplicates within
a file and across files merge. Lookups are dicts built once (e-mail, phone
digits, name), so a row costs the same in a CRM of any size.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import PurePath
from typing import Any

from crmcli.contactinfo import normalize_email, parse_phone, phone_key
from crmcli.errors import CrmError
from crmcli.importers.text import display_name, name_key
from crmcli.models import LEAD_STATUSES, Record
from crmcli.store import ID_ALPHABET, Store, new_id

MIN_PHONE_DIGITS = 5  # shorter numbers (extensions, junk) never match anything

Card = dict[str, Any]


def new_batch_id(store: Store) -> str:
    stamp = store.ctx.now().strftime("%Y%m%d-%H%M%S")
    return f"imp-{stamp}-{''.join(secrets.choice(ID_ALPHABET) for _ in range(4))}"


# A plain ASCII local part (dot-atom): email-validator accepts it as it is.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_domains: dict[str, str | CrmError] = {}


def check_email(text: str) -> str:
    """contactinfo.normalize_email, quicker for many addresses: a plain ASCII local
    part is checked here and each domain by email-validator once (its IDNA checks
    of the domain are most of its cost). The same answers as normalize_email."""
    raw = text.strip()
    local, at, domain = raw.rpartition("@")
    if not at or len(local) > 64 or len(raw) > 254 or not _LOCAL.fullmatch(local):
        return normalize_email(text)
    key = domain.lower()
    if key not in _domains:
        try:
            _domains[key] = normalize_email(f"a@{domain}").split("@", 1)[1]
        except CrmError:
            _domains[key] = CrmError("")
    checked = _domains[key]
    if isinstance(checked, CrmError):
        return normalize_email(text)  # for its own message
    return f"{local.lower()}@{checked}"


def clean(card: Card, region: str | None) -> Card:
    """The card with e-mails and phones normalised; what had to be left out is
    added to its notes. The card's own keys are not changed."""
    notes = list(card.get("notes") or [])
    emails: list[str] = []
    shown = ""  # the display name of the first address that has one
    for raw in card.get("emails") or []:
        if "<" in raw:
            label, raw = display_name(raw)
            shown = shown or label
        try:
            e = check_email(raw)
        except CrmError as err:
            why = err.message.split("address: ", 1)[-1].rstrip(".")
            notes.append(f"e-mail '{raw}' left out: {why}")
            continue
        if e not in emails:
            emails.append(e)
    phones = _phones(card.get("phones") or [], region, notes, "phone")
    fields = dict(card.get("fields") or {})
    if isinstance(fields.get("fax"), str):
        faxes = _phones(fields["fax"].split(";"), region, notes, "fax")
        if faxes:
            fields["fax"] = "; ".join(faxes)
        else:
            del fields["fax"]
    tags = [t for t in card.get("tags") or [] if isinstance(t, str)]
    status = (card.get("status") or "new").strip().lower()
    if status not in LEAD_STATUSES:
        notes.append(f"status '{card['status']}' is no lead status: new")
        status = "new"
    name = card.get("name") or ""
    company = card.get("company") or ""
    if not name and not card.get("error"):
        name, why = _stand_in(shown, company, emails, phones)
        if name:
            notes.append(f"no person's name: named after {why}")
    return {
        **card,
        "name": name,
        "company": company,
        "title": card.get("title") or "",
        "emails": emails,
        "phones": phones,
        "fields": fields,
        "tags": tags,
        "status": status,
        "notes": notes,
    }


def _stand_in(shown: str, company: str, emails: list[str], phones: list[str]) -> tuple[str, str]:
    """(name, what it is) for a card without a name: the e-mail's display name, the
    company, the e-mail address or the phone number, the first there is."""
    for name, why in (
        (shown, "the e-mail's display name"),
        (company, "the company"),
        (emails[0] if emails else "", "the e-mail address"),
        (phones[0] if phones else "", "the phone number"),
    ):
        if name:
            return name, why
    return "", ""


def _phones(items: Iterable[str], region: str | None, notes: list[str], what: str) -> list[str]:
    out: list[str] = []
    keys: set[str] = set()
    for raw in items:
        raw = raw.strip()
        if not raw:
            continue
        if len(phone_key(raw)) < 3:
            notes.append(f"{what} '{raw}' left out: not a phone number")
            continue
        p, note = parse_phone(raw, region, strict=False)
        if note:
            notes.append(note if what == "phone" else note.replace("phone", what, 1))
        if phone_key(p) not in keys:
            keys.add(phone_key(p))
            out.append(p)
    return out


def _where(card: Card) -> str:
    return f"card {card['card']}" if "card" in card else f"line {card.get('line')}"


def reject_reason(card: Card) -> str | None:
    if card.get("error"):
        return str(card["error"])
    if not card["name"]:  # clean() names a card with an e-mail or a phone after it
        return "no name, e-mail or phone"
    return None


# The fields of the records already in the CRM that Lookup reads (a Store.query projection).
LEAD_FIELDS = ("id", "name", "company", "emails", "phones", "batches")
CUSTOMER_FIELDS = ("id", "name", "emails", "phones", "contacts")


class Lookup:
    """Who already holds an e-mail, a phone or a name: customers (and their contacts)
    and leads, as dicts built once. The leads given at the start may hold only
    LEAD_FIELDS; those added later are whole (`whole` has their ids)."""

    def __init__(self, leads: list[Record], customers: list[Record]) -> None:
        self.leads: dict[str, Record] = {}
        self.whole: set[str] = set()
        self.lead_email: dict[str, str] = {}
        self.lead_phone: dict[str, str] = {}
        self.lead_name: dict[tuple, str] = {}
        self.cust_email: dict[str, str] = {}
        self.cust_phone: dict[str, tuple[str, str]] = {}  # digits -> (label, customer id)
        self.cust_name: dict[tuple, str] = {}
        self._names_built = False
        for c in customers:
            self.add_customer(c)
        for lead in leads:
            self.add_lead(lead)
        self.whole.clear()

    def add_customer(self, c: Record) -> None:
        label = f"customer {c['id']} ({c['name']})"
        self._customer(c.get("emails"), c.get("phones"), label, c["id"])
        self.cust_name.setdefault((name_key(c["name"]), ()), label)
        self.cust_name.setdefault((name_key(c["name"]), c["id"]), label)
        for person in c.get("contacts") or []:
            if not isinstance(person, dict):
                continue
            plabel = f"{person.get('name') or 'a contact'} of {label}"
            self._customer(person.get("emails"), person.get("phones"), plabel, c["id"])
            if person.get("name"):
                key = (name_key(str(person["name"])), name_key(c["name"]))
                self.cust_name.setdefault(key, plabel)
                self.cust_name.setdefault((key[0], c["id"]), plabel)

    def _customer(self, emails: Any, phones: Any, label: str, cid: str) -> None:
        for e in emails or []:
            if isinstance(e, str):
                self.cust_email.setdefault(e.lower(), label)
        for p in phones or []:
            k = phone_key(str(p))
            if len(k) >= MIN_PHONE_DIGITS:
                self.cust_phone.setdefault(k, (label, cid))

    def add_lead(self, lead: Record) -> None:
        lid = lead["id"]
        self.leads[lid] = lead
        self.whole.add(lid)
        for e in lead.get("emails") or []:
            self.lead_email.setdefault(e.lower(), lid)
        for p in lead.get("phones") or []:
            k = phone_key(p)
            if len(k) >= MIN_PHONE_DIGITS:
                self.lead_phone.setdefault(k, lid)
        if self._names_built:
            self._index_name(lead)

    def _index_name(self, lead: Record) -> None:
        key = (name_key(lead.get("name") or ""), name_key(lead.get("company") or ""))
        self.lead_name.setdefault(key, lead["id"])

    def by_name(self, name: str, company: str) -> str | None:
        """The lead of this name and company (built on first use: few cards lack
        both an e-mail and a phone)."""
        if not self._names_built:
            self._names_built = True
            for lead in self.leads.values():
                self._index_name(lead)
        key = (name_key(name), name_key(company))
        return self.lead_name.get(key) if key[0] else None

    def customer_of(self, c: Card) -> tuple[str | None, tuple[str, str, str] | None]:
        """(why the card is a customer's, or None; the shared phone, or None).

        A card whose only tie to a customer is a phone (an office line), while its
        name is not the customer's nor one of its contacts', is a new person at that
        company: the second item is then (phone, the phone's holder, customer id)."""
        for e in c["emails"]:
            if e in self.cust_email:
                return f"e-mail {e} belongs to {self.cust_email[e]}", None
        shared = None
        name = name_key(c["name"])
        for p in c["phones"]:
            k = phone_key(p)
            if k in self.cust_phone:
                label, cid = self.cust_phone[k]
                if (name, cid) in self.cust_name:  # the customer's own name, or a contact's
                    return f"phone {p} belongs to {label}", None
                shared = shared or (p, label, cid)
        if shared:
            return None, shared
        if not c["emails"] and not c["phones"]:
            for key in ((name, ()), (name, name_key(c["company"]))):
                if key in self.cust_name and key[0]:
                    return f"same name as {self.cust_name[key]}", None
        return None, None

    def lead_of(self, c: Card) -> tuple[str | None, str, list[str]]:
        """(lead id, why, notes) of the lead the card duplicates."""
        for e in c["emails"]:
            if e in self.lead_email:
                return self.lead_email[e], f"e-mail {e}", []
        notes = []
        for p in c["phones"]:
            k = phone_key(p)
            lid = self.lead_phone.get(k)
            if lid is None:
                continue
            other = self.leads[lid]
            if name_key(other["name"]) == name_key(c["name"]):
                return lid, f"phone {p}", []
            notes.append(f"phone {p} is also on lead {_label(other)}; not merged (other name)")
        if not c["emails"] and not c["phones"]:
            lid = self.by_name(c["name"], c["company"])
            if lid:
                return lid, "name", []
        return None, "", notes


_ENTRY_BATCH = re.compile(r", batch ([a-z0-9-]+)")


def logged_batches(activities: Iterable[Record]) -> dict[str, set[str]]:
    """{record id: the batches that import entries on its timeline name}."""
    logged: dict[str, set[str]] = {}
    for a in activities:
        if a.get("kind") == "import":
            m = _ENTRY_BATCH.search(str(a.get("text") or ""))
            if m:
                logged.setdefault(str(a.get("on")), set()).add(m[1])
    return logged


def _label(lead: Record) -> str:
    return f"{lead['id']} ({lead['name']})"


class Importer:
    """Runs one import; `rows` and `counts` grow as it goes, so an interrupted
    import can still say how far it got."""

    def __init__(
        self,
        store: Store,
        *,
        batch: str,
        source: str | None = None,
        owner: str | None = None,
        tags: list[str] | None = None,
        dry_run: bool = False,
        as_contact: bool = False,
    ) -> None:
        self.store = store
        self.as_contact = as_contact
        self.batch = batch
        self.source = source or None
        self.owner = owner or store.ctx.user
        self.tags = sorted(set(tags or []))
        self.dry_run = dry_run
        self.region = store.settings.get("default_region")
        self.rows: list[dict[str, Any]] = []
        self.counts = {"created": 0, "merged": 0, "skipped": 0, "rejected": 0}
        self.files: list[str] = []
        self.lookup: Lookup | None = None
        self._pending: set[str] = set()  # ids a dry run would create
        self.logged: dict[str, set[str]] | None = None  # see _complete
        self.completed = 0  # leads whose left-out timeline entries this import wrote

    def run(self, cards: Iterable[Card], progress: Callable[[], None] | None = None) -> None:
        """Import the cards in order. The caller holds the store's lock."""
        if self.lookup is None:
            self.lookup = Lookup(
                self.store.query("lead", fields=LEAD_FIELDS),
                self.store.query("customer", fields=CUSTOMER_FIELDS),
            )
        if self.logged is None:  # (no lead imported before: no entry can be missing)
            imported = any(lead.get("batches") for lead in self.lookup.leads.values())
            entries = (
                self.store.query("activity", fields=("on", "kind", "text")) if imported else []
            )
            self.logged = logged_batches(entries)
        for card in cards:
            if card["file"] not in self.files:
                self.files.append(card["file"])
            self._one(card)
            if progress:
                progress()

    def summary(self) -> dict[str, Any]:
        return {**self.counts, "batch": self.batch, "dry_run": self.dry_run, "rows": self.rows}

    def _row(self, card: Card, outcome: str, rid: str | None, reason: str | None) -> None:
        row: dict[str, Any] = {"file": card["file"]}
        if "card" in card:
            row["card"] = card["card"]
        else:
            row["line"] = card.get("line")
        row.update(outcome=outcome, id=rid, name=card.get("name") or None, reason=reason)
        row["notes"] = card.get("notes") or []
        self.rows.append(row)
        self.counts[outcome] += 1

    def _one(self, raw: Card) -> None:
        assert self.lookup is not None
        card = clean(raw, self.region)
        why = reject_reason(card)
        if why:
            self._row(card, "rejected", None, why)
            return
        belongs, shared = self.lookup.customer_of(card)
        if belongs:
            self._row(card, "skipped", None, f"already a customer: {belongs}")
            return
        if shared and self.as_contact and self._add_contact(card, *shared):
            return
        if shared:
            card["notes"].append(f"phone {shared[0]} is also on {shared[1]}; a new person there")
        lid, how, notes = self.lookup.lead_of(card)
        card["notes"] += notes
        if lid is None:
            self._create(card)
        else:
            lead = self.lookup.leads[lid]
            if lid not in self.lookup.whole:  # as listed at the start: read it whole
                lead = self.store.load("lead", lid)
            self._merge(card, lead, how, self._complete(card, lead))

    def _activity_text(
        self, card: Card, added: list[str] | None = None, batch: str | None = None
    ) -> str:
        base = PurePath(card["file"]).name if card["file"] != "-" else "standard input"
        where = _where(card)
        text = f"imported from {base} ({where}), batch {batch or self.batch}"
        if added:
            text += f": added {', '.join(added)}"
        return text

    def _complete(self, card: Card, lead: Record) -> str | None:
        """Write the timeline entries that an interrupted import left out for `lead`
        (it saved the lead, then stopped before the entry): one for each of the lead's
        batches that no import entry on it names. What it did, as a note."""
        assert self.logged is not None
        logged = self.logged.setdefault(lead["id"], set())
        missing = [b for b in lead.get("batches") or [] if b != self.batch and b not in logged]
        if not missing or lead["id"] in self._pending:
            return None
        logged.update(missing)
        if not self.dry_run:
            for b in missing:
                self.store.add_activity(lead["id"], "import", self._activity_text(card, batch=b))
            self.completed += 1
        did = "would write" if self.dry_run else "wrote"
        return (f"{did} the timeline entry of batch {', '.join(missing)}, "
                "which an interrupted import left out")  # fmt: skip

    def _public_id(self, rid: str) -> str | None:
        return None if rid in self._pending else rid

    def _create(self, card: Card) -> None:
        # The record's every field, in file order (models.new_record's deep copies of
        # the defaults cost more than the rest of a row).
        rec: Record = {
            "id": new_id(),
            "name": card["name"],
            "company": card["company"] or None,
            "title": card["title"] or None,
            "emails": card["emails"],
            "phones": card["phones"],
            "source": card.get("source") or self.source,
            "status": card["status"],
            "owner": card.get("owner") or self.owner,
            "tags": sorted({*self.tags, *card["tags"]}),
            "customer": None,
            "deal": None,
            "batches": [self.batch],
            "fields": card["fields"],
            "created": None,
            "updated": None,
        }
        if self.dry_run:
            self._pending.add(rec["id"])
        else:
            rec = self.store.save("lead", rec, create=True)
            self.store.add_activity(rec["id"], "import", self._activity_text(card))
        assert self.lookup is not None
        self.lookup.add_lead(rec)
        self._row(card, "created", self._public_id(rec["id"]), None)

    def _add_contact(self, card: Card, phone: str, holder: str, cid: str) -> bool:
        """--as-contact: the card becomes a contact of company customer `cid`, whose
        phone (held by `holder`) it shares. False for a person customer (a lead then)."""
        assert self.lookup is not None
        customer = self.store.load("customer", cid)
        if customer.get("kind") == "person":
            return False
        contact = {
            "id": new_id(),
            "name": card["name"],
            "title": card["title"] or None,
            "emails": card["emails"],
            "phones": card["phones"],
        }
        customer = dict(customer, contacts=[*customer["contacts"], contact])
        if not self.dry_run:
            customer = self.store.save("customer", customer)
            text = self._activity_text(card, [f"contact {card['name']}"])
            self.store.add_activity(cid, "import", text)
        self.lookup.add_customer(customer)
        reason = (
            f"added as a contact of customer {cid} ({customer['name']}): "
            f"phone {phone} is also on {holder}"
        )
        self._row(card, "merged", cid, reason)
        return True

    def _merge(self, card: Card, lead: Record, how: str, completed: str | None) -> None:
        if completed:
            card["notes"].append(completed)
        new = dict(lead, emails=list(lead["emails"]), phones=list(lead["phones"]))
        new["tags"] = list(lead.get("tags") or [])
        new["fields"] = dict(lead.get("fields") or {})
        added: list[str] = []
        for e in card["emails"]:
            if e not in new["emails"]:
                new["emails"].append(e)
                added.append(f"e-mail {e}")
        keys = {phone_key(p) for p in new["phones"]}
        for p in card["phones"]:
            if phone_key(p) not in keys:
                keys.add(phone_key(p))
                new["phones"].append(p)
                added.append(f"phone {p}")
        for field in ("company", "title"):
            if not new.get(field) and card[field]:
                new[field] = card[field]
                added.append(field)
        for key, value in card["fields"].items():
            if new["fields"].get(key) in (None, "", [], {}):
                new["fields"][key] = value
                added.append(f"fields.{key}")
        source = card.get("source") or self.source
        if source and not new.get("source"):
            new["source"] = source
            added.append("source")
        for tag in sorted({*self.tags, *card["tags"]}):
            if tag not in new["tags"]:
                new["tags"].append(tag)
                added.append(f"tag {tag}")
        label = (
            f"lead {_label(lead)}"
            if lead["id"] not in self._pending
            else (f"lead '{lead['name']}' created by this import")
        )
        if not added:
            done = f"; {completed}" if completed else ""
            self._row(card, "skipped", self._public_id(lead["id"]),
                      f"already {label}: same {how}, nothing new{done}")  # fmt: skip
            return
        if self.batch not in (new.get("batches") or []):
            new["batches"] = [*(new.get("batches") or []), self.batch]
        if not self.dry_run and lead["id"] not in self._pending:
            new = self.store.save("lead", new)
            self.store.add_activity(new["id"], "import", self._activity_text(card, added))
        assert self.lookup is not None
        self.lookup.add_lead(new)
        self._row(card, "merged", self._public_id(new["id"]),
                  f"same {how} as {label}; added {', '.join(added)}")  # fmt: skip
