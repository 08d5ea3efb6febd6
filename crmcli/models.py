"""Records: the kinds, their fields in file order, defaults, normalisation, validation.

A record is a plain dict. Every kind's fields are listed here once, in the order
they are written to the file. Keys that are not listed (added by hand, say a
`contacts:` list on a lead, or by a newer crm) are unknown keys: kept as written
and where written (after the field they followed in the file), never checked and
never read as a field of the kind (`unknown_keys`; code that reads a field another
kind defines asks `FIELDS` first). `validate` returns one
`field: message` line per problem; `normalize` gives the canonical form that
`store.save` writes, so saving an unchanged record yields identical bytes.

Field types:
  str      text or null            str!   non-empty text
  list     list of texts, []       dicts  list of mappings, []
  map      mapping, {}             money  exact decimal number or null
  time     ISO 8601 text or null   time!  ISO 8601 text, required
  bool     true/false              int    whole number or null
  enum:a|b text, one of those      enum?:a|b  the same, or null
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

Record = dict[str, Any]

# kind name (singular, as in commands) -> folder name
KINDS: dict[str, str] = {
    "customer": "customers",
    "lead": "leads",
    "deal": "deals",
    "task": "tasks",
    "activity": "activities",
}

# Fields that hold the id of another record, and the kind they point at.
LINKS: dict[str, str] = {"customer": "customer", "lead": "lead", "deal": "deal"}

LEAD_STATUSES = ["new", "contacted", "qualified", "disqualified", "converted"]
DEAL_STATUSES = ["open", "won", "lost"]
TASK_STATUSES = ["open", "done", "cancelled"]
PRIORITIES = ["low", "normal", "high", "urgent"]
TASK_KINDS = ["todo", "call", "email", "meeting", "complaint"]
SEVERITIES = ["low", "medium", "high", "critical"]
# Timeline entries that record contact with someone (`crm log KIND`); settings
# `activity_kinds` adds more. A typed entry counts as contact for cadences.
CONTACT_KINDS = ["call", "meeting", "email", "chat", "visit"]
# The kinds of the entries crm writes itself (bookkeeping): no activity_kinds name.
ENTRY_KINDS = ["note", "assign", "merge", "status", "convert", "import", "edit", "stage",
               "won", "lost", "reopen", "approval", "snooze", "quote", "order"]  # fmt: skip
TIERS = ["A", "B", "C"]
# The file formats and languages the CLI offers, by the module that does them.
EXPORT_FORMATS = ("jsonl", "csv", "vcf")  # crmcli.exporters
IMPORT_FORMATS = ("csv", "vcf")  # crmcli.importers
ORDER_FORMATS = ("json", "csv", "orderx")  # crmcli.orders
QUOTE_LANGS = ("en", "zh", "de")  # crmcli.quotes.LABELS
MONEY_DIGITS = 30  # money beyond 10**30 (or below 10**-30) is a typo, not an amount

SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "customer": [
        ("id", "str!"),
        ("name", "str!"),
        ("kind", "enum:company|person"),
        ("emails", "list"),
        ("phones", "list"),
        ("website", "str"),
        ("industry", "str"),
        ("owner", "str"),
        ("source", "str"),
        ("tags", "list"),
        ("tier", "enum?:A|B|C"),
        ("tier_manual", "bool"),
        ("cadence", "str"),
        ("billing_address", "str"),
        ("country", "str"),
        ("tax_id", "str"),
        ("contacts", "dicts"),
        ("fields", "map"),
        ("created", "time!"),
        ("updated", "time!"),
    ],
    "lead": [
        ("id", "str!"),
        ("name", "str!"),
        ("company", "str"),
        ("title", "str"),
        ("emails", "list"),
        ("phones", "list"),
        ("source", "str"),
        ("status", "enum:" + "|".join(LEAD_STATUSES)),
        ("owner", "str"),
        ("tags", "list"),
        ("customer", "str"),
        ("deal", "str"),
        ("batches", "list"),
        ("fields", "map"),
        ("created", "time!"),
        ("updated", "time!"),
    ],
    "deal": [
        ("id", "str!"),
        ("title", "str!"),
        ("customer", "str"),
        ("amount", "money"),
        ("currency", "str"),
        ("stage", "str!"),
        ("status", "enum:" + "|".join(DEAL_STATUSES)),
        ("close_date", "str"),
        ("owner", "str"),
        ("lines", "dicts"),
        ("stage_history", "dicts"),
        ("needs_approval", "bool"),
        ("approvals", "dicts"),
        ("lost_reason", "str"),
        ("snoozed_until", "str"),
        ("snooze_reason", "str"),
        ("tags", "list"),
        ("fields", "map"),
        ("created", "time!"),
        ("updated", "time!"),
        ("closed_at", "time"),
        ("handed_off_at", "time"),
    ],
    "task": [
        ("id", "str!"),
        ("title", "str!"),
        ("due", "time"),
        ("status", "enum:" + "|".join(TASK_STATUSES)),
        ("priority", "enum:" + "|".join(PRIORITIES)),
        ("kind", "enum:" + "|".join(TASK_KINDS)),
        ("severity", "enum?:" + "|".join(SEVERITIES)),
        ("customer", "str"),
        ("lead", "str"),
        ("deal", "str"),
        ("owner", "str"),
        ("every", "str"),
        ("series", "str"),
        ("done_at", "time"),
        ("created", "time!"),
        ("updated", "time!"),
    ],
    "activity": [
        ("id", "str!"),
        ("on", "str!"),
        ("kind", "str!"),
        ("text", "str"),
        ("outcome", "str"),
        ("by", "str"),
        ("at", "time!"),
        # an e-mail entry's (crm mail import): written only when they hold a value (SPARSE)
        ("deal", "str"),
        ("direction", "enum?:in|out"),
        ("from", "str"),
        ("to", "list"),
        ("cc", "list"),
        ("subject", "str"),
        ("message_id", "str"),
        ("in_reply_to", "str"),
        ("references", "list"),
        ("snippet", "str"),
        ("attachments", "dicts"),
        ("body", "str"),
    ],
}

# An e-mail entry's own fields (crm mail import): no other entry has them.
MAIL_FIELDS = ("deal", "direction", "from", "to", "cc", "subject", "message_id", "in_reply_to",
               "references", "snippet", "attachments", "body")  # fmt: skip
# Fields written to the file only when they hold a value: most entries have no outcome
# and only e-mail entries the MAIL_FIELDS; files written before a field existed stay
# in canonical form, and a note's file stays as it always was.
SPARSE: dict[str, frozenset[str]] = {"activity": frozenset({"outcome", *MAIL_FIELDS})}

# Every kind's field names (what `unknown_keys` is not).
FIELDS: dict[str, frozenset[str]] = {k: frozenset(n for n, _t in v) for k, v in SCHEMAS.items()}
# Keys crm itself writes beside a kind's fields: a merge tombstone's and the merge
# driver's set-aside values (doctor reports those on their own).
CRM_KEYS = frozenset({"merged_into", "conflicts"})

# The fields `edit --unset` may clear (to the empty value of their type), besides the
# custom `fields.KEY`.
UNSETTABLE: dict[str, tuple[str, ...]] = {
    "customer": ("website", "industry", "owner", "source", "tier", "cadence", "billing_address",
                 "country", "tax_id", "emails", "phones", "tags", "fields"),
    "lead": ("company", "title", "owner", "source", "emails", "phones", "tags", "fields"),
    "deal": ("amount", "close_date", "owner", "customer", "tags"),
    "task": ("due", "customer", "lead", "deal", "owner", "every", "severity"),
    "contact": ("title", "emails", "phones"),
}  # fmt: skip

# Defaults for the fields whose empty value is not null.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "customer": {"kind": "company", "tier_manual": False},
    "lead": {"status": "new"},
    "deal": {"status": "open", "needs_approval": False},
    "task": {"status": "open", "priority": "normal", "kind": "todo"},
    "activity": {"kind": "note"},
}

# The few fields of each kind that lists of names and links need (Store.query fields): read
# from the index without loading whole records.
LIGHT_FIELDS: dict[str, tuple[str, ...]] = {
    "customer": ("id", "name", "owner", "tier", "cadence", "created"),
    "lead": ("id", "name", "customer", "owner", "status"),
    "deal": ("id", "title", "customer", "owner", "status", "amount", "needs_approval"),
    "task": (
        "id",
        "title",
        "status",
        "customer",
        "lead",
        "deal",
        "owner",
        "due",
        "done_at",
        "kind",
        "severity",
        "created",
    ),
    "activity": (
        "id",
        "on",
        "kind",
        "at",
        "deal",
        "direction",
        "subject",
        "message_id",
        "in_reply_to",
        "references",
    ),  # (the e-mail ones: mail threads)
}

# Tasks by priority, most pressing first (9: none or unknown).
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}

# The field a record is called by (REF by name, tables, messages).
NAME_FIELD = {
    "customer": "name",
    "lead": "name",
    "deal": "title",
    "task": "title",
    "activity": "id",
}


def empty_value(ftype: str) -> Any:
    if ftype == "list" or ftype == "dicts":
        return []
    if ftype == "map":
        return {}
    if ftype == "bool":
        return False
    return None


def _default(kind: str, name: str, ftype: str) -> Any:
    """A field's default value: a fresh copy when it is a list or a mapping."""
    value = _DEFAULTS[kind].get(name, empty_value(ftype))
    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value


def new_record(kind: str, /, **values: Any) -> Record:
    """A record of `kind` with every field at its default, then `values`."""
    rec: Record = {}
    sparse = SPARSE.get(kind, frozenset())
    for name, ftype in SCHEMAS[kind]:
        if name in values or name not in sparse:
            rec[name] = values[name] if name in values else _default(kind, name, ftype)
    rec.update(values)
    return normalize(kind, rec)


def _dedupe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for x in items:
        if x not in out:
            out.append(x)
    return out


def unknown_keys(kind: str, rec: Record) -> list[Any]:
    """The keys of `rec` that `kind` does not define, in file order."""
    fields = FIELDS[kind]
    return [k for k in rec if k not in fields]


def normalize(kind: str, rec: Record) -> Record:
    """The canonical form: schema fields in order (missing ones at their default; a
    SPARSE field only when it holds a value),
    each unknown key right after the field it followed (at the top if none did);
    tags sorted and unique; e-mails, phones unique; whole-number money as Decimal.
    Does not change what a valid record means."""
    out: Record = {}
    sparse = SPARSE.get(kind, frozenset())
    for name, ftype in SCHEMAS[kind]:
        if name in sparse and rec.get(name) is None:
            continue
        value = rec[name] if name in rec else _default(kind, name, ftype)
        if ftype == "list" and isinstance(value, list):
            value = _dedupe(value)
            if name == "tags":
                value = sorted(value, key=str)
        elif ftype == "money" and isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        elif ftype == "map" and isinstance(value, dict):
            value = {k: value[k] for k in sorted(value, key=str)}
        out[name] = value
    return _place_unknown(kind, rec, out) if unknown_keys(kind, rec) else out


def _place_unknown(kind: str, rec: Record, out: Record) -> Record:
    """`out` with `rec`'s unknown keys each after the field that preceded it in `rec`."""
    after: dict[Any, list[Any]] = {}
    field = None
    for key in rec:
        if key in FIELDS[kind]:
            field = key
        else:
            after.setdefault(field, []).append(key)
    placed: Record = {key: rec[key] for key in after.get(None, [])}
    for name, value in out.items():
        placed[name] = value
        placed.update((key, rec[key]) for key in after.get(name, []))
    return placed


def with_contact_ids(rec: Record) -> Record:
    """The customer with an id on each contact (Store.save gives them lazily, as
    a customer is written: see contact_id)."""
    contacts = rec.get("contacts")
    if not isinstance(contacts, list) or not isinstance(rec.get("id"), str):
        return rec
    return dict(rec, contacts=[_with_id(rec["id"], c) for c in contacts])


def contact_id(customer_id: str, contact: dict[str, Any]) -> str:
    """A contact's id: its own `id` (random, given when it was added), else one derived
    from the customer's id and the contact's name, so that clones that give an old
    contact its id lazily give it the same one. The vCard export's UID is built on it."""
    own = contact.get("id")
    if isinstance(own, str) and own:
        return own
    import hashlib

    from crmcli.store import ID_ALPHABET, ID_LENGTH, fold

    seed = f"{customer_id}\0{fold(str(contact.get('name') or ''))}".encode()
    n = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")
    chars = []
    for _ in range(ID_LENGTH):
        n, r = divmod(n, len(ID_ALPHABET))
        chars.append(ID_ALPHABET[r])
    return "".join(chars)


def _with_id(customer_id: str, contact: Any) -> Any:
    """The contact with its id first (given lazily: see contact_id)."""
    if not isinstance(contact, dict) or (isinstance(contact.get("id"), str) and contact["id"]):
        return contact
    return {"id": contact_id(customer_id, contact), **contact}


def _check(ftype: str, value: Any) -> str | None:
    """The problem with `value` for a field of `ftype`, or None when it is fine."""
    optional = not ftype.endswith("!")
    base = ftype.rstrip("!")
    if value is None:
        if base in ("list", "dicts", "map", "bool") or not optional or base.startswith("enum:"):
            return "is missing"
        return None
    if base == "str":
        if not isinstance(value, str):
            return "must be a text"
        if not optional and not value.strip():
            return "must not be empty"
    elif base == "list":
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            return "must be a list of texts"
    elif base == "dicts":
        if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
            return "must be a list of mappings"
    elif base == "map":
        if not isinstance(value, dict):
            return "must be a mapping"
    elif base == "bool":
        if not isinstance(value, bool):
            return "must be true or false"
    elif base == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be a whole number"
    elif base == "money":
        if not isinstance(value, (int, Decimal)) or isinstance(value, bool):
            return "must be a number"
        if isinstance(value, Decimal) and not value.is_finite():
            return "must be a finite number"
        if value < 0:
            return f"{value} must be a number of at least 0"
        if isinstance(value, Decimal) and value and abs(value.adjusted()) > MONEY_DIGITS:
            return "is out of range"  # 1e+999999999 would take a gigabyte to print
    elif base == "time":
        from crmcli.dates import check_range, parse_iso
        from crmcli.errors import DateError

        if not isinstance(value, str):
            return "must be an ISO 8601 timestamp"
        try:
            check_range(parse_iso(value), value, "")
        except (ValueError, OverflowError):
            return f"'{value}' is not an ISO 8601 timestamp"
        except DateError as e:  # year 9999 or 1: a date past any sum with it (OverflowError)
            return e.message.strip()
    elif base.startswith("enum"):
        allowed = base.split(":", 1)[1].split("|")
        if value not in allowed:
            return f"'{value}' is not one of {', '.join(allowed)}"
    return None


# The fields of the mappings in a list field, checked like a record's own.
ITEM_SCHEMAS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("customer", "contacts"): [
        ("id", "str"),  # see contact_id
        ("name", "str!"),
        ("title", "str"),
        ("emails", "list"),
        ("phones", "list"),
    ],
    ("deal", "lines"): [("qty", "money"), ("unit_price", "money")],
    ("activity", "attachments"): [("name", "str"), ("size", "int")],
}
# Items changed as records are (crm customer contact edit): their kind, and where they are.
ITEM_KINDS = {"contact": ("customer", "contacts")}


def schema(kind: str) -> list[tuple[str, str]]:
    """The fields of a record kind, or of an item kind (ITEM_KINDS)."""
    return SCHEMAS[kind] if kind in SCHEMAS else ITEM_SCHEMAS[ITEM_KINDS[kind]]


def validate(kind: str, rec: Any) -> list[str]:
    """One `field: message` line per problem in `rec` (empty when valid)."""
    if not isinstance(rec, dict):
        return ["the file must hold a mapping of fields"]
    problems = _problems(SCHEMAS[kind], rec, "")
    for (k, name), schema in ITEM_SCHEMAS.items():
        items = rec.get(name) if k == kind else None
        if isinstance(items, list) and all(isinstance(x, dict) for x in items):  # else said
            for i, item in enumerate(items, 1):
                problems += _problems(schema, item, f"{name} item {i}: ")
    return problems


def _problems(schema: list[tuple[str, str]], mapping: dict, prefix: str) -> list[str]:
    """The problems of the fields of `mapping` that `schema` names."""
    problems = []
    for name, ftype in schema:
        if name not in mapping:
            if ftype.endswith("!"):
                problems.append(f"{prefix}{name}: is missing")
            continue
        problem = _check(ftype, mapping[name])
        if problem:
            problems.append(f"{prefix}{name}: {problem}")
    return problems


def display_name(kind: str, rec: Record) -> str:
    return str(rec.get(NAME_FIELD[kind]) or rec.get("id"))
