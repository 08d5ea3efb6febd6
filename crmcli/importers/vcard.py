"""vCard business cards (2.1, 3.0, 4.0; many a file), read with vobject's line parser.

The file is cut into cards at BEGIN:VCARD / END:VCARD lines, so one broken card
is reported (by number) and the rest still import. Each card's logical lines
(folding and quoted-printable soft breaks undone by vobject) are parsed one by
one with vobject.base.parseLine; a line it cannot read is left out with a note.
Values are unescaped here, not by vobject's value behaviours: those split FN,
TITLE and NOTE at the first unescaped comma and keep only the first part, which
real 2.1 and 3.0 exports write unescaped (`FN:Doe, John`).

Bytes: UTF-8, else the card's `CHARSET=`, else `--encoding`, else one guess for
the whole file by charset-normalizer, said on every card read with it.
Quoted-printable values are decoded here with their own `CHARSET` wherever it
stands among the parameters.
"""

from __future__ import annotations

import io
import quopri
import re
from typing import Any

from crmcli.errors import CrmError
from crmcli.importers.text import (
    UTF8_BOM,
    compose_name,
    decode_bytes,
    guess_encoding,
    guess_note,
    is_utf8,
    note_text,
    one_line,
)

_BEGIN = re.compile(rb"^\s*BEGIN\s*:\s*VCARD\s*$", re.I)
_END = re.compile(rb"^\s*END\s*:\s*VCARD\s*$", re.I)
_CHARSET = re.compile(rb"CHARSET=\"?([A-Za-z0-9_.:-]+)", re.I)
# A quoted-printable value without a CHARSET (its continuation lines end in '=').
_QP_VALUE = re.compile(
    rb"^[^:\r\n]*QUOTED-PRINTABLE[^:\r\n]*:((?:[^\r\n]*=\r?\n)*[^\r\n]*)", re.I | re.M
)
BINARY = ("PHOTO", "LOGO", "SOUND", "KEY")
_ESCAPE = re.compile(r"\\([\\,;:nN])")
_CARET = re.compile(r"\^([n^'])")


def unescape(value: str) -> str:
    """A vCard text value: \\, \\; \\, \\: and \\n undone; other backslashes kept."""
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def split_unescaped(value: str, sep: str = ";") -> list[str]:
    """The parts of a structured value (N, ORG, ADR) at separators not escaped."""
    parts, buf, i = [], [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            buf.append(value[i : i + 2])
            i += 2
            continue
        if value[i] == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(value[i])
        i += 1
    parts.append("".join(buf))
    return [unescape(p) for p in parts]


def caret(value: str) -> str:
    """RFC 6868: ^n is a line break, ^^ a caret, ^' a double quote (in parameters)."""
    return _CARET.sub(lambda m: {"n": "\n", "^": "^", "'": '"'}[m.group(1)], value)


def split_cards(data: bytes) -> list[tuple[int, bytes]]:
    """(first line number, bytes) of each BEGIN:VCARD ... END:VCARD in the file."""
    if data.startswith(UTF8_BOM):
        data = data[3:]
    cards = []
    depth, start, buf = 0, 0, []
    for n, line in enumerate(data.splitlines(keepends=True), 1):
        if _BEGIN.match(line):
            if depth == 0:
                start, buf = n, []
            depth += 1
        if depth:
            buf.append(line)
        if depth and _END.match(line):
            depth -= 1
            if depth == 0:
                cards.append((start, b"".join(buf)))
    if depth:  # an unfinished last card
        cards.append((start, b"".join(buf)))
    return cards


def read_vcf(data: bytes, filename: str, forced: str | None = None) -> list[dict[str, Any]]:
    """Cards from the bytes of a .vcf file (every card, numbered from 1). `forced`
    (--encoding) reads the whole file in that encoding."""
    whole_note = None
    if forced or data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        text, _, whole_note = decode_bytes(data, forced)  # UTF-16 and --encoding
        data = text.encode("utf-8", "surrogateescape")
    chunks = split_cards(data)
    if not chunks:
        raise CrmError(f"{filename}: no vCard in the file (no BEGIN:VCARD line)")
    fallback, note = forced, None
    if not forced:
        guess = _file_guess(chunks)
        if guess:
            fallback, note = guess[0], guess_note(*guess)
    cards = [
        _card(filename, i, line, chunk, fallback, note) for i, (line, chunk) in enumerate(chunks, 1)
    ]
    if whole_note:
        for card in cards:
            card["notes"].insert(0, whole_note)
    return cards


def _file_guess(chunks: list[tuple[int, bytes]]) -> tuple[str, str | None] | None:
    """One guess for the file's bytes that are neither UTF-8 nor have a CHARSET:
    whole cards, and quoted-printable values without one (None if there are none)."""
    sample = []
    for _, chunk in chunks:
        if is_utf8(chunk):
            for m in _QP_VALUE.finditer(chunk):
                if b"CHARSET" not in m.group(0).split(b":", 1)[0].upper():
                    raw = quopri.decodestring(
                        m.group(1).replace(b"=\r\n", b"").replace(b"=\n", b"")
                    )
                    if not is_utf8(raw):
                        sample.append(raw)
        elif not _CHARSET.search(chunk):  # its lines with 8-bit bytes: the markup says nothing
            sample += [ln for ln in chunk.splitlines() if not ln.isascii()]
    return guess_encoding(b"\n".join(sample)) if sample else None


def _blank(filename: str, number: int) -> dict[str, Any]:
    return {
        "file": filename, "card": number, "name": "", "company": "", "title": "",
        "emails": [], "phones": [], "fields": {}, "notes": [], "error": None,
    }  # fmt: skip


def _decode(chunk: bytes, fallback: str | None) -> tuple[str | None, bool]:
    """(text, read with the fallback) of one card's bytes: UTF-8, its CHARSET, the fallback."""
    m = _CHARSET.search(chunk)
    for enc in ("utf-8", m.group(1).decode("ascii") if m else None):
        if enc:
            try:
                return chunk.decode(enc), False
            except (UnicodeDecodeError, LookupError):
                continue
    if fallback:
        return chunk.decode(fallback, "replace"), True
    return None, False


def _card(
    filename: str, number: int, line: int, chunk: bytes, fallback: str | None, note: str | None
) -> dict[str, Any]:
    card = _blank(filename, number)
    if not _END.match(chunk.rstrip(b"\r\n").splitlines()[-1] if chunk.strip() else b""):
        card["error"] = f"unfinished vCard (line {line}: no END:VCARD)"
        return card
    text, used = _decode(chunk, fallback)
    if text is None:
        card["error"] = "undecodable bytes (neither UTF-8 nor its CHARSET)"
        return card
    props, notes, used_qp = parse(text, fallback)
    if props is None:
        card["error"] = f"vobject cannot read the card (line {line}): {notes[0]}"
        return card
    if (used or used_qp) and note:
        card["notes"].append(note)
    card["notes"] += notes
    _fill(card, props)
    return card


def parse(text: str, fallback: str | None = None) -> tuple[list[Any] | None, list[str], bool]:
    """(properties or None, notes, a value was read with the fallback) of one card's
    text. Binary properties are left out with one note; a line vobject cannot
    parse is left out with a note of its own."""
    from vobject.base import ContentLine, getLogicalLines, parseLine

    try:
        lines = [_qp_end(ln) for ln, _ in getLogicalLines(io.StringIO(text), allowQP=True)]
    except Exception as e:  # noqa: BLE001 - vobject raises many kinds
        return None, [_describe(e)], False
    props, notes, binary, used = [], [], [], False
    for ln in lines:
        head = ln.split(":", 1)[0].strip().upper()
        name = head.split(";", 1)[0].split(".")[-1]
        if name in ("BEGIN", "END", "VERSION") or not ln.strip():
            continue
        if name in BINARY:
            if name not in binary:
                binary.append(name)
            continue
        try:
            ln, fell_back = _qp_line(ln, fallback)
            used = used or fell_back
            props.append(ContentLine(*parseLine(ln)))
        except UnicodeError as e:
            notes.append(f"{name} left out: {e}")
        except Exception as e:  # noqa: BLE001
            notes.append(f"{name or 'a line'} left out: vobject cannot read it ({_describe(e)})")
    if binary:
        notes.append(f"{', '.join(binary)} left out (binary data is not imported)")
    return props, notes, used


def _qp_line(line: str, fallback: str | None) -> tuple[str, bool]:
    """A quoted-printable line as plain text: its bytes decoded with its CHARSET
    (wherever it stands among the parameters), else UTF-8, else the fallback;
    line breaks written as \\n. (line, read with the fallback)."""
    head, sep, value = line.partition(":")
    if "QUOTED-PRINTABLE" not in head.upper():
        return line, False
    params = head.split(";")
    keep, charset = [params[0]], None
    for p in params[1:]:
        key, _, val = p.strip().partition("=")
        if p.strip().upper() in ("QUOTED-PRINTABLE", "ENCODING=QUOTED-PRINTABLE"):
            continue
        if key.upper() == "CHARSET":
            charset = val.strip('"')
            continue
        keep.append(p)
    raw = quopri.decodestring(value.encode("utf-8"))
    for enc in (charset, "utf-8", fallback):
        if not enc:
            continue
        try:
            decoded = raw.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        decoded = decoded.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
        return ";".join(keep) + sep + decoded, enc == fallback and enc not in (charset, "utf-8")
    raise UnicodeError(f"its bytes are not valid {charset or 'UTF-8'}")


def _qp_end(line: str) -> str:
    """A quoted-printable line ending in a soft break ('=') before a blank line: the
    break means nothing, and alone it would swallow the line after it."""
    if line.endswith("=") and "quoted-printable" in line.lower():
        return line.rstrip("=")
    return line


def _describe(e: Exception) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 70 else text[:69] + "…"


def _params(prop: Any) -> set[str]:
    """The TYPE values and bare (2.1) parameters of a property, upper case."""
    out = {str(p).upper() for p in getattr(prop, "singletonparams", [])}
    for key, values in getattr(prop, "params", {}).items():
        if key.upper() in ("TYPE", "PREF"):
            for v in values:
                out.update(caret(x).strip().upper() for x in str(v).split(","))
            if key.upper() == "PREF":
                out.add("PREF")
    return out


def _children(props: list[Any], name: str) -> list[Any]:
    return [c for c in props if c.name.upper() == name]


def _first(props: list[Any], name: str) -> str:
    """The first non-empty value of a text property, whole and unescaped, on one line."""
    return next((v for v in (one_line(unescape(p.value)) for p in _children(props, name)) if v), "")


def _fill(card: dict[str, Any], props: list[Any]) -> None:
    kind = _first(props, "KIND").lower()
    # Name: FN is how the card wants to be shown; N only when there is no FN.
    name = _first(props, "FN")
    if kind == "group":
        card["name"] = name
        card["error"] = "a group card (KIND:group), not a person or company"
        return
    for p in _children(props, "N") if not name else []:
        family, given, additional = ([*split_unescaped(p.value), "", ""])[:3]
        name = compose_name(given, additional, family)
        if name:
            break
    card["name"] = name
    orgs = _children(props, "ORG")
    if orgs:
        parts = [one_line(x) for x in split_unescaped(orgs[0].value)]
        card["company"] = parts[0]
        units = [x for x in parts[1:] if x]
        if units:
            card["fields"]["department"] = "; ".join(units)
    card["title"] = _first(props, "TITLE") or _first(props, "ROLE")
    for prop in _ordered(_children(props, "EMAIL")):
        value = one_line(unescape(prop.value))
        if value.lower().startswith("mailto:"):
            value = value[7:]
        if value:
            card["emails"].append(value)
    faxes = []
    for prop in _ordered(_children(props, "TEL")):
        value = one_line(unescape(prop.value))
        if value.lower().startswith("tel:"):
            value = value[4:]
        if not value:
            continue
        types = _params(prop)
        if "FAX" in types and not types & {"VOICE", "CELL"}:
            faxes.append(value)
        else:
            card["phones"].append(value)
    if faxes:
        card["fields"]["fax"] = "; ".join(faxes)
    notes = []
    for p in _children(props, "NOTE"):
        text = note_text(unescape(p.value))
        if text and text not in notes:
            notes.append(text)
    if notes:
        card["fields"]["note"] = "\n".join(notes)
    address = _address(props)
    if address:
        card["fields"]["address"] = address
    urls = [one_line(p.value).replace("\\:", ":") for p in _children(props, "URL")]
    if urls and urls[0]:
        card["fields"]["website"] = urls[0]
    if kind == "org" and not card["company"]:
        card["company"] = name


def _address(props: list[Any]) -> str:
    """The preferred address: a LABEL (property, or ADR's 4.0 parameter) as written,
    else the parts of ADR, one line."""
    for label in _children(props, "LABEL"):
        text = note_text(unescape(label.value))
        if text:
            return text
    for adr in _ordered(_children(props, "ADR")):
        for value in adr.params.get("LABEL", []):
            text = note_text(caret(value))
            if text:
                return text
        parts = [one_line(x) for x in split_unescaped(adr.value)]
        text = ", ".join(x for x in parts if x)
        if text:
            return text
    return ""


def _ordered(props: list[Any]) -> list[Any]:
    """Preferred (PREF) properties first, then file order."""
    return sorted(props, key=lambda p: 0 if "PREF" in _params(p) or _pref1(p) else 1)


def _pref1(prop: Any) -> bool:
    values = getattr(prop, "params", {}).get("PREF") or []
    return any(str(v).strip() == "1" for v in values)
