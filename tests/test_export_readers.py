"""Exports read by other programs' parsers (vobject, Python's csv), field by field."""

from __future__ import annotations

import csv
import io

import vobject
from conftest import run


def ok(*args: str, input: str | None = None):
    r = run(*args, input=input)
    assert r.code == 0, r.err
    return r


def vcards(*args: str) -> dict[str, vobject.base.Component]:
    text = ok("export", "--format", "vcf", *args).out
    return {c.uid.value: c for c in vobject.readComponents(text)}


def company_with_contacts() -> str:
    cid = ok("customer", "add", "Acme GmbH", "--format", "json").json()["id"]
    for name in ("Li Wei", "Zhang San", "Wang Fang"):
        ok("customer", "contact", "add", cid, name, "--email", f"{name.split()[0].lower()}@acme.cn")
    return cid


def contact_uids(cid: str) -> dict[str, str]:
    return {
        c.fn.value: uid
        for uid, c in vcards("--kind", "customer").items()
        if uid.startswith(f"crm-customer-{cid}-contact-")
    }


def test_contact_uids_stay_across_edits_removals_and_reordering(crm):
    cid = company_with_contacts()
    before = contact_uids(cid)
    assert len(set(before.values())) == 3
    path = crm / "customers" / f"{cid}.yaml"
    from crmcli import yamlio

    rec = yamlio.loads(path.read_text(encoding="utf-8"))
    li, zhang, wang = rec["contacts"]
    rec["contacts"] = [wang, dict(li, title="Buyer")]  # Zhang San removed, order changed
    path.write_text(yamlio.dumps(rec), encoding="utf-8")
    after = contact_uids(cid)
    assert after == {"Li Wei": before["Li Wei"], "Wang Fang": before["Wang Fang"]}


def test_a_contact_without_an_id_gets_a_stable_one(crm):
    """A contact written by hand (or by an older crm) has no id: the export's UID is
    derived from the customer id and its name, and a save writes that same id."""
    cid = company_with_contacts()
    path = crm / "customers" / f"{cid}.yaml"
    from crmcli import yamlio

    rec = yamlio.loads(path.read_text(encoding="utf-8"))
    rec["contacts"] = [{k: v for k, v in c.items() if k != "id"} for c in rec["contacts"]]
    path.write_text(yamlio.dumps(rec), encoding="utf-8")
    first = contact_uids(cid)
    assert first == contact_uids(cid)  # the same on every export (and every clone)
    ok("customer", "edit", cid, "--industry", "pumps")  # a save gives the ids
    saved = yamlio.loads(path.read_text(encoding="utf-8"))["contacts"]
    assert all(c.get("id") for c in saved)
    assert contact_uids(cid) == first


def test_url_is_not_text_escaped(crm):
    ok("customer", "add", "Acme", "--website", "https://acme.example/a,b;c?x=1,2")
    text = ok("export", "--format", "vcf").out
    assert "\r\nURL:https://acme.example/a,b;c?x=1,2\r\n" in text


def test_lines_are_folded_at_75_octets_between_characters(crm):
    note = "日本語のテキストé😀," * 40
    ok("lead", "add", "Yamada", "--company", "株式会社テスト" * 8, "--field", f"note={note}")
    data = ok("export", "--format", "vcf").out.encode("utf-8")
    lines = data.split(b"\r\n")
    assert max(len(x) for x in lines) <= 75
    for x in lines:
        x.decode("utf-8")  # no line ends inside a character
    (card,) = vobject.readComponents(data.decode("utf-8"))
    assert card.note.value == note
    assert card.org.value == ["株式会社テスト" * 8]


def test_converted_lead_is_not_exported_beside_what_it_became(crm):
    lid = ok("lead", "add", "Li Wei", "--company", "Acme", "--email", "li@acme.cn",
             "--format", "json").json()["id"]  # fmt: skip
    ok("lead", "add", "Open Lead", "--email", "open@x.cn")
    ok("lead", "convert", lid)
    names = sorted(c.fn.value for c in vcards().values())
    assert names == ["Acme", "Li Wei", "Open Lead"]  # the company, its contact, the open lead
    kept = [c for c in vcards("--include-converted").values() if c.uid.value == f"crm-lead-{lid}"]
    assert len(kept) == 1


def test_vcard_fields_read_back_by_vobject(crm):
    ok("lead", "add", "Doe, John", "--company", "Company, The", "--title", "CEO; founder",
       "--email", "john@doe.example", "--phone", "+49 30 1234567",
       "--field", "note=line one\nline two, with; marks",
       "--field", "website=https://doe.example/?a=1,2")  # fmt: skip
    (card,) = vcards().values()
    assert card.fn.value == "Doe, John"
    assert card.org.value == ["Company, The"]
    assert card.title.value == "CEO; founder"
    assert card.email.value == "john@doe.example"
    assert card.tel.value == "+49301234567"
    assert card.note.value == "line one\nline two, with; marks"
    # vobject reads every property as text (it would cut a URI at its comma): the line
    assert "\r\nURL:https://doe.example/?a=1,2\r\n" in ok("export", "--format", "vcf").out


# ----- CSV ----------------------------------------------------------------------------


def csv_rows(kind: str) -> list[dict[str, str]]:
    text = ok("export", "--kind", kind, "--format", "csv").out
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_cells_with_line_breaks_are_quoted_and_guarded(crm):
    ok("lead", "add", "A", "--field", "note=one\r=cmd()\rtwo")
    ok("lead", "add", "B", "--field", "note=x\n@SUM(A1)\r\n+1\n-2")
    text = ok("export", "--kind", "lead", "--format", "csv").out
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 3  # a bare CR never splits a row
    rows = {r["name"]: r for r in csv_rows("lead")}
    assert rows["A"]["fields"] == '{"note": "one\\r=cmd()\\rtwo"}'  # JSON: no break at all
    ok("lead", "edit", "A", "--company", "Line\r=HYPERLINK(1)")
    rows = {r["name"]: r for r in csv_rows("lead")}
    assert rows["A"]["company"] == "Line\r'=HYPERLINK(1)"
    # every line of a cell is guarded, and the cell is one cell
    from crmcli.encode import csv_cell

    assert csv_cell("x\n@SUM(A1)\r\n+1\n-2\rok") == "x\n'@SUM(A1)\r\n'+1\n'-2\rok"


def test_lead_csv_imports_back_with_tags_source_status_and_owner(crm, tmp_path, monkeypatch):
    from conftest import set_settings

    set_settings(crm, owners=["alice", "bob"], sources=["event", "referral"])
    ok("lead", "add", "Li Wei", "--company", "Acme", "--title", "Buyer", "--email", "li@acme.cn",
       "--phone", "+86 138 0013 8000", "--source", "event", "--owner", "bob",
       "--tag", "vip", "--tag", "expo", "--field", "size=big")  # fmt: skip
    ok("lead", "status", "Li Wei", "qualified")
    out = tmp_path / "leads.csv"
    ok("export", "--kind", "lead", "--format", "csv", "--output", str(out))
    (row,) = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert (row["tags"], row["source"], row["status"], row["owner"]) == (
        "expo; vip",
        "event",
        "qualified",
        "bob",
    )
    other = tmp_path / "other"
    ok("init", str(other))
    monkeypatch.setenv("CRM_DIR", str(other))
    r = ok("lead", "import", str(out), "--format", "json")
    assert "not imported" not in r.err
    (lead,) = ok("lead", "list", "--format", "json").json()
    keys = ("name", "company", "title", "emails", "phones", "source", "status", "owner", "tags")
    assert {k: lead[k] for k in keys} == {
        "name": "Li Wei",
        "company": "Acme",
        "title": "Buyer",
        "emails": ["li@acme.cn"],
        "phones": ["+8613800138000"],
        "source": "event",
        "status": "qualified",
        "owner": "bob",
        "tags": ["expo", "vip"],
    }
    assert lead["fields"] == {"size": "big"}


# ----- khard --------------------------------------------------------------------------


def test_khard_lists_the_exported_vcards(crm, tmp_path):
    """khard (a vCard address book for the terminal) reads a directory of one card a
    file, as a CardDAV sync tool leaves it: every exported card is listed by its UID and name."""
    import subprocess
    import sys

    import pytest

    pytest.importorskip("khard")
    cid = company_with_contacts()
    ok("lead", "add", "Doe, John", "--company", "Company, The", "--email", "j@doe.example")
    ok("lead", "add", "山田太郎", "--company", "株式会社テスト" * 8)  # long: folded
    ok("lead", "add", "Eva Neu", "--company", "Neu KG", "--email", "eva@neu.de")
    ok("lead", "convert", "Eva Neu")  # listed once: as the contact she became
    text = ok("export", "--format", "vcf").out
    book = tmp_path / "book"
    book.mkdir()
    cards = [c + "END:VCARD\r\n" for c in text.split("END:VCARD\r\n") if c.strip()]
    for i, card in enumerate(cards):
        (book / f"{i}.vcf").write_bytes(card.encode("utf-8"))
    conf = tmp_path / "khard.conf"
    conf.write_text(f"[addressbooks]\n[[crm]]\npath = {book}\n[general]\n", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "khard", "-c", str(conf), "list", "--parsable"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    listed = {line.split("\t")[0]: line.split("\t")[1] for line in r.stdout.splitlines()}
    expected = {}
    for cust in ok("customer", "list", "--format", "json").json():
        expected[f"crm-customer-{cust['id']}"] = cust["name"]
        for c in cust["contacts"]:
            expected[f"crm-customer-{cust['id']}-contact-{c['id']}"] = c["name"]
    for lead in ok("lead", "list", "--status", "new", "--format", "json").json():
        expected[f"crm-lead-{lead['id']}"] = lead["name"]
    assert listed == expected
    assert sorted(listed.values()) == sorted(
        ["Acme GmbH", "Li Wei", "Zhang San", "Wang Fang", "Doe, John", "山田太郎", "Neu KG",
         "Eva Neu"]
    )  # fmt: skip
    assert cid
