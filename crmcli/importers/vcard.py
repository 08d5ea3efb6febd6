"""vCard business cards (2.1, 3.0, 4.0; many a file), read with vobject.

The file is cut into cards at BEGIN:VCARD / END:VCARD lines and each card is
given to vobject alone, so one broken card is reported (by number) and the rest
still import. When vobject cannot read a card whole, each of its properties is
tried alone and those vobject cannot read (a photo with broken base64, text
in a wrong charset) are left out with a note on the card.
"""

from __future__ import annotations

import io
import re
from typing import Any

from crmcli.errors import CrmError
from crmcli.importers.text import (
    UTF8_BOM,
    compose_name,
    decode_chunk,
    note_text,
    one_line,
)

_BEGIN = re.compile(rb"^\s*BEGIN\s*:\s*VCARD\s*$", re.I)
_END = re.compile(rb"^\s*END\s*:\s*VCARD\s*$", re.I)
_CHARSET = re.compile(rb"CHARSET=\"?([A-Za-z0-9_.:-]+)", re.I)
_VERSION = re.compile(r"^VERSION\s*:\s*(\S+)", re.I | re.M)


def split_cards(data: bytes) -> list[tuple[int, bytes]]:
    """(first line number, bytes) of each BEGIN:VCARD ... END:VCARD in the file."""
    if data.startswith(UTF8_BOM):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16", "replace").encode("utf-8")
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


def read_vcf(data: bytes, filename: str) -> list[dict[str, Any]]:
    """Cards from the bytes of a .vcf file (every card, numbered from 1)."""
    chunks = split_cards(data)
    if not chunks:
        raise CrmError(f"{filename}: no vCard in the file (no BEGIN:VCARD line)")
    return [_card(filename, i, line, chunk) for i, (line, chunk) in enumerate(chunks, 1)]


def _blank(filename: str, number: int) -> dict[str, Any]:
    return {
        "file": filename, "card": number, "name": "", "company": "", "title": "",
        "emails": [], "phones": [], "fields": {}, "notes": [], "error": None,
    }  # fmt: skip


def _card(filename: str, number: int, line: int, chunk: bytes) -> dict[str, Any]:
    card = _blank(filename, number)
    if not _END.match(chunk.rstrip(b"\r\n").splitlines()[-1] if chunk.strip() else b""):
        card["error"] = f"unfinished vCard (line {line}: no END:VCARD)"
        return card
    m = _CHARSET.search(chunk)
    text = decode_chunk(chunk, m.group(1).decode("ascii") if m else None)
    if text is None:
        card["error"] = "undecodable bytes (neither UTF-8 nor its CHARSET)"
        return card
    component, dropped, error = parse(text)
    if component is None:
        card["error"] = f"vobject cannot read the card (line {line}): {error}"
        return card
    for name, why in dropped:
        card["notes"].append(f"{name} left out: vobject cannot read it ({why})")
    _fill(card, component)
    if dropped and not card["name"] and not card["error"]:
        card["error"] = f"vobject cannot read the card's name (line {line}): {dropped[0][1]}"
    return card


def parse(text: str) -> tuple[Any, list[tuple[str, str]], str]:
    """(component or None, [(property, why)] left out, error) for one card's text."""
    import vobject

    try:
        return vobject.readOne(text, allowQP=True), [], ""
    except Exception as e:  # noqa: BLE001 - vobject raises many kinds
        first_error = _describe(e)
    # Try each property alone; keep those vobject reads.
    from vobject.base import getLogicalLines

    try:
        lines = [_qp_end(ln) for ln, _ in getLogicalLines(io.StringIO(text), allowQP=True)]
    except Exception:  # noqa: BLE001
        return None, [], first_error
    vm = _VERSION.search(text)
    version = vm.group(1) if vm else "3.0"
    kept, dropped = [], []
    for ln in lines:
        head = ln.split(":", 1)[0].strip().upper()
        prop = head.split(";", 1)[0].split(".")[-1]
        if prop in ("BEGIN", "END", "VERSION"):
            continue
        try:
            vobject.readOne(
                f"BEGIN:VCARD\r\nVERSION:{version}\r\n{ln}\r\nEND:VCARD\r\n", allowQP=True
            )
        except Exception as e:  # noqa: BLE001
            dropped.append((prop or "a line", _describe(e)))
            continue
        kept.append(ln)
    if not dropped:
        return None, [], first_error
    body = "\r\n".join(kept)
    try:
        component = vobject.readOne(
            f"BEGIN:VCARD\r\nVERSION:{version}\r\n{body}\r\nEND:VCARD\r\n", allowQP=True
        )
    except Exception:  # noqa: BLE001
        return None, [], first_error
    return component, dropped, ""


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
                out.update(x.strip().upper() for x in str(v).split(","))
            if key.upper() == "PREF":
                out.add("PREF")
    return out


def _children(component: Any, name: str) -> list[Any]:
    return [c for c in component.getChildren() if c.name.upper() == name]


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value if v)
    return str(value or "")


def _fill(card: dict[str, Any], comp: Any) -> None:
    kind = "".join(one_line(_text(p.value)).lower() for p in _children(comp, "KIND")[:1])
    # Name: FN is how the card wants to be shown; N only when there is no FN.
    name = next((one_line(_text(p.value)) for p in _children(comp, "FN")), "")
    if kind == "group":
        card["name"] = name
        card["error"] = "a group card (KIND:group), not a person or company"
        return
    if not name:
        for p in _children(comp, "N"):
            n = p.value
            name = compose_name(
                _text(getattr(n, "given", "")),
                _text(getattr(n, "additional", "")),
                _text(getattr(n, "family", "")),
            )
            if name:
                break
    card["name"] = name
    orgs = _children(comp, "ORG")
    if orgs:
        parts = orgs[0].value
        parts = [one_line(x) for x in (parts if isinstance(parts, list) else [parts])]
        card["company"] = parts[0] if parts else ""
        units = [x for x in parts[1:] if x]
        if units:
            card["fields"]["department"] = "; ".join(units)
    title = next((one_line(_text(p.value)) for p in _children(comp, "TITLE")), "")
    card["title"] = title or next((one_line(_text(p.value)) for p in _children(comp, "ROLE")), "")
    for prop in _ordered(_children(comp, "EMAIL")):
        value = one_line(_text(prop.value))
        if value.lower().startswith("mailto:"):
            value = value[7:]
        if value:
            card["emails"].append(value)
    faxes = []
    for prop in _ordered(_children(comp, "TEL")):
        value = one_line(_text(prop.value))
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
    for p in _children(comp, "NOTE"):
        text = note_text(_text(p.value))
        if text and text not in notes:
            notes.append(text)
    if notes:
        card["fields"]["note"] = "\n".join(notes)
    urls = [one_line(_text(p.value)).replace("\\:", ":") for p in _children(comp, "URL")]
    if urls and urls[0]:
        card["fields"]["website"] = urls[0]
    if kind == "org" and not card["company"]:
        card["company"] = name


def _ordered(props: list[Any]) -> list[Any]:
    """Preferred (PREF) properties first, then file order."""
    return sorted(props, key=lambda p: 0 if "PREF" in _params(p) or _pref1(p) else 1)


def _pref1(prop: Any) -> bool:
    values = getattr(prop, "params", {}).get("PREF") or []
    return any(str(v).strip() == "1" for v in values)
