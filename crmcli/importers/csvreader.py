"""CSV business cards: delimiter sniffed, header row recognised, one card a row.

Headers are recognised in two ways. Names, companies, titles and the like come
from a table (Google Contacts, Outlook in English, German, French, Spanish,
Italian, Dutch, Portuguese and Chinese, Thunderbird, Windows Live Mail,
LinkedIn, HubSpot, and generic ones). E-mail, phone and fax columns come from a
rule: a header holding an e-mail, phone or fax word in one of those languages,
with any qualifiers around it (`Work Email`, `E-mail 2 Address`, `Phone
(Mobile)`, `Telefon geschäftlich 2`, `Téléphone mobile`, `商务电话`), is that
kind of column, unless a word says it holds its type or display name. `--map
COLUMN=field` names the field of any other column; with `--no-header`, columns
are named by number (`--map 1=name`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
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
_NAMES = {
    "name": "name, full name, fullname, display name, contact name, contact, formatted name, "
    "anzeigename, nom complet, nom a afficher, nombre completo, nombre para mostrar, "
    "nome completo, nome visualizzato, nome de exibicao, volledige naam, weergavenaam, "
    "姓名, 名字, 联系人, 联系人姓名, 客户姓名, 显示名称, 全名, 氏名, 名前, 이름",
    "first_name": "first name, firstname, given name, first, vorname, prenom, nombre, nome, "
    "voornaam, primeiro nome, 名",
    "middle_name": "middle name, additional name, middlename, weitere vornamen, zweiter vorname, "
    "deuxieme prenom, segundo nombre, secondo nome, middelste naam, segundo nome, 中间名",
    "last_name": "last name, lastname, family name, surname, nachname, nom, nom de famille, "
    "apellidos, apellido, cognome, achternaam, sobrenome, apelido, apelidos, 姓, 姓氏",
    "company": "company, company name, organization, organisation, organization name, "
    "organisation name, org, employer, account name, associated company, firma, societe, "
    "entreprise, empresa, compania, organizacion, societa, azienda, organizzazione, bedrijf, "
    "organisatie, 公司, 公司名称, 单位, 工作单位, 企业, 企业名称, 机构, 会社名, 회사",
    "title": "title, job title, jobtitle, position, organization title, designation, "
    "arbeitstitel, fonction, puesto, cargo, posizione, qualifica, functie, "
    "职位, 职务, 头衔, 岗位, 役職, 직책",
    "department": "department, organization department, dept, abteilung, service, "
    "departement, departamento, reparto, afdeling, 部门, 部署, 부서",
    "note": "note, notes, comment, comments, remarks, notizen, anmerkungen, notas, notities, "
    "opmerkingen, anotacoes, 备注, 说明, 附注, 메모",
    "website": "website, web site, web page, url, homepage, home page, webseite, page web, "
    "site web, pagina web, webpagina, 网址, 网站, 主页, 网页",
    "fields": "fields",
    "tags": "tags",
    "source": "source",
    "status": "status",
    "owner": "owner",
    # the other columns of `crm export --format csv`: known, not imported
    "ignore": "id, batches, customer, deal, created, updated, "
    "kind, tier, tier manual, cadence, contacts",
}

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^organization \d+ name$"), "company"),
    (re.compile(r"^organization \d+ title$"), "title"),
    (re.compile(r"^organization \d+ department$"), "department"),
    (re.compile(r"^web ?page \d+$|^website \d+ value$"), "website"),
]

# The rule for e-mail, phone and fax columns: a word of one of these kinds, in a
# header without a word saying it holds the kind's type or display name. Words of
# five letters or more also match as part of a compound (Mobiltelefon, E-mailadres).
_KIND_WORDS = {
    "fax": "fax, telefax, telecopie, 传真, 傳真, ファックス, ファクス, 팩스",
    "email": "email, e mail, mail, mailadres, courriel, messagerie, adresse electronique, "
    "correo, correo electronico, posta elettronica, 电子邮件, 邮件, 邮箱, 电邮, 電子郵件, "
    "郵件, メール, 이메일, 메일",
    "phone": "phone, telephone, tel, mobile, mobil, cell, cellular, handy, pager, telefon, "
    "telefono, telefoon, telefone, mobiel, celular, movil, cellulare, telemovel, portable, "
    "gsm, 电话, 手机, 座机, 電話, 手機, 携帯, 전화, 휴대폰, 핸드폰",
}
_NOT_WORDS = (
    "type, typ, tipo, label, display, angezeigter, anzeigename, weergavenaam, name, nom, "
    "nome, nombre, naam, assistant, assistent, assistente, asistente, opt, domain, status, "
    "类型, 显示, 種類, 表示"
)


def norm_header(text: str) -> str:
    """A header to compare: lower case, accents and punctuation gone, one space between words."""
    text = (text or "").replace("\ufeff", "").strip().strip('"').lower()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\s_\-./:*()\[\]'’,]+", " ", text).strip()


def _vocabulary(words: str) -> tuple[str, ...]:
    return tuple(norm_header(w) for w in words.split(","))


for _target, _names in _NAMES.items():
    for _n in _vocabulary(_names):
        _EXACT[_n] = _target
_KINDS = [(kind, _vocabulary(words)) for kind, words in _KIND_WORDS.items()]
_NOT = _vocabulary(_NOT_WORDS)


def _says(header: str, words: tuple[str, ...]) -> bool:
    tokens = header.split()
    for w in words:
        if " " in w:
            if f" {w} " in f" {header} ":
                return True
        elif not w.isascii():
            if w in header:
                return True
        elif any(t == w or (len(w) >= 5 and (t.startswith(w) or t.endswith(w))) for t in tokens):
            return True
    return False


def known_field(header: str) -> str | None:
    h = norm_header(header)
    if h in _EXACT:
        return _EXACT[h]
    for pattern, target in _PATTERNS:
        if pattern.match(h):
            return target
    for kind, words in _KINDS:
        if _says(h, words):
            return None if _says(h, _NOT) else kind
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
    data: bytes,
    filename: str,
    mapping: dict[str, str] | None = None,
    *,
    encoding: str | None = None,
    no_header: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Cards from the bytes of a CSV file, and what was learnt about the file:
    {encoding, guessed, delimiter, columns: {header: field}, unused: [headers with
    data that no field takes], beyond: [(line, column) of cells beyond the header],
    mapped: set of --map columns found}. `encoding` (--encoding) reads the file in
    it; `no_header`: every row is data and --map names columns by number."""
    mapping = mapping or {}
    text, encoding, note = decode_bytes(data, encoding)
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
    header_at, header = _header(filename, rows, mapping, no_header)
    targets = [
        mapping.get(norm_header(h)) or (None if no_header else known_field(h)) for h in header
    ]
    # Outlook: "Title" is Mr./Ms. when there is also a "Job Title".
    norms = [norm_header(h) for h in header]
    if "job title" in norms:
        for i, h in enumerate(norms):
            if h == "title" and h not in mapping:
                targets[i] = None
    mapped = {h for h in norms if h in mapping}
    cards = []
    used_columns: set[int] = set()
    beyond: list[tuple[int, int]] = []
    width = len(header)
    for line, row in rows[header_at + 1 :]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > width:
            beyond += [(line, i + 1) for i in range(width, len(row)) if row[i].strip()]
        cards.append(_card(filename, line, row, targets, used_columns, note))
    unused = [
        header[i]
        for i in range(len(header))
        if targets[i] is None and header[i].strip() and i in used_columns
    ]
    info = {
        "encoding": encoding,
        "guessed": note is not None,
        "delimiter": dialect.delimiter,
        "columns": {h: t for h, t in zip(header, targets, strict=True) if t and t != "ignore"},
        "unused": unused,
        "beyond": beyond,
        "mapped": mapped,
    }
    return cards, info


def _header(
    filename: str, rows: list[tuple[int, list[str]]], mapping: dict[str, str], no_header: bool
) -> tuple[int, list[str]]:
    """(index of the header row, its cells): the first of the top rows naming two
    known fields (a LinkedIn export starts with a few lines of notes), else one
    naming any. With no_header: -1 and the column numbers 1, 2, ..."""
    if no_header:
        named = [c for c in mapping if not c.isdigit()]
        if not mapping or named:
            what = f"--map '{named[0]}': " if named else ""
            raise CrmError(
                f"{filename}: {what}with --no-header, name the columns by number "
                "(--map 1=name --map 3=email)"
            )
        width = max((len(r) for _, r in rows), default=0)
        return -1, [str(i) for i in range(1, width + 1)]

    def fields_of(row: list[str]) -> list[str | None]:
        return [mapping.get(norm_header(h)) or known_field(h) for h in row]

    for want in (2, 1):
        for i, (_, row) in enumerate(rows[:20]):
            if sum(1 for f in fields_of(row) if f and f != "ignore") >= want:
                return i, rows[i][1]
    first = rows[0][1] if rows else []
    raise CrmError(
        f"{filename}: no column is known ({', '.join(h for h in first[:8] if h)}); "
        "name them with --map COLUMN=field (name, email, phone, company, title, ...), "
        "or --no-header --map 1=name ... for a file without a header row"
    )


def _card(
    filename: str,
    line: int,
    row: list[str],
    targets: list[str | None],
    filled: set[int],
    note: str | None,
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "file": filename, "line": line, "name": "", "company": "", "title": "",
        "emails": [], "phones": [], "fields": {}, "notes": [note] if note else [],
        "error": None,
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
            card["error"] = (
                "undecodable bytes (the file is not UTF-8 here; --encoding NAME reads it in another)"
            )
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
