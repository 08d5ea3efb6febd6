"""Customers: the domain logic behind `crm customer ...`, as plain functions on the store."""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any, NamedTuple

from crmcli import models
from crmcli.changes import ChangeSet, unchanged
from crmcli.contactinfo import phone_key, phone_search_keys
from crmcli.errors import CrmError
from crmcli.models import Record
from crmcli.records import (
    apply_contact_changes,
    clean_emails,
    clean_phones,
    phone_warnings,
    select_people,
)
from crmcli.store import Store, fold, new_id

SORT_KEYS = ("name", "created", "updated")


def _check(changes: ChangeSet) -> None:
    """Clean the name, kind, tier, cadence and billing details a change set gives (the
    customer's rules)."""
    changes.clean_text("name", required="a customer needs a name")
    kind = changes.set.get("kind")
    if kind is not None and kind not in ("company", "person"):
        raise CrmError(f"kind '{kind}' must be company or person")
    tier = changes.set.get("tier")
    if tier is not None:
        tier = tier.upper()
        if tier not in models.TIERS:
            raise CrmError(f"tier '{tier}' must be A, B or C")
        changes.set.update(tier=tier, tier_manual=True)
    if "tier" in changes.unset:
        changes.set["tier_manual"] = False
    if changes.set.get("cadence") is not None:
        from crmcli.dates import parse_duration

        parse_duration(changes.set["cadence"])
    for name in ("billing_address", "tax_id"):
        changes.clean_text(name)
    country = changes.set.get("country")
    if country is not None:
        changes.set["country"] = country.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", changes.set["country"]):
            raise CrmError(f"country '{country}' must be a two-letter code like DE")


def add(store: Store, changes: ChangeSet) -> tuple[Record, list[str]]:
    """Create a customer (a company unless `kind`; owner: the user unless given) from
    a change set; returns it and warnings about e-mails/phones already in use."""
    changes.set.setdefault("name", "")
    _check(changes)
    rec = models.new_record("customer", id=None, owner=store.ctx.user)
    rec, warnings = apply_contact_changes(store, "customer", rec, changes)
    rec = store.create("customer", **rec)
    store.note_change(f'customer: add "{rec["name"]}"')
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


def select(
    records: list[Record], f: CustomerFilter, region: str | None = None, tz: tzinfo | None = None
) -> list[Record]:
    """The customers that pass `f`, sorted (`region`: settings default_region, for
    a phone searched in national format)."""
    return select_people(records, f, SORT_KEYS, matches, region, tz)


def list_customers(store: Store, f: CustomerFilter) -> list[Record]:
    """The customers `customer list` shows."""
    region = store.settings.get("default_region")
    return select(store.query("customer", {"owner": f.owner}), f, region, store.ctx.tz)


def edit(store: Store, rec: Record, changes: ChangeSet) -> tuple[Record, list[str]]:
    """Apply a change set to a customer and save it; returns it and warnings about
    e-mails/phones added that another customer already has."""
    _check(changes)
    before = rec
    rec, warnings = apply_contact_changes(store, "customer", rec, changes)
    if unchanged("customer", before, rec):
        return before, warnings
    rec = store.save("customer", rec)
    store.note_change(f'customer: edit "{rec["name"]}"')
    return rec, warnings


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
    rec = store.save("customer", dict(rec, contacts=[*rec["contacts"], contact]))
    store.note_change(f'customer: add contact "{name}" to "{rec["name"]}"')
    return rec, phone_warnings(store, contact["phones"])


def contact_index(rec: Record, ref: str) -> int:
    """Where in `rec`'s contacts the one named `ref` is (case- and accent-insensitive,
    or by its id); an error lists the contacts there are."""
    want = fold(ref.strip())
    for i, c in enumerate(rec["contacts"]):
        if fold(str(c.get("name") or "")) == want or c.get("id") == ref.strip():
            return i
    names = ", ".join(f"'{c.get('name')}'" for c in rec["contacts"]) or "none"
    raise CrmError(f"customer {rec['id']} has no contact '{ref}' (contacts: {names})")


def edit_contact(
    store: Store, rec: Record, ref: str, changes: ChangeSet
) -> tuple[Record, dict[str, Any], list[str]]:
    """Apply a change set to the contact `ref` of customer `rec` and save the customer;
    returns it, the contact and warnings about phones kept as written."""
    i = contact_index(rec, ref)
    changes.clean_text("name", required="a contact needs a name")
    new_name = changes.set.get("name")
    if new_name and any(
        j != i and fold(str(c.get("name"))) == fold(new_name) for j, c in enumerate(rec["contacts"])
    ):
        raise CrmError(f"customer {rec['id']} already has a contact named '{new_name}'")
    contact, warnings = apply_contact_changes(store, "contact", rec["contacts"][i], changes)
    contacts = [*rec["contacts"][:i], contact, *rec["contacts"][i + 1 :]]
    if contact != rec["contacts"][i]:
        rec = store.save("customer", dict(rec, contacts=contacts))
        store.note_change(f'customer: edit contact "{contact["name"]}" of "{rec["name"]}"')
    return rec, contact, warnings


def remove_contact(store: Store, rec: Record, ref: str) -> tuple[Record, dict[str, Any]]:
    """Remove the contact `ref` from customer `rec`; the customer saved and the contact."""
    i = contact_index(rec, ref)
    contact = rec["contacts"][i]
    rec = dict(rec, contacts=rec["contacts"][:i] + rec["contacts"][i + 1 :])
    rec = store.save("customer", rec)
    store.note_change(f'customer: remove contact "{contact["name"]}" from "{rec["name"]}"')
    return rec, contact


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
    store.note_change(f'customer: merge "{other["name"]}" into "{keep["name"]}"')
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
    store.write_tombstone("customer", other["id"], keep["id"], other)
    store.add_activity(keep["id"], "merge", f"merged {other['name']} ({other['id']}) into this")
    return result


def page(store: Store, rec: Record) -> dict[str, Any]:
    """What the customer's page (`customer show`) holds beside its fields: `leads`
    (those with customer == its id), `deals` (every status), `tasks` (its own and
    those on its deals and leads, every status) and one `timeline` of the entries on
    the customer, its leads, its deals and those tasks, newest first, each with
    `where` (activities.merged_timeline)."""
    from crmcli.activities import merged_timeline

    cid = rec["id"]
    leads = store.query("lead", {"customer": cid})
    deals = store.query("deal", {"customer": cid})
    tasks = {t["id"]: t for t in store.query("task", {"customer": cid})}
    for field, linked in (("deal", deals), ("lead", leads)):
        if linked:
            ids = {r["id"] for r in linked}
            tasks.update((t["id"], t) for t in store.query("task", {field: ids}))
    task_list = sorted(tasks.values(), key=lambda t: t["id"])
    places = [("customer", rec)] + [("lead", r) for r in leads] + [("deal", r) for r in deals]
    places += [("task", t) for t in task_list]
    return {
        "timeline": merged_timeline(store, places),
        "leads": leads,
        "deals": deals,
        "tasks": task_list,
    }
