"""crm mail fetch against a real IMAP server: Dovecot, started by tests/dovecot.py on
127.0.0.1 with a throwaway configuration (skipped only when it cannot start)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import added, refused, run, set_settings, snapshot
from dovecot import PASSWORD, running

from crmcli import settings as settings_mod
from crmcli.errors import SettingsError
from crmcli.mail import imap
from crmcli.mail.imap import ImapError, fetch_new

PW_ENV = "CRM_TEST_IMAP_PASSWORD"


def message(n: int, sender: str = "wang@kunde.example", subject: str | None = None) -> bytes:
    subject = subject or f"Anfrage {n}"
    return (
        f"From: {sender}\r\nTo: alice@ourco.example\r\nSubject: {subject}\r\n"
        f"Date: Mon, 23 Nov 2026 09:{n % 60:02d}:00 +0800\r\n"
        f"Message-ID: <m{n}@kunde.example>\r\n\r\nHello {n}\r\n"
    ).encode()


def _start(folder: Path, **kw):
    with running(folder, **kw) as server:
        if isinstance(server, str):
            pytest.skip(f"dovecot cannot start: {server}")
        yield server


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    yield from _start(tmp_path_factory.mktemp("dovecot"))


@pytest.fixture(scope="module")
def shared_tls_server(tmp_path_factory):
    yield from _start(tmp_path_factory.mktemp("dovecot-tls"), ssl=True)


_users = iter(range(1, 10**6))


@pytest.fixture
def server(shared_server):
    """The module's Dovecot, as a user of its own with an empty mailbox."""
    return shared_server.as_user(f"user{next(_users)}")


@pytest.fixture
def own_server(tmp_path):
    """A server of the test's own: for a refused login, after which Dovecot delays
    every login from the same address for seconds (its auth penalty)."""
    yield from _start(tmp_path / "dovecot")


@pytest.fixture
def tls_server(shared_tls_server):
    return shared_tls_server.as_user(f"user{next(_users)}")


def use_imap(root: Path, server, monkeypatch, **imap_keys) -> dict:
    """Point the CRM's mail.imap at `server` (password from an environment variable)."""
    monkeypatch.setenv(PW_ENV, PASSWORD)
    keys = {"host": server.host, "port": server.port, "tls": "none", "user": server.user}
    keys.update({"password_env": PW_ENV, **imap_keys})
    keys = {k: v for k, v in keys.items() if v is not None}
    set_settings(root, mail={"imap": keys})
    return keys


def fetched(root: Path, commit: bool = True) -> list[tuple[int, bytes]]:
    """One fetch of the new messages, the state committed after it (or not)."""
    with fetch_new(settings_mod.load(root), root) as run_:
        got = list(run_.messages())
        if commit:
            run_.commit()
    return got


def state(root: Path) -> dict:
    return json.loads((root / ".crm" / imap.STATE_FILE).read_text())


# ----- the fetcher ----------------------------------------------------------------------


def test_fetch_takes_only_what_is_new(crm, server, monkeypatch):
    use_imap(crm, server, monkeypatch)
    server.append(message(1), message(2), message(3))
    first = fetched(crm)
    assert [raw for _, raw in first] == [message(1), message(2), message(3)]
    assert [uid for uid, _ in first] == sorted(uid for uid, _ in first)
    (entry,) = state(crm)["folders"].values()
    assert entry["last_uid"] == first[-1][0]
    assert fetched(crm) == []
    server.append(message(4))
    assert [raw for _, raw in fetched(crm)] == [message(4)]


def test_fetch_leaves_seen_flags_and_the_mailbox_alone(crm, server, monkeypatch):
    use_imap(crm, server, monkeypatch)
    server.append(message(1), message(2))
    assert len(fetched(crm)) == 2
    c = server.client()
    c.select_folder("INBOX")
    flags = c.get_flags(c.search(["ALL"]))
    c.logout()
    assert len(flags) == 2
    assert all(b"\\Seen" not in f for f in flags.values()), flags


def test_uncommitted_fetch_keeps_the_state(crm, server, monkeypatch):
    use_imap(crm, server, monkeypatch)
    server.append(message(1))
    assert len(fetched(crm, commit=False)) == 1
    assert not (crm / ".crm" / imap.STATE_FILE).exists()
    assert len(fetched(crm)) == 1
    server.append(message(2))
    assert len(fetched(crm, commit=False)) == 1
    assert [raw for _, raw in fetched(crm)] == [message(2)]


def test_fetch_in_batches(crm, server, monkeypatch):
    use_imap(crm, server, monkeypatch)
    monkeypatch.setattr(imap, "BATCH", 2)
    server.append(*(message(n) for n in range(1, 6)))
    assert [raw for _, raw in fetched(crm)] == [message(n) for n in range(1, 6)]


def test_changed_uidvalidity_fetches_all_again(crm, server, monkeypatch):
    use_imap(crm, server, monkeypatch, folder="Kunden")
    server.append(message(1), message(2), folder="Kunden")
    assert len(fetched(crm)) == 2
    before = state(crm)["folders"]
    c = server.client()  # the folder is made anew: the server gives a new UIDVALIDITY
    c.delete_folder("Kunden")
    c.logout()
    server.append(message(1), message(2), message(3), folder="Kunden")
    with fetch_new(settings_mod.load(crm), crm) as run_:
        assert run_.refetch
        assert [raw for _, raw in run_.messages()] == [message(1), message(2), message(3)]
        run_.commit()
    after = state(crm)["folders"]
    assert after.keys() == before.keys()
    (old,), (new,) = before.values(), after.values()
    assert new["uidvalidity"] != old["uidvalidity"]


def test_folder_with_a_non_ascii_name(crm, server, monkeypatch):
    use_imap(crm, server, monkeypatch, folder="收件箱")
    server.append(message(1), folder="收件箱")
    assert [raw for _, raw in fetched(crm)] == [message(1)]


def test_two_folders_keep_their_own_state(crm, server, monkeypatch):
    use_imap(crm, server, monkeypatch, folder="A")
    server.append(message(1), folder="A")
    server.append(message(2), message(3), folder="B")
    assert len(fetched(crm)) == 1
    use_imap(crm, server, monkeypatch, folder="B")
    assert len(fetched(crm)) == 2
    use_imap(crm, server, monkeypatch, folder="A")
    assert fetched(crm) == []
    assert len(state(crm)["folders"]) == 2


# ----- where the password comes from ------------------------------------------------------


def test_refused_login_names_user_and_host(crm, own_server, monkeypatch):
    server = own_server
    use_imap(crm, server, monkeypatch)
    monkeypatch.setenv(PW_ENV, "wrong")
    with pytest.raises(ImapError, match=f"IMAP login refused for {server.user} at 127.0.0.1"):
        fetched(crm)
    assert not (crm / ".crm" / imap.STATE_FILE).exists()


def test_password_from_netrc(crm, server, monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    use_imap(crm, server, monkeypatch, user=None, password_env=None)
    with pytest.raises(ImapError, match=r"no password for IMAP host 127\.0\.0\.1.*\.netrc"):
        fetched(crm)
    netrc = home / ".netrc"
    netrc.write_text(
        f"machine other.example login bob password nope\n"
        f"machine 127.0.0.1 login {server.user} password {PASSWORD}\n"
    )
    netrc.chmod(0o600)
    server.append(message(1))
    assert len(fetched(crm)) == 1  # the user, too, came from ~/.netrc


def test_password_from_a_command(crm, server, monkeypatch, tmp_path):
    script = tmp_path / "secret tool"  # a space in the path: run without a shell
    script.write_text(f"#!/bin/sh\necho {PASSWORD}\necho second line\n")
    script.chmod(0o755)
    use_imap(crm, server, monkeypatch, password_env=None, password_command=f"'{script}' show")
    server.append(message(1))
    assert len(fetched(crm)) == 1


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("false", r"'mail\.imap\.password_command' \(false\) failed \(exit 1\)"),
        ("/nonexistent/tool show", "no such command: /nonexistent/tool"),
        ("true", "printed no password"),
    ],
)
def test_password_command_that_fails(crm, monkeypatch, command, said):
    set_settings(
        crm, mail={"imap": {"host": "127.0.0.1", "user": "a", "password_command": command}}
    )
    with pytest.raises(ImapError, match=said):
        fetched(crm)


def test_password_env_unset(crm, monkeypatch):
    monkeypatch.delenv(PW_ENV, raising=False)
    set_settings(crm, mail={"imap": {"host": "127.0.0.1", "user": "a", "password_env": PW_ENV}})
    with pytest.raises(ImapError, match=f"names \\${PW_ENV}, which is not set"):
        fetched(crm)


def test_unreachable_server_and_missing_folder(crm, server, monkeypatch):
    from dovecot import free_port

    use_imap(crm, server, monkeypatch, folder="Nowhere")
    with pytest.raises(ImapError, match="IMAP folder 'Nowhere' at 127.0.0.1 cannot be opened"):
        fetched(crm)
    use_imap(crm, server, monkeypatch, port=free_port())
    with pytest.raises(ImapError, match="cannot connect to IMAP server 127.0.0.1:"):
        fetched(crm)


def test_no_imap_settings(crm):
    with pytest.raises(ImapError, match="'mail.imap' is not set"):
        fetched(crm)


# ----- TLS ------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_tls_with_the_servers_own_certificate(crm, tls_server, monkeypatch, tls):
    port = tls_server.ssl_port if tls == "ssl" else tls_server.port
    use_imap(crm, tls_server, monkeypatch, tls=tls, port=port)
    with pytest.raises(ImapError, match="certificate verify failed.*mail.imap.ca_file"):
        fetched(crm)
    use_imap(crm, tls_server, monkeypatch, tls=tls, port=port, ca_file=str(tls_server.ca_file))
    tls_server.append(message(1))
    assert [raw for _, raw in fetched(crm)] == [message(1)]


# ----- settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("imap_value", "said"),
    [
        ({"host": "h", "password": "x"}, "'mail.imap.password' is not allowed"),
        ({"host": "h", "pass": "x"}, "'mail.imap.pass' is not allowed"),
        ({"host": "h", "tls": "yes"}, "'mail.imap.tls' must be one of ssl, starttls, none"),
        ({"host": "h", "port": "993"}, "'mail.imap.port' must be a port number"),
        ({"host": "h", "port": 70000}, "'mail.imap.port' must be a port number"),
        ({"user": "a"}, "'mail.imap.host' must be set"),
        ({"host": "h", "server": "x"}, "'mail.imap.server' is not an IMAP key"),
        ({"host": "h", "folder": ""}, "'mail.imap.folder' must be a non-empty text"),
        ({"host": "h", "password_env": "MY PW"}, "'mail.imap.password_env' must be the name"),
        ({"host": "h", "password_env": "A", "password_command": "b"}, "not both"),
        ({"host": "h", "password_command": "pass 'show"}, "'mail.imap.password_command' cannot"),
        ("imap.example.com", "'mail.imap' must be a mapping"),
    ],
)
def test_malformed_imap_settings(imap_value, said):
    with pytest.raises(SettingsError, match=said.replace(".", r"\.")):
        settings_mod.validate({"mail": {"imap": imap_value}})


def test_password_in_crm_yaml_stops_every_command(crm):
    set_settings(crm, mail={"imap": {"host": "imap.example.com", "password": "hunter2"}})
    r = run("customer", "list")
    refused(r, "mail.imap.password", "never goes into crm.yaml")
    assert "hunter2" not in r.err


def test_init_comments_a_valid_imap_example():
    """crm init's crm.yaml shows mail.imap commented; uncommented, it is valid."""
    from crmcli import yamlio

    lines = settings_mod.init_text("X", None).splitlines()
    start = lines.index("  # imap:")
    end = start + 1
    while end < len(lines) and lines[end].startswith("  #   "):
        end += 1
    lines[start:end] = [line.replace("  # ", "  ", 1) for line in lines[start:end]]
    data = yamlio.loads("\n".join(lines))
    assert data["mail"]["imap"]["host"] == "imap.example.com"
    cfg = imap.imap_settings(settings_mod.validate(data), Path("/crm"))
    assert (cfg.port, cfg.tls, cfg.folder, cfg.password_env, cfg.ca_file) == (
        993,
        "ssl",
        "INBOX",
        "CRM_IMAP_PASSWORD",
        None,
    )


# ----- crm mail fetch ------------------------------------------------------------------


def activities(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "activities").glob("*.yaml"))


@pytest.fixture
def customer(crm):
    return added("customer", "Kunde GmbH", "--email", "wang@kunde.example")


def fetch_json(*args: str) -> dict:
    r = run("mail", "fetch", "--format", "json", *args)
    assert r.code == 0, r.err
    return r.json()


def test_fetch_logs_only_what_is_new(crm, server, monkeypatch, customer):
    use_imap(crm, server, monkeypatch)
    server.append(message(1), message(2), message(3, sender="nobody@else.example"))
    first = fetch_json()
    assert (first["logged"], first["unknown"], first["dry_run"]) == (2, 1, False)
    assert [r["source"] for r in first["rows"]][0].startswith("INBOX UID ")
    logged = activities(crm)
    assert len(logged) == 2
    r = run("mail", "fetch")
    assert r.code == 0, r.err
    assert "Mail: 0 logged" in r.out
    assert "No new mail in INBOX at 127.0.0.1." in r.err
    assert activities(crm) == logged
    server.append(message(4))
    later = fetch_json()
    assert (later["logged"], len(later["rows"])) == (1, 1)
    assert later["rows"][0]["subject"] == "Anfrage 4"
    assert len(activities(crm)) == 3


def test_renumbered_folder_logs_nothing_twice(crm, server, monkeypatch, customer):
    use_imap(crm, server, monkeypatch, folder="Kunden")
    server.append(message(1), message(2), folder="Kunden")
    assert fetch_json()["logged"] == 2
    c = server.client()
    c.delete_folder("Kunden")
    c.logout()
    server.append(message(1), message(2), message(3), folder="Kunden")
    r = run("mail", "fetch", "--format", "json")
    assert r.code == 0, r.err
    assert "UIDVALIDITY changed" in r.err and "none is logged twice" in r.err
    assert (r.json()["logged"], r.json()["already"]) == (1, 2)
    assert len(activities(crm)) == 3
    assert fetch_json()["rows"] == []


def test_refused_login_writes_nothing(crm, own_server, monkeypatch, customer):
    use_imap(crm, own_server, monkeypatch)
    own_server.append(message(1))
    monkeypatch.setenv(PW_ENV, "wrong")
    before = snapshot(crm)
    r = run("mail", "fetch")
    refused(r, "IMAP login refused for", "at 127.0.0.1")
    assert len(r.err.splitlines()) == 1
    assert snapshot(crm) == before
    assert not (crm / ".crm" / imap.STATE_FILE).exists()


def test_dry_run_writes_nothing_and_keeps_the_state(crm, server, monkeypatch, customer):
    use_imap(crm, server, monkeypatch)
    server.append(message(1), message(2))
    before = snapshot(crm)
    dry = fetch_json("--dry-run")
    assert (dry["logged"], dry["dry_run"]) == (2, True)
    assert snapshot(crm) == before
    assert not (crm / ".crm" / imap.STATE_FILE).exists()
    r = run("mail", "fetch", "--dry-run")
    assert "Dry run, nothing written: would have 2 logged" in r.out
    assert fetch_json()["logged"] == 2  # the real run still sees both
    server.append(message(3))
    assert fetch_json("--dry-run")["logged"] == 1
    assert fetch_json()["logged"] == 1


def test_failed_import_keeps_the_state(crm, server, monkeypatch, customer):
    from crmcli.errors import CrmError
    from crmcli.mail import importer

    use_imap(crm, server, monkeypatch)
    server.append(message(1))

    def broken(store, messages, **kw):
        list(messages)
        raise CrmError("disk full")

    monkeypatch.setattr(importer, "import_messages", broken)
    refused(run("mail", "fetch"), "disk full")
    assert not (crm / ".crm" / imap.STATE_FILE).exists()


def test_fetch_refuses_a_password_in_crm_yaml(crm):
    set_settings(crm, mail={"imap": {"host": "imap.example.com", "password": "hunter2"}})
    refused(run("mail", "fetch"), "'mail.imap.password' is not allowed")
    refused(run("mail", "fetch"), "crm.yaml")


def test_fetch_without_imap_settings(crm):
    refused(run("mail", "fetch"), "'mail.imap' is not set")


# ----- the test server itself -----------------------------------------------------------


def test_a_dovecot_that_cannot_start_gives_its_log_as_the_reason(tmp_path, monkeypatch):
    import socket

    import dovecot

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(dovecot, "free_port", lambda: taken.getsockname()[1])
        with running(tmp_path / "dv") as server:
            if not os.access(dovecot.DOVECOT, os.X_OK):
                pytest.skip(server)
            assert isinstance(server, str)
            assert "dovecot exited" in server and "Address already in use" in server
    monkeypatch.setattr(dovecot, "DOVECOT", str(tmp_path / "no-dovecot"))
    with running(tmp_path / "dv2") as server:
        assert (
            server == f"{tmp_path / 'no-dovecot'} is not installed (Debian package dovecot-imapd)"
        )
