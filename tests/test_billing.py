"""Seller and taxes in crm.yaml (company, taxes); a customer's billing address,
country and tax id (issue 18, item 1)."""

from __future__ import annotations

import pytest
from conftest import added, refused, run, set_settings

from crmcli import settings, yamlio

PRODUCTS = [{"sku": "PUMP-100", "name": "Centrifugal pump", "price": 1200, "floor": 1000}]


def test_init_writes_company_and_taxes_commented(tmp_path):
    r = run("init", str(tmp_path / "new"))
    assert r.code == 0, r.err
    text = (tmp_path / "new" / "crm.yaml").read_text(encoding="utf-8")
    assert "# company:\n#   name: OurCo GmbH\n" in text
    assert "# taxes: {default: 19, prices: net, PUMP-100: 7}\n" in text
    data = yamlio.loads(text)
    assert "company" not in data and "taxes" not in data  # commented: the defaults hold
    # uncommented, the example is valid as it stands
    example = "\n".join(
        line[2:] for line in text.splitlines() if line.startswith(("# company", "#   ", "# taxes"))
    )
    s = settings.validate({**yamlio.loads(example), "products": PRODUCTS})
    assert s["company"]["tax_id"] == "DE123456789" and s["taxes"]["PUMP-100"] == 7


def test_settings_defaults():
    s = settings.validate({})
    assert s["company"] is None and s["taxes"] == {}


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"company": "OurCo"}, "'company'"),
        ({"company": {"address": "x"}}, "'company.name'"),
        ({"company": {"name": "OurCo", "vat": "DE1"}}, "'company.vat'"),
        ({"company": {"name": "OurCo", "tax_id": 123}}, "'company.tax_id'"),
        ({"company": {"name": "OurCo", "country": "Germany"}}, "'company.country'"),
        ({"taxes": 19}, "'taxes'"),
        ({"taxes": {"default": "19%"}}, "'taxes.default'"),
        ({"taxes": {"default": 119}}, "'taxes.default'"),
        ({"taxes": {"prices": "brutto"}}, "'taxes.prices'"),
        ({"taxes": {"PUMP-999": 7}}, "'taxes.PUMP-999'"),
        ({"taxes": {"PUMP-100": -1}}, "'taxes.PUMP-100'"),
    ],
)
def test_a_malformed_key_is_an_error_naming_it(crm, values, key):
    set_settings(crm, products=PRODUCTS, **values)
    refused(run("customer", "list"), "crm.yaml", key)


def test_good_company_and_taxes_are_read(crm):
    assert settings.validate({"company": None})["taxes"] == {}  # both optional
    set_settings(
        crm,
        products=PRODUCTS,
        company={"name": "OurCo GmbH", "country": "DE", "tax_id": "DE123456789"},
        taxes={"default": 19, "prices": "gross", "PUMP-100": 7},
    )
    assert run("customer", "list").code == 0
    assert run("doctor").code == 0


def test_customer_billing_fields_are_edited_and_cleared(crm):
    c = added("customer", "Acme GmbH")
    assert (c["billing_address"], c["country"], c["tax_id"]) == (None, None, None)
    r = run(
        "customer", "edit", "acme gmbh", "--billing-address", " Hauptstr. 1, 10115 Berlin ",
        "--country", "de", "--tax-id", "DE123456789", "--format", "json",
    )  # fmt: skip
    assert r.code == 0, r.err
    rec = r.json()
    assert rec["billing_address"] == "Hauptstr. 1, 10115 Berlin"
    assert (rec["country"], rec["tax_id"]) == ("DE", "DE123456789")
    text = (crm / "customers" / f"{c['id']}.yaml").read_text(encoding="utf-8")
    assert "billing_address: Hauptstr. 1, 10115 Berlin\ncountry: DE\ntax_id: DE123456789\n" in text
    r = run("customer", "edit", c["id"], "--unset", "tax_id", "--format", "json")
    assert r.code == 0 and r.json()["tax_id"] is None and r.json()["country"] == "DE"


def test_customer_country_must_be_two_letters(crm):
    added("customer", "Acme GmbH")
    refused(run("customer", "edit", "acme gmbh", "--country", "Germany"), "country", "Germany")
