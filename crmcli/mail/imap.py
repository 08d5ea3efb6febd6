"""crm mail fetch: the mail of one IMAP folder that is new since the last run.

Settings `mail.imap` (checked by crmcli/settings.py): host, port, tls (ssl, starttls or
none), user, folder, ca_file, and where the password comes from: password_env (an
environment variable), password_command (run without a shell; its first line), else
~/.netrc's entry for the host. The password is never in crm.yaml.

The folder is opened read-only (EXAMINE) and bodies are read with BODY.PEEK[], so the
server's \\Seen flags stay as they were. What was fetched is kept in
.crm/mail-imap-state.json: per account and folder, its UIDVALIDITY and the last UID
imported. A changed UIDVALIDITY (the server renumbered the folder) means every message
is fetched again; the importer's Message-ID dedupe keeps that from logging twice.

IMAPClient (a well-kept wrapper of imaplib) rather than bare imaplib: it encodes folder
names in IMAP's modified UTF-7 (a folder named 收件箱 or Entwürfe), quotes them, parses
FETCH answers into {uid: {b"BODY[]": bytes}} and SELECT's into a dict, and raises
LoginError for a refused login.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError
from crmcli.settings import SETTINGS_FILE

if TYPE_CHECKING:
    from imapclient import IMAPClient

STATE_FILE = "mail-imap-state.json"
BATCH = 100  # messages fetched per UID FETCH
TIMEOUT = 60  # seconds a connect or a read may take
PASSWORD_COMMAND_TIMEOUT = 120  # a command may ask for a passphrase (gpg-agent, pinentry)


class ImapError(CrmError):
    """The IMAP server could not be reached, refused the login, or failed a command."""


@dataclass(frozen=True)
class ImapSettings:
    """settings `mail.imap` with its defaults filled in."""

    host: str
    port: int
    tls: str  # ssl | starttls | none
    user: str | None
    folder: str
    password_env: str | None = None
    password_command: str | None = None
    ca_file: Path | None = None

    @property
    def account(self) -> str:
        """The key of this folder in the state file."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def imap_settings(settings: dict[str, Any], root: Path) -> ImapSettings:
    """settings `mail.imap` (validated already) with defaults; an error when unset.
    A relative ca_file is relative to the CRM's folder `root`."""
    imap = (settings.get("mail") or {}).get("imap")
    if not imap:
        raise ImapError(
            f"{SETTINGS_FILE}: 'mail.imap' is not set: add its host and user "
            "(see README, Mail: fetching from IMAP)"
        )
    tls = imap.get("tls") or "ssl"
    ca = imap.get("ca_file")
    return ImapSettings(
        host=imap["host"],
        port=imap.get("port") or (993 if tls == "ssl" else 143),
        tls=tls,
        user=imap.get("user"),
        folder=imap.get("folder") or "INBOX",
        password_env=imap.get("password_env"),
        password_command=imap.get("password_command"),
        ca_file=root / Path(ca).expanduser() if ca else None,
    )


# ----- the password --------------------------------------------------------------------


def credentials(cfg: ImapSettings) -> tuple[str, str]:
    """The user and password to log in with, from password_env, password_command or
    ~/.netrc (which may also give the user when mail.imap.user is not set)."""
    if cfg.password_env:
        value = os.environ.get(cfg.password_env)
        if not value:
            raise ImapError(
                f"{SETTINGS_FILE}: 'mail.imap.password_env' names ${cfg.password_env}, "
                "which is not set"
            )
        return _user(cfg, None), value
    if cfg.password_command:
        return _user(cfg, None), _run_password_command(cfg.password_command)
    login, password = _from_netrc(cfg)
    return _user(cfg, login), password


def _user(cfg: ImapSettings, netrc_login: str | None) -> str:
    user = cfg.user or netrc_login
    if not user:
        raise ImapError(f"{SETTINGS_FILE}: 'mail.imap.user' must be set: the IMAP login name")
    return user


def _run_password_command(command: str) -> str:
    """The first line the command prints (as `pass` prints the password first)."""
    args = shlex.split(command)
    where = f"{SETTINGS_FILE}: 'mail.imap.password_command' ({command})"
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=PASSWORD_COMMAND_TIMEOUT,
        )
    except FileNotFoundError:
        raise ImapError(f"{where}: no such command: {args[0]}") from None
    except OSError as e:
        raise ImapError(f"{where} could not run: {e.strerror or e}") from None
    except subprocess.TimeoutExpired:
        raise ImapError(f"{where} gave no password within {PASSWORD_COMMAND_TIMEOUT} s") from None
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or [""])[0]
        raise ImapError(f"{where} failed (exit {done.returncode})" + (f": {said}" if said else ""))
    password = (done.stdout.splitlines() or [""])[0]
    if not password:
        raise ImapError(f"{where} printed no password")
    return password


def _from_netrc(cfg: ImapSettings) -> tuple[str | None, str]:
    """(login, password) of ~/.netrc's `machine HOST` entry (or its `default`)."""
    import netrc

    path = Path(os.path.expanduser("~")) / ".netrc"
    hint = (
        f"no password for IMAP host {cfg.host}: set mail.imap.password_env or "
        f"password_command in {SETTINGS_FILE}, or add "
        f"'machine {cfg.host} login USER password ...' to {path}"
    )
    if not path.is_file():
        raise ImapError(hint)
    try:
        entry = netrc.netrc(str(path)).authenticators(cfg.host)
    except (netrc.NetrcParseError, OSError) as e:
        raise ImapError(f"{path}: cannot be read: {e}") from None
    if not entry or not entry[2]:
        raise ImapError(hint)
    return entry[0] or None, entry[2]


# ----- the server ----------------------------------------------------------------------


@dataclass
class Folder:
    """An IMAP folder opened read-only: its UIDVALIDITY and its messages by UID."""

    client: IMAPClient
    name: str
    uidvalidity: int

    def uids_after(self, last_uid: int) -> list[int]:
        """The UIDs above `last_uid`, ascending (`UID n:*` always answers the highest
        UID, even one below n: those are left out)."""
        found = self._call("search", ["UID", f"{last_uid + 1}:*"])
        return sorted(uid for uid in found if uid > last_uid)

    def messages(self, uids: list[int]) -> Iterator[tuple[int, bytes]]:
        """(uid, the message's bytes) for each of `uids`, fetched BATCH at a time with
        BODY.PEEK[] (\\Seen stays as it was); a message expunged meanwhile is left out."""
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            got = self._call("fetch", batch, ["BODY.PEEK[]"])
            for uid in batch:
                body = got.get(uid, {}).get(b"BODY[]")
                if body is not None:
                    yield uid, bytes(body)

    def _call(self, method: str, *args: Any) -> Any:
        from imapclient.exceptions import IMAPClientError

        try:
            return getattr(self.client, method)(*args)
        except (IMAPClientError, OSError) as e:
            raise ImapError(
                f"IMAP {method.upper()} in folder '{self.name}' failed: {_said(e)}"
            ) from None


def _said(e: BaseException) -> str:
    """An imaplib error's text: the server's words, not a bytes repr."""
    text = str(e.args[0] if e.args else e)
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    return text or type(e).__name__


def _connect(cfg: ImapSettings) -> IMAPClient:
    import ssl

    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError

    where = f"IMAP server {cfg.host}:{cfg.port}"
    context = None
    if cfg.tls != "none":
        try:
            context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
        except (OSError, ssl.SSLError) as e:
            raise ImapError(f"{SETTINGS_FILE}: 'mail.imap.ca_file' {cfg.ca_file}: {e}") from None
    try:
        client = IMAPClient(
            cfg.host, port=cfg.port, ssl=cfg.tls == "ssl", ssl_context=context, timeout=TIMEOUT
        )
        if cfg.tls == "starttls":
            client.starttls(context)
    except ssl.SSLCertVerificationError as e:
        raise ImapError(
            f"TLS with {where} failed: certificate verify failed: {e.verify_message} "
            "(set mail.imap.ca_file for a server with its own certificate)"
        ) from None
    except ssl.SSLError as e:
        raise ImapError(f"TLS with {where} failed: {e.reason or e}") from None
    except (OSError, IMAPClientError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else _said(e)
        raise ImapError(f"cannot connect to {where}: {reason}") from None
    return client


@contextlib.contextmanager
def open_folder(cfg: ImapSettings) -> Iterator[Folder]:
    """Log in and open cfg.folder read-only; log out at the end."""
    from imapclient.exceptions import IMAPClientError, LoginError

    user, password = credentials(cfg)
    client = _connect(cfg)
    try:
        try:
            client.login(user, password)
        except LoginError as e:
            raise ImapError(f"IMAP login refused for {user} at {cfg.host}: {_said(e)}") from None
        try:
            selected = client.select_folder(cfg.folder, readonly=True)
        except IMAPClientError as e:
            raise ImapError(
                f"IMAP folder '{cfg.folder}' at {cfg.host} cannot be opened: {_said(e)}"
            ) from None
        yield Folder(client, cfg.folder, int(selected[b"UIDVALIDITY"]))
    finally:
        with contextlib.suppress(Exception):
            client.logout()


# ----- what was fetched ----------------------------------------------------------------


def read_state(path: Path, account: str) -> dict[str, int] | None:
    """{uidvalidity, last_uid} of `account` in the state file; None when there is none
    (or the file is unreadable: fetching all again is safe, the importer dedupes)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = data["folders"][account]
        return {"uidvalidity": int(entry["uidvalidity"]), "last_uid": int(entry["last_uid"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(path: Path, account: str, uidvalidity: int, last_uid: int) -> None:
    """Record `account`'s UIDVALIDITY and last UID, the other accounts' kept (atomic)."""
    from crmcli.store import atomic_write

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        folders = data["folders"] if isinstance(data.get("folders"), dict) else {}
    except (OSError, ValueError, AttributeError):
        folders = {}
    folders[account] = {"uidvalidity": uidvalidity, "last_uid": last_uid}
    text = json.dumps({"version": 1, "folders": folders}, indent=2, sort_keys=True) + "\n"
    atomic_write(path, text.encode("utf-8"))


class Fetch:
    """One run of `crm mail fetch`: open the folder, iterate `messages()` (the new ones,
    as (uid, bytes)), and `commit()` once they are imported, which records the last UID
    handed out; without commit (a failed import, --dry-run) the state stays as it was.

        with Fetch(cfg, state_path) as run:
            import_messages(store, (raw for _, raw in run.messages()))
            run.commit()
    """

    def __init__(self, cfg: ImapSettings, state_path: Path) -> None:
        self.cfg = cfg
        self.state_path = state_path
        self.folder: Folder | None = None
        self.last_uid = 0  # the last UID imported before this run (0: none)
        self.uids: list[int] = []  # the new UIDs, ascending
        self.refetch = False  # the folder's UIDVALIDITY changed: all is fetched again
        self._done = 0  # the highest UID handed out by messages()
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Fetch:
        self.folder = self._stack.enter_context(open_folder(self.cfg))
        state = read_state(self.state_path, self.cfg.account)
        if state and state["uidvalidity"] == self.folder.uidvalidity:
            self.last_uid = state["last_uid"]
        self.refetch = state is not None and state["uidvalidity"] != self.folder.uidvalidity
        self.uids = self.folder.uids_after(self.last_uid)
        self._done = self.last_uid
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def messages(self) -> Iterator[tuple[int, bytes]]:
        assert self.folder is not None, "use Fetch as a context manager"
        for uid, raw in self.folder.messages(self.uids):
            yield uid, raw
            self._done = uid

    def for_import(self) -> Iterator[tuple[str, bytes]]:
        """The new messages as import_messages takes them: (where from, bytes)."""
        for uid, raw in self.messages():
            yield f"{self.cfg.folder} UID {uid}", raw

    def commit(self) -> None:
        """Record the folder's UIDVALIDITY and the last UID handed out."""
        assert self.folder is not None
        state = read_state(self.state_path, self.cfg.account)
        new = {"uidvalidity": self.folder.uidvalidity, "last_uid": self._done}
        if state != new:
            write_state(self.state_path, self.cfg.account, **new)


def fetch_new(settings: dict[str, Any], root: Path) -> Fetch:
    """The Fetch of the CRM at `root` (settings mail.imap, state under root/.crm/)."""
    from crmcli.store import DERIVED_DIR

    return Fetch(imap_settings(settings, root), root / DERIVED_DIR / STATE_FILE)
