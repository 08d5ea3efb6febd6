"""One e-mail message as crm reads it: raw RFC 5322 bytes in, a plain `Mail` out.

The standard library's `email` with the modern policy decodes RFC 2047 words and
MIME parts; headers sent raw in a legacy charset (GB2312 subjects, Latin-1 names)
are decoded by the message's own charset, else guessed. The snippet is the newest
part of the body, quoted replies and signatures cut by mail-parser-reply; HTML-only
mail is turned into readable text by inscriptis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any

SNIPPET_CHARS = 400
# Charsets whose labels mail clients use for a superset (GB2312 mail holds GBK text)
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "ks_c_5601-1987": "cp949",
              "iso-8859-1": "cp1252", "us-ascii": "utf-8", "ascii": "utf-8"}  # fmt: skip
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
# mail-parser-reply's languages: the snippet cuts quotes and signatures in these
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "cs", "da", "ja", "zh"]


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
    """The message in `raw`; NotMail when it has no header of a message."""
    import email
    import email.policy

    if not isinstance(raw, bytes):
        raise TypeError("parse() takes the raw bytes of a message")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not any(msg.get(h) is not None for h in ("From", "To", "Date", "Message-ID", "Subject")):
        raise NotMail("no From, To, Date, Message-ID or Subject header")
    charset = _charset(msg)
    sender_pairs = _addresses(msg, "From", charset)
    to = _addresses(msg, "To", charset)
    cc = _addresses(msg, "Cc", charset)
    reply_to = _addresses(msg, "Reply-To", charset)
    names: dict[str, str] = {}
    addresses: list[str] = []
    for name, addr in sender_pairs + to + cc + reply_to:
        if addr not in addresses:
            addresses.append(addr)
        if name and addr not in names:
            names[addr] = name
    ids = _ids(_header(msg, "Message-ID", charset))
    refs = _ids(_header(msg, "References", charset))
    reply = _ids(_header(msg, "In-Reply-To", charset))
    text = _body_text(msg)
    subject = " ".join(_header(msg, "Subject", charset).split())
    sender = sender_pairs[0][1] if sender_pairs else None
    return Mail(
        message_id=ids[0] if ids else None,
        subject=subject,
        at=_date(msg),
        sender=sender,
        from_text=_shown(*sender_pairs[0]) if sender_pairs else None,
        to=[_shown(n, a) for n, a in to],
        cc=[_shown(n, a) for n, a in cc],
        addresses=addresses,
        names=names,
        in_reply_to=reply[0] if reply else None,
        references=refs,
        text=text,
        snippet=snippet(text),
        attachments=_attachments(msg),
        stable="\n".join(_header(msg, h, charset) for h in ("Date", "From", "To", "Cc", "Subject")),
    )


def _charset(msg: Any) -> str | None:
    """The charset the message declares for its text (raw 8-bit headers are usually
    in it)."""
    for part in msg.walk():
        cs = part.get_content_charset()
        if cs:
            return cs
    return None


def decode_raw(data: bytes, charset: str | None) -> str:
    """Bytes of unknown text: UTF-8, else the declared charset, else a guess."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if charset:
        try:
            return data.decode(_SUPERSETS.get(charset.lower(), charset))
        except (LookupError, UnicodeDecodeError):
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return str(best) if best is not None else data.decode("latin-1")


def _fix(text: str, charset: str | None) -> str:
    """A header value with raw 8-bit bytes (kept as surrogates) decoded properly."""
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return decode_raw(text.encode("utf-8", "surrogateescape"), charset)


def _header(msg: Any, name: str, charset: str | None) -> str:
    """A header's decoded text ("" when absent); a malformed one as written."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - the policy's parser on a broken header
        value = None
        raw = [v for k, v in msg.raw_items() if k.lower() == name.lower()]
        if raw:
            value = raw[0]
    return _fix(str(value), charset) if value is not None else ""


def _addresses(msg: Any, name: str, charset: str | None) -> list[tuple[str, str]]:
    """(display name, lower-case address) of each address in the `name` headers."""
    from email.utils import getaddresses

    values = []
    for k, v in msg.raw_items():
        if k.lower() == name.lower():
            values.append(_decoded_words(_fix(str(v), charset)))
    out = []
    for display, addr in getaddresses(values):
        addr = addr.strip().lower()
        if "@" in addr and " " not in addr:
            out.append((" ".join(display.split()), addr))
    return out


def _decoded_words(value: str) -> str:
    """RFC 2047 encoded words in a raw header decoded (display names in any charset)."""
    if "=?" not in value:
        return value
    from email.header import decode_header

    parts = []
    try:
        for data, cs in decode_header(value):
            if isinstance(data, bytes):
                parts.append(decode_raw(data, cs) if cs else data.decode("latin-1"))
            else:
                parts.append(data)
    except (ValueError, LookupError):
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


def _date(msg: Any) -> datetime | None:
    """The message's Date (aware; -0000 and no zone taken as UTC), else the newest
    Received date, else None."""
    from email.utils import parsedate_to_datetime

    candidates = [msg.get("Date")]
    received = msg.get_all("Received") or []
    candidates += [str(r).rsplit(";", 1)[-1] for r in received if ";" in str(r)]
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
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001 - a malformed MIME structure
        part = None
    if part is None:
        if msg.get_content_maintype() != "text":
            return ""
        part = msg
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


_parser: Any = None


def snippet(text: str) -> str:
    """The newest part of a body (quoted replies and signature cut), on one line,
    at most SNIPPET_CHARS characters."""
    global _parser
    if not text.strip():
        return ""
    try:
        from mailparser_reply import EmailReplyParser

        if _parser is None:
            _parser = EmailReplyParser(languages=REPLY_LANGUAGES)
        reply = _parser.parse_reply(text=text) or ""
    except Exception:  # noqa: BLE001 - the parser on text it does not expect
        reply = text
    reply = reply.strip() or text
    one = " ".join(reply.split())
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
