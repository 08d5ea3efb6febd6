"""crm lead import: CSV and vCard readers, dedupe and merge, batches, summaries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES, run, snapshot

from crmcli.importers import detect_format
from crmcli.importers.csvreader import known_field, parse_map, read_csv
from crmcli.importers.engine import Importer, clean
from crmcli.importers.vcard import read_vcf
from crmcli.store import Store

SAMPLE_DIR = FIXTURES / "samples"  # byte-for-byte copies of /work/shared/samples


def sample(part: str) -> Path:
    (path,) = [p for p in SAMPLE_DIR.iterdir() if part in p.name]
    return path


def imp(*args: str, input: str | None = None):
    r = run("lead", "import", *args, "--format", "json", input=input)
    assert r.code == 0, r.err
    return r.json()


def leads() -> list[dict]:
    r = run("lead", "list", "--format", "json")
    assert r.code == 0, r.err
    return r.json()


def lead_named(name: str) -> dict:
    (found,) = [x for x in leads() if x["name"] == name]
    return found


# ----- every real-world sample ------------------------------------------------------


def test_google_contacts_csv(crm):
    s = imp(str(sample("google_contacts.csv")))
    assert (s["created"], s["rejected"]) == (2, 0)
    jerry = lead_named("Jerry Mathis")
    assert jerry["emails"] == ["jerry@example.com"]
    assert jerry["phones"] == ["(757) 555-0101"]  # no default_region: kept as written
    assert (jerry["company"], jerry["title"]) == ("Example Partners", "Founder")
    zoe = lead_named("Zoë, Smith")  # a quoted name with a comma stays one name
    assert zoe["emails"] == ["zoe@example.com"]
    assert (zoe["company"], zoe["title"]) == ("Unicode Works", "Engineer")


def test_google_contacts_csv_with_default_region(crm):
    from conftest import set_settings

    set_settings(crm, default_region="US")
    imp(str(sample("google_contacts.csv")))
    assert lead_named("Jerry Mathis")["phones"] == ["+17575550101"]


def test_outlook_csv_three_emails_several_phones(crm):
    s = imp(str(sample("outlook.csv")))
    assert s["created"] == 3
    adam = lead_named("Adam Glacius")
    assert adam["emails"] == ["adam.glacius@anycom.com", "adam.g@example.com", "ag@glacius.com"]
    assert adam["phones"][0] == "+1 555 3227 8544"  # the mobile first
    assert "+1 555 3227 8547" in adam["phones"]  # business phone
    assert (adam["company"], adam["title"]) == ("Acme Inc.", "Sales Planner")
    assert adam["fields"]["note"] == "Has 2 kids"
    assert "+1 555 3227 8549" in adam["fields"]["fax"]  # faxes kept, not as phones
    # Daniel and Duncan share an office line with different names and e-mails:
    # two people, not one merged lead.
    assert lead_named("Daniel Ireland")["title"] == "Receptionist"
    assert lead_named("Duncan Amey")["emails"] == ["duncanamey@dreamt.com"]


def test_thunderbird_csv(crm):
    s = imp(str(sample("addrbook__test__unit__data__export.csv")))
    assert s["created"] == 2
    two = lead_named("contact number two")
    assert two["title"] == '"worker"'
    assert two["fields"]["note"] == "here's some unicode text…"
    # contact2@invalid is no usable address: the card stays, the e-mail is noted
    assert two["emails"] == []
    row = [r for r in s["rows"] if r["name"] == "contact number two"][0]
    assert row["line"] == 3
    assert any("contact2@invalid" in n for n in row["notes"])


def test_semicolon_csv(crm):
    s = imp(str(sample("csv_semicolon.csv")))
    assert [r["name"] for r in s["rows"]] == ["John Doe", "Jane Doe"]
    assert s["created"] == 2


def test_iphone_vcard(crm):
    s = imp(str(sample("John_Doe_IPHONE.vcf")))
    assert s["created"] == 1
    (john,) = leads()
    assert john["name"] == "Mr. John Richter James Doe Sr."  # FN, not N
    assert john["emails"] == ["john.doe@ibm.com"]
    assert john["company"] == "IBM"
    assert john["fields"]["department"] == "Accounting"
    assert john["title"] == "Money Counter"
    assert john["phones"][0] == "905-555-1234"  # the preferred one first
    assert "905-222-1234" in john["phones"]  # item-grouped TEL
    assert "905-888-1234" in john["fields"]["fax"]


def test_android_vcard_quoted_printable(crm):
    s = imp(str(sample("John_Doe_ANDROID.vcf")))
    by_card = {r["card"]: r for r in s["rows"]}
    assert len(by_card) == 6
    # cards 1 and 2 hold only an e-mail: named after it, with a note
    for n, email in ((1, "john.doe@company.com"), (2, "jane.doe@company.com")):
        assert (by_card[n]["outcome"], by_card[n]["name"]) == ("created", email)
        assert "no person's name: named after the e-mail address" in by_card[n]["notes"]
    assert lead_named("Ñ Ñ Ñ Ñ Ñ")["phones"] == ["123456789"]
    four = lead_named("Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ")
    assert four["phones"] == ["123456", "234567", "3456789", "45678901"]
    # card 5: its PHOTO is broken base64; the rest of the card imports, noted
    bob = lead_named("Ñ Ñ Ñ Ñ")
    assert bob["emails"] == ["bob@company.com"]
    assert bob["company"] == "ÑÑÑÑÑÑÑÑÑÑÑÑ"
    assert any(n.startswith("PHOTO left out") for n in by_card[5]["notes"])
    # card 6: one ORG has a byte that is not UTF-8; the card still imports
    henry = lead_named("ÑÑÑÑ")
    assert (henry["emails"], henry["phones"]) == (["henry@company.com"], ["55556666"])


def test_outlook_2007_vcard_folded_quoted_printable(crm):
    imp(str(sample("outlook-2007.vcf")))
    (mike,) = leads()
    assert mike["name"] == "Mr. Michael Angstadt Jr."
    assert mike["emails"] == ["mike.angstadt@gmail.com"]
    assert (mike["company"], mike["title"]) == ("TheCompany", "TheJobTitle")
    assert mike["phones"] == ["(111) 555-1111", "(111) 555-2222", "(111) 555-4444"]
    assert mike["fields"]["note"].startswith("This is the NOTE field\nI assume it encodes")
    assert mike["fields"]["note"].endswith("It does not preserve the formatting")


def test_german_vcard_21_quoted_printable_org_and_note(crm):
    s = imp(str(sample("v2_1.vcf")))
    (maxl,) = leads()
    assert maxl["name"] == "Maxl"
    assert maxl["company"] == "Firma"
    assert maxl["fields"]["department"] == "Führungsetage"
    assert maxl["title"] == "Position"
    assert maxl["emails"] == [
        "privat@folker-kinzel.de",
        "business@folker-kinzel.de",
        "andere@folker-kinzel.de",
    ]
    assert maxl["fields"]["note"].startswith("Kommentar ÄÄÄÄÄÄ ääääää ÖÖÖÖÖÖ")
    # "Tel privat", "Handy": labels, not numbers; left out with a note each
    assert maxl["phones"] == []
    assert maxl["fields"]["fax"] == "0123/579"
    assert any("'Handy' left out" in n for n in s["rows"][0]["notes"])


def test_vcard40_org_and_group(crm):
    s = imp(str(sample("vcard40_org.vcf")), str(sample("vcard40_group.vcf")))
    org = lead_named("ABC Marketing")
    assert org["company"] == "ABC, Inc."
    assert org["fields"]["department"] == "North American Division; Marketing"
    assert org["emails"] == ["marketing@abc.example.com"]
    assert org["phones"] == ["+15550000000"]  # tel: URI
    group = [r for r in s["rows"] if "group" in r["file"]][0]
    assert group["outcome"] == "rejected"
    assert group["card"] == 1
    assert "KIND:group" in group["reason"]
    assert group["name"] == "The Doe Family"


def test_korean_vcard_with_only_fn(crm):
    s = imp(str(sample("korean-c.vcf")))
    assert s["created"] == 1
    assert leads()[0]["name"] == "최유림"


def test_broken_radicale_card_is_reported_with_a_reason(crm):
    r = run("lead", "import", str(sample("broken-vcards2.vcf")))
    assert r.code == 0, r.err
    assert "2 created" in r.out and "0 rejected" in r.out
    assert "card 2" in r.out and "no person's name" in r.out
    s = imp(str(sample("broken-vcards2.vcf")))
    (card2,) = [x for x in s["rows"] if x["card"] == 2]  # no FN or N, but an e-mail
    assert card2["name"] == "test-misses-n-or-fn@example1.com"
    assert lead_named("Test Example")["emails"] == ["test-misses-n-or-fn@example.com"]


def test_every_sample_imports_together_and_again_changes_nothing(crm):
    files = sorted(str(p) for p in SAMPLE_DIR.iterdir())
    first = imp(*files)
    assert first["created"] == 22  # the Android and Radicale e-mail-only cards too
    assert first["rejected"] == 1  # the group
    before = snapshot(crm)
    second = imp(*files)
    assert second["created"] == second["merged"] == 0
    assert second["skipped"] == 22
    assert snapshot(crm) == before


def test_shared_samples_when_present(crm):
    """The fixtures are the very bytes of /work/shared/samples."""
    from conftest import SAMPLES

    if not SAMPLES.is_dir():
        pytest.skip("no shared samples here")
    for p in SAMPLES.iterdir():
        if p.suffix in (".csv", ".vcf"):
            assert (SAMPLE_DIR / p.name).read_bytes() == p.read_bytes()


# ----- encodings, delimiters, headers -----------------------------------------------


def test_gbk_csv_with_chinese_headers(crm):
    s = imp(str(FIXTURES / "contacts_gbk.csv"))
    assert s["created"] == 2
    wang = lead_named("王芳")
    assert wang["company"] == "北京星辰科技有限公司"
    assert wang["title"] == "采购经理"
    assert wang["emails"] == ["wang.fang@example.cn"]  # lowercased
    assert wang["phones"] == ["138 0013 8000"]
    assert wang["fields"]["note"] == "展会上认识"
    assert lead_named("李伟")["phones"] == ["+8613900139000"]


def test_gbk_csv_phones_with_default_region(crm):
    from conftest import set_settings

    set_settings(crm, default_region="CN")
    imp(str(FIXTURES / "contacts_gbk.csv"))
    assert lead_named("王芳")["phones"] == ["+8613800138000"]


def test_utf8_bom_csv(crm):
    s = imp(str(FIXTURES / "contacts_bom.csv"))
    assert s["created"] == 1
    zoe = lead_named("Zoë Müller")
    assert (zoe["company"], zoe["title"], zoe["emails"]) == (
        "Müller GmbH",
        "CEO",
        ["zoe@mueller.de"],
    )


def test_linkedin_connections_with_notes_before_the_header(crm):
    s = imp(str(FIXTURES / "linkedin_connections.csv"))
    assert [(r["line"], r["name"]) for r in s["rows"]] == [(5, "Ada Lovelace"), (6, "Alan Turing")]
    ada = lead_named("Ada Lovelace")
    assert (ada["company"], ada["title"]) == ("Analytical Engines", "Founder")
    assert ada["fields"]["website"] == "https://www.linkedin.com/in/ada"


def test_hubspot_export(crm):
    imp(str(FIXTURES / "hubspot_contacts.csv"))
    grace = lead_named("Grace Hopper")
    assert grace["phones"] == ["+12025550100", "+12025550101"]
    assert (grace["company"], grace["title"]) == ("US Navy", "Rear Admiral")
    assert grace["owner"] == "alice"  # the acting user, not HubSpot's contact owner


def test_outlook_export_title_is_not_the_job_title(crm):
    imp(str(FIXTURES / "outlook_export.csv"))
    hans = lead_named("Hans Schmidt")
    assert hans["title"] == "Buyer"
    assert hans["fields"]["department"] == "Einkauf"
    assert hans["emails"] == ["hans@schmidt.de", "h.schmidt@gmail.com"]
    assert hans["fields"]["note"] == "Met at Hannover Messe"


@pytest.mark.parametrize(
    "header, field",
    [
        ("Full Name", "name"), ("E-mail", "email"), ("e-mail address", "email"),
        ("Mobile", "phone"), ("Organization", "company"), ("姓名", "name"), ("电话", "phone"),
        ("手机", "phone"), ("邮箱", "email"), ("公司", "company"), ("职位", "title"),
        ("E-mail 2 - Value", "email"), ("Phone 3 - Value", "phone"), ("Given Name", "first_name"),
        ("Organization 1 - Title", "title"), ("E-mail 1 - Type", None), ("Birthday", None),
    ],
)  # fmt: skip
def test_known_headers(header, field):
    assert known_field(header) == field


def test_vcard_v3_chinese_n_without_fn_types_and_folding(crm):
    s = imp(str(FIXTURES / "cards_v3.vcf"))
    zhang = lead_named("张伟")  # from N: family name first, no space
    assert zhang["company"] == "深圳华强电子有限公司"
    assert zhang["fields"]["department"] == "销售部"
    assert zhang["emails"] == ["zhang.wei@huaqiang.cn", "zw@qq.com"]
    assert zhang["phones"] == ["+8613800001111", "+8675588882222"]
    assert zhang["fields"]["fax"] == "+8675588883333"
    assert zhang["fields"]["note"] == "在深圳电子展上认识, 对水泵感兴趣"
    assert lead_named("Maria Garcia")["title"].endswith("fold across lines")
    rows = {r["card"]: r for r in s["rows"]}
    # card 3: its FN is not UTF-8; left out with a note, the card named after its e-mail
    assert (rows[3]["outcome"], rows[3]["name"]) == ("created", "broken@example.com")
    assert "FN left out: its bytes are not valid UTF-8" in rows[3]["notes"]
    assert rows[4]["outcome"] == "created"  # a broken EMAIL line does not lose the card
    assert any(n.startswith("EMAIL left out") for n in rows[4]["notes"])
    assert rows[5]["outcome"] == "created"  # the cards after a broken one import


def test_reader_cards_are_plain_dicts():
    cards = read_vcf((FIXTURES / "cards_v3.vcf").read_bytes(), "cards.vcf")
    assert cards[1]["card"] == 2 and cards[1]["file"] == "cards.vcf"
    assert {"name", "company", "title", "emails", "phones", "fields"} <= set(cards[0])
    rows, info = read_csv((FIXTURES / "contacts_gbk.csv").read_bytes(), "gbk.csv")
    assert info["encoding"] == "gb18030"
    assert rows[0]["line"] == 2 and rows[0]["name"] == "王芳"


def test_detect_format():
    assert detect_format("a.VCF", b"") == "vcf"
    assert detect_format("-", b"\r\nBEGIN:VCARD\r\n") == "vcf"
    assert detect_format("-", b"name,email\n") == "csv"
    assert detect_format("a.vcf", b"", "csv") == "csv"


# ----- stdin, --map -----------------------------------------------------------------


def test_stdin_csv_and_vcf(crm):
    s = imp("-", "--input-format", "csv", input="name;email\nEva;eva@example.com\n")
    assert s["rows"][0]["file"] == "-"
    vcf = (FIXTURES / "samples" / sample("vcard40_org.vcf").name).read_text(encoding="utf-8")
    s = imp("-", "--input-format", "vcf", input=vcf)
    assert s["created"] == 1
    assert {x["name"] for x in leads()} == {"Eva", "ABC Marketing"}
    (act,) = run("lead", "show", "Eva", "--format", "json").json()["timeline"]
    assert "imported from standard input" in act["text"]


def test_map_columns(crm):
    s = imp(
        str(FIXTURES / "odd_headers.csv"),
        "--map", "Kontakt=name", "--map", "firma=company",
        "--map", "Handynummer=phone", "--map", "Geburtstag=fields.birthday",
    )  # fmt: skip
    assert s["created"] == 1
    eva = lead_named("Eva Klein")
    assert (eva["company"], eva["phones"]) == ("Klein KG", ["+491705555555"])
    assert eva["fields"] == {"birthday": "1990-01-01"}


def test_map_errors_write_nothing(crm):
    before = snapshot(crm, "**/*.yaml")
    f = str(FIXTURES / "odd_headers.csv")
    r = run("lead", "import", f, "--map", "Kontakt=name", "--map", "Nope=phone")
    assert r.code == 1 and r.err.startswith("Error: --map: no column 'nope'")
    r = run("lead", "import", f, "--map", "Kontakt=shoe_size")
    assert r.code == 1 and "unknown field 'shoe_size'" in r.err
    r = run("lead", "import", f, "--map", "Kontakt")
    assert r.code == 1 and "COLUMN=field" in r.err
    unknown = crm / "unknown.csv"
    unknown.write_text("Kontakt;Geburtstag\nEva Klein;1990-01-01\n")
    r = run("lead", "import", str(unknown))  # no known column at all
    assert r.code == 1 and "--map COLUMN=field" in r.err
    assert snapshot(crm, "**/*.yaml") == before


def test_parse_map_aliases():
    assert parse_map(["Vorname=first", "E-Post=e-mail", "X=fields.x"]) == {
        "vorname": "first_name",
        "e post": "email",
        "x": "fields.x",
    }


# ----- dry run, re-runs, duplicates -------------------------------------------------


def test_dry_run_writes_nothing_and_says_the_same(crm):
    f = str(FIXTURES / "hubspot_contacts.csv")
    before = snapshot(crm)
    dry = imp(f, "--dry-run")
    assert snapshot(crm) == before
    assert dry["dry_run"] is True
    assert dry["created"] == 2 and all(r["id"] is None for r in dry["rows"])
    r = run("lead", "import", f, "--dry-run")
    assert r.code == 0 and "Dry run, nothing written" in r.out
    real = imp(f)
    assert {k: real[k] for k in ("created", "merged", "skipped", "rejected")} == {
        k: dry[k] for k in ("created", "merged", "skipped", "rejected")
    }


def test_second_run_creates_nothing_and_changes_no_file(crm):
    files = [str(FIXTURES / "contacts_gbk.csv"), str(FIXTURES / "cards_v3.vcf")]
    first = imp(*files, "--source", "trade-show", "--tag", "expo")
    assert first["created"] == 7
    before = snapshot(crm)
    again = imp(*files, "--source", "trade-show", "--tag", "expo")
    assert (again["created"], again["merged"], again["skipped"]) == (0, 0, 7)
    assert snapshot(crm) == before


def test_duplicates_within_one_file_merge(crm, tmp_path):
    f = tmp_path / "dupes.csv"
    f.write_text(
        "name,email,phone,company\n"
        "Li Na,li.na@example.com,,\n"
        "Li Na,LI.NA@example.com,+86 138 1111 2222,Tennis Ltd\n"
        "Li Na,li.na@example.com,,\n",
        encoding="utf-8",
    )
    s = imp(str(f))
    assert [r["outcome"] for r in s["rows"]] == ["created", "merged", "skipped"]
    (li,) = leads()
    assert li["phones"] == ["+8613811112222"] and li["company"] == "Tennis Ltd"
    assert s["rows"][1]["id"] == s["rows"][0]["id"] == li["id"]
    assert "added phone +8613811112222, company" in s["rows"][1]["reason"]


def test_duplicates_across_files_merge(crm, tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("name,email\nOmar Haddad,omar@haddad.io\n", encoding="utf-8")
    b = tmp_path / "b.vcf"
    b.write_text(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Omar Haddad\nEMAIL:Omar@Haddad.io\nTITLE:CTO\nEND:VCARD\n",
        encoding="utf-8",
    )
    s = imp(str(a), str(b))
    assert (s["created"], s["merged"]) == (1, 1)
    (omar,) = leads()
    assert omar["title"] == "CTO"
    assert omar["batches"] == [s["batch"]]


def test_phone_match_merges_only_with_the_same_name(crm, tmp_path):
    assert run("lead", "add", "Kenji Sato", "--phone", "+81 3 1234 5678").code == 0
    f = tmp_path / "p.csv"
    f.write_text(
        "name,phone,email\nkenji  SATO,+81-3-1234-5678,kenji@sato.jp\n"
        "Yuki Tanaka,+81 3 1234 5678,yuki@tanaka.jp\n",
        encoding="utf-8",
    )
    s = imp(str(f))
    assert [r["outcome"] for r in s["rows"]] == ["merged", "created"]
    assert lead_named("Kenji Sato")["emails"] == ["kenji@sato.jp"]
    assert "not merged (other name)" in s["rows"][1]["notes"][0]


def test_merge_fills_empty_fields_and_keeps_the_rest(crm, tmp_path):
    r = run("lead", "add", "Sara Lind", "--email", "sara@lind.se", "--company", "Lind AB",
            "--owner", "bob", "--format", "json")  # fmt: skip
    assert r.code == 0, r.err
    old = r.json()
    f = tmp_path / "s.csv"
    f.write_text(
        "name,email,company,title,phone\nSara Lind,sara@lind.se,Other AB,VP Sales,+46 8 123 456 78\n",
        encoding="utf-8",
    )
    s = imp(str(f), "--source", "event", "--owner", "carol")
    assert s["merged"] == 1
    sara = lead_named("Sara Lind")
    assert sara["company"] == "Lind AB"  # not overwritten
    assert sara["title"] == "VP Sales"  # filled
    assert sara["phones"] == ["+46812345678"]
    assert sara["source"] == "event"
    assert sara["owner"] == "bob"  # a merge does not hand the lead over
    assert sara["created"] == old["created"]
    assert sara["batches"] == [s["batch"]]
    timeline = run("lead", "show", sara["id"], "--format", "json").json()["timeline"]
    assert any(s["batch"] in a["text"] and "added" in a["text"] for a in timeline)


def test_matching_customer_is_skipped_and_reported(crm, tmp_path):
    assert run("customer", "add", "Acme GmbH", "--email", "info@acme.de",
               "--phone", "+49 30 1234567").code == 0  # fmt: skip
    assert run("customer", "contact", "add", "Acme GmbH", "Li Wei",
               "--email", "li.wei@acme.cn").code == 0  # fmt: skip
    f = tmp_path / "c.csv"
    f.write_text(
        "name,email,phone\n"
        "Acme Front Desk,INFO@acme.de,\n"
        "Acme Switchboard,,+49 (30) 1234567\n"
        "Li Wei,li.wei@acme.cn,\n"
        "New Person,new@person.de,\n",
        encoding="utf-8",
    )
    before = snapshot(crm)
    s = imp(str(f))
    assert [r["outcome"] for r in s["rows"]] == ["skipped", "created", "skipped", "created"]
    assert "already a customer" in s["rows"][0]["reason"] and "Acme GmbH" in s["rows"][0]["reason"]
    # a phone alone is a shared office line: another name there is a new person
    assert "phone +49301234567 is also on customer" in s["rows"][1]["notes"][0]
    assert "Li Wei of customer" in s["rows"][2]["reason"]
    assert sorted(x["name"] for x in leads()) == ["Acme Switchboard", "New Person"]
    changed = set(snapshot(crm)) - set(before)
    assert all(p.startswith(("leads/", "activities/")) for p in changed)


# ----- bad rows ---------------------------------------------------------------------


def test_bad_rows_are_reported_by_line(crm):
    f = str(FIXTURES / "bad_rows.csv")
    s = imp(f)
    rows = {r["line"]: r for r in s["rows"]}
    assert rows[2]["outcome"] == "created"
    assert (rows[3]["outcome"], rows[3]["name"]) == ("created", "nobody@example.com")
    assert rows[4]["outcome"] == "created"  # the note spans lines 4 and 5
    assert (rows[6]["outcome"], rows[6]["reason"]) == ("rejected", "no name, e-mail or phone")
    assert rows[7]["outcome"] == "created"
    assert any("'not-an-email' left out" in n for n in rows[7]["notes"])
    assert lead_named("Bad Mail")["emails"] == []
    assert lead_named("Multi Line")["fields"]["note"] == "first line\nsecond line"
    r = run("lead", "import", f, "--dry-run")
    assert "bad_rows.csv" in r.out and "line 3 " in r.out and "line 6 " in r.out


def test_undecodable_line_is_rejected_the_rest_imports(crm, tmp_path):
    f = tmp_path / "mixed.csv"
    f.write_bytes(
        "name,email\nJosé Díaz,jose@diaz.es\nRenée Faure,renee@faure.fr\n".encode()
        + b"Bad \xff\xfe Bytes,bad@bytes.com\nAnn Lee,ann@lee.com\n"
    )
    s = imp(str(f))
    assert [r["outcome"] for r in s["rows"]] == ["created", "created", "rejected", "created"]
    assert s["rows"][2]["line"] == 4 and "undecodable" in s["rows"][2]["reason"]


def test_missing_file_is_an_error_and_nothing_is_written(crm):
    before = snapshot(crm)
    r = run("lead", "import", str(FIXTURES / "hubspot_contacts.csv"), "nope.csv")
    assert r.code == 1
    assert r.err.startswith("Error: cannot read nope.csv")
    assert snapshot(crm) == before


def test_empty_vcf_is_an_error(crm, tmp_path):
    f = tmp_path / "empty.vcf"
    f.write_text("hello\n", encoding="utf-8")
    r = run("lead", "import", str(f))
    assert r.code == 1 and "no vCard" in r.err


def test_formula_apostrophe_is_stripped(crm, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("name,phone,company\n'=Eve,'+49 30 7777777,'@corp\n", encoding="utf-8")
    imp(str(f))
    (eve,) = leads()
    assert (eve["name"], eve["phones"], eve["company"]) == ("=Eve", ["+49307777777"], "@corp")


# ----- batches, owners, summary -----------------------------------------------------


def test_batch_owner_source_tags_and_activity(crm):
    s = imp(str(FIXTURES / "hubspot_contacts.csv"), "--tag", "expo", "--tag", "vip")
    assert re.fullmatch(r"imp-20261123-100000-[a-z0-9]{4}", s["batch"])
    for lead in leads():
        assert lead["batches"] == [s["batch"]]
        assert lead["owner"] == "alice" and lead["source"] is None
        assert lead["tags"] == ["expo", "vip"] and lead["status"] == "new"
        (act,) = run("lead", "show", lead["id"], "--format", "json").json()["timeline"]
        assert act["text"].startswith("imported from hubspot_contacts.csv (line ")
        assert s["batch"] in act["text"]
    listed = run("lead", "list", "--batch", s["batch"], "--format", "json").json()
    assert len(listed) == 2
    s2 = imp(str(FIXTURES / "contacts_bom.csv"), "--owner", "bob", "--source", "referral")
    zoe = lead_named("Zoë Müller")
    assert (zoe["owner"], zoe["source"]) == ("bob", "referral")
    assert [x["name"] for x in run("lead", "list", "--batch", s2["batch"], "--format",
                                   "json").json()] == ["Zoë Müller"]  # fmt: skip


def test_json_summary_shape(crm):
    s = imp(str(FIXTURES / "bad_rows.csv"), str(FIXTURES / "cards_v3.vcf"))
    assert {"created", "merged", "skipped", "rejected", "batch", "rows"} <= set(s)
    assert s["created"] + s["merged"] + s["skipped"] + s["rejected"] == len(s["rows"])
    for row in s["rows"]:
        assert {"file", "outcome", "id", "name", "reason"} <= set(row)
        assert ("line" in row) != ("card" in row)
        assert row["outcome"] in ("created", "merged", "skipped", "rejected")
        if row["outcome"] == "created":
            assert re.fullmatch(r"[a-z0-9]{8}", row["id"])
    assert {r["file"] for r in s["rows"]} == {
        str(FIXTURES / "bad_rows.csv"),
        str(FIXTURES / "cards_v3.vcf"),
    }


def test_table_summary_and_no_progress_bar_off_a_terminal(crm):
    r = run("lead", "import", str(FIXTURES / "bad_rows.csv"))
    assert r.code == 0
    assert "Imported 4 created, 0 merged, 0 skipped as duplicates, 1 rejected" in r.out
    assert "Importing" not in r.err


def test_note_change_said_once(crm):
    from crmcli.importers.csvreader import read_csv as rc

    store = Store(crm)
    cards, _ = rc((FIXTURES / "hubspot_contacts.csv").read_bytes(), "hubspot_contacts.csv")
    imp_ = Importer(store, batch="imp-test", source=None)
    with store.lock():
        imp_.run(cards)
    assert imp_.counts["created"] == 2
    r = run("lead", "import", str(FIXTURES / "contacts_bom.csv"))
    assert r.code == 0
    from crmcli.commands.common import state

    assert state.store.messages == ["lead: import 1 lead from contacts_bom.csv"]


def test_lookups_are_built_once_not_per_row(crm, monkeypatch):
    """Reading every lead for each row would make big imports quadratic."""
    calls = []
    for method in ("_all", "query"):
        original = getattr(Store, method)

        def counting(self, kind, *a, _original=original, _method=method, **kw):
            projected = "fields" in kw and kw["fields"] is not None
            calls.append((_method, kind) if _method == "_all" or projected else ("whole", kind))
            return _original(self, kind, *a, **kw)

        monkeypatch.setattr(Store, method, counting)
    rows = "".join(f"Person {i},p{i}@example.com,+49 30 {1000000 + i}\n" for i in range(300))
    s = imp("-", "--input-format", "csv", input="name,email,phone\n" + rows * 2)
    assert s["created"] == 300 and s["skipped"] == 300
    assert calls.count(("query", "lead")) == 1 and calls.count(("query", "customer")) == 1
    assert ("_all", "lead") not in calls  # no whole leads held: only what matching needs
    assert ("whole", "lead") not in calls


# ----- interrupted imports ----------------------------------------------------------


def test_interrupted_import_leaves_whole_records_and_resumes(crm, monkeypatch):
    rows = "".join(f"Person {i},p{i}@example.com\n" for i in range(20))
    text = "name,email\n" + rows
    original = Store.add_activity
    seen = []

    def interrupt_after_eight(self, *a, **kw):
        if len(seen) == 8:
            raise KeyboardInterrupt
        seen.append(1)
        return original(self, *a, **kw)

    monkeypatch.setattr(Store, "add_activity", interrupt_after_eight)
    r = run("lead", "import", "-", "--input-format", "csv", input=text)
    assert r.code == 130
    assert "Interrupted after" in r.err and "Run the same import again" in r.err
    monkeypatch.setattr(Store, "add_activity", original)
    partial = leads()
    assert len(partial) == 9  # the ninth lead was written, its activity not
    for p in (crm / "leads").glob("*.yaml"):
        assert Store(crm).read_file("lead", p)["name"].startswith("Person")
    assert not list((crm / "leads").glob(".*.tmp"))
    s = imp("-", "--input-format", "csv", input=text)
    assert (s["created"], s["skipped"]) == (11, 9)
    assert sorted(x["name"] for x in leads()) == sorted(f"Person {i}" for i in range(20))


def test_import_stopped_between_a_lead_and_its_entry_is_completed_by_the_next_run(crm, monkeypatch):
    text = "name,email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(5))
    original = Store.add_activity
    calls = []

    def stop_at_the_third_entry(self, *a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, *a, **kw)

    monkeypatch.setattr(Store, "add_activity", stop_at_the_third_entry)
    assert run("lead", "import", "-", "--input-format", "csv", input=text).code == 130
    monkeypatch.setattr(Store, "add_activity", original)
    third = lead_named("Person 2")  # written; its timeline entry not
    batch = third["batches"][0]
    assert Store(crm).timeline(third["id"]) == []
    r = run("doctor")
    assert r.code == 1
    assert r.out.splitlines() == [
        f"leads/{third['id']}.yaml: batches: {batch}: no timeline entry of that import (it "
        "was stopped before writing one); run the same import again to complete it"
    ]

    s = imp("-", "--input-format", "csv", input=text)
    assert (s["created"], s["skipped"]) == (2, 3)
    row = next(x for x in s["rows"] if x["name"] == "Person 2")
    assert row["reason"].endswith(
        f"nothing new; wrote the timeline entry of batch {batch}, "
        "which an interrupted import left out"
    )
    entries = [e["text"] for e in Store(crm).timeline(third["id"])]
    assert entries == [f"imported from standard input (line 4), batch {batch}"]
    assert run("doctor").code == 0
    imp("-", "--input-format", "csv", input=text)  # once complete, nothing more is written
    assert len(Store(crm).timeline(third["id"])) == 1


# ----- the engine alone -------------------------------------------------------------


def test_clean_normalises_and_notes():
    card = {
        "file": "f", "line": 2, "name": "", "company": "Solo Ltd", "title": "",
        "emails": ["A@B.COM", "a@b.com", "nope"], "phones": ["+49 30 1234567", "x"],
        "fields": {}, "notes": [], "error": None,
    }  # fmt: skip
    c = clean(card, "DE")
    assert c["emails"] == ["a@b.com"]
    assert c["phones"] == ["+49301234567"]
    assert c["name"] == "Solo Ltd"  # named after the company
    assert len(c["notes"]) == 3


def test_engine_dry_run_on_a_store(store):
    cards, _ = read_csv(b"name,email\nA,a@x.com\nA,a@x.com\n", "t.csv")
    i = Importer(store, batch="imp-x", dry_run=True)
    i.run(cards)
    assert [r["outcome"] for r in i.rows] == ["created", "skipped"]
    assert store.query("lead") == []


def test_quick_email_check_agrees_with_normalize_email():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from crmcli.contactinfo import normalize_email
    from crmcli.errors import CrmError
    from crmcli.importers.engine import check_email

    def answer(fn, text):
        try:
            return fn(text)
        except CrmError as e:
            return ("error", e.message)

    parts = st.text(alphabet="aZ9.-_+'@ ñü\"xn", max_size=12)
    domains = st.sampled_from(
        ["example.com", "Example.ORG", "x", "doe.invalid", "münchen.de", "xn--mnchen-3ya.de",
         "-x.com", "x_y.com", "1.2.3.4", "localhost", "a.b.c.co.uk", "x.com."]
    )  # fmt: skip

    @settings(max_examples=300, deadline=None)
    @given(parts, domains)
    def same(local, domain):
        text = f"{local}@{domain}"
        assert answer(check_email, text) == answer(normalize_email, text)

    same()


def test_killed_import_leaves_whole_records_and_a_rerun_completes(crm, tmp_path):
    """`kill` (SIGTERM) in the middle of a real import, in a real process: sent by
    the import itself once 20 records are written (CRM_TEST_KILL_AFTER), so the test
    stops it at a known record, never at a moment it polls the clock for."""
    import os
    import subprocess
    import sys

    n = 300
    f = tmp_path / "many.csv"
    f.write_text(
        "name,email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(n)),
        encoding="utf-8",
    )
    env = {**os.environ, "CRM_DIR": str(crm), "CRM_TEST_KILL_AFTER": "20"}
    cmd = [sys.executable, "-m", "crmcli", "lead", "import", str(f)]
    proc = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 130, proc.stderr  # stopped in the middle
    assert b"Interrupted after" in proc.stderr
    assert len(list((crm / "leads").glob("*.yaml"))) == 20
    store = Store(crm)
    for p in (crm / "leads").glob("*.yaml"):
        assert store.read_file("lead", p)["name"].startswith("Person ")
    assert not list((crm / "leads").glob(".*.tmp"))
    s = imp(str(f))
    assert s["rejected"] == 0
    assert len(Store(crm).query("lead")) == n


def test_vcard_21_in_gbk_raw_and_quoted_printable(crm, tmp_path):
    """Chinese phones write vCard 2.1 in GBK: raw bytes, or quoted-printable."""
    raw = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=GB2312:王芳\r\nTEL;CELL:13800138000\r\nEND:VCARD\r\n"
    qp = "".join(f"={b:02X}" for b in "李伟".encode("gbk"))
    qp_card = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=GBK;ENCODING=QUOTED-PRINTABLE:"
        f"{qp}\r\nORG;CHARSET=GBK;ENCODING=QUOTED-PRINTABLE:"
        + "".join(f"={b:02X}" for b in "华强电子".encode("gbk"))
        + "\r\nTEL;CELL:13900139000\r\nEND:VCARD\r\n"
    )
    f = tmp_path / "phone.vcf"
    f.write_bytes(raw.encode("gbk") + qp_card.encode("ascii"))
    s = imp(str(f))
    assert s["created"] == 2
    assert lead_named("王芳")["phones"] == ["13800138000"]
    assert lead_named("李伟")["company"] == "华强电子"


# ----- issue 13: values whole, charsets, localized headers, cards never dropped ------


def write(crm: Path, name: str, data: bytes) -> str:
    path = crm / name
    path.write_bytes(data)
    return str(path)


def rows_of(s: dict) -> dict:
    return {r.get("card") or r.get("line"): r for r in s["rows"]}


LONG_NOTE = ", ".join(f"point {i}; more, and more" for i in range(30))  # ~700 characters


@pytest.mark.parametrize("version", ["2.1", "3.0", "4.0"])
def test_vcard_values_with_unescaped_commas_and_semicolons_arrive_whole(crm, version):
    assert len(LONG_NOTE) > 700
    card = (
        f"BEGIN:VCARD\r\nVERSION:{version}\r\nFN:Doe, John\r\nN:Doe;John;;;\r\n"
        "ORG:Company, The;Sales\r\nTITLE:Head, Sales\\, EMEA\r\nROLE:Buyer\r\n"
        f"NOTE:{LONG_NOTE}\\nsecond line \\; end\r\nEMAIL:john@doe.example\r\n"
        "ADR;TYPE=work:;;1 Main St, Suite 2;Springfield;;12345;USA\r\nEND:VCARD\r\n"
    )
    imp(write(crm, "c.vcf", card.encode()))
    john = lead_named("Doe, John")
    assert (john["company"], john["fields"]["department"]) == ("Company, The", "Sales")
    assert john["title"] == "Head, Sales, EMEA"
    assert john["fields"]["note"] == f"{LONG_NOTE}\nsecond line ; end"
    assert john["fields"]["address"] == "1 Main St, Suite 2, Springfield, 12345, USA"
    texts = [john["name"], john["company"], john["title"], *john["fields"].values()]
    assert not any(t.startswith("[") for t in texts)  # no value is a Python list's repr


def test_vcard_label_and_rfc6868_caret_escapes_in_parameters(crm):
    card = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Anna Berg\r\nEMAIL:anna@berg.example\r\n"
        'ADR;TYPE="work,pref";LABEL="Hauptstr. 1^nBerlin ^\'Mitte^\' ^^5":;;Hauptstr. 1;Berlin;;;\r\n'
        "END:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bo Lind\r\nEMAIL:bo@lind.example\r\n"
        "LABEL:Storgatan 2, 4 tr\\nStockholm\r\nEND:VCARD\r\n"
    )
    imp(write(crm, "c.vcf", card.encode()))
    assert lead_named("Anna Berg")["fields"]["address"] == 'Hauptstr. 1\nBerlin "Mitte" ^5'
    assert lead_named("Bo Lind")["fields"]["address"] == "Storgatan 2, 4 tr\nStockholm"


@pytest.mark.parametrize(
    "params",
    [
        "ENCODING=QUOTED-PRINTABLE;CHARSET=windows-1252",
        "CHARSET=windows-1252;ENCODING=QUOTED-PRINTABLE",
        "QUOTED-PRINTABLE;CHARSET=ISO-8859-1",
    ],
)
def test_vcard_declared_charset_anywhere_among_parameters(crm, params):
    qp = "=".join(["", *(f"{b:02X}" for b in "Jürgen Müller, Groß".encode("cp1252"))])
    card = f"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;{params}:{qp}\r\nEMAIL:j@m.example\r\nEND:VCARD\r\n"
    s = imp(write(crm, "c.vcf", card.encode()))
    assert lead_named("Jürgen Müller, Groß")
    assert not any("guessed" in n for n in s["rows"][0]["notes"])  # declared, not guessed


def test_vcard_quoted_printable_8bit_without_charset_is_guessed_out_loud(crm):
    names = ["Jürgen Müller", "Sören Täge", "Günther Größe", "Käthe Weiß"]
    cards = ""
    for i, name in enumerate(names):
        qp = "".join(f"={b:02X}" for b in name.encode("cp1252"))
        cards += f"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;ENCODING=QUOTED-PRINTABLE:{qp}\r\n"
        cards += f"EMAIL:p{i}@x.example\r\nEND:VCARD\r\n"
    s = imp(write(crm, "c.vcf", cards.encode()))
    assert sorted(x["name"] for x in leads()) == sorted(names)
    for row in s["rows"]:  # cp1250 and cp1252 agree on German letters: either is right
        assert any(n.startswith("encoding guessed: windows-125") for n in row["notes"])


GERMAN = ["Jürgen Müller", "Sören Täge", "Günther Größe", "Käthe Weiß", "Jörg Bäcker", "Uwe Öhler"]
FRENCH = ["François Lefèvre", "Hélène Béranger", "Gaëlle Noël", "Jérôme Lévêque", "Amélie Côté"]
JAPANESE = ["山田太郎", "佐藤花子", "鈴木一郎", "高橋美咲", "田中健太"]
CHINESE = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊"]
TRADITIONAL = ["陳大文", "林小美", "黃志明", "張雅婷", "李國華"]
KOREAN = ["김민수", "이영희", "박지훈", "최수진", "정우성"]
RUSSIAN = ["Иван Петров", "Мария Сидорова", "Ольга Смирнова", "Дмитрий Козлов"]
LEGACY = [
    (GERMAN, "cp1252"), (GERMAN, "latin-1"), (GERMAN, "iso8859-15"),
    (FRENCH, "cp1252"), (FRENCH, "latin-1"), (FRENCH, "iso8859-15"),
    (JAPANESE, "shift_jis"), (JAPANESE, "euc-jp"),
    (CHINESE, "gb18030"), (CHINESE, "gbk"), (TRADITIONAL, "big5"),
    (KOREAN, "euc-kr"), (RUSSIAN, "koi8-r"),
]  # fmt: skip


def _csv_text(names: list[str]) -> str:
    return "Name,Email\n" + "".join(f"{n},p{i}@x.example\n" for i, n in enumerate(names))


def _vcf_text(names: list[str]) -> str:
    return "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{n}\r\nEMAIL:p{i}@x.example\r\nEND:VCARD\r\n"
        for i, n in enumerate(names)
    )


@pytest.mark.parametrize("kind", ["csv", "vcf"])
@pytest.mark.parametrize(("names", "codec"), LEGACY, ids=[c for _, c in LEGACY])
def test_legacy_encodings_read_right_and_said(crm, kind, names, codec):
    for size in (1, 4):  # about 5 and 20 rows
        many = names * size
        text = _csv_text(many) if kind == "csv" else _vcf_text(many)
        data = text.encode(codec)
        rows = read_source_rows(f"c.{kind}", data)
        (note,) = {n for row in rows for n in row["notes"] if n.startswith("encoding guessed: ")}
        assert all(note in row["notes"] for row in rows)  # every row says the guess
        if sorted(row["name"] for row in rows) != sorted(many):
            # not sure (short text): the note names an encoding that reads it right
            others = re.search(r"\(perhaps (.+): --encoding NAME", note)
            assert others, note
            right = [o for o in others.group(1).split(" or ") if _reads(data, o) == text]
            assert right, note
    imp(write(crm, f"c.{kind}", data))
    assert len(leads()) == len(many)


def _reads(data: bytes, label: str) -> str:
    return data.decode(label.replace("windows-", "cp"), "replace")


def read_source_rows(name: str, data: bytes) -> list[dict]:
    from crmcli.importers import read_source

    return read_source(name, data, detect_format(name, data))[0]


@pytest.mark.parametrize("kind", ["csv", "vcf"])
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16"])  # utf-16: with a BOM
@pytest.mark.parametrize("names", [GERMAN, FRENCH, JAPANESE, CHINESE], ids=["de", "fr", "ja", "zh"])
def test_utf16_with_and_without_bom(crm, kind, codec, names):
    text = _csv_text(names) if kind == "csv" else _vcf_text(names)
    imp(write(crm, f"c.{kind}", text.encode(codec)))
    assert sorted(x["name"] for x in leads()) == sorted(names)


def test_short_legacy_text_says_its_guess(crm):
    s = imp(write(crm, "c.csv", "Name,Email\nLefèvre,l@x.example\n".encode("cp1252")))
    (row,) = s["rows"]
    assert any(n.startswith("encoding guessed: ") for n in row["notes"])


def test_encoding_option_forces_one(crm):
    s = imp(write(crm, "c.csv", _csv_text(GERMAN[:2]).encode("latin-1")), "--encoding", "latin-1")
    assert sorted(x["name"] for x in leads()) == sorted(GERMAN[:2])
    assert all(r["notes"] == [] for r in s["rows"])  # forced, not guessed
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Øyvind Ås\r\nEMAIL:o@x.example\r\nEND:VCARD\r\n"
    imp(write(crm, "k.vcf", card.encode("cp1252")), "--encoding", "cp1252")
    assert lead_named("Øyvind Ås")
    before = snapshot(crm)
    r = run("lead", "import", str(crm / "c.csv"), "--encoding", "klingon-8")
    assert r.code == 1 and r.err.strip() == "Error: --encoding 'klingon-8': unknown encoding"
    assert snapshot(crm) == before


OUTLOOK = {
    "de": ["Vorname", "Weitere Vornamen", "Nachname", "Firma", "Abteilung", "Position",
           "Fax geschäftlich", "Telefon geschäftlich", "Telefon geschäftlich 2", "Mobiltelefon",
           "E-Mail-Adresse", "E-Mail-Typ", "E-Mail: Angezeigter Name", "E-Mail 2: Adresse",
           "Notizen"],
    "fr": ["Prénom", "Deuxième prénom", "Nom", "Société", "Service", "Fonction",
           "Télécopie (bureau)", "Téléphone (bureau)", "Téléphone 2 (bureau)", "Tél. mobile",
           "Adresse de messagerie", "Type de messagerie", "Nom complet de l'adresse de messagerie",
           "Adresse de messagerie 2", "Notes"],
    "es": ["Nombre", "Segundo nombre", "Apellidos", "Compañía", "Departamento", "Puesto",
           "Fax del trabajo", "Teléfono del trabajo", "Teléfono del trabajo 2", "Teléfono móvil",
           "Dirección de correo electrónico", "Tipo de correo electrónico",
           "Nombre para mostrar del correo electrónico", "Dirección de correo electrónico 2",
           "Notas"],
    "it": ["Nome", "Secondo nome", "Cognome", "Società", "Reparto", "Posizione",
           "Fax (ufficio)", "Telefono (ufficio)", "Telefono (ufficio) 2", "Cellulare",
           "Indirizzo posta elettronica", "Tipo posta elettronica",
           "Nome visualizzato posta elettronica", "Indirizzo posta elettronica 2", "Notes"],
    "nl": ["Voornaam", "Middelste naam", "Achternaam", "Bedrijf", "Afdeling", "Functie",
           "Fax op werk", "Telefoon op werk", "Telefoon op werk 2", "Mobiele telefoon",
           "E-mailadres", "E-mailtype", "Weergavenaam voor e-mail", "E-mailadres 2",
           "Notities"],
    "pt": ["Nome", "Segundo Nome", "Sobrenome", "Empresa", "Departamento", "Cargo",
           "Fax comercial", "Telefone comercial", "Telefone comercial 2", "Telefone celular",
           "Endereço de email", "Tipo de email", "Nome de exibição do email",
           "Endereço de email 2", "Anotações"],
    "zh": ["名", "中间名", "姓", "公司", "部门", "职务", "商务传真", "商务电话", "商务电话 2",
           "移动电话", "电子邮件地址", "电子邮件类型", "电子邮件显示名称", "电子邮件 2 地址",
           "附注"],
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(OUTLOOK))
def test_outlook_csv_in_its_languages(crm, lang):
    header = OUTLOOK[lang]
    row = ["Eva", "Maria", "Klein", "Klein KG", "Einkauf", "Buyer", "+49 30 1111111",
           "+49 30 2222222", "+49 30 3333333", "+49 170 4444444", "eva@klein.example", "SMTP",
           "Eva Klein (eva@klein.example)", "eva.private@klein.example", "Met at the fair"]  # fmt: skip
    text = ",".join(f'"{h}"' for h in header) + "\n" + ",".join(f'"{c}"' for c in row) + "\n"
    r = run("lead", "import", write(crm, "o.csv", text.encode("utf-8-sig")), "--format", "json")
    assert r.code == 0, r.err
    assert r.err.count(", ") <= 1  # only the e-mail's type and display name: not imported
    (eva,) = leads()
    assert eva["name"] == "Eva Maria Klein"
    assert (eva["company"], eva["title"]) == ("Klein KG", "Buyer")
    assert eva["emails"] == ["eva@klein.example", "eva.private@klein.example"]
    assert eva["phones"] == ["+49302222222", "+49303333333", "+491704444444"]
    assert eva["fields"]["fax"] == "+49301111111"
    assert eva["fields"]["department"] == "Einkauf"
    assert eva["fields"]["note"] == "Met at the fair"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Email Home", "email"), ("E-mail 2 Address", "email"), ("Work Email", "email"),
        ("Email: work", "email"), ("Primäre E-Mail-Adresse", "email"),
        ("Adresse électronique principale", "email"), ("Phone (Mobile)", "phone"),
        ("Business Phone", "phone"), ("Home Phone 2", "phone"), ("Phone: iPhone", "phone"),
        ("Tel. dienstlich", "phone"), ("Mobil-Tel.-Nr.", "phone"), ("Portable", "phone"),
        ("Handynummer", "phone"), ("Home Fax", "fax"), ("Fax-Nummer", "fax"),
        ("Phone 1 - Type", None), ("E-mail 1 - Label", None), ("E-mail Display Name", None),
        ("Telefon Assistent", None), ("Mailing Street", None),
        ("Nom à afficher", "name"), ("Anzeigename", "name"), ("Vorname", "first_name"),
        ("Prénom", "first_name"), ("Nachname", "last_name"), ("Firma", "company"),
    ],
)  # fmt: skip
def test_typed_and_localized_headers(header, field):
    assert known_field(header) == field


def test_no_header_with_columns_by_number(crm):
    f = write(crm, "n.csv", b"Eva Klein,Klein KG,eva@klein.example\nBo Lind,,bo@lind.example\n")
    s = imp(f, "--no-header", "--map", "1=name", "--map", "3=email", "--map", "2=company")
    assert s["created"] == 2
    assert lead_named("Eva Klein")["emails"] == ["eva@klein.example"]
    assert lead_named("Eva Klein")["company"] == "Klein KG"
    for args, msg in [
        (["--no-header"], "with --no-header, name the columns by number"),
        (["--no-header", "--map", "Name=name"], "--map 'name': with --no-header"),
        (["--no-header", "--map", "7=email"], "--map: no column '7'"),
    ]:
        r = run("lead", "import", f, *args)
        assert r.code == 1 and msg in r.err, r.err
    assert len(leads()) == 2


def test_a_card_with_an_address_or_phone_is_never_dropped(crm):
    cards = (
        'BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL:"Omega" <omega@example.com>\r\nEND:VCARD\r\n'
        "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:+49 30 1234567\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:nobody\r\nEND:VCARD\r\n"
    )
    s = imp(write(crm, "c.vcf", cards.encode()))
    rows = rows_of(s)
    omega = lead_named("Omega")
    assert omega["emails"] == ["omega@example.com"]
    assert "no person's name: named after the e-mail's display name" in rows[1]["notes"]
    assert lead_named("+49301234567")["phones"] == ["+49301234567"]
    assert "no person's name: named after the phone number" in rows[2]["notes"]
    assert (rows[3]["outcome"], rows[3]["reason"]) == ("rejected", "no name, e-mail or phone")
    csv_file = write(crm, "c.csv", b'name,email\n,"""Doe, Jane"" <jane@doe.example>"\n')
    imp(csv_file)
    assert lead_named("Doe, Jane")["emails"] == ["jane@doe.example"]


def test_binary_properties_skipped_with_one_note(crm):
    blob = "QUJD" * 40
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Pic Ture\r\nEMAIL:pic@ture.example\r\n"
        + "".join(f"{p};ENCODING=b;TYPE=JPEG:{blob}\r\n" for p in ("PHOTO", "PHOTO", "LOGO"))
        + f"SOUND;ENCODING=b:{blob}\r\nKEY;ENCODING=b:broken==base64\r\nEND:VCARD\r\n"
    )
    s = imp(write(crm, "c.vcf", card.encode()))
    (row,) = s["rows"]
    assert row["outcome"] == "created"
    assert row["notes"] == ["PHOTO, LOGO, SOUND, KEY left out (binary data is not imported)"]


def test_cells_beyond_the_header_are_named_in_a_warning(crm):
    f = write(crm, "x.csv", b"name,email\nEva Klein,eva@klein.example,surplus\nBo,bo@x.example\n")
    r = run("lead", "import", f)
    assert r.code == 0
    assert "cells beyond the header not imported: line 2 column 3" in r.err
