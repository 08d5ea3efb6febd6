"""crm mail import / log: messages written here (EmailMessage, and raw bytes in legacy
charsets), in .eml files, mbox and Maildir folders, matched to customers, contacts
and leads; e-mail entries, idempotence, internal mail, leads made, threads waiting."""

from __future__ import annotations

import mailbox
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import added, refused, run, set_settings, snapshot

from crmcli import yamlio
from crmcli.mail import importer, parse, threads
from crmcli.store import Store

ME = "alice@ourco.example"
MAIL = {"me": [ME], "internal_domains": ["ourco.example"]}


def message(frm: str, to: str, subject: str, body: str = "Hello.", **extra) -> bytes:
    """A message as a mail client writes it (modern policy: RFC 2047 for non-ASCII)."""
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, to, subject
    m["Date"] = extra.pop("date", "Mon, 16 Nov 2026 09:30:00 +0100")
    if extra.get("mid", True):
        m["Message-ID"] = extra.pop("mid", "<m1@acme.example>")
    extra.pop("mid", None)
    for header in ("cc", "reply_to", "in_reply_to", "references"):
        if header in extra:
            m[header.replace("_", "-").title()] = extra.pop(header)
    m.set_content(body)
    if "html" in extra:
        m.add_alternative(extra.pop("html"), subtype="html")
    if "attach" in extra:
        name, data = extra.pop("attach")
        m.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    assert not extra, extra
    return bytes(m)


@pytest.fixture
def acme(crm) -> dict:
    set_settings(crm, mail=MAIL)
    c = added("customer", "Acme GmbH", "--email", "info@acme.example")
    r = run("customer", "contact", "add", c["id"], "Li Wei", "--email", "li.wei@acme.example")
    assert r.code == 0, r.err
    return c


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def entries(root: Path) -> list[dict]:
    out = []
    for p in sorted((root / "activities").glob("*.yaml")):
        out.append(yamlio.loads(p.read_text(encoding="utf-8")))
    return out


def imported(*args: str) -> dict:
    r = run("mail", "import", *args, "--format", "json")
    assert r.code == 0, r.err
    return r.json()


# ----- matching and the entry ------------------------------------------------------------


def test_a_contact_message_is_logged_on_its_customer_with_every_field(crm, acme, tmp_path):
    body = ("Thanks, the pumps arrived.\n\nBest,\nLi\n\n"
            "On Fri, Nov 13, 2026 at 10:00 AM Alice <alice@ourco.example> wrote:\n"
            "> Did the pumps arrive?\n> Alice\n")  # fmt: skip
    raw = message("Li Wei <li.wei@acme.example>", f"Alice <{ME}>", "Re: pumps", body,
                  cc="Bob <bob@ourco.example>", in_reply_to="<q1@ourco.example>",
                  references="<q0@ourco.example> <q1@ourco.example>",
                  attach=("drawing.pdf", b"%PDF" + b"x" * 996))  # fmt: skip
    out = imported(write(tmp_path / "a.eml", raw))
    assert (out["logged"], out["already"], out["unknown"], out["internal"]) == (1, 0, 0, 0)
    [e] = entries(crm)
    assert e["on"] == acme["id"] and e["kind"] == "email" and e["direction"] == "in"
    assert e["from"] == "Li Wei <li.wei@acme.example>" and e["by"] == "Li Wei"
    assert e["to"] == [f"Alice <{ME}>"] and e["cc"] == ["Bob <bob@ourco.example>"]
    assert e["subject"] == e["text"] == "Re: pumps"
    assert e["at"] == "2026-11-16T16:30:00+08:00"  # the Date, in the CRM's zone
    assert e["message_id"] == "m1@acme.example" and e["in_reply_to"] == "q1@ourco.example"
    assert e["references"] == ["q0@ourco.example", "q1@ourco.example"]
    assert e["snippet"] == "Thanks, the pumps arrived."  # quote and signature cut
    assert e["attachments"] == [{"name": "drawing.pdf", "size": 1000}]
    assert "body" not in e and "deal" not in e  # (no deal: not written)
    assert e["id"].startswith("m-") and e["id"] == out["rows"][0]["entries"][0]["id"]


def test_mail_from_us_is_out_and_matches_by_to_cc_and_reply_to(crm, acme, tmp_path):
    lead = added("lead", "Wang Fang", "--email", "wf@newco.example")
    out = imported(
        write(tmp_path / "a.eml", message(ME, "info@acme.example", "Quote", mid="<o1@x>")),
        write(
            tmp_path / "b.eml",
            message(ME, "x@other.example", "Hi", cc="wf@newco.example", mid="<o2@x>"),
        ),  # fmt: skip
        write(
            tmp_path / "c.eml",
            message("noreply@tool.example", ME, "Form", reply_to="wf@newco.example", mid="<o3@x>"),
        ),  # fmt: skip
    )
    assert out["logged"] == 3
    by_on = sorted((e["on"], e["direction"], e["subject"]) for e in entries(crm))
    assert by_on == sorted([(acme["id"], "out", "Quote"), (lead["id"], "out", "Hi"),
                            (lead["id"], "in", "Form")])  # fmt: skip


def test_one_message_is_logged_on_every_record_it_matches(crm, acme, tmp_path):
    lead = added("lead", "Hans Meier", "--email", "hans@meier.example")
    raw = message(ME, "info@acme.example, hans@meier.example", "Offer")
    out = imported(write(tmp_path / "a.eml", raw))
    assert out["logged"] == 1 and out["entries"] == 2
    assert sorted(e["on"] for e in entries(crm)) == sorted([acme["id"], lead["id"]])


def test_internal_mail_is_never_logged_and_unknown_is_counted(crm, acme, tmp_path):
    before = snapshot(crm)
    out = imported(
        write(tmp_path / "a.eml", message(ME, "bob@ourco.example", "Lunch?", mid="<i1@x>")),
        write(tmp_path / "b.eml", message("bob@sales.ourco.example", ME, "Fwd", mid="<i2@x>")),
        write(tmp_path / "c.eml", message("spam@else.example", ME, "Offer", mid="<u1@x>")),
    )
    assert (out["logged"], out["internal"], out["unknown"]) == (0, 2, 1)
    assert [r["outcome"] for r in out["rows"]] == ["internal", "internal", "unknown"]
    assert snapshot(crm) == before


def test_create_leads_makes_a_lead_once_per_correspondent(crm, acme, tmp_path):
    a = write(tmp_path / "a.eml", message("Zhou Min <zm@new.example>", ME, "Inquiry", mid="<n1@x>"))
    b = write(tmp_path / "b.eml", message(ME, "zm@new.example", "Re: Inquiry", mid="<n2@x>"))
    out = imported(a, b, "--create-leads")
    assert out["logged"] == 2 and len(out["leads_created"]) == 1
    lead = run("lead", "show", "zm@new.example", "--format", "json").json()
    assert lead["name"] == "Zhou Min" and lead["id"] == out["leads_created"][0]
    assert lead["source"] == "email" and lead["created"] == "2026-11-16T16:30:00+08:00"
    assert {e["on"] for e in entries(crm)} == {lead["id"]}
    before = snapshot(crm)
    again = imported(a, b, "--create-leads")
    assert again["already"] == 2 and again["leads_created"] == []
    assert snapshot(crm) == before


def test_body_only_with_the_option_or_the_setting(crm, acme, tmp_path):
    a = write(
        tmp_path / "a.eml", message("info@acme.example", ME, "One", "Full text.", mid="<b1@x>")
    )
    imported(a, "--body")
    assert entries(crm)[0]["body"] == "Full text."
    set_settings(crm, mail={**MAIL, "keep_body": True})
    imported(
        write(tmp_path / "b.eml", message("info@acme.example", ME, "Two", "Also.", mid="<b2@x>"))
    )
    assert sorted(e.get("body") for e in entries(crm)) == ["Also.", "Full text."]


# ----- charsets, HTML --------------------------------------------------------------------


def raw_message(headers: list[str], body: bytes, ctype: str, cte: str = "8bit") -> bytes:
    head = "\r\n".join([*headers, "MIME-Version: 1.0", f"Content-Type: {ctype}",
                        f"Content-Transfer-Encoding: {cte}"])  # fmt: skip
    return head.encode("ascii") + b"\r\n\r\n" + body


def test_subjects_names_and_bodies_in_legacy_charsets_decode(crm, acme, tmp_path):
    import base64

    gb = raw_message(
        ["From: =?GB2312?B?" + base64.b64encode("李伟".encode("gb2312")).decode() + "?= <li.wei@acme.example>",
         f"To: {ME}", "Subject: =?GB2312?B?" + base64.b64encode("关于水泵的报价".encode("gb2312")).decode() + "?=",
         "Date: Tue, 17 Nov 2026 10:00:00 +0800", "Message-ID: <gb@x>"],
        base64.encodebytes("您好，请报价。".encode("gb2312")), "text/plain; charset=gb2312", "base64")  # fmt: skip
    jp = raw_message(
        ["From: info@acme.example", f"To: {ME}", "Subject: =?ISO-2022-JP?B?"
         + base64.b64encode("ポンプのお見積り".encode("iso-2022-jp")).decode() + "?=",
         "Date: Tue, 17 Nov 2026 11:00:00 +0900", "Message-ID: <jp@x>"],
        "お世話になっております。".encode("iso-2022-jp"), "text/plain; charset=iso-2022-jp", "7bit")  # fmt: skip
    de = raw_message(
        ["From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <info@acme.example>", f"To: {ME}",
         "Subject: =?ISO-8859-1?Q?Angebot_f=FCr_Gr=F6=DFe_DN20?=",
         "Date: Tue, 17 Nov 2026 12:00:00 +0100", "Message-ID: <de@x>"],
        b"Gr=FC=DFe aus K=F6ln", "text/plain; charset=iso-8859-1", "quoted-printable")  # fmt: skip
    raw8 = raw_message(  # 8-bit GBK header bytes, as old Chinese clients send them
        ["From: info@acme.example", f"To: {ME}", "Date: Tue, 17 Nov 2026 13:00:00 +0800",
         "Message-ID: <raw@x>"], "订单已发货".encode("gbk"), "text/plain; charset=gbk")  # fmt: skip
    raw8 = raw8.replace(b"To:", b"Subject: " + "发货通知".encode("gbk") + b"\r\nTo:", 1)
    paths = [write(tmp_path / f"{n}.eml", m) for n, m in
             (("gb", gb), ("jp", jp), ("de", de), ("raw", raw8))]  # fmt: skip
    out = imported(*paths)
    assert out["logged"] == 4
    got = {e["message_id"]: e for e in entries(crm)}
    assert got["gb@x"]["subject"] == "关于水泵的报价" and got["gb@x"]["by"] == "李伟"
    assert got["gb@x"]["snippet"] == "您好，请报价。"
    assert got["jp@x"]["subject"] == "ポンプのお見積り"
    assert got["jp@x"]["snippet"] == "お世話になっております。"
    assert got["de@x"]["subject"] == "Angebot für Größe DN20"
    assert got["de@x"]["from"] == "Jürgen Müller <info@acme.example>"
    assert got["de@x"]["snippet"] == "Grüße aus Köln"
    assert got["raw@x"]["subject"] == "发货通知" and got["raw@x"]["snippet"] == "订单已发货"
    shown = run("customer", "show", acme["id"])
    assert "关于水泵的报价" in shown.out and "Angebot für Größe DN20" in shown.out


def test_html_only_mail_gives_readable_text(crm, acme, tmp_path):
    html = ("<html><head><style>p{color:red}</style></head><body><p>Dear Alice,</p>"
            "<ul><li>10 pumps</li><li>2 valves</li></ul><p>Best &amp; thanks</p></body></html>")  # fmt: skip
    raw = raw_message(["From: info@acme.example", f"To: {ME}", "Subject: Order",
                       "Message-ID: <h@x>", "Date: Tue, 17 Nov 2026 12:00:00 +0100"],
                      html.encode(), "text/html; charset=utf-8")  # fmt: skip
    imported(write(tmp_path / "h.eml", raw))
    snippet = entries(crm)[0]["snippet"]
    assert "10 pumps" in snippet and "Best & thanks" in snippet
    assert "<" not in snippet and "color" not in snippet


# ----- never twice ---------------------------------------------------------------------------


def test_reimport_and_other_copies_change_nothing(crm, acme, tmp_path):
    msgs = [message("info@acme.example", ME, f"Mail {i}", mid=f"<c{i}@x>") for i in range(3)]
    box = mailbox.mbox(tmp_path / "in.mbox")
    for m in msgs:
        box.add(m)
    box.close()
    md = mailbox.Maildir(tmp_path / "Maildir")
    for m in msgs:
        md.add(m)
    first = imported(str(tmp_path / "in.mbox"))
    assert first["logged"] == 3
    before = snapshot(crm)
    for source in (str(tmp_path / "in.mbox"), str(tmp_path / "Maildir"),
                   write(tmp_path / "one.eml", msgs[0])):  # fmt: skip
        again = imported(source)
        assert again["logged"] == 0 and again["already"] >= 1
        assert snapshot(crm) == before


def test_the_entry_id_is_the_same_on_another_clone(tmp_path, crm, acme):
    """Same message, same record: the same file name and bytes (even as another user)."""
    raw = message("info@acme.example", ME, "Same")
    imported(write(tmp_path / "a.eml", raw))
    [path] = (crm / "activities").glob("*.yaml")
    first = path.read_bytes()
    path.unlink()
    r = run("mail", "log", "-", input=raw.decode())
    assert r.code == 0 and path.read_bytes() == first


def test_no_message_id_gets_a_stable_id_from_its_headers(crm, acme, tmp_path):
    raw = message("info@acme.example", ME, "No id", mid=False)
    a = imported(write(tmp_path / "a.eml", raw))
    b = imported(write(tmp_path / "b.eml", raw))
    assert a["logged"] == 1 and b["already"] == 1
    assert a["rows"][0]["entries"][0]["id"] == b["rows"][0]["entries"][0]["id"]
    other = imported(
        write(tmp_path / "c.eml", message("info@acme.example", ME, "Other", mid=False))
    )
    assert other["logged"] == 1


def test_dry_run_writes_nothing_and_says_what_would_be_logged(crm, acme, tmp_path):
    before = snapshot(crm)
    path = write(tmp_path / "a.eml", message("new@x.example", ME, "Hi"))
    out = imported(path, "--dry-run", "--create-leads")
    assert out["dry_run"] is True and out["logged"] == 1 and len(out["leads_created"]) == 1
    assert snapshot(crm) == before
    r = run("mail", "import", path, "--dry-run")
    assert r.code == 0 and "Dry run, nothing written" in r.out and "0 logged" in r.out


def test_json_shape(crm, acme, tmp_path):
    out = imported(write(tmp_path / "a.eml", message("info@acme.example", ME, "Hi")))
    assert set(out) == {"logged", "already", "unknown", "internal", "unreadable", "entries",
                        "leads_created", "dry_run", "rows"}  # fmt: skip
    [row] = out["rows"]
    assert set(row) == {"source", "message_id", "date", "from", "subject", "outcome",
                        "entries", "reason"}  # fmt: skip
    assert set(row["entries"][0]) == {"id", "on", "kind", "name", "deal", "new"}
    assert row["entries"][0]["name"] == "Acme GmbH" and row["entries"][0]["kind"] == "customer"


# ----- deals --------------------------------------------------------------------------------


def test_the_entry_links_the_deal_its_subject_names_or_the_only_open_one(crm, acme, tmp_path):
    pump = added("deal", "Pump order", "--customer", acme["id"])
    imported(write(tmp_path / "a.eml", message(ME, "info@acme.example", "Quote", mid="<d1@x>")))
    assert entries(crm)[0]["deal"] == pump["id"]  # the only open deal
    valve = added("deal", "Valve retrofit", "--customer", acme["id"])
    imported(write(tmp_path / "b.eml", message(ME, "info@acme.example", "Re: valve retrofit",
                                               mid="<d2@x>")))  # fmt: skip
    imported(write(tmp_path / "c.eml", message("info@acme.example", ME, "Re: Quote", mid="<d3@x>",
                                               in_reply_to="<d1@x>")))  # fmt: skip
    imported(write(tmp_path / "d.eml", message("info@acme.example", ME, "Hello", mid="<d4@x>")))
    deal_of = {e["message_id"]: e.get("deal") for e in entries(crm)}
    assert deal_of == {"d1@x": pump["id"], "d2@x": valve["id"], "d3@x": pump["id"], "d4@x": None}
    shown = run("deal", "show", pump["id"], "--format", "json").json()
    assert [t["subject"] for t in shown["mail_threads"]] == ["Re: Quote"]
    assert shown["mail_threads"][0]["messages"] == 2


# ----- crm mail log ---------------------------------------------------------------------------


def test_mail_log_from_stdin(crm, acme):
    raw = message("info@acme.example", ME, "Piped").decode()
    r = run("mail", "log", "-", input=raw)
    assert r.code == 0 and 'Logged "Piped" on customer Acme GmbH' in r.out
    r = run("mail", "log", "-", input=raw)
    assert r.code == 0 and "Already logged" in r.out
    before = snapshot(crm)
    r = run(
        "mail", "log", "-", input=message("who@nowhere.example", ME, "Hm", mid="<z@x>").decode()
    )
    assert r.code == 0 and r.out == "" and "Not logged" in r.err and "Hm" in r.err
    assert snapshot(crm) == before
    r = run("mail", "log", "-", "--create-lead", input=message("who@nowhere.example", ME, "Hm",
                                                                mid="<z@x>").decode())  # fmt: skip
    assert r.code == 0 and "Logged" in r.out
    assert run("lead", "show", "who@nowhere.example").code == 0


def test_mail_log_takes_one_message_not_a_mailbox(crm, acme, tmp_path):
    """A Maildir or mbox given to `mail log` is refused, naming `mail import`, and
    nothing is written (an empty Maildir failed with an IndexError)."""
    box = mailbox.mbox(tmp_path / "in.mbox")
    for i in range(2):
        box.add(message("info@acme.example", ME, f"Mail {i}", mid=f"<m{i}@x>"))
    box.close()
    mailbox.Maildir(tmp_path / "Maildir")
    before = snapshot(crm)
    for source in (tmp_path / "in.mbox", tmp_path / "Maildir"):
        refused(run("mail", "log", str(source)), "one message", "crm mail import")
    assert snapshot(crm) == before


def test_mail_log_through_the_console_script_with_binary_stdin(crm, acme):
    """As mutt's pipe-message runs it: a real process, raw 8-bit bytes on stdin."""
    import os
    import sys

    raw = raw_message(["From: info@acme.example", f"To: {ME}", "Subject: Latin",
                       "Message-ID: <p@x>", "Date: Tue, 17 Nov 2026 12:00:00 +0100"],
                      "Grüße".encode("latin-1"), "text/plain; charset=iso-8859-1")  # fmt: skip
    crm_bin = Path(sys.executable).with_name("crm")
    proc = subprocess.run([str(crm_bin), "mail", "log", "-"], input=raw, capture_output=True,
                          env={**os.environ, "CRM_DIR": str(crm)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert entries(crm)[0]["snippet"] == "Grüße"


# ----- bad input ------------------------------------------------------------------------------


def test_no_mail_and_no_maildir_are_one_error_line(crm, acme, tmp_path):
    before = snapshot(crm)
    good = write(tmp_path / "a.eml", message("info@acme.example", ME, "Fine"))
    notes = write(tmp_path / "notes.txt", b"just some text\nno headers\n")
    refused(run("mail", "import", good, notes), "notes.txt", "no mail")
    (tmp_path / "folder").mkdir()
    refused(run("mail", "import", str(tmp_path / "folder")), "folder", "no Maildir")
    refused(run("mail", "import", str(tmp_path / "missing.mbox")), "missing.mbox")
    refused(run("mail", "log", "-", input=""), "empty")
    refused(run("mail", "log", "-", input="hello\n"), "no mail")
    assert snapshot(crm) == before


@pytest.mark.parametrize(
    "mail, word",
    [({"me": "alice@x"}, "mail.me"), ({"me": ["not-an-address"]}, "mail.me"),
     ({"internal_domains": 3}, "mail.internal_domains"), ({"awaiting_days": -1}, "mail.awaiting_days"),
     ({"keep_body": "yes"}, "mail.keep_body"), ({"colour": 1}, "mail.colour"), ("x", "'mail'")],
)  # fmt: skip
def test_bad_mail_settings_name_the_key(crm, mail, word):
    set_settings(crm, mail=mail)
    refused(run("mail", "import", "-", input="x"), word)


def test_crm_init_comments_the_mail_settings(tmp_path):
    assert run("init", str(tmp_path / "new")).code == 0
    text = (tmp_path / "new" / "crm.yaml").read_text()
    assert "mail:\n  me: []" in text and "internal_domains: []" in text
    assert "awaiting_days: 3" in text and "keep_body: false" in text


# ----- one commit, doctor, canonical files ------------------------------------------------------


def test_an_import_is_one_commit_and_undone_as_one(crm, acme, tmp_path, monkeypatch):
    from test_git import _git_env, git

    _git_env(monkeypatch, tmp_path / "home")
    git(crm, "init", "-q", "-b", "main")
    set_settings(crm, mail=MAIL, git={"autocommit": True})
    git(crm, "add", "-A")
    git(crm, "commit", "-qm", "start")
    paths = [write(tmp_path / f"{i}.eml", message("info@acme.example", ME, f"M{i}", mid=f"<g{i}@x>"))
             for i in range(3)]  # fmt: skip
    imported(*paths)
    log = git(crm, "log", "--format=%s").splitlines()
    assert len(log) == 2 and log[0].startswith("mail: log 3 messages")
    assert len(entries(crm)) == 3
    r = run("undo")
    assert r.code == 0, r.err
    assert entries(crm) == []


def test_doctor_accepts_entries_and_a_note_keeps_its_old_form(crm, acme, tmp_path):
    imported(write(tmp_path / "a.eml", message("info@acme.example", ME, "Hi",
                                               attach=("a.pdf", b"12345"))))  # fmt: skip
    run("customer", "note", acme["id"], "called")
    r = run("doctor")
    assert r.code == 0 and "no problems" in r.err, r.out + r.err
    note = next(e for e in entries(crm) if e["kind"] == "note")
    assert list(note) == ["id", "on", "kind", "text", "by", "at"]


# ----- threads: awaiting / owes, last contact ------------------------------------------------


def test_awaiting_and_owes_reply(crm, acme, tmp_path, monkeypatch):
    # Friday 20 Nov 2026: our quote (out) and their question (in), each its own thread
    imported(
        write(tmp_path / "a.eml", message(ME, "info@acme.example", "Quote",
                                          date="Fri, 20 Nov 2026 10:00:00 +0800", mid="<w1@x>")),
        write(tmp_path / "b.eml", message("info@acme.example", ME, "Question",
                                          date="Fri, 20 Nov 2026 11:00:00 +0800", mid="<w2@x>")),
    )  # fmt: skip
    data = lambda: run("task", "remind", "--format", "json").json()  # noqa: E731
    monkeypatch.setenv("CRM_NOW", "2026-11-22T12:00:00+08:00")  # Sunday: nothing yet
    d = data()
    assert d["awaiting_reply"] == [] and d["owes_reply"] == []
    monkeypatch.setenv("CRM_NOW", "2026-11-23T10:30:00+08:00")  # 3 days after the quote
    d = data()
    assert [i["subject"] for i in d["awaiting_reply"]] == ["Quote"] and d["owes_reply"] == []
    text = run("task", "remind").out
    assert "Mail you owe a reply" not in text and "Mail awaiting their reply" in text
    monkeypatch.setenv("CRM_NOW", "2026-11-23T11:30:00+08:00")  # a working day after Friday
    d = data()
    assert [i["subject"] for i in d["owes_reply"]] == ["Question"]
    item = d["owes_reply"][0]
    assert item["records"][0]["id"] == acme["id"] and item["direction"] == "in"
    assert item["records"][0]["name"] == "Acme GmbH" and item["days"] == 3
    # their answer to the quote, and ours to the question: nothing waits
    imported(
        write(tmp_path / "c.eml", message("info@acme.example", ME, "Re: Quote", mid="<w3@x>",
                                          date="Mon, 23 Nov 2026 09:00:00 +0800",
                                          references="<w1@x>")),
        write(tmp_path / "d.eml", message(ME, "info@acme.example", "Re: Question", mid="<w4@x>",
                                          date="Mon, 23 Nov 2026 09:30:00 +0800",
                                          in_reply_to="<w2@x>")),
    )  # fmt: skip
    d = data()
    assert d["awaiting_reply"] == [] and d["owes_reply"] == []
    threads_ = run("customer", "show", acme["id"], "--format", "json").json()["mail_threads"]
    assert [(t["subject"], t["messages"]) for t in threads_] == [
        ("Re: Question", 2),
        ("Re: Quote", 2),
    ]


def test_awaiting_days_setting(crm, acme, tmp_path, monkeypatch):
    set_settings(crm, mail={**MAIL, "awaiting_days": 1})
    imported(write(tmp_path / "a.eml", message(ME, "info@acme.example", "Quote",
                                               date="Sat, 21 Nov 2026 10:00:00 +0800")))  # fmt: skip
    monkeypatch.setenv("CRM_NOW", "2026-11-22T10:00:01+08:00")
    assert len(run("task", "remind", "--format", "json").json()["awaiting_reply"]) == 1


def test_a_logged_mail_is_the_customers_last_contact(crm, acme, tmp_path, monkeypatch):
    assert run("customer", "edit", acme["id"], "--cadence", "2w").code == 0
    monkeypatch.setenv("CRM_NOW", "2026-12-10T10:00:00+08:00")  # added 23 Nov: 2 weeks past
    due = run("task", "list", "--due-contact", "--format", "json").json()
    assert [c["id"] for c in due] == [acme["id"]]
    imported(write(tmp_path / "a.eml", message("info@acme.example", ME, "Hi",
                                               date="Tue, 01 Dec 2026 09:30:00 +0800")))  # fmt: skip
    assert run("task", "list", "--due-contact", "--format", "json").json() == []
    monkeypatch.setenv("CRM_NOW", "2026-12-16T10:00:00+08:00")
    due = run("task", "list", "--due-contact", "--format", "json").json()
    assert due[0]["last_contact"] == "2026-12-01T09:30:00+08:00"


def test_working_day_and_threads_join_without_references(store):
    from datetime import datetime

    fri = datetime.fromisoformat("2026-11-20T15:00:00+08:00")
    assert threads.after_working_day(fri).isoformat() == "2026-11-23T15:00:00+08:00"
    sat = datetime.fromisoformat("2026-11-21T15:00:00+08:00")
    assert threads.after_working_day(sat).isoformat() == "2026-11-24T00:00:00+08:00"
    base = {"kind": "email", "on": "c1", "deal": None, "subject": "s", "references": []}
    got = threads.threads(store, [
        {**base, "id": "a", "at": "2026-11-01T10:00:00+08:00", "direction": "out", "message_id": "1", "in_reply_to": None},
        {**base, "id": "b", "at": "2026-11-02T10:00:00+08:00", "direction": "in", "message_id": "2", "in_reply_to": "1"},
        {**base, "id": "c", "at": "2026-11-03T10:00:00+08:00", "direction": "out", "message_id": "3", "in_reply_to": "2"},
        {**base, "id": "d", "on": "l1", "at": "2026-11-03T10:00:00+08:00", "direction": "out", "message_id": "3", "in_reply_to": "2"},
    ])  # fmt: skip
    assert len(got) == 1 and [m["id"] for m in got[0]] == ["a", "b", "c"]
    assert got[0][-1]["records"] == ["c1", "l1"]


def test_import_messages_is_the_api_for_fetch(crm, acme):
    store = Store(crm)
    summary = importer.import_messages(store, [message("info@acme.example", ME, "API"),
                                               ("inbox 7", b"garbage without headers")])  # fmt: skip
    assert (summary.logged, summary.already, summary.unknown, summary.internal) == (1, 0, 0, 0)
    assert summary.counts["unreadable"] == 1 and summary.rows[1]["source"] == "inbox 7"
    assert parse.parse(message("a@b.example", "c@d.example", "x")).subject == "x"


def test_doctor_names_an_entry_whose_deal_is_gone(crm, acme, tmp_path):
    deal = added("deal", "Pump order", "--customer", acme["id"])
    imported(write(tmp_path / "a.eml", message(ME, "info@acme.example", "Quote")))
    (crm / "deals" / f"{deal['id']}.yaml").unlink()
    r = run("doctor")
    assert r.code == 1 and f"links to deal {deal['id']}, which does not exist" in r.out + r.err


def test_a_message_twice_in_one_mbox_and_chunks_read_by_a_worker(crm, acme, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK", 3)
    monkeypatch.setenv("CRM_MAIL_WORKERS", "1")
    box = mailbox.mbox(tmp_path / "in.mbox")
    for i in range(8):
        box.add(message("info@acme.example", ME, f"M{i}", f"Text {i}.", mid=f"<k{i}@x>"))
    box.add(message("info@acme.example", ME, "M0", "Text 0.", mid="<k0@x>"))  # INBOX and Sent
    box.close()
    out = imported(str(tmp_path / "in.mbox"))
    assert (out["logged"], out["already"]) == (8, 1)
    got = {e["subject"]: e["snippet"] for e in entries(crm)}
    assert got == {f"M{i}": f"Text {i}." for i in range(8)}
    assert Store(crm).query("activity", fields=("id",)) == [{"id": e["id"]} for e in entries(crm)]


def test_the_entries_written_go_into_the_index_as_their_files_read(
    crm, acme, tmp_path, monkeypatch
):
    import sqlite3

    from crmcli import index

    monkeypatch.setattr(index, "RACY_NS", 0)  # (files this new are racy: parsed again)
    box = mailbox.mbox(tmp_path / "in.mbox")
    for i in range(5):
        box.add(message("info@acme.example", ME, f"M{i}", attach=("a.pdf", b"x"), mid=f"<j{i}@x>"))
    box.close()
    store = Store(crm)
    store.query("activity")  # the index in step before the import
    importer.import_messages(store, sources_of(tmp_path / "in.mbox"))
    [db] = crm.glob(".crm/index-*.sqlite")
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT count(*), count(sig) FROM rec WHERE kind='activity'").fetchone()
    assert rows == (5, 5)  # every entry's row, with its file's signature
    indexed = Store(crm).query("activity")
    monkeypatch.setenv("CRM_NO_INDEX", "1")
    assert indexed == Store(crm).query("activity")


def sources_of(path: Path):
    from crmcli.mail import sources

    return sources.messages(sources.check([str(path)]))


@pytest.mark.skipif(
    shutil.which("mutt") is None or shutil.which("script") is None,
    reason="mutt (Debian's mutt; .ci/run installs it) or script (util-linux) not installed",
)
def test_mutt_pipes_a_message_with_the_readme_macro(crm, acme, tmp_path):
    """mutt, on a pseudo-terminal (script), runs README's macro on a message of an mbox."""
    import os
    import re
    import sys

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    macro = re.search(r"^macro index,pager L .*$", readme, re.M).group(0)
    crm_bin = Path(sys.executable).with_name("crm")
    box = mailbox.mbox(tmp_path / "in.mbox")
    box.add(message("info@acme.example", ME, "Über mutt", "Hallo aus mutt."))
    box.close()
    rc = tmp_path / "muttrc"
    rc.write_text(f"set mbox_type=mbox\nset wait_key=no\nset folder={tmp_path}\n"
                  + macro.replace("crm mail log", f"{crm_bin} mail log") + "\n")  # fmt: skip
    cmd = f"mutt -n -F {rc} -f {tmp_path / 'in.mbox'} -e 'push L<quit>'"
    env = {**os.environ, "CRM_DIR": str(crm), "TERM": "xterm", "HOME": str(tmp_path)}
    subprocess.run(["script", "-qec", cmd, "/dev/null"], env=env, capture_output=True,
                   timeout=30, cwd=tmp_path)  # fmt: skip
    [e] = entries(crm)
    assert (
        e["subject"] == "Über mutt" and e["snippet"] == "Hallo aus mutt." and e["on"] == acme["id"]
    )


def test_the_index_key_is_the_same_in_every_process(crm):
    """(A set's order changes with the hash seed: the key must not, or each command
    would build an index of its own.)"""
    import os
    import sys

    code = "from crmcli.store import Store; import sys; print(Store(sys.argv[1])._get_index().path)"
    paths = {
        subprocess.run(
            [sys.executable, "-c", code, str(crm)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout  # fmt: skip
        for seed in (1, 2, 3)
    }
    assert len(paths) == 1 and paths != {""}


def test_without_mail_settings_a_warning_says_what_that_means(crm, tmp_path):
    added("customer", "Acme GmbH", "--email", "info@acme.example")
    r = run(
        "mail",
        "import",
        write(tmp_path / "a.eml", message("me@x.example", "info@acme.example", "Hi")),
    )
    assert r.code == 0 and "mail.me and mail.internal_domains are empty" in r.err
    assert entries(crm)[0]["direction"] == "in"
