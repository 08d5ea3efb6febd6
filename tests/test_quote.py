"""Quotes of deals (issue 18, items 2 and 5): the PDF read back as its receiver reads
it, with poppler's pdftotext (every line and total found) and pdftoppm (page 1 is not
blank); the HTML; the number, the timeline entry, the refusals."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from conftest import added, refused, run, set_settings, snapshot

PRODUCTS = [
    {"sku": "PUMP-100", "name": "离心泵 Centrifugal pump", "price": Decimal("1200.00"),
     "floor": Decimal("1000.00")},
    {"sku": "VALVE-20", "name": "Kugelhahn DN20", "price": Decimal("85.50")},
    {"sku": "SVC", "name": "Service <1 year> & more", "price": Decimal("6000")},
]  # fmt: skip
COMPANY = {"name": "OurCo GmbH", "address": "Hauptstr. 1, 10115 Berlin", "country": "DE",
           "tax_id": "DE123456789", "bank": "IBAN DE02 1203 0000 0000 2020 51",
           "terms": "Payment 30 days net.", "footer": "OurCo GmbH · HRB 12345"}  # fmt: skip


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run installs poppler-utils")
        pytest.skip(f"{name} is missing: apt-get install poppler-utils fonts-noto-cjk")
    return path


@pytest.fixture
def shop(crm):
    set_settings(crm, products=PRODUCTS, currency="EUR", company=COMPANY, approvers=["carol"],
                 taxes={"default": 19, "SVC": 7})  # fmt: skip
    c = added("customer", "北京华泰机械有限公司")
    r = run("customer", "edit", c["id"], "--billing-address", "北京市朝阳区建国路 88 号",
            "--country", "CN", "--tax-id", "91110105MA01XXXXXX")  # fmt: skip
    assert r.code == 0, r.err
    g = added("customer", "Müller Pumpen GmbH")
    assert run("customer", "edit", g["id"], "--country", "DE").code == 0
    return crm


def deal(customer: str, *lines: str) -> dict:
    return added("deal", "Pump replacement 2027", "--customer", customer,
                 *[a for ln in lines for a in ("--line", ln)])  # fmt: skip


def quote_entries(deal_id: str) -> list[dict]:
    shown = run("deal", "show", deal_id, "--format", "json").json()
    return sorted((e for e in shown["timeline"] if e["kind"] == "quote"), key=lambda e: e["text"])


def test_the_pdf_has_every_line_and_total_and_ink(shop, tmp_path):
    pdftotext, pdftoppm = _tool("pdftotext"), _tool("pdftoppm")
    from PIL import Image

    Image.new("RGB", (120, 40), (0, 0, 0)).save(shop / "logo.png")  # a black bar
    set_settings(shop, company={**COMPANY, "logo": "logo.png"})
    d = deal("北京华泰机械有限公司", "PUMP-100:3:1100", "VALVE-20:7", "SVC:1")
    out = tmp_path / "q.pdf"
    r = run("deal", "quote", d["id"], "-o", str(out), "--valid-until", "2026-12-31")
    assert r.code == 0, r.err
    assert f"Q-{d['id']}-1" in r.out and "11,059.22" in r.out
    text = subprocess.run([pdftotext, "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    rows = text.splitlines()
    for words in (
        # the customer is Chinese: the labels are; names and addresses render
        ["报价单"], [f"Q-{d['id']}-1"], ["2026-11-23"], ["2026-12-31"], ["Pump replacement 2027"],
        ["OurCo GmbH"], ["DE123456789"], ["北京华泰机械有限公司"], ["北京市朝阳区建国路 88 号"],
        ["91110105MA01XXXXXX"],
        # each line: sku, name, qty, list, discount, unit, net, tax %, tax, gross
        ["1", "PUMP-100", "离心泵 Centrifugal pump", "3", "1,200.00", "8.33 %", "1,100.00", "3,300.00", "19 %",
         "627.00", "3,927.00"],
        ["2", "VALVE-20", "Kugelhahn DN20", "7", "85.50", "85.50", "598.50", "19 %", "113.72", "712.22"],
        ["3", "SVC", "Service <1 year> & more", "1", *["6,000.00"] * 3, "7 %", "420.00", "6,420.00"],
        # totals per rate and in all
        ["7% 不含税合计", "6,000.00"], ["7% 税额", "420.00"],
        ["19% 不含税合计", "3,898.50"], ["19% 税额", "740.72"],
        ["不含税合计", "9,898.50"], ["税额合计", "1,160.72"], ["含税总计 (EUR)", "11,059.22"],
        ["Payment 30 days net."], ["IBAN DE02 1203 0000 0000 2020 51"], ["OurCo GmbH · HRB 12345"],
    ):  # fmt: skip
        cells = [re.escape(w).replace(r"\ %", r"\s*%") for w in words]  # 7 % or 7%
        pattern = r"(^|\s)" + r"\s+".join(cells) + r"(\s|$)"
        assert any(re.search(pattern, row) for row in rows), (words, text)
    # page 1 is not blank: poppler renders it and the ink is counted
    subprocess.run([pdftoppm, "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile",
                    str(out), str(tmp_path / "page")], check=True)  # fmt: skip
    page = Image.open(tmp_path / "page.png").convert("L")
    dark = sum(page.histogram()[:128])  # pixels darker than mid-grey
    assert dark > 2000, dark  # text on a white page; a blank one has none
    assert page.crop((page.width * 3 // 4, 0, page.width, page.height // 8)).getextrema()[0] == 0
    # on the timeline, with number and totals; `deal show` lists the versions
    (entry,) = quote_entries(d["id"])
    assert entry["text"].startswith(f"Q-{d['id']}-1: net 9,898.50 EUR, tax 1,160.72 EUR, "
                                    "gross 11,059.22 EUR; valid until 2026-12-31")  # fmt: skip


def test_numbers_count_the_deals_quotes_and_html_is_the_same_quote(shop, tmp_path):
    d = deal("Müller Pumpen GmbH", "PUMP-100:40", "SVC:1")
    for n in (1, 2):
        r = run("deal", "quote", d["id"], "--output", str(tmp_path / f"q{n}.html"))
        assert r.code == 0, r.err
    page = (tmp_path / "q2.html").read_text(encoding="utf-8")
    assert '<html lang="de">' in page  # a German customer: a German quote
    for text in (f"Q-{d['id']}-2", "Angebot", "48.000,00", "Service &lt;1 year&gt; &amp; more",
                 "Netto zu 7 %", "USt 19 %", "9.120,00", "Gesamtbetrag (EUR)", "63.540,00"):  # fmt: skip
        assert text in page, text
    assert [e["text"][: len(d["id"]) + 4] for e in quote_entries(d["id"])] == [
        f"Q-{d['id']}-1", f"Q-{d['id']}-2"]  # fmt: skip
    r = run("deal", "show", d["id"])
    assert f"Q-{d['id']}-1" in r.out and f"Q-{d['id']}-2" in r.out
    r = run("deal", "quote", d["id"], "-o", str(tmp_path / "q3.html"), "--lang", "en")
    page = (tmp_path / "q3.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "63,540.00" in page and "Total (EUR)" in page


def test_a_currency_without_cents_shows_none(shop, tmp_path):
    set_settings(shop, currency="JPY", taxes={"default": 19},
                 products=[{"sku": "PUMP-100", "name": "ポンプ", "price": 1999}])  # fmt: skip
    d = deal("Müller Pumpen GmbH", "PUMP-100:3")
    r = run("deal", "quote", d["id"], "-o", str(tmp_path / "q.html"), "--lang", "en")
    assert r.code == 0, r.err
    page = (tmp_path / "q.html").read_text(encoding="utf-8")
    assert "5,997" in page and "1,139" in page and "7,136" in page and ".00" not in page


def test_refused_while_a_price_approval_is_pending(shop, tmp_path):
    d = deal("Müller Pumpen GmbH", "PUMP-100:2:900")  # below the floor
    before = snapshot(shop)
    r = run("deal", "quote", d["id"], "-o", str(tmp_path / "q.pdf"))
    refused(r, "needs a price approval before it is quoted", "below the floor", "approvers: carol")
    assert not (tmp_path / "q.pdf").exists() and snapshot(shop) == before
    assert run("deal", "approve", d["id"], "--by", "carol").code == 0
    r = run("deal", "quote", d["id"], "-o", str(tmp_path / "q.html"))
    assert r.code == 0, r.err


@pytest.mark.parametrize(
    ("args", "settings", "words"),
    [
        (["--output", "q.docx"], {}, ["--output q.docx", ".pdf or .html"]),
        (["--valid-until", "2026-01-01"], {}, ["--valid-until 2026-01-01", "before today"]),
        (["--valid-until", "soonish"], {}, ["soonish"]),
        ([], {"company": None}, ["crm.yaml has no 'company'"]),
        ([], {"taxes": {"SVC": 7}}, ["product PUMP-100 has no tax rate"]),
    ],
)
def test_bad_input_is_one_clear_line(shop, tmp_path, monkeypatch, args, settings, words):
    monkeypatch.chdir(tmp_path)
    d = deal("Müller Pumpen GmbH", "PUMP-100:2")
    set_settings(shop, **settings)
    before = snapshot(shop)
    refused(run("deal", "quote", d["id"], "-o", "q.html", *args), *words)
    assert snapshot(shop) == before and not list(tmp_path.glob("q.*"))


def test_an_unknown_language_is_a_usage_error(shop):
    d = deal("Müller Pumpen GmbH", "PUMP-100:2")
    r = run("deal", "quote", d["id"], "--lang", "fr")
    assert r.code == 2 and "fr" in r.err and "Traceback" not in r.err


def test_no_cjk_font_says_what_to_install(shop, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_FONT", str(tmp_path / "missing.ttf"))
    d = deal("Müller Pumpen GmbH", "PUMP-100:2")
    refused(run("deal", "quote", d["id"], "-o", str(tmp_path / "q.pdf")), "CRM_FONT", "missing.ttf")
    from crmcli import quotes

    monkeypatch.delenv("CRM_FONT")
    monkeypatch.setattr(quotes, "FONT_DIRS", (str(tmp_path),))
    refused(run("deal", "quote", d["id"], "-o", str(tmp_path / "q.pdf")), "fonts-noto-cjk")


def test_a_logo_that_is_no_image_is_named(shop, tmp_path):
    _tool("pdftotext")  # the font comes with fonts-noto-cjk, installed beside poppler
    (shop / "logo.png").write_text("not a picture")
    set_settings(shop, company={**COMPANY, "logo": "logo.png"})
    d = deal("Müller Pumpen GmbH", "PUMP-100:2")
    refused(
        run("deal", "quote", d["id"], "-o", str(tmp_path / "q.pdf")), "company.logo", "logo.png"
    )
    assert not (tmp_path / "q.pdf").exists() and quote_entries(d["id"]) == []
