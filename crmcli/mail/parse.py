"""One e-mail message as crm reads it: raw RFC 5322 bytes in, a plain `Mail` out.

The standard library's `email` reads the MIME structure (its compat32 parser: the
modern policy parses every header into objects, 15 times slower, 40 s for 10,000
messages); headers are decoded here with `email.header` (RFC 2047 words in any
charset) and `email.utils` (addresses, dates); headers sent raw in a legacy charset
(GB2312 subjects, Latin-1 names) are decoded by the message's own charset, else
guessed. The snippet is the newest
part of the body, quoted replies and signatures cut by mail-parser-reply; HTML-only
mail is turned into readable text by inscriptis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any

SNIPPET_CHARS = 400
SNIPPET_SCAN = 8000  # the reply is looked for in the body's first characters only
# Charsets whose labels mail clients use for a superset (GB2312 mail holds GBK text)
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "ks_c_5601-1987": "cp949",
              "iso-8859-1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8"}  # fmt: skip
_HEAD_END_RE = re.compile(rb"\r?\n\r?\n")
_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.I)
_SURROGATE_RE = re.compile("[\udc80-\udcff]")
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
# mail-parser-reply's languages: the snippet cuts quotes and signatures in these (each
# one more costs time on every message)
REPLY_LANGUAGES = ["en", "de", "fr", "es", "zh", "ja"]


class NotMail(ValueError):
    """The bytes are not an e-mail message."""


@dataclass
class Mail:
    """What crm keeps of one message; addresses are lower-case, `names` their
    display names; `at` is None when the message has no readable date."""

    message_id: str | None
    subject: str
    at: datetime | None
    sender: str | None  # the From address
    from_text: str | None  # From as written: "Li Wei <li@acme.example>"
    to: list[str] = field(default_factory=list)  # "Name <address>" each
    cc: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)  # From, To, Cc, Reply-To
    names: dict[str, str] = field(default_factory=dict)  # address -> display name
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    text: str = ""  # the whole body as plain text
    snippet: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    stable: str = ""  # the headers a message without Message-ID is known by


def parse(raw: bytes) -> Mail:
    """The message in `raw`, headers and body; NotMail when it has no header of a
    message."""
    mail = parse_head(raw)
    add_body(mail, raw)
    return mail


def parse_head(raw: bytes) -> Mail:
    """The message's headers only (no body, snippet or attachments yet: add_body):
    enough to match it and to know it is logged already, at a fraction of the cost."""
    if not isinstance(raw, bytes):
        raise TypeError("parse() takes the raw bytes of a message")
    heads = header_fields(raw)
    if not heads.keys() & {"from", "to", "date", "message-id", "subject"}:
        raise NotMail("no From, To, Date, Message-ID or Subject header")
    found = _CHARSET_RE.search(heads.get("content-type", [""])[0])
    charset = found.group(1).lower() if found else None  # raw 8-bit headers are usually in it
    sender_pairs = _addresses(heads, "From", charset)
    to = _addresses(heads, "To", charset)
    cc = _addresses(heads, "Cc", charset)
    names: dict[str, str] = {}
    addresses: list[str] = []
    for name, addr in sender_pairs + to + cc + _addresses(heads, "Reply-To", charset):
        if addr not in addresses:
            addresses.append(addr)
        if name and addr not in names:
            names[addr] = name
    ids = _ids(_header(heads, "Message-ID", charset))
    reply = _ids(_header(heads, "In-Reply-To", charset))
    return Mail(
        message_id=ids[0] if ids else None,
        subject=" ".join(_header(heads, "Subject", charset).split()),
        at=_date(heads),
        sender=sender_pairs[0][1] if sender_pairs else None,
        from_text=_shown(*sender_pairs[0]) if sender_pairs else None,
        to=[_shown(n, a) for n, a in to],
        cc=[_shown(n, a) for n, a in cc],
        addresses=addresses,
        names=names,
        in_reply_to=reply[0] if reply else None,
        references=_ids(_header(heads, "References", charset)),
        stable="\n".join(
            _header(heads, h, charset) for h in ("Date", "From", "To", "Cc", "Subject")
        ),
    )


def header_fields(raw: bytes) -> dict[str, list[str]]:
    """The header fields of a message, {lower-case name: [values, unfolded]}: the
    header block alone, split as RFC 5322 says (8-bit bytes kept as surrogates, as
    the email package keeps them); lines that are no field are passed over."""
    end = _HEAD_END_RE.search(raw)
    block = (raw[: end.start()] if end else raw).decode("ascii", "surrogateescape")
    heads: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in block.splitlines():
        if line[:1] in (" ", "\t"):
            if last:
                last[-1] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or " " in name:
            last = None
            continue
        last = heads.setdefault(name.lower(), [])
        last.append(value.strip())
    return heads


def add_body(mail: Mail, raw: bytes) -> None:
    """The body of the message (text, snippet, attachments) into `mail`."""
    mail.text, mail.snippet, mail.attachments = body_of(raw)


def body_of(raw: bytes) -> tuple[str, str, list[dict[str, Any]]]:
    """The text, snippet and attachments of a message (plain data: a worker process
    of a big import sends them back)."""
    import email

    msg = email.message_from_bytes(raw)
    text = _body_text(msg)
    return text, snippet(text), _attachments(msg)


def decode_raw(data: bytes, charset: str | None, *, declared_first: bool = False) -> str:
    """Bytes of text: UTF-8, else the declared charset (`declared_first`: that
    first), else a guess."""
    if not declared_first or not charset:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if charset:
        try:
            return data.decode(_SUPERSETS.get(charset.lower(), charset))
        except (LookupError, UnicodeDecodeError):
            pass
        if declared_first:
            return decode_raw(data, None)
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return str(best) if best is not None else data.decode("latin-1")


def _fix(text: str, charset: str | None) -> str:
    """A header value with raw 8-bit bytes (kept as surrogates) decoded properly."""
    if text.isascii() or not _SURROGATE_RE.search(text):
        return text
    return decode_raw(text.encode("utf-8", "surrogateescape"), charset)


def _header(heads: dict[str, list[str]], name: str, charset: str | None) -> str:
    """A header's decoded text ("" when absent): encoded words decoded, raw 8-bit
    text by the message's charset."""
    values = _raw_all(heads, name)
    return _decoded_words(_fix(values[0], charset)) if values else ""


def _raw_all(heads: dict[str, list[str]], name: str) -> list[str]:
    """The values of header `name` as the parser kept them (8-bit bytes as surrogates),
    unfolded; `heads` maps lower-case names to them."""
    return heads.get(name.lower(), [])


def _addresses(
    heads: dict[str, list[str]], name: str, charset: str | None
) -> list[tuple[str, str]]:
    """(display name, lower-case address) of each address in the `name` headers."""
    values = [_fix(v, charset) for v in _raw_all(heads, name)]
    out = []
    for display, addr in _pairs(values):
        addr = addr.strip().lower()
        if "@" in addr and " " not in addr:
            out.append((" ".join(_decoded_words(display).split()), addr))
    return out


_SIMPLE_RE = re.compile(r"\s*(?:([^<>]*?)\s*<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+))\s*")


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    """(display name, address) of each address in header values: simple lists
    (`Name <a@b>, c@d`) here, anything with quotes, comments or groups by
    email.utils.getaddresses (ten times slower)."""
    out = []
    for value in values:
        if '"' in value or "(" in value or ";" in value or "\\" in value:
            from email.utils import getaddresses

            out += getaddresses([value])
            continue
        for part in value.split(","):
            m = _SIMPLE_RE.fullmatch(part)
            if m is None:
                if part.strip():
                    from email.utils import getaddresses

                    out += getaddresses([part])
                continue
            out.append((m.group(1) or "", m.group(2) or m.group(3)))
    return out


def _decoded_words(value: str) -> str:
    """RFC 2047 encoded words in a raw header decoded (display names in any charset)."""
    if "=?" not in value:
        return value
    from email.header import decode_header

    parts = []
    try:
        for data, cs in decode_header(value):
            if isinstance(data, str):
                parts.append(data)
            elif cs:
                parts.append(decode_raw(data, cs, declared_first=True))
            else:
                parts.append(data.decode("utf-8", "surrogateescape"))
    except (ValueError, LookupError, AssertionError):
        return value
    return "".join(parts)


def _shown(name: str, addr: str) -> str:
    """An address as a person reads it: `Li Wei <li@acme.example>`."""
    if not name or name.lower() == addr:
        return addr
    if any(c in name for c in ',;<>"@'):
        name = '"' + name.replace("\\", "").replace('"', "") + '"'
    return f"{name} <{addr}>"


def _ids(value: str) -> list[str]:
    """The message ids in a Message-ID, In-Reply-To or References header, without <>."""
    found = _MSGID_RE.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip()]  # written without angle brackets
    return [i.strip() for i in found]


def _date(heads: dict[str, list[str]]) -> datetime | None:
    """The message's Date (aware; -0000 and no zone taken as UTC), else the newest
    Received date, else None."""
    from email.utils import parsedate_to_datetime

    candidates = _raw_all(heads, "Date")[:1]
    candidates += [r.rsplit(";", 1)[-1] for r in _raw_all(heads, "Received") if ";" in r]
    for value in candidates:
        if value is None:
            continue
        try:
            dt = parsedate_to_datetime(str(value))
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        if dt is None or not 1970 <= dt.year <= 9000:
            continue
        return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return None


def in_zone(dt: datetime, tz: tzinfo) -> str:
    from crmcli.dates import iso

    return iso(dt.astimezone(tz).replace(microsecond=0))


def _part_text(part: Any) -> str:
    """A text part's content as text, whatever charset it claims."""
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:  # noqa: BLE001 - a broken transfer encoding
        return str(part.get_payload())
    cs = part.get_content_charset()
    if cs:
        try:
            return payload.decode(_SUPERSETS.get(cs.lower(), cs))
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_raw(payload, None)


def _body_text(msg: Any) -> str:
    """The body as plain text: the text/plain part, else the HTML part made readable."""
    found: dict[str, Any] = {}
    for p in msg.walk():
        kind = p.get_content_type()
        if kind in ("text/plain", "text/html") and p.get_content_disposition() != "attachment":
            found.setdefault(kind, p)
    part = found.get("text/plain") or found.get("text/html")
    if part is None:
        return ""
    text = _part_text(part)
    if part.get_content_subtype() == "html":
        text = html_text(text)
    return text.replace("\r\n", "\n").strip()


def html_text(html: str) -> str:
    """Readable plain text of an HTML body (inscriptis: lists, tables, paragraphs)."""
    from inscriptis import get_text

    try:
        text = get_text(html)
    except Exception:  # noqa: BLE001 - lxml on HTML it cannot parse at all
        text = re.sub(r"<[^>]+>", " ", html)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_regexes: dict[str, Any] = {}


def newest_part(text: str) -> str:
    """The newest reply in a body: what comes before the first quoted message, its
    signature cut (mail-parser-reply)."""
    from mailparser_reply.parser import EmailMessage

    if not _regexes:  # compiled once: the library builds them for every message
        proto = EmailMessage(text="", languages=list(REPLY_LANGUAGES))
        _regexes.update(_header_regex=proto.HEADER_REGEX, _signature_regex=proto.SIGNATURE_REGEX,
                        _disclaimers_regex=proto.DISCLAIMERS_REGEX)  # fmt: skip
    message = EmailMessage(text=text, languages=list(REPLY_LANGUAGES), **_regexes).read()
    reply = message.replies[0].body if message.replies else text
    lines = reply.splitlines()
    for i, line in enumerate(lines):  # a quote the library has no header pattern for
        if line.startswith(">"):
            cut = i - 1 if i and lines[i - 1].rstrip().endswith((":", "：")) else i
            return "\n".join(lines[:cut])
    return reply


def snippet(text: str) -> str:
    """The newest part of a body (quoted replies and signature cut), on one line,
    at most SNIPPET_CHARS characters."""
    if not text.strip():
        return ""
    try:
        reply = newest_part(text[:SNIPPET_SCAN])
    except Exception:  # noqa: BLE001 - the parser on text it does not expect
        reply = text
    one = " ".join((reply.strip() or text).split())
    return one if len(one) <= SNIPPET_CHARS else one[: SNIPPET_CHARS - 1].rstrip() + "…"


def _attachments(msg: Any) -> list[dict[str, Any]]:
    """Name and size (bytes, decoded) of each attachment; never their content."""
    out = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() != "attachment":
            continue
        try:
            name = part.get_filename()
        except Exception:  # noqa: BLE001 - a broken parameter
            name = None
        try:
            size = len(part.get_payload(decode=True) or b"")
        except Exception:  # noqa: BLE001
            size = 0
        out.append({"name": _fix(name, None) if name else "(unnamed)", "size": size})
    return out
