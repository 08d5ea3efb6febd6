"""Orders of won deals as the ERP takes them: json, csv and Order-X, and the nightly
hand-off to a folder (issue 18, items 3 and 4). Every Order-X file is checked against
the schema; json, csv and XML are compared field by field with the deal."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import facturx
import pytest
from conftest import added, refused, run, set_settings, snapshot
from lxml import etree

from crmcli import models
from crmcli.mergedriver import merge_records

PRODUCTS = [
    {"sku": "PUMP-100", "name": "Centrifugal pump", "price": Decimal("1200.00"),
     "floor": Decimal("1000.00")},
    {"sku": "VALVE-20", "name": "Ball valve DN20", "price": Decimal("85.50")},
    {"sku": "SVC", "name": "Service (1 year)", "price": Decimal("6000")},
]  # fmt: skip
COMPANY = {"name": "OurCo GmbH", "address": "Hauptstr. 1, 10115 Berlin", "country": "DE",
           "tax_id": "DE123456789"}  # fmt: skip
NS = {
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:128",
    "rsm": "urn:un:unece:uncefact:data:SCRDMCCBDACIOMessageStructure:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:128",
}


@pytest.fixture
def shop(crm):
    set_settings(crm, products=PRODUCTS, currency="EUR", company=COMPANY,
                 taxes={"default": 19, "SVC": 7})  # fmt: skip
    c = added("customer", "北京华泰机械有限公司")
    r = run("customer", "edit", c["id"], "--billing-address", "北京市朝阳区建国路 88 号",
            "--country", "CN", "--tax-id", "91110105MA01XXXXXX")  # fmt: skip
    assert r.code == 0, r.err
    return crm


def won(title: str, *lines: str) -> dict:
    d = added("deal", title, "--customer", "北京华泰机械有限公司",
              *[a for ln in lines for a in ("--line", ln)])  # fmt: skip
    assert run("deal", "won", d["id"]).code == 0
    return d


def order_json(ref: str) -> dict:
    r = run("deal", "order", ref, "--format", "json")
    assert r.code == 0, r.err
    return json.loads(r.out, parse_float=Decimal, parse_int=Decimal)


def check_xml(data: bytes) -> etree._Element:
    assert facturx.xml_check_xsd(data, flavor="order-x", level="comfort")
    assert facturx.xml_check_schematron(data, flavor="order-x", level="comfort")
    return etree.fromstring(data)


def test_order_json_has_every_field_exact(shop):
    d = won("Pump order", "PUMP-100:3:1100", "VALVE-20:7", "SVC:1")
    o = order_json(d["id"])
    assert (o["number"], o["deal"], o["currency"], o["prices"]) == (
        f"O-{d['id']}",
        d["id"],
        "EUR",
        "net",
    )
    assert o["date"] == "2026-11-23"  # the day it was won (conftest's clock)
    assert o["seller"] == COMPANY
    assert o["buyer"]["name"] == "北京华泰机械有限公司" and o["buyer"]["tax_id"].startswith("9111")
    pump, valve, svc = o["lines"]
    assert (pump["sku"], pump["qty"], pump["unit_price"], pump["list_price"]) == (
        "PUMP-100",
        3,
        Decimal("1100"),
        Decimal("1200.00"),
    )
    assert pump["discount_percent"] == Decimal("8.33")
    assert (pump["net"], pump["tax_rate"], pump["tax"], pump["gross"]) == (
        Decimal("3300.00"),
        19,
        Decimal("627.00"),
        Decimal("3927.00"),
    )
    # 7 x 85.50 = 598.50; 19 % of it is 113.715, half up to the cent 113.72
    assert (valve["net"], valve["tax"], valve["gross"]) == (
        Decimal("598.50"),
        Decimal("113.72"),
        Decimal("712.22"),
    )
    assert (svc["tax_rate"], svc["tax"]) == (7, Decimal("420.00"))
    assert o["taxes"] == [
        {"rate": 7, "net": Decimal("6000.00"), "tax": Decimal("420.00"), "gross": Decimal("6420.00")},
        {"rate": 19, "net": Decimal("3898.50"), "tax": Decimal("740.72"), "gross": Decimal("4639.22")},
    ]  # fmt: skip
    assert o["totals"] == {"net": Decimal("9898.50"), "tax": Decimal("1160.72"),
                           "gross": Decimal("11059.22")}  # fmt: skip
    assert order_json(d["id"]) == o  # the same deal, the same order


def test_csv_and_orderx_carry_the_same_data_as_json(shop, tmp_path):
    d = won("Pump order", "PUMP-100:3:1100", "VALVE-20:7")
    o = order_json(d["id"])
    r = run("deal", "order", d["id"], "--output", str(tmp_path / "o.csv"))
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "o.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 2
    for row, ln in zip(rows, o["lines"], strict=True):
        assert row["order_number"] == o["number"] and row["order_date"] == o["date"]
        assert row["buyer_name"] == o["buyer"]["name"] and row["seller_tax_id"] == "DE123456789"
        for key in ("sku", "name"):
            assert row[key] == ln[key]
        for key in ("qty", "unit_price", "list_price", "net", "tax_rate", "tax", "gross"):
            assert Decimal(row[key]) == ln[key], key
        assert Decimal(row["order_gross"]) == o["totals"]["gross"]
    assert run("deal", "order", d["id"], "-o", str(tmp_path / "o.xml")).code == 0
    x = check_xml((tmp_path / "o.xml").read_bytes())
    assert x.findtext("rsm:ExchangedDocument/ram:ID", namespaces=NS) == o["number"]
    assert x.findtext(".//udt:DateTimeString", namespaces=NS) == o["date"].replace("-", "")
    assert x.findtext(".//ram:OrderCurrencyCode", namespaces=NS) == "EUR"
    for role, party in (("Seller", o["seller"]), ("Buyer", o["buyer"])):
        p = x.find(f".//ram:{role}TradeParty", NS)
        assert p.findtext("ram:Name", namespaces=NS) == party["name"]
        assert p.findtext(".//ram:CountryID", namespaces=NS) == party["country"]
        assert p.findtext(".//ram:LineOne", namespaces=NS) == party["address"]
        assert p.findtext("ram:SpecifiedTaxRegistration/ram:ID", namespaces=NS) == party["tax_id"]
    items = x.findall(".//ram:IncludedSupplyChainTradeLineItem", NS)
    for item, ln in zip(items, o["lines"], strict=True):

        def val(path, item=item):
            return item.findtext(path, namespaces=NS)

        assert val(".//ram:SellerAssignedID") == ln["sku"] and val(".//ram:Name") == ln["name"]
        assert Decimal(val(".//ram:RequestedQuantity")) == ln["qty"]
        assert Decimal(val(".//ram:NetPriceProductTradePrice/ram:ChargeAmount")) == ln["unit_price"]
        assert (
            Decimal(val(".//ram:GrossPriceProductTradePrice/ram:ChargeAmount")) == ln["list_price"]
        )
        assert Decimal(val(".//ram:RateApplicablePercent")) == ln["tax_rate"]
        assert Decimal(val(".//ram:LineTotalAmount")) == ln["net"]
    sums = x.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    for tag, key in (("TaxBasisTotalAmount", "net"), ("TaxTotalAmount", "tax"),
                     ("GrandTotalAmount", "gross")):  # fmt: skip
        assert Decimal(sums.findtext(f"ram:{tag}", namespaces=NS)) == o["totals"][key]


def test_gross_prices_and_a_currency_without_cents(shop):
    set_settings(shop, taxes={"default": 10, "prices": "gross"}, currency="JPY",
                 products=[{"sku": "PUMP-100", "name": "ポンプ", "price": 1999}])  # fmt: skip
    d = won("ポンプ", "PUMP-100:3")
    o = order_json(d["id"])
    (ln,) = o["lines"]
    # 5997 with tax; net 5997 / 1.1 = 5451.818.. -> 5452 yen, tax the rest
    assert (ln["gross"], ln["net"], ln["tax"]) == (5997, 5452, 545)
    assert o["prices"] == "gross" and o["totals"]["gross"] == 5997
    r = run("deal", "order", d["id"], "-f", "orderx")
    x = check_xml(r.out.encode("utf-8"))
    price = x.find(".//ram:NetPriceProductTradePrice", NS)  # the line's net for its quantity
    assert price.findtext("ram:ChargeAmount", namespaces=NS) == "5452"
    assert price.findtext("ram:BasisQuantity", namespaces=NS) == "3"


def test_an_open_deal_is_no_order(shop):
    d = added("deal", "Pump order", "--customer", "北京华泰机械有限公司", "--line", "PUMP-100:1")
    refused(run("deal", "order", d["id"]), d["id"], "not won")


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"company": None}, ["crm.yaml has no 'company'"]),
        ({"taxes": {"SVC": 7}}, ["product PUMP-100 has no tax rate", "taxes"]),
    ],
)
def test_missing_seller_or_tax_rate_is_one_clear_line(shop, settings, words):
    d = won("Pump order", "PUMP-100:1")
    set_settings(shop, **settings)
    refused(run("deal", "order", d["id"]), *words)


def test_a_deal_without_lines_or_customer_is_refused(shop):
    d = added("deal", "Lump sum", "--customer", "北京华泰机械有限公司", "--amount", "500")
    assert run("deal", "won", d["id"]).code == 0
    refused(run("deal", "order", d["id"]), "has no lines", "--line")
    d = added("deal", "Deal price", "--customer", "北京华泰机械有限公司", "--line", "PUMP-100:1",
              "--amount", "1150")  # fmt: skip
    assert run("deal", "won", d["id"]).code == 0
    refused(run("deal", "order", d["id"]), "1,150.00 is not the sum of its lines 1,200.00")
    d = won("Nobody's", "PUMP-100:1")
    assert run("deal", "edit", d["id"], "--unset", "customer").code == 0
    refused(run("deal", "order", d["id"]), "has no customer", "--customer")


def test_export_new_hands_each_off_once(shop, tmp_path):
    a = won("Pump order", "PUMP-100:2")
    b = won("Valve order", "VALVE-20:10")
    added("deal", "Still open", "--customer", "北京华泰机械有限公司", "--line", "PUMP-100:1")
    inbox = tmp_path / "erp-inbox"
    r = run("order", "export", "--new", "--output", str(inbox))
    assert r.code == 0, r.err
    names = sorted(p.name for p in inbox.iterdir())
    assert names == sorted([f"O-{a['id']}.xml", f"O-{b['id']}.xml"])
    assert sorted(r.out.splitlines()) == [str(inbox / n) for n in names]
    for name in names:
        check_xml((inbox / name).read_bytes())
    for d in (a, b):
        shown = run("deal", "show", d["id"], "--format", "json").json()
        assert shown["handed_off_at"] == "2026-11-23T10:00:00+08:00"
        entries = [e for e in shown["timeline"] if e["kind"] == "order"]
        assert len(entries) == 1 and f"O-{d['id']}" in entries[0]["text"]
    before = snapshot(shop)
    r = run("order", "export", "--new", "-o", str(inbox))  # the next night: nothing new
    assert r.code == 0 and r.out == "" and "0 order(s)" in r.err
    assert snapshot(shop) == before and len(list(inbox.iterdir())) == 2
    # --since re-exports, handed off or not, and keeps the first hand-off time
    r = run("order", "export", "--since", "2026-11-01", "--format", "json", "-o", str(inbox))
    assert r.code == 0 and len(r.out.splitlines()) == 2
    again = json.loads((inbox / f"O-{a['id']}.json").read_text(encoding="utf-8"))
    assert again["number"] == f"O-{a['id']}"
    shown = run("deal", "show", a["id"], "--format", "json").json()
    assert shown["handed_off_at"] == "2026-11-23T10:00:00+08:00"
    assert len([e for e in shown["timeline"] if e["kind"] == "order"]) == 2
    assert run("order", "export", "--since", "tomorrow", "-o", str(inbox)).out == ""


def test_export_refuses_with_nothing_written(shop, tmp_path):
    won("Pump order", "PUMP-100:2")
    set_settings(shop, taxes={"SVC": 7})
    before = snapshot(shop)
    refused(run("order", "export", "--new", "-o", str(tmp_path / "in")), "no tax rate")
    assert snapshot(shop) == before and not (tmp_path / "in").exists()
    refused(run("order", "export", "-o", str(tmp_path / "in")), "--new", "--since")
    (tmp_path / "f").write_text("x")
    refused(run("order", "export", "--new", "-o", str(tmp_path / "f")), "is a file")


def test_merge_keeps_a_hand_off_made_on_either_clone():
    t0, t1, t2 = ("2026-11-20T09:00:00+08:00", "2026-11-21T09:00:00+08:00",
                  "2026-11-22T09:00:00+08:00")  # fmt: skip
    base = models.new_record("deal", id="d0000001", title="Pump", stage="won", status="won",
                             created=t0, updated=t0)  # fmt: skip
    handed = dict(base, handed_off_at=t1, updated=t1)
    edited = dict(base, tags=["vip"], updated=t2)
    for ours, theirs in ((handed, edited), (edited, handed)):
        out = merge_records(base, ours, theirs)
        assert out["handed_off_at"] == t1 and out["tags"] == ["vip"]
    # handed off on both clones: the first hand-off stands, no conflict
    later = dict(base, handed_off_at=t2, updated=t2)
    for ours, theirs in ((handed, later), (later, handed)):
        out = merge_records(base, ours, theirs)
        assert out["handed_off_at"] == t1 and "conflicts" not in out
