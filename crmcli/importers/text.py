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
from typing import Any

from crmcli.errors import CrmError
from crmcli.store import fold

UTF8_BOM = b"\xef\xbb\xbf"
_WORD = re.compile(r"\w+")

# CJK ideographs, kana and hangul: names written family name first, no space.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_APOSTROPHE = re.compile(r"^'(?=[=+\-@0-9])")
# Guesses charset-normalizer scores about as well (chaos within _MARGIN of its
# best): the encoding more files are written in wins, multi-byte CJK encodings
# first (short CJK text often scores as well in a single-byte one), then by
# charset-normalizer's language coherence.
_MARGIN = 0.02
_NEAR = 0.05  # others this close are named in the note: the guess may be wrong
_PREFERRED = (
    "utf_8", "gb18030", "cp932", "euc_jis_2004", "euc_jp", "big5", "cp949",
    "cp1252", "iso8859_15", "latin_1",
)  # fmt: skip


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


def guess_encoding(data: bytes) -> tuple[str, list[str]] | None:
    """(encoding, others that read the bytes differently but score nearly as well)
    for bytes that are not UTF-8: charset-normalizer's guess (imported only
    here). None when no encoding fits."""
    from charset_normalizer import from_bytes

    results = list(from_bytes(data))
    if not results:
        return None
    low = min(m.chaos for m in results)

    def rank(m: Any) -> tuple[int, float]:
        names = m.could_be_from_charset or [m.encoding]
        return min(
            (_PREFERRED.index(n) for n in names if n in _PREFERRED), default=99
        ), -m.coherence

    chosen = min((m for m in results if m.chaos <= low + _MARGIN), key=rank)
    names = chosen.could_be_from_charset or [chosen.encoding]
    encoding = next((n for n in names if n in _PREFERRED), chosen.encoding)
    text = str(chosen)
    others = [m.encoding for m in results if m.chaos <= low + _NEAR and str(m) != text]
    return encoding, others[:2]


def guess_note(encoding: str, others: list[str] | None = None) -> str:
    """What a row or card read with a guessed encoding says."""
    note = f"encoding guessed: {encoding_label(encoding)}"
    if others:
        names = " or ".join(encoding_label(o) for o in others)
        note += f" (perhaps {names}: --encoding NAME reads the file in one)"
    return note


def decode_bytes(data: bytes, forced: str | None = None) -> tuple[str, str, str | None]:
    """(text, encoding, the note to give each row when the encoding was guessed)
    of a whole file. Undecodable bytes become lone surrogates, which
    `has_bad_bytes` finds line by line."""
    if forced:
        if data.startswith(UTF8_BOM) and codecs.lookup(forced).name == "utf-8":
            data = data[3:]
        return data.decode(forced, "surrogateescape"), forced, None
    if data.startswith(UTF8_BOM):
        return data[3:].decode("utf-8", "surrogateescape"), "utf-8-sig", None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace"), "utf-16", None
    if b"\x00" not in data[:4096]:  # NULs: UTF-16 (or UTF-32) without a BOM
        try:
            return data.decode("utf-8"), "utf-8", None
        except UnicodeDecodeError:
            pass
    lines = [line for line in data.splitlines() if any(b >= 0x80 for b in line)]
    good = sum(1 for line in lines if is_utf8(line))
    if good * 2 <= len(lines) or b"\x00" in data[:4096]:
        guess = guess_encoding(data)
        if guess:
            return data.decode(guess[0], "surrogateescape"), guess[0], guess_note(*guess)
    return data.decode("utf-8", "surrogateescape"), "utf-8", None


def is_utf8(line: bytes) -> bool:
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
