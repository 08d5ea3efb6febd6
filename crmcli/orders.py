"""Orders: a won deal as the ERP takes it, and the hand-off of orders to a folder.

`priced(store, deal)` is the commercial content of a deal that quotes and orders
share: seller (settings company), buyer (the deal's customer), lines with their
tax, totals per tax rate and in all; money exact (Decimal), each amount rounded
half up to the currency's decimals (ISO 4217), never a float.

Each line: net = qty x unit price and tax = net x rate (prices net), or gross =
qty x unit price and net = gross / (1 + rate) (settings taxes.prices: gross); the
per-rate and document totals are the sums of the lines, so every sum on paper adds up.

An order is `order(store, deal)`: number O-<deal id> and date the day the deal was
won, so the same deal always gives the same order. Formats: json (the dict as is),
csv (one row per line, the order's fields repeated), orderx (Order-X comfort, the
CII-based European order standard, checked against its schema by factur-x).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError
from crmcli.models import ORDER_FORMATS, Record
from crmcli.store import Store

FORMATS = ORDER_FORMATS
SUFFIX = {"json": ".json", "csv": ".csv", "orderx": ".xml"}
ORDERX_LEVEL = "comfort"  # the level with list (gross) prices beside net prices
SELLER_KEYS = ("name", "address", "country", "tax_id")
CSV_COLUMNS = [
    "order_number", "order_date", "deal", "currency", "prices",
    "seller_name", "seller_address", "seller_country", "seller_tax_id",
    "buyer_id", "buyer_name", "buyer_address", "buyer_country", "buyer_tax_id",
    "line", "sku", "name", "qty", "unit_price", "list_price", "discount_percent",
    "net", "tax_rate", "tax", "gross", "order_net", "order_tax", "order_gross",
]  # fmt: skip


def currency_decimals(currency: str) -> int:
    """The currency's minor-unit digits (EUR 2, JPY 0, KWD 3); 2 when ISO 4217 has none."""
    from iso4217 import Currency

    try:
        exponent = Currency(currency.upper()).exponent
    except ValueError:
        return 2
    return 2 if exponent is None else exponent


def seller(settings: dict[str, Any]) -> dict[str, Any]:
    company = settings.get("company")
    if not company:
        raise CrmError(
            "crm.yaml has no 'company' (the seller on quotes and orders); add one, e.g. "
            'company: {name: OurCo GmbH, address: "Hauptstr. 1, 10115 Berlin", '
            "country: DE, tax_id: DE123456789}"
        )
    return dict(company)


def buyer(store: Store, deal: Record) -> dict[str, Any]:
    if not deal.get("customer"):
        raise CrmError(
            f"deal {deal['id']} ({deal['title']}) has no customer to address it to; "
            f"set one: crm deal edit {deal['id']} --customer REF"
        )
    from crmcli.errors import NotFoundError

    try:
        c = store.load("customer", deal["customer"])
    except NotFoundError:
        raise CrmError(
            f"deal {deal['id']} ({deal['title']}): its customer {deal['customer']} is missing"
        ) from None
    return {
        "id": c["id"],
        "name": c["name"],
        "address": c.get("billing_address"),
        "country": c.get("country"),
        "tax_id": c.get("tax_id"),
    }


def tax_rate(settings: dict[str, Any], sku: str) -> Decimal:
    """The tax percent of a product: taxes.SKU, else taxes.default."""
    from crmcli.deals import _decimal

    taxes = settings.get("taxes") or {}
    rate = taxes.get(sku, taxes.get("default"))
    if rate is None:
        raise CrmError(
            f"product {sku} has no tax rate; add one to crm.yaml: taxes: {{default: 19}} "
            f"or taxes: {{{sku}: 7}}"
        )
    return _decimal(rate)


def _line(
    line: Record, qty: Decimal, price: Decimal, rate: Decimal, gross: bool, q: Decimal
) -> Record:
    """One priced line; `gross`: the price includes tax; `q`: the currency's cent."""
    amount = (qty * price).quantize(q, ROUND_HALF_UP)
    if gross:
        net = (amount * 100 / (100 + rate)).quantize(q, ROUND_HALF_UP)
        tax = amount - net
    else:
        net = amount
        tax = (net * rate / 100).quantize(q, ROUND_HALF_UP)
    list_price = line.get("list_price")
    discount = None
    if isinstance(list_price, (int, Decimal)) and list_price > 0:
        discount = ((list_price - price) * 100 / list_price).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
    return {
        "sku": line.get("sku"),
        "name": line.get("name") or line.get("sku"),
        "qty": qty,
        "unit_price": price,
        "list_price": list_price,
        "discount_percent": discount,
        "net": net,
        "tax_rate": rate,
        "tax": tax,
        "gross": net + tax,
    }


def priced(store: Store, deal: Record) -> dict[str, Any]:
    """Seller, buyer, currency, lines with tax, totals per rate and in all (see above)."""
    from crmcli import deals
    from crmcli.formats import money_text

    settings = store.settings
    where = f"deal {deal['id']} ({deal['title']})"
    if not deal.get("lines"):
        raise CrmError(
            f"{where} has no lines; quotes and orders list products: "
            f"crm deal edit {deal['id']} --line SKU:QTY"
        )
    total = deals.lines_total(deal)
    if deal.get("amount") is not None and deal["amount"] != total:
        raise CrmError(
            f"{where}: its amount {money_text(deal['amount'])} is not the sum of its lines "
            f"{money_text(total)}; put a discount on the line prices "
            f"(crm deal edit {deal['id']} --replace-lines --line SKU:QTY:PRICE)"
        )
    company, customer = seller(settings), buyer(store, deal)
    currency = str(deal.get("currency") or settings["currency"]).upper()
    q = Decimal(1).scaleb(-currency_decimals(currency))
    gross = (settings.get("taxes") or {}).get("prices") == "gross"
    lines = [
        {"line": i, **_line(line, qty, price, tax_rate(settings, str(line.get("sku"))), gross, q)}
        for i, (line, qty, price) in enumerate(deals.checked_lines(deal), 1)
    ]
    taxes: dict[Decimal, dict[str, Any]] = {}
    for ln in lines:
        t = taxes.setdefault(ln["tax_rate"], {"rate": ln["tax_rate"], "net": 0, "tax": 0})
        t["net"] += ln["net"]
        t["tax"] += ln["tax"]
    return {
        "currency": currency,
        "prices": "gross" if gross else "net",
        "seller": {k: company.get(k) for k in SELLER_KEYS},
        "buyer": customer,
        "lines": lines,
        "taxes": [{**t, "gross": t["net"] + t["tax"]} for _r, t in sorted(taxes.items())],
        "totals": {
            "net": sum((ln["net"] for ln in lines), Decimal(0)),
            "tax": sum((ln["tax"] for ln in lines), Decimal(0)),
            "gross": sum((ln["gross"] for ln in lines), Decimal(0)),
        },
    }


# ----- orders -------------------------------------------------------------------------


def order(store: Store, deal: Record) -> dict[str, Any]:
    """The order of a won deal: the same deal always gives the same order."""
    if deal.get("status") != "won":
        raise CrmError(
            f"deal {deal['id']} ({deal['title']}) is {deal.get('status')}, not won; "
            f"only a won deal is an order: crm deal won {deal['id']}"
        )
    return {
        "number": f"O-{deal['id']}",
        "date": str(deal.get("closed_at") or deal["updated"])[:10],
        "deal": deal["id"],
        "title": deal["title"],
        **priced(store, deal),
    }


def csv_rows(o: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per line, the order's own fields repeated on each (CSV_COLUMNS)."""
    head = {
        "order_number": o["number"], "order_date": o["date"], "deal": o["deal"],
        "currency": o["currency"], "prices": o["prices"],
        **{f"seller_{k}": o["seller"][k] for k in SELLER_KEYS},
        **{f"buyer_{k}": v for k, v in o["buyer"].items()},
        **{f"order_{k}": v for k, v in o["totals"].items()},
    }  # fmt: skip
    return [{**head, **ln} for ln in o["lines"]]


def format_of(path: str | None) -> str:
    """The format a file name asks for: .xml orderx, .csv csv, else json."""
    suffix = (path or "").lower().rsplit(".", 1)[-1]
    return {"xml": "orderx", "csv": "csv"}.get(suffix, "json")


def encode(o: dict[str, Any], fmt: str) -> bytes:
    """The order as a file in `fmt` (one of FORMATS)."""
    if fmt == "json":
        from crmcli.encode import to_json

        return (to_json(o) + "\n").encode("utf-8")
    if fmt == "csv":
        import io

        from crmcli.encode import write_csv

        buf = io.StringIO()
        write_csv(csv_rows(o), CSV_COLUMNS, buf)
        return buf.getvalue().encode("utf-8")
    return orderx(o)


# ----- hand-off -----------------------------------------------------------------------


def due(store: Store, since: str | None = None) -> list[Record]:
    """The won deals to hand off: those not handed off yet, or (`since`, a WHEN) every
    deal won since then, handed off or not. Oldest first."""
    from crmcli.dates import parse_iso, parse_when

    won = store.query("deal", {"status": "won"})
    if since is None:
        chosen = [d for d in won if not d.get("handed_off_at")]
    else:
        start = parse_when(since, store.ctx.now())
        chosen = [
            d
            for d in won
            if d.get("closed_at") and parse_iso(d["closed_at"], store.ctx.tz) >= start
        ]
    return sorted(chosen, key=lambda d: (str(d.get("closed_at")), d["id"]))


def export(store: Store, folder: Path, fmt: str, since: str | None = None) -> list[Path]:
    """Write the order of each deal `due` to `folder`, one file each (O-<id>.xml, ...),
    and record the hand-off on each deal: `handed_off_at` (the first hand-off) and a
    timeline entry. Every order is built before any file is written: a deal that cannot
    be an order (no tax rate, say) stops the export with nothing written."""
    from crmcli.store import atomic_write

    files = [(d, encode(order(store, d), fmt)) for d in due(store, since)]
    if not files:
        return []
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CrmError(f"cannot make the folder {folder}: {e.strerror}") from None
    now, written = store.ctx.now_iso(), []
    for deal, data in files:
        path = folder / f"O-{deal['id']}{SUFFIX[fmt]}"
        try:
            atomic_write(path, data)
        except OSError as e:
            raise CrmError(f"cannot write {path}: {e.strerror}") from None
        written.append(path)
        store.save("deal", dict(deal, handed_off_at=deal.get("handed_off_at") or now))
        store.add_activity(deal["id"], "order", f"order O-{deal['id']} handed off: {path}")
    store.note_change(f"order: hand off {len(written)} order(s) to {folder}")
    return written


# ----- Order-X ------------------------------------------------------------------------

_NS = {
    "rsm": "urn:un:unece:uncefact:data:SCRDMCCBDACIOMessageStructure:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:128",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:128",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:128",
}


def _el(parent: Any, tag: str, text: Any = None, **attrs: str) -> Any:
    from lxml import etree

    prefix, name = tag.split(":")
    qname = f"{{{_NS[prefix]}}}{name}"
    if parent is None:
        el = etree.Element(qname, attrs, nsmap=_NS)
    else:
        el = etree.SubElement(parent, qname, attrs)
    if text is not None:
        el.text = format(text, "f") if isinstance(text, Decimal) else str(text)
    return el


def _party(parent: Any, role: str, party: dict[str, Any]) -> None:
    p = _el(parent, f"ram:{role}TradeParty")
    if party.get("id"):
        _el(p, "ram:ID", party["id"])
    _el(p, "ram:Name", party["name"])
    if party.get("country"):  # Order-X: an address has a country
        a = _el(p, "ram:PostalTradeAddress")
        if party.get("address"):
            _el(a, "ram:LineOne", party["address"])
        _el(a, "ram:CountryID", party["country"])
    if party.get("tax_id"):
        _el(_el(p, "ram:SpecifiedTaxRegistration"), "ram:ID", party["tax_id"], schemeID="VA")


def _tax(parent: Any, rate: Decimal) -> None:
    t = _el(parent, "ram:ApplicableTradeTax")
    _el(t, "ram:TypeCode", "VAT")
    _el(t, "ram:CategoryCode", "S" if rate else "Z")  # standard rate, or zero-rated
    _el(t, "ram:RateApplicablePercent", rate)


def _orderx_line(parent: Any, ln: dict[str, Any], gross_prices: bool) -> None:
    item = _el(parent, "ram:IncludedSupplyChainTradeLineItem")
    _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", ln["line"])
    product = _el(item, "ram:SpecifiedTradeProduct")
    _el(product, "ram:SellerAssignedID", ln["sku"])
    _el(product, "ram:Name", ln["name"])
    agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
    if gross_prices:  # a net unit price would not be exact: the line's net for its quantity
        price = _el(agreement, "ram:NetPriceProductTradePrice")
        _el(price, "ram:ChargeAmount", ln["net"])
        _el(price, "ram:BasisQuantity", ln["qty"], unitCode="C62")
    else:
        if ln["list_price"] is not None:
            _el(_el(agreement, "ram:GrossPriceProductTradePrice"), "ram:ChargeAmount",
                ln["list_price"])  # fmt: skip
        _el(_el(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", ln["unit_price"])
    _el(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:RequestedQuantity", ln["qty"],
        unitCode="C62")  # fmt: skip
    settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
    _tax(settlement, ln["tax_rate"])
    _el(_el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"),
        "ram:LineTotalAmount", ln["net"])  # fmt: skip


def orderx(o: dict[str, Any]) -> bytes:
    """The order as an Order-X (comfort) XML document, checked against its schema."""
    from lxml import etree

    root = _el(None, "rsm:SCRDMCCBDACIOMessageStructure")
    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID",
        f"urn:order-x.eu:1p0:{ORDERX_LEVEL}")  # fmt: skip
    doc = _el(root, "rsm:ExchangedDocument")
    _el(doc, "ram:ID", o["number"])
    _el(doc, "ram:Name", o["title"])
    _el(doc, "ram:TypeCode", "220")  # UNTDID 1001: order
    _el(_el(doc, "ram:IssueDateTime"), "udt:DateTimeString", o["date"].replace("-", ""),
        format="102")  # fmt: skip
    deal = _el(root, "rsm:SupplyChainTradeTransaction")
    for ln in o["lines"]:
        _orderx_line(deal, ln, o["prices"] == "gross")
    agreement = _el(deal, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "Seller", o["seller"])
    _party(agreement, "Buyer", o["buyer"])
    _el(deal, "ram:ApplicableHeaderTradeDelivery")
    settlement = _el(deal, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:OrderCurrencyCode", o["currency"])  # Order-X has no per-rate totals
    sums = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(sums, "ram:LineTotalAmount", o["totals"]["net"])
    _el(sums, "ram:TaxBasisTotalAmount", o["totals"]["net"])
    _el(sums, "ram:TaxTotalAmount", o["totals"]["tax"], currencyID=o["currency"])
    _el(sums, "ram:GrandTotalAmount", o["totals"]["gross"])
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    check_orderx(xml)
    return xml


def check_orderx(xml: bytes) -> None:
    """Refuse an Order-X document that its schema (XSD) or its business rules
    (schematron) do not accept, both as factur-x ships them."""
    import logging

    import facturx

    logging.getLogger("factur-x").setLevel(logging.CRITICAL)  # its errors come back to us
    try:
        facturx.xml_check_xsd(xml, flavor="order-x", level=ORDERX_LEVEL)
        facturx.xml_check_schematron(xml, flavor="order-x", level=ORDERX_LEVEL)
    except Exception as e:  # noqa: BLE001 - factur-x raises a bare Exception
        raise CrmError(f"the Order-X document is not valid against its schema: {e}") from None
