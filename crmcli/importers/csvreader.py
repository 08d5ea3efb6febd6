"""CSV business cards: delimiter sniffed, header row recognised, one card a row.

Headers of Google Contacts, Outlook, Thunderbird, LinkedIn Connections and
HubSpot exports are known, and generic ones in English and Chinese (name, full
name, first/last name, email, e-mail, phone, mobile, company, organization,
title, 姓名, 电话, 手机, 邮箱, 公司, 职位, ...). `--map COLUMN=field` names the
field of any other column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from crmcli.errors import CrmError
from crmcli.importers.text import (
    compose_name,
    decode_bytes,
    has_bad_bytes,
    note_text,
    one_line,
    split_values,
)

# What a column can hold (the targets of --map).
TARGETS = (
    "name", "first_name", "middle_name", "last_name", "company", "title", "department",
    "email", "phone", "fax", "note", "website", "fields", "tags", "source", "status", "owner",
    "ignore",
)  # fmt: skip
TARGET_ALIASES = {
    "first": "first_name", "given": "first_name", "given_name": "first_name",
    "middle": "middle_name", "last": "last_name", "family": "last_name",
    "family_name": "last_name", "surname": "last_name", "full_name": "name",
    "organization": "company", "organisation": "company", "org": "company",
    "job_title": "title", "position": "title", "e-mail": "email", "mail": "email",
    "emails": "email", "mobile": "phone", "tel": "phone", "phones": "phone",
    "notes": "note", "url": "website", "-": "ignore", "skip": "ignore",
}  # fmt: skip

_EXACT: dict[str, str] = {}
for _target, _names in {
    "name": "name, full name, fullname, display name, contact name, contact, formatted name, "
    "姓名, 名字, 联系人, 联系人姓名, 客户姓名",
    "first_name": "first name, firstname, given name, first, 名",
    "middle_name": "middle name, additional name, middlename",
    "last_name": "last name, lastname, family name, surname, 姓",
    "company": "company, company name, organization, organisation, organization name, "
    "organisation name, org, employer, account name, associated company, "
    "公司, 公司名称, 单位, 工作单位, 企业, 企业名称, 机构",
    "title": "title, job title, jobtitle, position, organization title, designation, "
    "职位, 职务, 头衔, 岗位",
    "department": "department, organization department, dept, 部门",
    "email": "email, e mail, emails, email address, e mail address, mail, primary email, "
    "secondary email, work email, home email, other email, personal email, business email, "
    "邮箱, 电子邮件, 电子邮箱, 邮件, 邮箱地址, email地址",
    "phone": "phone, phones, telephone, tel, mobile, cell, cell phone, mobile phone, "
    "mobile number, mobile phone number, phone number, work phone, home phone, "
    "business phone, other phone, primary phone, company main phone, car phone, pager, "
    "pager number, radio phone, 电话, 手机, 手机号, 手机号码, 电话号码, 联系电话, 座机, "
    "移动电话, 办公电话",
    "fax": "fax, fax number, business fax, home fax, other fax, 传真",
    "note": "note, notes, comment, comments, remarks, 备注, 说明",
    "website": "website, web site, web page, url, homepage, home page, 网址, 网站, 主页",
    "fields": "fields",
    "tags": "tags",
    "source": "source",
    "status": "status",
    "owner": "owner",
    # the other columns of `crm export --format csv`: known, not imported
    "ignore": "id, batches, customer, deal, created, updated, "
    "kind, tier, tier manual, cadence, contacts",
}.items():
    for _n in _names.split(","):
        _EXACT[" ".join(_n.split())] = _target

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^e ?mail \d+ (value|address)$|^e ?mail \d+$|^e ?mail \d+ address$"), "email"),
    (re.compile(r"^(business|home|other|work|mobile) phone \d+$|^phone \d+( value)?$"), "phone"),
    (re.compile(r"^organization \d+ name$"), "company"),
    (re.compile(r"^organization \d+ title$"), "title"),
    (re.compile(r"^organization \d+ department$"), "department"),
    (re.compile(r"^web ?page \d+$|^website \d+ value$"), "website"),
]


def norm_header(text: str) -> str:
    text = (text or "").replace("\ufeff", "").strip().strip('"').lower()
    text = re.sub(r"[\s_\-./:*()\[\]]+", " ", text).strip()
    return text


def known_field(header: str) -> str | None:
    h = norm_header(header)
    if h in _EXACT:
        return _EXACT[h]
    for pattern, target in _PATTERNS:
        if pattern.match(h):
            return target
    return None


def parse_map(items: list[str] | None) -> dict[str, str]:
    """--map COLUMN=field pairs: {normalised column: target}."""
    out: dict[str, str] = {}
    for item in items or []:
        column, sep, field = item.rpartition("=")
        field = field.strip()
        if not sep or not column.strip() or not field:
            raise CrmError(f"--map '{item}' must look like COLUMN=field")
        key = field.lower().replace(" ", "_")
        target = TARGET_ALIASES.get(key, key)
        if target.startswith("fields."):
            if not target[7:]:
                raise CrmError(f"--map '{item}': say which custom field, e.g. fields.size")
            target = "fields." + field.strip()[7:]
        elif target not in TARGETS:
            raise CrmError(
                f"--map '{item}': unknown field '{field}' "
                f"(one of {', '.join(TARGETS)}, or fields.KEY)"
            )
        out[norm_header(column)] = target
    return out


def _dialect(text: str) -> Any:
    sample = "\n".join(text.splitlines()[:50])
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = None
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in ",;\t|"}
    best = max(counts, key=lambda d: counts[d])
    if dialect is None or (counts.get(dialect.delimiter, 0) == 0 and counts[best] > 0):

        class Fallback(csv.excel):
            delimiter = best if counts[best] else ","

        return Fallback
    dialect.doublequote = True  # the Sniffer guesses these wrong on short samples
    dialect.quotechar = '"'
    return dialect


def read_csv(
    data: bytes, filename: str, mapping: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Cards from the bytes of a CSV file, and what was learnt about the file:
    {encoding, delimiter, columns: {header: field}, unused: [headers with data
    that no field takes], mapped: set of --map columns found}."""
    mapping = mapping or {}
    text, encoding = decode_bytes(data)
    if not text.strip():
        raise CrmError(f"{filename}: the file is empty")
    dialect = _dialect(text)
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for row in reader:
            rows.append((last + 1, row))
            last = reader.line_num
    except csv.Error as e:
        raise CrmError(f"{filename}: line {reader.line_num}: not valid CSV: {e}") from None

    # The header: the first of the top rows naming two known fields (a LinkedIn
    # export starts with a few lines of notes), else one naming any.
    def fields_of(row: list[str]) -> list[str | None]:
        return [mapping.get(norm_header(h)) or known_field(h) for h in row]

    header_at = None
    for want in (2, 1):
        for i, (_, row) in enumerate(rows[:20]):
            if sum(1 for f in fields_of(row) if f and f != "ignore") >= want:
                header_at = i
                break
        if header_at is not None:
            break
    if header_at is None:
        first = rows[0][1] if rows else []
        raise CrmError(
            f"{filename}: no column is known ({', '.join(h for h in first[:8] if h)}); "
            "name them with --map COLUMN=field (name, email, phone, company, title, ...)"
        )
    header = rows[header_at][1]
    targets = fields_of(header)
    # Outlook: "Title" is Mr./Ms. when there is also a "Job Title".
    norms = [norm_header(h) for h in header]
    if "job title" in norms:
        for i, h in enumerate(norms):
            if h == "title" and h not in mapping:
                targets[i] = None
    mapped = {norm_header(h) for h in header if norm_header(h) in mapping}
    cards = []
    used_columns: set[int] = set()
    for line, row in rows[header_at + 1 :]:
        if not any(cell.strip() for cell in row):
            continue
        card = _card(filename, line, row, targets, used_columns)
        cards.append(card)
    unused = [
        header[i]
        for i in range(len(header))
        if targets[i] is None and header[i].strip() and i in used_columns
    ]
    info = {
        "encoding": encoding,
        "delimiter": dialect.delimiter,
        "columns": {h: t for h, t in zip(header, targets, strict=True) if t and t != "ignore"},
        "unused": unused,
        "mapped": mapped,
    }
    return cards, info


def _card(
    filename: str, line: int, row: list[str], targets: list[str | None], filled: set[int]
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "file": filename, "line": line, "name": "", "company": "", "title": "",
        "emails": [], "phones": [], "fields": {}, "notes": [], "error": None,
    }  # fmt: skip
    parts: dict[str, str] = {}
    for i, cell in enumerate(row):
        if not cell.strip():
            continue
        filled.add(i)
        target = targets[i] if i < len(targets) else None
        if target is None or target == "ignore":
            continue
        if has_bad_bytes(cell):
            card["error"] = "undecodable bytes (the file is not UTF-8 or GB18030 here)"
            return card
        if target == "email":
            card["emails"] += split_values(cell, emails=True)
        elif target == "phone":
            card["phones"] += split_values(cell)
        elif target == "fax":
            _add_field(card, "fax", "; ".join(split_values(cell)))
        elif target in ("first_name", "middle_name", "last_name"):
            parts[target] = parts.get(target) or one_line(cell)
        elif target in ("name", "company", "title"):
            card[target] = card[target] or one_line(cell)
        elif target == "note":
            _add_field(card, "note", note_text(cell))
        elif target in ("department", "website"):
            _add_field(card, target, one_line(cell))
        elif target == "fields":
            try:
                extra = json.loads(cell)
            except ValueError:
                extra = None
            if isinstance(extra, dict):
                for k, v in extra.items():
                    _add_field(card, str(k), v)
            else:
                card["notes"].append("column fields: not a JSON object, ignored")
        elif target == "tags":  # the lead columns of `crm export --format csv`
            card["tags"] = [t.strip() for t in cell.split(";") if t.strip()]
        elif target in ("source", "status", "owner"):
            card[target] = one_line(cell)
        elif target.startswith("fields."):
            _add_field(card, target[7:], note_text(cell))
    if not card["name"]:
        card["name"] = compose_name(
            parts.get("first_name", ""), parts.get("middle_name", ""), parts.get("last_name", "")
        )
    return card


def _add_field(card: dict[str, Any], key: str, value: Any) -> None:
    if value in (None, "", [], {}):
        return
    old = card["fields"].get(key)
    if old in (None, ""):
        card["fields"][key] = value
    elif isinstance(old, str) and isinstance(value, str) and value not in old:
        card["fields"][key] = f"{old}\n{value}" if key == "note" else f"{old}; {value}"
