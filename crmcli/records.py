"""What every kind of record shares beyond the store: cleaned e-mails and phones,
duplicate checks, handover to another owner, removal with links, linked records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from crmcli import models
from crmcli.changes import ChangeSet, apply
from crmcli.contactinfo import (
    normalize_email,
    normalize_phone,
    parse_phone,
    phone_key,
    phone_search_keys,
)
from crmcli.errors import CrmError
from crmcli.models import Record
from crmcli.store import Store


def clean_emails(items: list[str] | None) -> list[str]:
    return [normalize_email(e) for e in items or [] if e.strip()]


def clean_phones(store: Store, items: list[str] | None) -> list[str]:
    region = store.settings.get("default_region")
    return [normalize_phone(p, region) for p in items or [] if p.strip()]


def phone_warnings(store: Store, phones: list[str]) -> list[str]:
    """Why a cleaned phone was kept as written (contactinfo.parse_phone): it is not
    valid in settings default_region, and where it would be."""
    region = store.settings.get("default_region")
    if not region:
        return []
    notes = (parse_phone(p, region, strict=False)[1] for p in phones if not p.startswith("+"))
    return [n for n in notes if n]


def duplicates(
    store: Store, kind: str, emails: list[str], phones: list[str], exclude: str | None = None
) -> list[str]:
    """Messages naming other records of `kind` that already hold one of these e-mails/phones."""
    found = []
    keys = {phone_key(p) for p in phones}
    for rec in store.query(kind):
        if rec["id"] == exclude:
            continue
        name = models.display_name(kind, rec)
        for e in emails:
            if e in rec.get("emails", []):
                found.append(f"{kind} {rec['id']} ({name}) already has e-mail {e}")
        for p in rec.get("phones", []):
            if phone_key(p) in keys:
                found.append(f"{kind} {rec['id']} ({name}) already has phone {p}")
    return found


def assign(
    store: Store, kind: str, rec: Record, owner: str, *, with_open_work: bool = False
) -> tuple[Record, list[tuple[str, Record]]]:
    """Hand a record over to `owner`, on its timeline; with `with_open_work`, its
    open deals and tasks move too. Returns the record and what else moved."""
    if not owner.strip():
        raise CrmError("the new owner is empty")
    old = rec.get("owner")
    rec = store.save(kind, dict(rec, owner=owner))
    moved: list[tuple[str, Record]] = []
    if with_open_work:
        for other_kind in ("deal", "task"):
            for r in store.query(other_kind, {kind: rec["id"], "status": "open"}):
                if r.get("owner") != owner:
                    moved.append((other_kind, store.save(other_kind, dict(r, owner=owner))))
    text = f"owner {old or '(none)'} -> {owner}"
    if moved:
        text += f"; moved {len(moved)} open deal(s)/task(s) along"
    store.add_activity(rec["id"], "assign", text)
    store.note_change(f'{kind}: assign "{models.display_name(kind, rec)}" to {owner}')
    return rec, moved


def remove(store: Store, kind: str, rec: Record, *, force: bool = False) -> list[tuple[str, str]]:
    """Delete a record and its timeline. Refuses while other records link to it,
    unless `force`, which unlinks them. Returns the (kind, id) unlinked."""
    refs = store.referrers(rec["id"])
    if refs and not force:
        names = ", ".join(f"{k} {r['id']}" for k, r, _ in refs[:5])
        more = f" and {len(refs) - 5} more" if len(refs) > 5 else ""
        raise CrmError(
            f"{kind} {rec['id']} is linked from {names}{more}; use --force to remove it anyway"
        )
    for k, r, field in refs:
        store.save(k, dict(r, **{field: None}))
    for a in store.timeline(rec["id"]):
        store.delete("activity", a["id"])
    store.delete(kind, rec["id"])
    store.note_change(f'{kind}: remove "{models.display_name(kind, rec)}"')
    return [(k, r["id"]) for k, r, _ in refs]


def linked(store: Store, kind: str, rid: str) -> dict[str, list[Record]]:
    """Records of the other kinds that link to `rid` (for show)."""
    out: dict[str, list[Record]] = {"leads": [], "deals": [], "tasks": []}
    for k, r, _ in store.referrers(rid):
        out.setdefault(models.KINDS[k], []).append(r)
    return out


def select_people(
    records: list[Record],
    f: Any,
    sort_keys: tuple[str, ...],
    matches: Callable[[Record, str, list[str]], bool],
    region: str | None = None,
    tz: tzinfo | None = None,
    keep: Callable[[Record], bool] = lambda _r: True,
) -> list[Record]:
    """What `customer list` and `lead list` keep of `records`, sorted: those with
    `f`'s tag, owner and source, for which `keep` holds, that `matches` f.search
    (given its phone search keys: a phone in national format read in `region`);
    f.sort must be one of `sort_keys`."""
    if f.sort not in sort_keys:
        raise CrmError(f"cannot sort by '{f.sort}' (use {', '.join(sort_keys)})")
    keys = phone_search_keys(f.search, region) if f.search else []
    out = [
        r
        for r in records
        if (f.tag is None or f.tag in r.get("tags", []))
        and (f.owner is None or r.get("owner") == f.owner)
        and (f.source is None or r.get("source") == f.source)
        and keep(r)
        and (not f.search or matches(r, f.search, keys))
    ]
    return sort_records(out, f.sort, tz)  # type: ignore[arg-type]


def sort_records(records: list[Record], sort: str, tz: tzinfo) -> list[Record]:
    """Sort in place by name (folded, A to Z) or by `created`/`updated` (newest first)."""
    from crmcli.store import fold

    if sort == "name":
        records.sort(key=lambda r: (fold(r["name"]), r["id"]))
    else:
        from crmcli.dates import parse_iso

        records.sort(key=lambda r: (parse_iso(r[sort], tz), r["id"]), reverse=True)
    return records


def apply_contact_changes(
    store: Store, kind: str, rec: Record, changes: ChangeSet
) -> tuple[Record, list[str]]:
    """What `add` and `edit` do alike for customers, leads and contacts: the change set applied
    with its e-mails and phones cleaned, an e-mail removed whatever its case, a phone
    however it is written. Returns the record (not saved) and warnings about the
    e-mails and phones added (kept as written, or already held by another record of
    `kind`)."""
    region = store.settings.get("default_region")
    new_emails = clean_emails(changes.add.get("emails"))
    new_phones = clean_phones(store, changes.add.get("phones"))
    changes.add.update(emails=new_emails, phones=new_phones)

    def same_phone(item: str, value: str) -> bool:
        keys = {phone_key(item), phone_key(normalize_phone(item, region, strict=False))}
        return phone_key(value) in keys - {""}

    same = {"emails": lambda item, value: item.strip().lower() == value, "phones": same_phone}
    rec = apply(kind, rec, changes, same)
    warnings = phone_warnings(store, new_phones)
    if kind in models.SCHEMAS:  # (a contact's e-mails are its customer's to compare)
        warnings += duplicates(store, kind, new_emails, new_phones, exclude=rec.get("id"))
    return rec, warnings


def note(store: Store, kind: str, rec: Record, text: str) -> Record:
    """Add a note to a record's timeline; returns the timeline entry."""
    entry = store.add_activity(rec["id"], "note", text)
    store.note_change(f'{kind}: note on "{models.display_name(kind, rec)}"')
    return entry
