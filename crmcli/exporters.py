"""Records out: JSON lines (every kind), CSV (one kind), vCard 4.0 (people).

- jsonl: one record a line, `{"kind": "lead", ...the record}`. Customers, tasks
  and activities have a `kind` field of their own (company/person, call/...,
  note/...): in a line it is called `record_kind`, so `kind` always says which
  kind of record the line holds.
- csv: the fields of one kind in file order (then any extra keys), lists joined
  with "; ", mappings as JSON, formulas neutralised (encode.csv_cell).
- vcf: leads, customers and the contacts of company customers, one vCard 4.0
  each, that `crm lead import` reads back as they were. UIDs are stable: a
  contact's is built on its id (models.contact_id), not its place in the list.
  A converted lead is left out (it is the customer or contact it became) unless
  asked for. URL values are written as URIs (not text-escaped) and lines are
  folded at 75 octets between characters (vobject counts characters).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from crmcli import models
from crmcli.errors import CrmError
from crmcli.models import Record
from crmcli.store import Store

ORDER = ["customer", "lead", "deal", "task", "activity"]
FORMATS = models.EXPORT_FORMATS
VCF_KINDS = ("customer", "lead")


def parse_kinds(items: Iterable[str] | None) -> list[str]:
    """Kind names (singular or plural, any case) in the standard order, no repeats."""
    wanted = []
    plural = {v: k for k, v in models.KINDS.items()}
    for item in items or []:
        for part in item.split(","):
            name = part.strip().lower()
            if not name:
                continue
            kind = name if name in models.KINDS else plural.get(name)
            if kind is None:
                raise CrmError(f"unknown kind '{part.strip()}' (one of {', '.join(ORDER)})")
            wanted.append(kind)
    return [k for k in ORDER if k in wanted]


def export_parts(
    store: Store, fmt: str, kinds: list[str], *, include_converted: bool = False
) -> Iterator[tuple[str, int]]:
    """The export as parts of text, each with how many records (vCards) it holds:
    JSON lines one kind at a time, so 100,000 records are never all in memory.
    A request that cannot be met raises here, before any part is made.
    `include_converted`: vCards of converted leads too."""
    if fmt == "jsonl":
        return _jsonl_parts(store, kinds or ORDER)
    if fmt == "csv":
        if len(kinds) != 1:
            raise CrmError(
                "a CSV export holds exactly one kind: give one --kind "
                f"({', '.join(ORDER)}); JSON lines (--format jsonl) hold them all"
            )
        records = store.query(kinds[0])
        return iter([(csv_text(records, kinds[0]), len(records))])
    if fmt == "vcf":
        other = [k for k in kinds if k not in VCF_KINDS]
        if other:
            raise CrmError(
                f"vCards hold customers and leads only, not {other[0]}s; "
                "use --format jsonl or csv for them"
            )
        text = vcf_text(store, kinds or list(VCF_KINDS), include_converted=include_converted)
        return iter([(text, text.count("BEGIN:VCARD\r\n"))])
    raise CrmError(f"unknown export format '{fmt}' ({', '.join(FORMATS)})")


# ----- JSON lines ---------------------------------------------------------------------


def jsonl_line(kind: str, rec: Record) -> str:
    from crmcli.encode import to_json

    out: dict[str, Any] = {"kind": kind}
    for key, value in rec.items():
        out["record_kind" if key == "kind" else key] = value
    return to_json(out, indent=None)


def _jsonl_parts(store: Store, kinds: list[str]) -> Iterator[tuple[str, int]]:
    for k in kinds:
        records = store.query(k)
        yield "".join(jsonl_line(k, rec) + "\n" for rec in records), len(records)
        del records
        store.invalidate(k)  # done with this kind: let its records go


# ----- CSV ----------------------------------------------------------------------------


def csv_columns(kind: str, records: list[Record]) -> list[str]:
    columns = [name for name, _ in models.SCHEMAS[kind]]
    extra = sorted({k for r in records for k in r if k not in columns}, key=str)
    return columns + extra


def csv_text(records: list[Record], kind: str) -> str:
    from crmcli.encode import write_csv

    buf = io.StringIO()
    write_csv(records, csv_columns(kind, records), buf)
    return buf.getvalue()


# ----- vCard 4.0 ----------------------------------------------------------------------


def vcf_text(store: Store, kinds: list[str], *, include_converted: bool = False) -> str:
    parts = []
    for kind in kinds:
        for rec in store.query(kind):
            if kind == "lead":
                if rec.get("status") == "converted" and not include_converted:
                    continue  # it is the customer (or contact) it became
                parts.append(lead_vcard(rec))
            else:
                parts += customer_vcards(rec)
    return "".join(parts)


@dataclass
class Card:
    """What one vCard says."""

    uid: str
    name: str
    kind: str = "individual"
    org: list[str] | None = None
    title: str | None = None
    emails: Iterable[str] = ()
    phones: Iterable[str] = ()
    faxes: Iterable[str] = ()
    note: str | None = None
    url: str | None = None


def _vcard(c: Card) -> str:
    import vobject

    card = vobject.vCard()
    card.add("version").value = "4.0"
    card.add("uid").value = c.uid
    card.add("kind").value = c.kind
    card.add("fn").value = c.name
    if c.org and any(c.org):
        card.add("org").value = list(c.org)
    if c.title:
        card.add("title").value = c.title
    for e in c.emails:
        card.add("email").value = e
    for p in c.phones:
        card.add("tel").value = p
    for p in c.faxes:
        tel = card.add("tel")
        tel.value = p
        tel.params["TYPE"] = ["fax"]
    if c.note:
        card.add("note").value = c.note
    if c.url:
        line = card.add("url")
        line.value = " ".join(c.url.split())
        line.encoded = True  # a URI: its commas and semicolons are not escaped
    text = card.serialize(lineLength=1 << 30)  # folded here: vobject counts characters
    return "".join(fold_line(x) + "\r\n" for x in text.split("\r\n")[:-1])


def fold_line(line: str, limit: int = 75) -> str:
    """A content line folded (RFC 6350 3.2) so that no line is longer than `limit`
    octets in UTF-8, never inside a character."""
    if len(line) * 4 <= limit or len(line.encode("utf-8")) <= limit:
        return line
    parts: list[str] = []
    start, size = 0, 0
    for i, ch in enumerate(line):
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append(line[start:i])
            start, size = i, 1  # the continuation line's leading space
        size += n
    parts.append(line[start:])
    return "\r\n ".join(parts)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if str(v).strip()]
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return []


def lead_vcard(rec: Record) -> str:
    fields = rec.get("fields") or {}
    department = _split(fields.get("department"))
    org = [rec.get("company") or "", *department] if rec.get("company") or department else None
    return _vcard(
        Card(
            f"crm-lead-{rec['id']}",
            rec["name"],
            org=org,
            title=rec.get("title"),
            emails=rec.get("emails") or [],
            phones=rec.get("phones") or [],
            faxes=_split(fields.get("fax")),
            note=_str(fields.get("note")),
            url=_str(fields.get("website")),
        )
    )


def customer_vcards(rec: Record) -> list[str]:
    """A customer's own card, then one for each of its contacts (people at a company)."""
    company = rec.get("kind") != "person"
    cards = [
        _vcard(
            Card(
                f"crm-customer-{rec['id']}",
                rec["name"],
                kind="org" if company else "individual",
                org=[rec["name"]] if company else None,
                emails=rec.get("emails") or [],
                phones=rec.get("phones") or [],
                url=_str(rec.get("website")),
            )
        )
    ]
    for person in rec.get("contacts") or []:
        if not isinstance(person, dict) or not _str(person.get("name")):
            continue
        cards.append(
            _vcard(
                Card(
                    f"crm-customer-{rec['id']}-contact-{models.contact_id(rec['id'], person)}",
                    str(person["name"]),
                    org=[rec["name"]],
                    title=_str(person.get("title")),
                    emails=_split(person.get("emails")),
                    phones=_split(person.get("phones")),
                )
            )
        )
    return cards
