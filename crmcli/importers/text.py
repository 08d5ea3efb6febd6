"""Text helpers the card readers share: decoding bytes, tidying cells, names.

A file's bytes become text here: a BOM wins (UTF-8, UTF-16); else UTF-8; else
GB18030 (a superset of GBK and GB2312, what Chinese Excel and phones write).
A file that is mostly UTF-8 with a few broken lines stays UTF-8 and those lines
are reported, instead of being read as GB18030 nonsense.
"""

from __future__ import annotations

import re
import unicodedata

from crmcli.store import fold

UTF8_BOM = b"\xef\xbb\xbf"
_WORD = re.compile(r"\w+")

# CJK ideographs, kana and hangul: names written family name first, no space.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_APOSTROPHE = re.compile(r"^'(?=[=+\-@0-9])")


def decode_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a whole file. Undecodable bytes (in an otherwise UTF-8
    file) become lone surrogates, which `has_bad_bytes` finds line by line."""
    if data.startswith(UTF8_BOM):
        return data[3:].decode("utf-8", "surrogateescape"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    lines = [line for line in data.splitlines() if any(b >= 0x80 for b in line)]
    good = sum(1 for line in lines if _is_utf8(line))
    if good * 2 <= len(lines):
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    return data.decode("utf-8", "surrogateescape"), "utf-8"


def decode_chunk(data: bytes, charset: str | None = None) -> str | None:
    """One vCard's bytes as text: UTF-8, else its CHARSET, else GB18030; None if none fits."""
    for enc in ("utf-8", charset, "gb18030"):
        if not enc:
            continue
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_SURROGATE = re.compile("[\udc80-\udcff]")


def has_bad_bytes(text: str) -> bool:
    """True when `text` holds bytes that could not be decoded (surrogate escapes)."""
    return _SURROGATE.search(text) is not None


def tidy(value: object) -> str:
    """A cell or property as clean text: NFC, trimmed, inner whitespace of one line
    collapsed; a spreadsheet's protective apostrophe before =, +, -, @ or a digit
    removed (so a CSV written by `crm export` reads back as it was)."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).strip()
    return _APOSTROPHE.sub("", text)


def one_line(value: object) -> str:
    return " ".join(tidy(value).split())


def note_text(value: object) -> str:
    """Multi-line text (notes): line breaks kept as \\n, trailing blanks dropped."""
    text = tidy(value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def is_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def compose_name(first: str = "", middle: str = "", last: str = "") -> str:
    """A display name from its parts; CJK names family name first without spaces."""
    first, middle, last = one_line(first), one_line(middle), one_line(last)
    if is_cjk(first + middle + last):
        return "".join(p for p in (last, first, middle) if p)
    return " ".join(p for p in (first, middle, last) if p)


def name_key(name: str) -> tuple[str, ...]:
    """Names that agree: the same words in any order, case and accents ignored."""
    return tuple(sorted(_WORD.findall(fold(name or ""))))


def split_values(text: str, *, emails: bool = False) -> list[str]:
    """Several e-mails or phones in one cell: '; ', Google's ' ::: ', new lines
    (and commas, for e-mails)."""
    seps = r"\s*:::\s*|[;\n]" + ("|," if emails else "")
    return [v for v in (one_line(p) for p in re.split(seps, text or "")) if v]
