"""Customers: the domain logic behind `crm customer ...`, as plain functions on the store."""

from __future__ import annotations

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
from crmcli.store import Store, fold, new_id

SORT_KEYS = ("name", "created", "updated")
# Fields `edit --unset` may clear, with their empty value.
UNSETTABLE = {
    "website": None,
    "industry": None,
    "owner": None,
    "source": None,
    "tier": None,
    "cadence": None,
    "emails": [],
    "phones": [],
    "tags": [],
    "fields": {},
}


def add(
    store: Store,
    name: str,
    *,
    kind: str = "company",
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    website: str | None = None,
    industry: str | None = None,
    owner: str | None = None,
    source: str | None = None,
    tags: list[str] | None = None,
    fields: dict[str, Any] | None = None,
) -> tuple[Record, list[str]]:
    """Create a customer; returns it and warnings about e-mails/phones already in use."""
    if not name.strip():
        raise CrmError("a customer needs a name")
    if kind not in ("company", "person"):
        raise CrmError(f"kind '{kind}' must be company or person")
    emails_ = clean_emails(emails)
    phones_ = clean_phones(store, phones)
    warnings = phone_warnings(store, phones_) + duplicates(store, "customer", emails_, phones_)
    rec = store.create(
        "customer",
        name=name.strip(),
        kind=kind,
        emails=emails_,
        phones=phones_,
        website=website,
        industry=industry,
        owner=owner or store.user,
        source=source,
        tags=list(tags or []),
        fields=dict(fields or {}),
    )
    return rec, warnings


def matches(rec: Record, query: str, phone_keys: list[str] | None = None) -> bool:
    """Does `query` (folded) occur in the name, e-mails, phones or contacts, or one
    of `phone_keys` (contactinfo.phone_search_keys) in the digits of a phone?"""
    hay = [rec.get("name") or "", *rec.get("emails", []), *rec.get("phones", [])]
    for c in rec.get("contacts", []):
        hay += [str(c.get("name") or ""), *c.get("emails", []), *c.get("phones", [])]
    q = fold(query)
    for h in hay:
        if q in fold(str(h)):
            return True
    keys = phone_search_keys(query) if phone_keys is None else phone_keys
    if not keys:
        return False
    phones = rec.get("phones", []) + [
        x for c in rec.get("contacts", []) for x in c.get("phones", [])
    ]
    return any(k in d for d in map(phone_key, phones) for k in keys)


class CustomerFilter(NamedTuple):
    """What `customer list` keeps and how it sorts (SORT_KEYS)."""

    tag: str | None = None
    owner: str | None = None
    source: str | None = None
    search: str | None = None
    sort: str = "name"


def select(records: list[Record], f: CustomerFilter, region: str | None = None) -> list[Record]:
    """The customers that pass `f`, sorted (`region`: settings default_region, for
    a phone searched in national format)."""
    if f.sort not in SORT_KEYS:
        raise CrmError(f"cannot sort by '{f.sort}' (use {', '.join(SORT_KEYS)})")
    keys = phone_search_keys(f.search, region) if f.search else []
    out = [
        r
        for r in records
        if (f.tag is None or f.tag in r.get("tags", []))
        and (f.owner is None or r.get("owner") == f.owner)
        and (f.source is None or r.get("source") == f.source)
        and (not f.search or matches(r, f.search, keys))
    ]
    return sort_records(out, f.sort)


def list_customers(store: Store, f: CustomerFilter) -> list[Record]:
    """The customers `customer list` shows."""
    region = store.settings.get("default_region")
    return select(store.query("customer", {"owner": f.owner}), f, region)


def edit(
    store: Store,
    rec: Record,
    *,
    name: str | None = None,
    kind: str | None = None,
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    website: str | None = None,
    industry: str | None = None,
    owner: str | None = None,
    source: str | None = None,
    tags: list[str] | None = None,
    fields: dict[str, Any] | None = None,
    remove_tags: list[str] | None = None,
    remove_emails: list[str] | None = None,
    remove_phones: list[str] | None = None,
    tier: str | None = None,
    cadence: str | None = None,
    unset: list[str] | None = None,
) -> tuple[Record, list[str]]:
    """Apply changes to a customer and save it; returns it and duplicate warnings."""
    rec = dict(rec)
    if name is not None:
        if not name.strip():
            raise CrmError("a customer needs a name")
        rec["name"] = name.strip()
    if kind is not None:
        if kind not in ("company", "person"):
            raise CrmError(f"kind '{kind}' must be company or person")
        rec["kind"] = kind
    for attr, value in (
        ("website", website),
        ("industry", industry),
        ("owner", owner),
        ("source", source),
    ):
        if value is not None:
            rec[attr] = value
    if tier is not None:
        tier = tier.upper()
        if tier not in models.TIERS:
            raise CrmError(f"tier '{tier}' must be A, B or C")
        rec["tier"] = tier
        rec["tier_manual"] = True
    if cadence is not None:
        from crmcli.dates import parse_duration

        parse_duration(cadence)
        rec["cadence"] = cadence
    if "tier" in (unset or []):
        rec["tier_manual"] = False
    rec, new_emails, new_phones = edit_contact_details(
        store,
        "customer",
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
    warnings = phone_warnings(store, new_phones)
    warnings += duplicates(store, "customer", new_emails, new_phones, exclude=rec["id"])
    return store.save("customer", rec), warnings


def add_contact(
    store: Store,
    rec: Record,
    name: str,
    *,
    title: str | None = None,
    emails: list[str] | None = None,
    phones: list[str] | None = None,
) -> tuple[Record, list[str]]:
    """Add a person at a company customer; returns the customer and warnings about
    phones kept as written."""
    if not name.strip():
        raise CrmError("a contact needs a name")
    contact = {
        "id": new_id(),  # random: two clones adding the same person never collide
        "name": name.strip(),
        "title": title,
        "emails": clean_emails(emails),
        "phones": clean_phones(store, phones),
    }
    for c in rec["contacts"]:
        if fold(str(c.get("name"))) == fold(contact["name"]):
            raise CrmError(f"customer {rec['id']} already has a contact named '{c.get('name')}'")
    rec = dict(rec, contacts=[*rec["contacts"], contact])
    return store.save("customer", rec), phone_warnings(store, contact["phones"])


def _merge_contacts(a: list[dict], b: list[dict]) -> list[dict]:
    out = [dict(c) for c in a]
    for c in b:
        same = next((x for x in out if fold(str(x.get("name"))) == fold(str(c.get("name")))), None)
        if same is None:
            out.append(dict(c))
            continue
        for key in ("emails", "phones"):
            same[key] = list(dict.fromkeys([*(same.get(key) or []), *(c.get(key) or [])]))
        for key, value in c.items():
            if same.get(key) in (None, "", []):
                same[key] = value
    return out


def merge(store: Store, keep: Record, other: Record, *, dry_run: bool = False) -> dict[str, Any]:
    """Merge customer `other` into `keep`: e-mails, phones, tags, contacts, fields and
    timeline combined; links re-pointed; `other` becomes a tombstone. Returns
    {"customer": merged record, "repointed": [(kind, id)], "removed": other id}."""
    if keep["id"] == other["id"]:
        raise CrmError("cannot merge a customer into itself")
    merged = dict(keep)
    merged["emails"] = keep["emails"] + other["emails"]
    merged["phones"] = keep["phones"] + other["phones"]
    merged["tags"] = keep["tags"] + other["tags"]
    merged["contacts"] = _merge_contacts(keep["contacts"], other["contacts"])
    merged["fields"] = {**other["fields"], **keep["fields"]}
    for key in ("website", "industry", "owner", "source", "tier", "cadence"):
        if merged.get(key) in (None, ""):
            merged[key] = other.get(key)
    merged = models.normalize("customer", merged)
    refs = store.referrers(other["id"], activities=True)
    result = {
        "customer": merged,
        "repointed": [{"kind": k, "id": r["id"], "field": f} for k, r, f in refs],
        "removed": other["id"],
    }
    if dry_run:
        return result
    result["customer"] = store.save("customer", merged)
    for kind, r, field in refs:
        store.save(kind, dict(r, **{field: keep["id"]}))
    store.write_tombstone("customer", other["id"], keep["id"])
    store.add_activity(keep["id"], "merge", f"merged {other['name']} ({other['id']}) into this")
    return result
