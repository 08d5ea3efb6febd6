"""Leads: the domain logic behind `crm lead ...`, as plain functions on the store.

A lead is a person you might sell to. Its status moves through new, contacted,
qualified and disqualified by hand (`set_status`, recorded on the timeline);
`converted` is reached only through `convert`, which makes or finds the customer,
optionally opens a deal, and copies the lead's timeline to the customer (the
lead keeps its own, so its `show` still tells the whole story).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from crmcli import models
from crmcli.contactinfo import phone_key, phone_search_keys
from crmcli.errors import CrmError
from crmcli.models import Record
from crmcli.records import (
    clean_emails,
    clean_phones,
    duplicates,
    edit_contact_details,
    phone_warnings,
    sort_records,
)
from crmcli.store import Store, fold

SORT_KEYS = ("created", "updated", "name")
# Statuses a person may set with `lead status`; `converted` comes only from convert.
MANUAL_STATUSES = [s for s in models.LEAD_STATUSES if s != "converted"]
# Fields `edit --unset` may clear, with their empty value.
UNSETTABLE: dict[str, Any] = {
    "company": None,
    "title": None,
    "owner": None,
    "source": None,
    "emails": [],
    "phones": [],
    "tags": [],
    "fields": {},
}


def _name(rec: Record) -> str:
    return models.display_name("lead", rec)


def _contact_warnings(
    store: Store, emails: list[str], phones: list[str], exclude: str | None = None
) -> list[str]:
    """Phones kept as written, and other leads and customers that already hold one
    of these e-mails/phones."""
    return (
        phone_warnings(store, phones)
        + duplicates(store, "lead", emails, phones, exclude=exclude)
        + duplicates(store, "customer", emails, phones)
    )


def add(
    store: Store,
    name: str,
    *,
    company: str | None = None,
    title: str | None = None,
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    source: str | None = None,
    owner: str | None = None,
    tags: list[str] | None = None,
    fields: dict[str, Any] | None = None,
    batches: list[str] | None = None,
) -> tuple[Record, list[str]]:
    """Create a lead (status new); returns it and warnings about e-mails/phones
    that another lead or customer already has."""
    if not name.strip():
        raise CrmError("a lead needs a name")
    emails_ = clean_emails(emails)
    phones_ = clean_phones(store, phones)
    warnings = _contact_warnings(store, emails_, phones_)
    rec = store.create(
        "lead",
        name=name.strip(),
        company=(company or "").strip() or None,
        title=(title or "").strip() or None,
        emails=emails_,
        phones=phones_,
        source=source,
        status="new",
        owner=owner or store.user,
        tags=list(tags or []),
        batches=list(batches or []),
        fields=dict(fields or {}),
    )
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


def select(records: list[Record], f: LeadFilter, region: str | None = None) -> list[Record]:
    """The leads that pass `f`, sorted. `region` (settings default_region) reads a
    phone searched in national format."""
    wanted = {check_status(s) for s in f.statuses}
    if f.sort not in SORT_KEYS:
        raise CrmError(f"cannot sort by '{f.sort}' (use {', '.join(SORT_KEYS)})")
    keys = phone_search_keys(f.search, region) if f.search else []
    out = [
        r
        for r in records
        if (not wanted or r.get("status") in wanted)
        and (f.source is None or r.get("source") == f.source)
        and (f.owner is None or r.get("owner") == f.owner)
        and (f.tag is None or f.tag in r.get("tags", []))
        and (f.batch is None or f.batch in r.get("batches", []))
        and (not f.search or matches(r, f.search, keys))
    ]
    return sort_records(out, f.sort)


def list_leads(store: Store, f: LeadFilter) -> list[Record]:
    """The leads `lead list` shows."""
    statuses = [check_status(s) for s in f.statuses]
    found = store.query("lead", {"status": statuses or None, "owner": f.owner})
    return select(found, f, store.settings.get("default_region"))


def edit(
    store: Store,
    rec: Record,
    *,
    name: str | None = None,
    company: str | None = None,
    title: str | None = None,
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    source: str | None = None,
    owner: str | None = None,
    tags: list[str] | None = None,
    fields: dict[str, Any] | None = None,
    remove_tags: list[str] | None = None,
    remove_emails: list[str] | None = None,
    remove_phones: list[str] | None = None,
    unset: list[str] | None = None,
) -> tuple[Record, list[str]]:
    """Apply changes to a lead and save it; returns it and duplicate warnings.
    E-mails, phones, tags and fields add to what is there."""
    rec = dict(rec)
    rid = rec["id"]
    if name is not None:
        if not name.strip():
            raise CrmError("a lead needs a name")
        rec["name"] = name.strip()
    for attr, value in (("company", company), ("title", title)):
        if value is not None:
            rec[attr] = value.strip() or None
    for attr, value in (("source", source), ("owner", owner)):
        if value is not None:
            rec[attr] = value
    rec, new_emails, new_phones = edit_contact_details(
        store,
        "lead",
        rec,
        UNSETTABLE,
        emails=emails,
        phones=phones,
        tags=tags,
        fields=fields,
        remove_tags=remove_tags,
        remove_emails=remove_emails,
        remove_phones=remove_phones,
        unset=unset,
    )
    warnings = _contact_warnings(store, new_emails, new_phones, exclude=rid)
    return store.save("lead", rec), warnings


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
    if lead["status"] == "converted":
        raise CrmError(
            f"lead {rid} ({_name(lead)}) is already converted "
            f"(customer {lead.get('customer')}); converting twice is an error"
        )
    if amount is not None and not deal_title:
        raise CrmError("--amount needs --deal TITLE")
    if deal_title is not None and not deal_title.strip():
        raise CrmError("the deal title is empty")
    value = parse_amount(amount)
    owner = lead.get("owner") or store.user
    company = (lead.get("company") or "").strip()
    warnings: list[str] = []
    contact = {
        "name": lead["name"],
        "title": lead.get("title"),
        "emails": list(lead["emails"]),
        "phones": list(lead["phones"]),
    }

    action = "attached"
    if customer is None and company:
        customer = _customer_by_name(store, company)
        action = "matched"
    if customer is not None:
        cust = dict(customer)
        if cust["kind"] == "person" and fold(cust["name"]) == fold(lead["name"]):
            cust["emails"] = cust["emails"] + contact["emails"]
            cust["phones"] = cust["phones"] + contact["phones"]
            how = f"lead {lead['name']} ({rid}) converted into this customer"
        else:
            cust["contacts"], _ = _merge_contact(cust["contacts"], contact)
            how = f"lead {lead['name']} ({rid}) converted, as a contact"
        for key in ("source", "owner"):
            if not cust.get(key) and lead.get(key):
                cust[key] = lead[key]
        cust = store.save("customer", cust)
    else:
        action = "created"
        how = f"created from lead {lead['name']} ({rid})"
        common = {
            "owner": owner,
            "source": lead.get("source"),
            "tags": list(lead["tags"]),
            "fields": dict(lead["fields"]),
        }
        if company:
            cust = store.create(
                "customer", name=company, kind="company", contacts=[contact], **common
            )
        else:
            warnings += duplicates(store, "customer", contact["emails"], contact["phones"])
            cust = store.create(
                "customer",
                name=lead["name"],
                kind="person",
                emails=contact["emails"],
                phones=contact["phones"],
                **common,
            )
    cid = cust["id"]

    deal = None
    if deal_title:
        from crmcli import deals

        # first pipeline stage, settings currency, stage_history started
        deal, _ = deals.add(store, deal_title, customer=cid, amount=value, owner=owner)
        store.add_activity(
            deal["id"], "convert", f"opened on converting lead {lead['name']} ({rid})"
        )

    for a in reversed(store.timeline(rid)):  # oldest first, so the copies keep the order
        store.create("activity", on=cid, kind=a["kind"], text=a["text"], by=a["by"], at=a["at"])
    for task in store.query("task", {"lead": rid}):
        if not task.get("customer"):
            store.save("task", dict(task, customer=cid))

    lead = store.save(
        "lead", dict(lead, status="converted", customer=cid, deal=deal and deal["id"])
    )
    with_deal = f"; deal {deal['title']} ({deal['id']})" if deal else ""
    store.add_activity(rid, "convert", f"converted to customer {cust['name']} ({cid}){with_deal}")
    store.add_activity(cid, "convert", how + with_deal)
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
