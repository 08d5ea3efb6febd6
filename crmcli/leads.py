"""Leads: the domain logic behind `crm lead ...`, as plain functions on the store.

A lead is a person you might sell to. Its status moves through new, contacted,
qualified and disqualified by hand (`set_status`, recorded on the timeline);
`converted` is reached only through `convert`, which makes or finds the customer,
optionally opens a deal, and copies the lead's timeline to the customer (the
lead keeps its own, so its `show` still tells the whole story).
"""

from __future__ import annotations

from datetime import tzinfo
from decimal import Decimal
from typing import Any, NamedTuple

from crmcli import models
from crmcli.changes import ChangeSet, unchanged
from crmcli.contactinfo import phone_key, phone_search_keys
from crmcli.errors import CrmError
from crmcli.models import Record
from crmcli.records import apply_contact_changes, duplicates, select_people
from crmcli.store import Store, fold

SORT_KEYS = ("created", "updated", "name")
# Statuses a person may set with `lead status`; `converted` comes only from convert.
MANUAL_STATUSES = [s for s in models.LEAD_STATUSES if s != "converted"]


def _name(rec: Record) -> str:
    return models.display_name("lead", rec)


def _check(changes: ChangeSet) -> None:
    """Clean the name, company and title a change set gives (the lead's rules)."""
    changes.clean_text("name", required="a lead needs a name")
    changes.clean_text("company")
    changes.clean_text("title")


def _apply(store: Store, rec: Record, changes: ChangeSet) -> tuple[Record, list[str]]:
    """The change set applied; warnings also name customers that already hold one
    of the e-mails/phones added."""
    _check(changes)
    new_emails, new_phones = changes.add.get("emails"), changes.add.get("phones")
    rec, warnings = apply_contact_changes(store, "lead", rec, changes)
    if new_emails or new_phones:
        warnings += duplicates(store, "customer", changes.add["emails"], changes.add["phones"])
    return rec, warnings


def add(store: Store, changes: ChangeSet) -> tuple[Record, list[str]]:
    """Create a lead (status new; owner: the user unless given) from a change set;
    returns it and warnings about e-mails/phones that another lead or customer
    already has."""
    changes.set.setdefault("name", "")
    rec = models.new_record("lead", id=None, owner=store.ctx.user)
    rec, warnings = _apply(store, rec, changes)
    rec = store.create("lead", **rec)
    store.note_change(f'lead: add "{rec["name"]}"')
    return rec, warnings


def matches(rec: Record, query: str, phone_keys: list[str] | None = None) -> bool:
    """Does `query` (folded) occur in the name, company, e-mails or phones, or one of
    `phone_keys` (contactinfo.phone_search_keys) in the digits of a phone?"""
    hay = [rec.get("name") or "", rec.get("company") or "", *rec.get("emails", [])]
    hay += rec.get("phones", [])
    q = fold(query)
    if any(q in fold(str(h)) for h in hay):
        return True
    keys = phone_search_keys(query) if phone_keys is None else phone_keys
    return any(k in d for d in map(phone_key, rec.get("phones", [])) for k in keys)


def check_status(status: str, *, manual: bool = False) -> str:
    """`status` lowercased if it is a lead status (one a person may set, with `manual`)."""
    s = (status or "").strip().lower()
    allowed = MANUAL_STATUSES if manual else models.LEAD_STATUSES
    if s == "converted" and manual:
        raise CrmError("a lead becomes 'converted' only through: crm lead convert REF")
    if s not in allowed:
        raise CrmError(f"unknown lead status '{status}' (use {', '.join(allowed)})")
    return s


class LeadFilter(NamedTuple):
    """What `lead list` keeps (every status unless `statuses`) and how it sorts:
    newest first by `created` or `updated`, or by name."""

    statuses: tuple[str, ...] = ()
    source: str | None = None
    owner: str | None = None
    search: str | None = None
    tag: str | None = None
    batch: str | None = None
    sort: str = "created"


def select(
    records: list[Record], f: LeadFilter, region: str | None = None, tz: tzinfo | None = None
) -> list[Record]:
    """The leads that pass `f`, sorted. `region` (settings default_region) reads a
    phone searched in national format."""
    wanted = {check_status(s) for s in f.statuses}

    def keep(r: Record) -> bool:
        return (not wanted or r.get("status") in wanted) and (
            f.batch is None or f.batch in r.get("batches", [])
        )

    return select_people(records, f, SORT_KEYS, matches, region, tz, keep)


def list_leads(store: Store, f: LeadFilter) -> list[Record]:
    """The leads `lead list` shows."""
    statuses = [check_status(s) for s in f.statuses]
    found = store.query("lead", {"status": statuses or None, "owner": f.owner})
    return select(found, f, store.settings.get("default_region"), store.ctx.tz)


def edit(store: Store, rec: Record, changes: ChangeSet) -> tuple[Record, list[str]]:
    """Apply a change set to a lead and save it (unless nothing changed); returns it
    and duplicate warnings."""
    before = rec
    rec, warnings = _apply(store, rec, changes)
    if unchanged("lead", before, rec):
        return before, warnings
    rec = models.normalize("lead", rec)
    changed = sorted(k for k in rec if k != "updated" and rec.get(k) != before.get(k))
    rec = store.save("lead", rec)
    store.note_change(f'lead: edit "{rec["name"]}" ({", ".join(changed)})')
    return rec, warnings


def set_status(store: Store, rec: Record, status: str, note: str | None = None) -> Record:
    """Move a lead to `status` (not `converted`), with a timeline entry.
    Setting the status it already has changes nothing."""
    new = check_status(status, manual=True)
    old = rec["status"]
    if old == "converted":
        raise CrmError(
            f"lead {rec['id']} ({_name(rec)}) is converted (customer {rec.get('customer')}); "
            "its status cannot change"
        )
    if new == old:
        return rec
    rec = store.save("lead", dict(rec, status=new))
    text = f"status {old} -> {new}"
    if note and note.strip():
        text += f": {note.strip()}"
    store.add_activity(rec["id"], "status", text)
    store.note_change(f'lead: "{rec["name"]}" {old} -> {new}')
    return rec


def parse_amount(text: str | Decimal | None) -> Decimal | None:
    """An amount typed by a person, exactly (`12000`, `1234.50`); None for None.
    The same rules as every deal amount (crmcli.deals.parse_money)."""
    from crmcli.deals import parse_money

    return None if text is None else parse_money(text)


def _merge_contact(contacts: list[dict], contact: dict) -> tuple[list[dict], bool]:
    """`contacts` with `contact` added, or merged into the one of the same name
    (new e-mails/phones appended, an empty title filled). True when it was new."""
    out = [dict(c) for c in contacts]
    same = next((c for c in out if fold(str(c.get("name") or "")) == fold(contact["name"])), None)
    if same is None:
        out.append(contact)
        return out, True
    for key in ("emails", "phones"):
        same[key] = list(dict.fromkeys([*(same.get(key) or []), *contact[key]]))
    if not same.get("title"):
        same["title"] = contact["title"]
    return out, False


def _customer_by_name(store: Store, name: str) -> Record | None:
    found = [c for c in store.query("customer") if fold(c["name"]) == fold(name)]
    if len(found) > 1:
        ids = ", ".join(c["id"] for c in found)
        raise CrmError(f"several customers are named '{name}' ({ids}); choose one with --customer")
    return found[0] if found else None


def _check_convert(lead: Record, deal_title: str | None, amount: Any) -> Decimal | None:
    """Refuse what convert cannot do, before anything is written; the deal's amount."""
    if lead["status"] == "converted":
        raise CrmError(
            f"lead {lead['id']} ({_name(lead)}) is already converted "
            f"(customer {lead.get('customer')}); converting twice is an error"
        )
    if amount is not None and not deal_title:
        raise CrmError("--amount needs --deal TITLE")
    if deal_title is not None and not deal_title.strip():
        raise CrmError("the deal title is empty")
    return parse_amount(amount)


def _join_customer(
    store: Store, lead: Record, customer: Record, contact: dict
) -> tuple[Record, str]:
    """The lead joins an existing customer: the person customer of the same name
    takes its e-mails and phones, else it becomes a contact; an empty source or owner
    is filled. Returns the saved customer and its timeline text."""
    cust = dict(customer)
    who = f"lead {lead['name']} ({lead['id']}) converted"
    if cust["kind"] == "person" and fold(cust["name"]) == fold(lead["name"]):
        cust["emails"] = cust["emails"] + contact["emails"]
        cust["phones"] = cust["phones"] + contact["phones"]
        how = f"{who} into this customer"
    else:
        cust["contacts"], _ = _merge_contact(cust["contacts"], contact)
        how = f"{who}, as a contact"
    for key in ("source", "owner"):
        if not cust.get(key) and lead.get(key):
            cust[key] = lead[key]
    return store.save("customer", cust), how


def _new_customer(
    store: Store, lead: Record, contact: dict, owner: str, warnings: list[str]
) -> Record:
    """A new customer from the lead: a company with the person as its contact, or
    (without a company) a person customer; it takes the lead's source, tags, fields."""
    company = (lead.get("company") or "").strip()
    common = {
        "owner": owner,
        "source": lead.get("source"),
        "tags": list(lead["tags"]),
        "fields": dict(lead["fields"]),
    }
    if company:
        return store.create("customer", name=company, kind="company", contacts=[contact], **common)
    warnings += duplicates(store, "customer", contact["emails"], contact["phones"])
    emails, phones = contact["emails"], contact["phones"]
    return store.create(
        "customer", name=lead["name"], kind="person", emails=emails, phones=phones, **common
    )


def _carry_over(store: Store, lead: Record, cid: str) -> None:
    """Copy the lead's timeline to the customer; link its tasks without a customer."""
    rid = lead["id"]
    for a in reversed(store.timeline(rid)):  # oldest first, so the copies keep the order
        store.create("activity", on=cid, kind=a["kind"], text=a["text"], by=a["by"], at=a["at"])
    for task in store.query("task", {"lead": rid}):
        if not task.get("customer"):
            store.save("task", dict(task, customer=cid))


def convert(
    store: Store,
    lead: Record,
    *,
    customer: Record | None = None,
    deal_title: str | None = None,
    amount: str | Decimal | None = None,
) -> dict[str, Any]:
    """Convert a lead into a customer, optionally opening a deal.

    - With `customer`, the person joins that customer as a contact.
    - Else a lead with a company joins the customer named exactly like the
      company if there is one, or becomes a new company customer with the
      person as its contact; a lead without a company becomes a new person
      customer with the lead's e-mails and phones.
    - A new customer takes the lead's source, owner, tags and fields; an existing
      one keeps its own, only an empty source or owner is filled.
    - The lead's timeline is copied to the customer (the lead keeps its own);
      tasks on the lead that have no customer get linked to it.
    - With `deal_title`, a deal is opened through `deals.add` (first pipeline stage,
      settings currency, the lead's owner).

    Returns {"lead", "customer", "deal" (or None), "customer_action" (created,
    attached, or matched by the company name), "warnings"}. Everything that can be
    checked is checked before anything is written.
    """
    rid = lead["id"]
    value = _check_convert(lead, deal_title, amount)
    owner = lead.get("owner") or store.ctx.user
    company = (lead.get("company") or "").strip()
    warnings: list[str] = []
    contact = {
        "name": lead["name"],
        "title": lead.get("title"),
        "emails": list(lead["emails"]),
        "phones": list(lead["phones"]),
    }
    first_message = len(store.messages)
    action = "attached"
    if customer is None and company:
        customer = _customer_by_name(store, company)
        action = "matched"
    if customer is not None:
        cust, how = _join_customer(store, lead, customer, contact)
    else:
        action = "created"
        how = f"created from lead {lead['name']} ({rid})"
        cust = _new_customer(store, lead, contact, owner, warnings)
    cid = cust["id"]
    deal = None
    if deal_title:
        from crmcli import deals

        # first pipeline stage, settings currency, stage_history started
        changes = ChangeSet.of(title=deal_title, customer=cid, amount=value, owner=owner)
        deal, _ = deals.add(store, changes)
        store.add_activity(
            deal["id"], "convert", f"opened on converting lead {lead['name']} ({rid})"
        )
    _carry_over(store, lead, cid)
    lead = store.save(
        "lead", dict(lead, status="converted", customer=cid, deal=deal and deal["id"])
    )
    with_deal = f"; deal {deal['title']} ({deal['id']})" if deal else ""
    store.add_activity(rid, "convert", f"converted to customer {cust['name']} ({cid}){with_deal}")
    store.add_activity(cid, "convert", how + with_deal)
    verb = "new" if action == "created" else "existing"
    also = f' with deal "{deal["title"]}"' if deal else ""
    # the conversion is the headline of the commit, the deal's own message follows
    store.messages.insert(
        first_message, f'lead: convert "{lead["name"]}" to {verb} customer "{cust["name"]}"{also}'
    )
    return {
        "lead": lead,
        "customer": cust,
        "deal": deal,
        "customer_action": action,
        "warnings": warnings,
    }


def linked(store: Store, lead: Record) -> dict[str, Record | None]:
    """The customer and deal a converted lead points at (None when gone)."""
    out: dict[str, Record | None] = {}
    for kind in ("customer", "deal"):
        rid = lead.get(kind)
        out[kind] = None
        if rid:
            try:
                out[kind] = store.load(kind, rid)
            except CrmError:
                out[kind] = None
    return out
