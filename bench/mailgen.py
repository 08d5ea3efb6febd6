"""Realistic mail for `crm mail import` benchmarks: an mbox of N messages to and from
the customers, contacts and leads of a generated CRM (bench/generate.py).

    python bench/generate.py DIR --records 20000 --mbox mail.mbox --mbox-messages 10000

The mix: threads of one to five messages with customers (their info@ address and
their contacts), alternating between us (MAIL_ME at OUR_DOMAIN) and them, replies
quoting what they answer, signatures; mail with leads; internal mail among our own
people (never logged) and mail from strangers (newsletters, unknown). Languages and
charsets as mail really comes: English (US-ASCII, UTF-8 quoted-printable), German
(ISO-8859-1 quoted-printable, RFC 2047 Q subjects), Chinese (GB2312/GBK base64 and
UTF-8, RFC 2047 B subjects) and Japanese (ISO-2022-JP); plain text, HTML only, or
both (multipart/alternative); one in ten with a small attachment. The same seed
gives the same bytes.
"""

from __future__ import annotations

import base64
import quopri
import random
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from pathlib import Path
from typing import Any

OUR_DOMAIN = "ourco.example"
MAIL_ME = [f"{n}@{OUR_DOMAIN}" for n in ("alice", "bob", "carol", "dave")]
SETTINGS = (
    f"mail:\n  me: [{', '.join(MAIL_ME)}]\n  internal_domains: [{OUR_DOMAIN}]\n  awaiting_days: 3\n"
)

# (language, charset of the body, transfer encoding): how each language's mail comes
STYLES = [
    ("en", "us-ascii", "7bit"),
    ("en", "utf-8", "quoted-printable"),
    ("de", "iso-8859-1", "quoted-printable"),
    ("de", "utf-8", "quoted-printable"),
    ("zh", "gb2312", "base64"),
    ("zh", "gbk", "base64"),
    ("zh", "utf-8", "base64"),
    ("ja", "iso-2022-jp", "7bit"),
]
SUBJECTS = {
    "en": ["Quote for {n} pumps", "Delivery date for order {n}", "Question about PUMP-100",
           "Invoice {n}", "Service visit next week", "Price list {y}"],
    "de": ["Angebot für {n} Pumpen", "Lieferung Auftrag {n} verzögert", "Rückfrage zur Größe",
           "Rechnung {n} – Prüfung", "Wartungstermin nächste Woche"],
    "zh": ["关于{n}台水泵的报价", "订单{n}的交货日期", "价格单{y}", "发票{n}", "下周的维修安排"],
    "ja": ["ポンプ{n}台のお見積り", "注文{n}の納期について", "請求書{n}", "来週の点検について"],
}  # fmt: skip
BODIES = {
    "en": ["Hello,\n\ncould you send us a quote for {n} pumps, delivered by the end of the month?\n",
           "Hi,\n\nthe pumps arrived fine, thank you. One valve was missing; can you check?\n",
           "Dear team,\n\nplease find our order attached. We need delivery before {y}.\n"],
    "de": ["Guten Tag,\n\nbitte senden Sie uns ein Angebot über {n} Pumpen. Lieferung bis Ende des Monats möglich?\n",
           "Hallo,\n\ndie Lieferung ist angekommen, vielen Dank. Ein Ventil fehlt leider; können Sie das prüfen?\n",
           "Sehr geehrte Damen und Herren,\n\nanbei unsere Bestellung. Grüße aus Köln und Düsseldorf.\n"],
    "zh": ["您好，\n\n请给我们报一下{n}台水泵的价格，月底前交货。\n",
           "您好，\n\n水泵已经收到了，谢谢。少了一个阀门，请核实一下。\n",
           "各位好，\n\n附件是我们的订单，请在{y}年之前发货。\n"],
    "ja": ["お世話になっております。\n\nポンプ{n}台のお見積りをお願いいたします。月末までの納品は可能でしょうか。\n",
           "お世話になっております。\n\nポンプが届きました。ありがとうございます。バルブが一つ足りません。\n"],
}  # fmt: skip
QUOTE_HEAD = {
    "en": "On {d}, {w} wrote:",
    "de": "Am {d} schrieb {w}:",
    "zh": "在 {d}，{w} 写道：",
    "ja": "{d} {w} さんは書きました:",
}
SIGNATURE = {
    "en": "\n-- \n{name}\n{co}\n",
    "de": "\nMit freundlichen Grüßen\n{name}\n{co}\n",
    "zh": "\n此致\n{name}\n{co}\n",
    "ja": "\nよろしくお願いいたします。\n{name}\n",
}
STRANGERS = ["news@pumpworld-magazine.example", "offers@cheap-parts.example",
             "noreply@tradefair.example", "info@recruiting.example"]  # fmt: skip


def _address(name: str, addr: str, charset: str) -> str:
    """`Name <addr>` with a non-ASCII name as an RFC 2047 word."""
    if name.isascii():
        return f'"{name}" <{addr}>' if any(c in name for c in ",.;") else f"{name} <{addr}>"
    cs = "utf-8" if charset in ("us-ascii", "iso-8859-1") and not _fits(name, charset) else charset
    if not _fits(name, cs):
        cs = "utf-8"
    return f"{Header(name, _header_charset(cs)).encode()} <{addr}>"


def _header_charset(cs: str) -> str:
    return {"gbk": "gb2312"}.get(cs, cs)


def _fits(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class MailGen:
    """Messages from one seeded RNG."""

    def __init__(self, seed: int, now: datetime, people: list[tuple[str, str, str]],
                 leads: list[tuple[str, str]]) -> None:  # fmt: skip
        self.rng = random.Random(seed)
        self.now = now
        self.people = people  # (name, address, company) of customers' addresses
        self.leads = leads  # (name, address)
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return (
            f"<{self.n}.{self.rng.getrandbits(40):x}@{OUR_DOMAIN if self.n % 2 else 'mx.example'}>"
        )

    def _text(self, lang: str) -> str:
        r = self.rng
        return r.choice(BODIES[lang]).format(n=r.randint(2, 40), y=r.choice([2026, 2027]))

    def message(self, *, frm: tuple[str, str], to: list[tuple[str, str]], subject: str,
                lang: str, style: tuple[str, str, str], when: datetime, text: str,
                reply: dict[str, Any] | None = None, cc: list[tuple[str, str]] = ()) -> tuple[bytes, dict[str, Any]]:  # fmt: skip
        """One message's bytes, and what a reply to it needs."""
        r = self.rng
        _lang, charset, cte = style
        if not _fits(text + subject + frm[0], charset):
            charset, cte = "utf-8", "base64" if lang in ("zh", "ja") else "quoted-printable"
        mid = self._id()
        refs = []
        if reply:
            refs = [*reply["refs"], reply["id"]][-10:]
            quoted = "\n".join("> " + line for line in reply["text"].splitlines())
            head = QUOTE_HEAD[lang].format(d=format_datetime(reply["when"]), w=reply["from"][0])
            text = f"{text}\n{head}\n{quoted}\n"
        hs = [
            f"From: {_address(*frm, charset)}",
            f"To: {', '.join(_address(n, a, charset) for n, a in to)}",
        ]
        if cc:
            hs.append(f"Cc: {', '.join(_address(n, a, charset) for n, a in cc)}")
        subj = subject if subject.isascii() else Header(subject, _header_charset(charset)).encode()
        hs += [f"Subject: {subj}", f"Date: {format_datetime(when)}", f"Message-ID: {mid}"]
        if reply:
            hs += [f"In-Reply-To: {reply['id']}", f"References: {' '.join(refs)}"]
        hs.append("MIME-Version: 1.0")
        shape = r.random()
        if shape < 0.15:
            body = self._part(
                "text/html", _html(text), charset, "quoted-printable" if cte == "7bit" else cte
            )
        elif shape < 0.35:
            body = self._multipart("alternative", [
                self._part("text/plain", text, charset, cte),
                self._part("text/html", _html(text), charset, "quoted-printable" if cte == "7bit" else cte)])  # fmt: skip
        else:
            body = self._part("text/plain", text, charset, cte)
        if r.random() < 0.1:
            data = bytes(r.getrandbits(8) for _ in range(r.randint(2000, 12000)))
            name = r.choice(["quote.pdf", "Angebot_Größe.pdf", "订单.xlsx", "drawing.dwg"])
            attach = (f'Content-Type: application/octet-stream; name="{name}"\r\n'
                      f'Content-Disposition: attachment; filename="{name}"\r\n'
                      "Content-Transfer-Encoding: base64\r\n\r\n"
                      ).encode() + base64.encodebytes(data).replace(b"\n", b"\r\n")  # fmt: skip
            body = self._multipart("mixed", [body, attach])
        raw = ("\r\n".join(hs) + "\r\n").encode("ascii") + body
        return raw, {"id": mid, "refs": refs, "text": text, "when": when, "from": frm,
                     "subject": subject}  # fmt: skip

    def _part(self, ctype: str, text: str, charset: str, cte: str) -> bytes:
        data = text.replace("\n", "\r\n").encode(charset, "replace")
        if cte == "base64":
            payload = base64.encodebytes(data).replace(b"\n", b"\r\n")
        elif cte == "quoted-printable":
            payload = quopri.encodestring(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        else:
            payload = data
        head = (
            f"Content-Type: {ctype}; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
        )
        return head.encode("ascii") + payload

    def _multipart(self, sub: str, parts: list[bytes]) -> bytes:
        boundary = f"=_b{self.rng.getrandbits(48):x}"
        out = f'Content-Type: multipart/{sub}; boundary="{boundary}"\r\n\r\n'.encode("ascii")
        for p in parts:
            out += f"--{boundary}\r\n".encode("ascii") + p + b"\r\n"
        return out + f"--{boundary}--\r\n".encode("ascii")


def _html(text: str) -> str:
    from html import escape

    paras = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
    return f"<html><head><style>p {{margin:0}}</style></head><body>{paras}</body></html>"


def read_people(crm: Path, customers: int, seed: int) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:  # fmt: skip
    """Addresses of `customers` customers of the CRM (info@ and contacts) and of its leads."""
    import os

    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    rng = random.Random(seed)
    names = sorted(n for n in os.listdir(crm / "customers") if n.endswith(".yaml"))
    people = []
    for name in rng.sample(names, k=min(customers, len(names))):
        c = yaml.load((crm / "customers" / name).read_text(encoding="utf-8"), Loader=loader)
        for e in c.get("emails") or []:
            people.append((c["name"], e, c["name"]))
        for ct in c.get("contacts") or []:
            for e in ct.get("emails") or []:
                people.append((ct["name"], e, c["name"]))
    leads = []
    folder = crm / "leads"
    for name in sorted(os.listdir(folder))[:2000] if folder.is_dir() else []:
        if name.endswith(".yaml"):
            lead = yaml.load((folder / name).read_text(encoding="utf-8"), Loader=loader)
            leads += [(lead["name"], e) for e in lead.get("emails") or []]
    return people, leads


def write_mbox(path: Path, messages: int, *, crm: Path, seed: int = 1, customers: int = 2000,
               now: str = "2026-11-23T09:00:00+08:00") -> dict[str, int]:  # fmt: skip
    """An mbox of `messages` messages with `customers` customers of the CRM at `crm`;
    returns counts by what they are (customer, lead, internal, stranger)."""
    people, leads = read_people(Path(crm), customers, seed)
    g = MailGen(seed, datetime.fromisoformat(now), people, leads)
    companies: dict[str, list[tuple[str, str]]] = {}
    for name, addr, company in people:
        companies.setdefault(company, []).append((name, addr))
    firms = list(companies.values())
    r = g.rng
    stats = {"customer": 0, "lead": 0, "internal": 0, "stranger": 0}
    us = [("Alice Wong", MAIL_ME[0]), ("Bob Meier", MAIL_ME[1]), ("Carol 陈", MAIL_ME[2]),
          ("Dave Sato", MAIL_ME[3])]  # fmt: skip
    # every customer in turn first (so all of them are matched), then at random
    r.shuffle(firms)
    threads = 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        count = 0
        while count < messages:
            roll = r.random()
            style = r.choice(STYLES)
            lang = style[0]
            start = g.now - timedelta(days=r.uniform(0, 400))
            if roll < 0.72 and firms:
                firm = firms[threads] if threads < len(firms) else r.choice(firms)
                threads += 1
                thread, kind = [r.choice(firm)], "customer"
            elif roll < 0.82 and leads:
                thread, kind = [r.choice(leads)], "lead"
            elif roll < 0.92:
                thread, kind = [r.choice(us)], "internal"
            else:
                thread, kind = (
                    [(STRANGERS[r.randrange(len(STRANGERS))].split("@")[0], r.choice(STRANGERS))],
                    "stranger",
                )
            me = r.choice(us)
            subject = r.choice(SUBJECTS[lang]).format(
                n=r.randint(100, 999), y=r.choice([2026, 2027])
            )
            ours_first = r.random() < 0.4
            prev = None
            when = start
            for i in range(min(r.choice([1, 1, 2, 2, 3, 4, 5]), messages - count)):
                ours = (i % 2 == 0) == ours_first
                frm, to = (me, thread) if ours else (thread[0], [me])
                sig = SIGNATURE[lang].format(name=frm[0], co="OurCo" if ours else "")
                raw, prev = g.message(frm=frm, to=to, subject=("Re: " if i else "") + subject,
                                      lang=lang, style=style, when=when, text=g._text(lang) + sig,
                                      reply=prev)  # fmt: skip
                f.write(
                    b"From MAILER-DAEMON " + when.strftime("%a %b %d %H:%M:%S %Y").encode() + b"\n"
                )
                f.write(raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ") + b"\n")
                stats[kind] += 1
                count += 1
                when += timedelta(hours=r.uniform(1, 72))
    return stats
