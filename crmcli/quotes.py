"""Quotes: the document a customer signs, made from a deal's lines (crm deal quote).

`make(store, deal, ...)` builds the quote: number Q-<deal id>-<n> (n counts this
deal's quotes, so two clones never give one number to two deals), date, validity,
seller, buyer, the lines priced as orders.priced prices them (exact, the currency's
decimals), totals per tax rate and in all, terms. A deal that still needs a price
approval is refused, naming the approvers. `pdf` (fpdf2, imported only here) and
`html` lay it out; `record` puts it on the deal's timeline as an entry of kind
`quote` with its number and totals.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError
from crmcli.models import Record
from crmcli.store import Store

LANGS = ("en", "zh", "de")
VALID_DAYS = 30  # a quote's validity when --valid-until is not given
# The language a quote takes by default, by the buyer's country.
LANG_OF_COUNTRY = {"DE": "de", "AT": "de", "CH": "de", "LI": "de", "CN": "zh", "TW": "zh",
                   "HK": "zh", "MO": "zh", "SG": "zh"}  # fmt: skip
# CJK fonts (Debian's fonts-noto-cjk first), a collection's face index for Simplified
# Chinese; env CRM_FONT (a .ttf/.otf/.ttc file) overrides.
FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/noto-cjk",
             "/usr/share/fonts/google-noto-cjk", "/usr/share/fonts/opentype/noto-cjk")  # fmt: skip
FONT_FACE_SC = 2

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "quote": "Quote", "number": "Quote no.", "date": "Date", "valid": "Valid until",
        "subject": "Subject", "seller": "From", "buyer": "To", "tax_id": "Tax ID",
        "cols": "#|SKU|Product|Qty|List price|Disc.|Unit price|Net|Tax %|Tax|Gross",
        "net_at": "Net at {rate} %", "tax_at": "Tax {rate} %", "total_net": "Total net",
        "total_tax": "Total tax", "total": "Total", "currency": "All amounts in {cur}.",
        "gross": "Prices include tax.", "bank": "Bank", "accept": "Accepted (date, signature)",
    },
    "de": {
        "quote": "Angebot", "number": "Angebotsnr.", "date": "Datum", "valid": "Gültig bis",
        "subject": "Betreff", "seller": "Von", "buyer": "An", "tax_id": "USt-IdNr.",
        "cols": "Pos.|Artikel|Bezeichnung|Menge|Listenpreis|Rabatt|Einzelpreis|Netto|USt %|USt|Brutto",
        "net_at": "Netto zu {rate} %", "tax_at": "USt {rate} %", "total_net": "Summe netto",
        "total_tax": "Summe USt", "total": "Gesamtbetrag", "currency": "Alle Beträge in {cur}.",
        "gross": "Preise inkl. USt.", "bank": "Bankverbindung",
        "accept": "Auftrag erteilt (Datum, Unterschrift)",
    },
    "zh": {
        "quote": "报价单", "number": "报价编号", "date": "日期", "valid": "有效期至",
        "subject": "项目", "seller": "卖方", "buyer": "买方", "tax_id": "税号",
        "cols": "序号|货号|品名|数量|目录价|折扣|单价|不含税金额|税率|税额|含税金额",
        "net_at": "{rate}% 不含税合计", "tax_at": "{rate}% 税额", "total_net": "不含税合计",
        "total_tax": "税额合计", "total": "含税总计", "currency": "币种：{cur}",
        "gross": "价格含税。", "bank": "开户行", "accept": "客户确认（日期、签字）",
    },
}  # fmt: skip


def make(
    store: Store, deal: Record, valid_until: str | None = None, lang: str | None = None
) -> dict[str, Any]:
    """The next quote of `deal` (see the module's docstring); writes nothing."""
    from crmcli import deals, orders

    if deal.get("status") == "lost":
        raise CrmError(f"deal {deal['id']} ({deal['title']}) is lost; reopen it to quote it")
    deals.refuse_unapproved(store.settings, deal, "quoted")
    content = orders.priced(store, deal)
    today = store.ctx.now().date()
    valid = today + timedelta(days=VALID_DAYS)
    if valid_until is not None:
        valid = deals.parse_day(store, valid_until, "--valid-until date")
        if valid < today.isoformat():
            raise CrmError(f"--valid-until {valid_until} ({valid}) is before today ({today})")
    if lang is not None and lang not in LANGS:
        raise CrmError(f"--lang {lang}: not one of {', '.join(LANGS)}")
    entries = store.query("activity", {"on": deal["id"]}, fields=("kind",))
    n = 1 + sum(1 for a in entries if a["kind"] == "quote")
    company = store.settings["company"]
    return {
        "number": f"Q-{deal['id']}-{n}",
        "date": today.isoformat(),
        "valid_until": str(valid),
        "deal": deal["id"],
        "title": deal["title"],
        "lang": lang or LANG_OF_COUNTRY.get(str(content["buyer"].get("country")), "en"),
        **content,
        "company": dict(company),  # the seller's bank, contact, logo, footer
        "terms": [company["terms"]] if company.get("terms") else [],
    }


def money(amount: Any, places: int, lang: str) -> str:
    """1,200.50 (en, zh) or 1.200,50 (de): the currency's decimals, or every decimal
    the amount has when it has more (a unit price of 0.125 stays 0.125)."""
    from crmcli.formats import money_text

    text = money_text(amount, places=places)
    return text.translate(str.maketrans(",.", ".,")) if lang == "de" else text


def percent(value: Any, lang: str) -> str:
    """19 %, 8.33 % (de: 8,33 %); nothing for none."""
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return (text.replace(".", ",") if lang == "de" else text) + " %"


def rows(q: dict[str, Any]) -> list[list[str]]:
    """The lines as the document shows them, one text per column of LABELS cols."""
    from crmcli.orders import currency_decimals

    places, lang = currency_decimals(q["currency"]), q["lang"]
    out = []
    for ln in q["lines"]:
        discount = ln["discount_percent"]
        out.append([
            str(ln["line"]), str(ln["sku"]), str(ln["name"]), format(ln["qty"], "f"),
            money(ln["list_price"], places, lang),
            percent(discount, lang) if discount else "",
            money(ln["unit_price"], places, lang), money(ln["net"], places, lang),
            percent(ln["tax_rate"], lang), money(ln["tax"], places, lang),
            money(ln["gross"], places, lang),
        ])  # fmt: skip
    return out


def totals(q: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(label, amount, bold) for the totals block: per tax rate, then in all."""
    from crmcli.orders import currency_decimals

    places, lang = currency_decimals(q["currency"]), q["lang"]
    t = LABELS[lang]
    out = []
    for tax in q["taxes"]:
        rate = percent(tax["rate"], lang)[:-2]
        out.append((t["net_at"].format(rate=rate), money(tax["net"], places, lang), False))
        out.append((t["tax_at"].format(rate=rate), money(tax["tax"], places, lang), False))
    out.append((t["total_net"], money(q["totals"]["net"], places, lang), False))
    out.append((t["total_tax"], money(q["totals"]["tax"], places, lang), False))
    out.append((f"{t['total']} ({q['currency']})", money(q["totals"]["gross"], places, lang), True))
    return out


def _party_lines(party: dict[str, Any], lang: str) -> list[str]:
    lines = [str(party["name"]), *str(party.get("address") or "").splitlines()]
    if party.get("tax_id"):
        lines.append(f"{LABELS[lang]['tax_id']}: {party['tax_id']}")
    return lines


def _notes(q: dict[str, Any]) -> list[str]:
    """Currency, prices basis, terms, bank and footer lines under the totals."""
    t, seller = LABELS[q["lang"]], q["company"]
    notes = [t["currency"].format(cur=q["currency"])]
    if q["prices"] == "gross":
        notes.append(t["gross"])
    notes += q["terms"]
    if seller.get("bank"):
        notes.append(f"{t['bank']}: {seller['bank']}")
    return notes


def document(q: dict[str, Any], name: str, root: Path) -> bytes:
    """The quote as the file `name` asks for: .pdf or .html (.htm)."""
    kind = name.lower().rsplit(".", 1)[-1]
    if kind == "pdf":
        return pdf(q, root)
    if kind in ("html", "htm"):
        return html(q).encode("utf-8")
    raise CrmError(f"--output {name}: give a file name ending in .pdf or .html")


# ----- PDF ----------------------------------------------------------------------------


def find_font() -> tuple[Path, Path, int]:
    """(regular, bold, face index) of a CJK font; an error saying what to install."""
    given = os.environ.get("CRM_FONT")
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise CrmError(f"CRM_FONT '{given}': no such font file")
        return path, path, FONT_FACE_SC if path.suffix.lower() == ".ttc" else 0
    for folder in FONT_DIRS:
        regular = Path(folder) / "NotoSansCJK-Regular.ttc"
        if regular.is_file():
            bold = regular.with_name("NotoSansCJK-Bold.ttc")
            return regular, bold if bold.is_file() else regular, FONT_FACE_SC
    raise CrmError(
        "no CJK font for the PDF: install Debian's fonts-noto-cjk "
        "(apt-get install fonts-noto-cjk), or set CRM_FONT to a .ttf/.otf/.ttc file"
    )


def pdf(q: dict[str, Any], root: Path) -> bytes:
    """The quote as a PDF (A4); `root`: the CRM, where a company logo file is found."""
    from fpdf import FPDF

    regular, bold, face = find_font()
    doc = FPDF(format="A4")
    doc.set_auto_page_break(True, margin=15)
    doc.add_font("cjk", "", str(regular), collection_font_number=face)
    doc.add_font("cjk", "B", str(bold), collection_font_number=face)
    doc.set_title(f"{LABELS[q['lang']]['quote']} {q['number']}")
    doc.add_page()
    _pdf_head(doc, q, root)
    _pdf_lines(doc, q)
    _pdf_tail(doc, q)
    return bytes(doc.output())


def _pdf_head(doc: Any, q: dict[str, Any], root: Path) -> None:
    t, lang = LABELS[q["lang"]], q["lang"]
    logo = q["company"].get("logo")
    if logo:
        path = root / logo
        try:
            doc.image(str(path), x=150, y=10, w=45)
        except Exception as e:  # noqa: BLE001 - fpdf2/PIL raise several kinds
            raise CrmError(
                f"crm.yaml: 'company.logo' {logo}: not an image crm can read ({e})"
            ) from None
    doc.set_font("cjk", "B", 11)
    doc.multi_cell(120, 5, _party_lines(q["seller"], lang)[0], new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", "", 9)
    contact = [q["company"].get(k) for k in ("email", "phone") if q["company"].get(k)]
    for line in _party_lines(q["seller"], lang)[1:] + [" · ".join(contact)] * bool(contact):
        doc.multi_cell(120, 4.5, line, new_x="LMARGIN", new_y="NEXT")
    doc.ln(6)
    doc.set_font("cjk", "B", 18)
    doc.cell(0, 10, t["quote"], new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", "", 9)
    y = doc.get_y()
    doc.set_font("cjk", "B", 9)
    doc.cell(90, 5, t["buyer"], new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", "", 9)
    for line in _party_lines(q["buyer"], lang):
        doc.multi_cell(90, 4.5, line, new_x="LMARGIN", new_y="NEXT")
    below = doc.get_y()
    doc.set_xy(120, y)
    for key, value in (("number", q["number"]), ("date", q["date"]),
                       ("valid", q["valid_until"]), ("subject", q["title"])):  # fmt: skip
        doc.set_x(120)
        doc.cell(28, 5, t[key])
        doc.multi_cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
    doc.set_y(max(below, doc.get_y()) + 6)


def _pdf_lines(doc: Any, q: dict[str, Any]) -> None:
    from fpdf.fonts import FontFace

    heads = LABELS[q["lang"]]["cols"].split("|")
    doc.set_font("cjk", "", 7.5)
    right = ("RIGHT",) * 3
    with doc.table(
        col_widths=(9, 18, 37, 12, 17, 12, 17, 18, 12, 16, 20),
        text_align=("LEFT", "LEFT", "LEFT", *right, "RIGHT", *right, "RIGHT", "RIGHT"),
        line_height=4.5,
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        first_row_as_headings=True,
    ) as table:
        for cells in [heads, *rows(q)]:
            row = table.row()
            for text in cells:
                row.cell(text)
    doc.ln(4)


def _pdf_tail(doc: Any, q: dict[str, Any]) -> None:
    for label, amount, strong in totals(q):
        doc.set_font("cjk", "B" if strong else "", 10 if strong else 9)
        doc.set_x(100)
        doc.cell(60, 5.5, label)
        doc.cell(35, 5.5, amount, align="R", new_x="LMARGIN", new_y="NEXT")
    doc.ln(6)
    doc.set_font("cjk", "", 8.5)
    for note in _notes(q):
        doc.multi_cell(0, 4.5, note, new_x="LMARGIN", new_y="NEXT")
    doc.ln(14)
    doc.cell(80, 5, "_" * 40, new_x="LMARGIN", new_y="NEXT")
    doc.cell(80, 5, LABELS[q["lang"]]["accept"], new_x="LMARGIN", new_y="NEXT")
    if q["company"].get("footer"):
        doc.set_y(-20)
        doc.set_font("cjk", "", 7.5)
        doc.multi_cell(0, 4, q["company"]["footer"], align="C")


# ----- HTML ---------------------------------------------------------------------------


def html(q: dict[str, Any]) -> str:
    """The quote as one HTML page (UTF-8, no outside files)."""
    from html import escape

    t, lang = LABELS[q["lang"]], q["lang"]

    def block(party: dict[str, Any]) -> str:
        return "<br>".join(escape(x) for x in _party_lines(party, lang))

    heads = "".join(f"<th>{escape(h)}</th>" for h in t["cols"].split("|"))
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>\n" for cells in rows(q)
    )
    sums = "".join(
        f"<tr{' class=total' if strong else ''}><th>{escape(a)}</th><td>{escape(b)}</td></tr>\n"
        for a, b, strong in totals(q)
    )
    meta = "".join(
        f"<tr><th>{escape(t[k])}</th><td>{escape(v)}</td></tr>"
        for k, v in (("number", q["number"]), ("date", q["date"]),
                     ("valid", q["valid_until"]), ("subject", q["title"]))
    )  # fmt: skip
    notes = "".join(f"<p>{escape(n)}</p>" for n in _notes(q))
    footer = escape(q["company"].get("footer") or "")
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(t["quote"])} {q["number"]}</title>
<style>body{{font-family:"Noto Sans CJK SC",sans-serif;font-size:10pt;max-width:52em;margin:2em auto}}
table{{border-collapse:collapse}}.lines td,.lines th{{border:1px solid #999;padding:2px 4px}}
.lines td:nth-child(n+4){{text-align:right}}.sums td{{text-align:right;padding-left:2em}}
.total{{font-weight:bold}}</style></head><body>
<p class="seller"><b>{block(q["seller"])}</b></p>
<h1>{escape(t["quote"])}</h1>
<p class="buyer"><b>{escape(t["buyer"])}</b><br>{block(q["buyer"])}</p>
<table class="meta">{meta}</table>
<table class="lines"><tr>{heads}</tr>
{body}</table>
<table class="sums">{sums}</table>
{notes}
<p>________________________<br>{escape(t["accept"])}</p>
<footer>{footer}</footer>
</body></html>
"""


# ----- on the timeline ----------------------------------------------------------------


def record(store: Store, q: dict[str, Any], where: str) -> Record:
    """The quote as an entry of kind `quote` on the deal's timeline."""
    from crmcli.orders import currency_decimals

    places, cur = currency_decimals(q["currency"]), q["currency"]
    net, tax, gross = (money(q["totals"][k], places, "en") for k in ("net", "tax", "gross"))
    text = (
        f"{q['number']}: net {net} {cur}, tax {tax} {cur}, gross {gross} {cur}; "
        f"valid until {q['valid_until']}; {where}"
    )
    entry = store.add_activity(q["deal"], "quote", text)
    store.note_change(f"deal: quote {q['number']} ({q['title']})")
    return entry
