"""crm export: JSON lines, CSV of one kind, vCard 4.0; round trips through lead import."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FIXTURES, run, snapshot

from crmcli import exporters
from crmcli.store import Store


def ok(*args: str, input: str | None = None):
    r = run(*args, input=input)
    assert r.code == 0, r.err
    return r


@pytest.fixture
def filled(crm):
    """A CRM with a company customer with contacts, a person customer, leads with
    every card field, a deal with an exact amount, a task and notes."""
    ok("customer", "add", "Acme GmbH", "--email", "info@acme.de", "--phone", "+49 30 1234567",
       "--website", "https://acme.de")  # fmt: skip
    ok("customer", "contact", "add", "Acme GmbH", "Li Wei", "--title", "Buyer",
       "--email", "li.wei@acme.cn", "--phone", "+86 138 0013 8000")  # fmt: skip
    ok("customer", "contact", "add", "Acme GmbH", "Zhang San")  # no e-mail, no phone
    ok("customer", "add", "王芳", "--kind", "person", "--phone", "+86 139 0013 9000")
    ok("lead", "import", str(FIXTURES / "cards_v3.vcf"), str(FIXTURES / "outlook_export.csv"))
    ok("lead", "add", '=HYPERLINK("http://x")', "--company", "@evil", "--phone", "+44 20 7946 0999")
    ok("lead", "add", "No Contact Info", "--company", "Quiet Co")
    store = Store(crm)
    with store.lock():
        customer = store.query("customer")[0]
        store.create("deal", title="Pump order", customer=customer["id"], amount=Decimal("1234.50"),
                     currency="CNY", stage="new")  # fmt: skip
    return crm


def test_jsonl_every_kind_one_record_a_line(filled):
    r = ok("export")
    lines = [json.loads(line) for line in r.out.splitlines()]
    kinds = [x["kind"] for x in lines]
    assert kinds == sorted(kinds, key=["customer", "lead", "deal", "task", "activity"].index)
    assert {"customer", "lead", "deal", "activity"} <= set(kinds)
    store = Store(filled)
    assert len(lines) == sum(len(store.query(k)) for k in exporters.ORDER)
    acme = next(x for x in lines if x.get("name") == "Acme GmbH")
    assert acme["kind"] == "customer" and acme["record_kind"] == "company"
    assert acme["contacts"][0]["name"] == "Li Wei"
    deal = next(x for x in lines if x["kind"] == "deal")
    assert '"amount": 1234.50' in r.out  # exact, not a float
    assert deal["title"] == "Pump order"
    lead = next(x for x in lines if x["kind"] == "lead" and x["name"] == "张伟")
    assert lead["emails"] == ["zhang.wei@huaqiang.cn", "zw@qq.com"]
    assert "张伟" in r.out  # UTF-8 as is, not \\u escapes


def test_jsonl_chosen_kinds(filled):
    r = ok("export", "--kind", "leads", "--kind", "Customer")
    kinds = {json.loads(line)["kind"] for line in r.out.splitlines()}
    assert kinds == {"customer", "lead"}


def test_csv_exactly_one_kind(filled):
    r = ok("export", "--kind", "lead", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert list(rows[0])[:6] == ["id", "name", "company", "title", "emails", "phones"]
    zhang = next(x for x in rows if x["name"] == "张伟")
    assert zhang["emails"] == "zhang.wei@huaqiang.cn; zw@qq.com"
    assert json.loads(zhang["fields"])["department"] == "销售部"
    for args in ([], ["--kind", "lead", "--kind", "deal"]):
        bad = run("export", "--format", "csv", *args)
        assert bad.code == 1 and bad.err.startswith("Error: a CSV export holds exactly one kind")
        assert bad.out == ""


def test_csv_neutralises_formulas(filled):
    r = ok("export", "--kind", "lead", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    evil = next(x for x in rows if "HYPERLINK" in x["name"])
    assert evil["name"].startswith("'=HYPERLINK")
    assert evil["company"] == "'@evil"
    assert evil["phones"] == "'+442079460999"
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@"


def test_vcf_customers_contacts_and_leads(filled):
    import vobject

    r = ok("export", "--format", "vcf")
    cards = list(vobject.readComponents(r.out))
    assert all(c.version.value == "4.0" for c in cards)
    names = [c.fn.value for c in cards]
    assert {"Acme GmbH", "Li Wei", "Zhang San", "王芳", "张伟", "Hans Schmidt"} <= set(names)
    acme = cards[names.index("Acme GmbH")]
    assert acme.kind.value == "org"
    li = cards[names.index("Li Wei")]
    assert li.org.value == ["Acme GmbH"] and li.title.value == "Buyer"
    assert li.email.value == "li.wei@acme.cn"
    zhang = cards[names.index("张伟")]
    assert zhang.org.value == ["深圳华强电子有限公司", "销售部"]
    bad = run("export", "--format", "vcf", "--kind", "deal")
    assert bad.code == 1 and "customers and leads only" in bad.err


def test_vcf_round_trip_changes_nothing(filled, tmp_path):
    out = tmp_path / "all.vcf"
    r = ok("export", "--format", "vcf", "--output", str(out))
    assert r.out == "" and "Exported" in r.err
    before = snapshot(filled)
    s = ok("lead", "import", str(out), "--format", "json").json()
    assert (s["created"], s["merged"], s["rejected"]) == (0, 0, 0)
    assert s["skipped"] == len(s["rows"])
    assert snapshot(filled) == before


def test_csv_round_trip_changes_nothing(filled, tmp_path):
    out = tmp_path / "leads.csv"
    ok("export", "--kind", "lead", "--output", str(out))  # format from the name
    before = snapshot(filled)
    s = ok("lead", "import", str(out), "--format", "json").json()
    assert (s["created"], s["merged"], s["rejected"]) == (0, 0, 0)
    assert snapshot(filled) == before


CARD_FIELDS = ("name", "company", "title", "emails", "phones", "fields")


def _cards(root: Path) -> list[tuple]:
    return sorted(
        tuple(json.dumps(r[k], sort_keys=True, ensure_ascii=False) for k in CARD_FIELDS)
        for r in Store(root).query("lead")
    )


@pytest.mark.parametrize("fmt", ["vcf", "csv"])
def test_export_then_import_into_a_fresh_crm_gives_the_same_leads(
    filled, tmp_path, monkeypatch, fmt
):
    from crmcli.store import init

    out = tmp_path / f"leads.{fmt}"
    ok("export", "--kind", "lead", "--output", str(out))
    fresh = tmp_path / "fresh"
    init(fresh, "Fresh")
    monkeypatch.setenv("CRM_DIR", str(fresh))
    s = ok("lead", "import", str(out), "--format", "json").json()
    assert s["rejected"] == 0
    assert _cards(fresh) == _cards(filled)


def test_output_file_is_written_whole(filled, tmp_path):
    out = tmp_path / "sub" / "all.jsonl"
    ok("export", "--output", str(out))
    assert out.read_text(encoding="utf-8") == ok("export").out
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    r = run("export", "--output", str(tmp_path))
    assert r.code == 1 and "is a directory" in r.err


def test_unknown_kind_is_an_error(crm):
    r = run("export", "--kind", "widgets")
    assert r.code == 1 and r.err.startswith("Error: unknown kind 'widgets'")


def test_empty_crm_exports_nothing(crm):
    assert ok("export").out == ""
    assert ok("export", "--kind", "lead", "--format", "csv").out.startswith("id,name,company")
    assert ok("export", "--format", "vcf").out == ""


def test_parse_kinds():
    assert exporters.parse_kinds(["leads,deal", "customer", "lead"]) == ["customer", "lead", "deal"]
    assert exporters.parse_kinds(None) == []
