"""Text helpers the card readers share: decoding bytes, tidying cells, names.

A file's bytes become text here: `--encoding` wins; else a BOM (UTF-8, UTF-16);
else UTF-8. A file that is mostly UTF-8 with a few broken lines stays UTF-8 and
those lines are reported. Any other file (a legacy encoding, or UTF-16 without
a BOM) is given to charset-normalizer, once per file; what it guesses is said on
every row or card read with it (`encoding guessed: windows-1252`).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from crmcli.errors import CrmError
from crmcli.store import fold

UTF8_BOM = b"\xef\xbb\xbf"
_WORD = re.compile(r"\w+")

# CJK ideographs, kana and hangul: names written family name first, no space.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_APOSTROPHE = re.compile(r"^'(?=[=+\-@0-9])")
# Equally likely guesses: the encoding more files are written in wins
# (charset-normalizer scores short French text in cp1252 and cp1250 the same).
_PREFERRED = ("utf_8", "cp1252", "iso8859_15", "latin_1", "gb18030", "cp932", "big5", "cp949")


def check_encoding(name: str) -> str:
    """The codec name of --encoding NAME; an Error naming it when Python has no such codec."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise CrmError(f"--encoding '{name}': unknown encoding") from None


def encoding_label(name: str) -> str:
    """cp1252 -> windows-1252 (the name people know); others as Python names them."""
    name = codecs.lookup(name).name
    return "windows-" + name[2:] if re.fullmatch(r"cp125\d", name) else name


def guess_encoding(data: bytes) -> str | None:
    """charset-normalizer's guess for bytes that are not UTF-8 (imported only then)."""
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    best = results.best()
    if best is None:
        return None
    ties = [m.encoding for m in results if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    for name in _PREFERRED:
        if name in ties:
            return name
    return best.encoding


def decode_bytes(data: bytes, forced: str | None = None) -> tuple[str, str, bool]:
    """(text, encoding, guessed) of a whole file. Undecodable bytes become lone
    surrogates, which `has_bad_bytes` finds line by line."""
    if forced:
        if data.startswith(UTF8_BOM) and codecs.lookup(forced).name == "utf-8":
            data = data[3:]
        return data.decode(forced, "surrogateescape"), forced, False
    if data.startswith(UTF8_BOM):
        return data[3:].decode("utf-8", "surrogateescape"), "utf-8-sig", False
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace"), "utf-16", False
    if b"\x00" not in data[:4096]:  # NULs: UTF-16 (or UTF-32) without a BOM
        try:
            return data.decode("utf-8"), "utf-8", False
        except UnicodeDecodeError:
            pass
    lines = [line for line in data.splitlines() if any(b >= 0x80 for b in line)]
    good = sum(1 for line in lines if _is_utf8(line))
    if good * 2 <= len(lines) or b"\x00" in data[:4096]:
        guess = guess_encoding(data)
        if guess:
            return data.decode(guess, "surrogateescape"), guess, True
    return data.decode("utf-8", "surrogateescape"), "utf-8", False


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
    if emails and "<" in (text or ""):  # "Doe, John" <john@example.com>, ...
        from email.utils import getaddresses

        pairs = getaddresses([re.sub(seps, ",", text)])
        return [f'"{n}" <{a}>' if n else a for n, a in pairs if a]
    return [v for v in (one_line(p) for p in re.split(seps, text or "")) if v]


def display_name(text: str) -> tuple[str, str]:
    """(display name, address) of `"Omega" <omega@example.com>`; ("", text) of a bare address."""
    if "<" not in text:
        return "", text
    from email.utils import parseaddr

    name, address = parseaddr(text)
    return (one_line(name), address) if address else ("", text)
