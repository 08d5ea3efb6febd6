"""A throwaway Dovecot IMAP server on 127.0.0.1 for the `crm mail fetch` tests.

Debian's dovecot-imapd (/usr/sbin/dovecot; `.ci/run` installs it when missing) runs in
the foreground with a configuration written into the test's tmp_path: its own
base_dir, a log file, any user name with one password (a static passdb; each user has a mailbox
of its own), and Maildirs.

As a normal user every dovecot process runs as that user. As root (CI) Dovecot
refuses to run imap-login or to read mail as root, so the login process runs as
Debian's `dovenull` (chrooted into base_dir/login, as Dovecot does by default) and
mail is read as `nobody`, in a Maildir folder under /tmp that `nobody` owns.
Messages are put in with IMAP APPEND, so they are owned by whoever reads them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "alice", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(folder: Path) -> tuple[Path, Path] | str:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, made with the
    openssl CLI; or why it could not be made."""
    openssl = shutil.which("openssl")
    if not openssl:
        return "the openssl command is not installed"
    cert, key = folder / "cert.pem", folder / "key.pem"
    args = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        return f"openssl could not make a certificate: {done.stderr.strip()}"
    return cert, key


@dataclass
class Dovecot:
    """One running server: connect with `client()`, put mail in with `append()`."""

    folder: Path
    mail_root: Path
    port: int
    ssl_port: int | None = None
    ca_file: Path | None = None
    user: str = USER
    password: str = PASSWORD
    host: str = "127.0.0.1"
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "dovecot.log").read_text(errors="replace")
        return ""

    def as_user(self, name: str) -> Dovecot:
        """The same server seen as user `name`, whose mailbox is its own (empty at
        first): tests share one server, each as a user of its own."""
        return dataclasses.replace(self, user=name)

    def client(self):
        from imapclient import IMAPClient

        c = IMAPClient(self.host, port=self.port, ssl=False, timeout=5)
        c.login(self.user, self.password)
        return c

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        c = self.client()
        try:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            for m in messages:
                c.append(folder, m)
        finally:
            c.logout()

    def stop(self) -> None:
        """Kill the server's process group (its own session: the master and its
        children, nothing else); a graceful stop takes a second, this none."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.process:
            self.process.wait()


def _config(
    folder: Path, mail_root: Path, ports: tuple[int, int | None], ssl: tuple[Path, Path] | None
) -> str:
    """dovecot.conf for a server on 127.0.0.1: imap on ports[0], with `ssl` (a cert and
    its key) STARTTLS there and imaps on ports[1]."""
    port, ssl_port = ports
    root = os.geteuid() == 0
    me = pwd.getpwuid(os.geteuid()).pw_name
    if root:
        users = """\
default_internal_user = root
default_login_user = dovenull
mail_uid = nobody
mail_gid = nogroup
"""
        chroot = ""  # imap-login keeps its chroot (base_dir/login): it runs as dovenull
    else:
        users = f"""\
default_internal_user = {me}
default_internal_group = {grp.getgrgid(os.getegid()).gr_name}
default_login_user = {me}
mail_uid = {os.getuid()}
mail_gid = {os.getgid()}
first_valid_uid = {os.getuid()}
first_valid_gid = {os.getgid()}
"""
        chroot = "  chroot =\n"
    if ssl:
        tls = f"ssl = yes\nssl_cert = <{ssl[0]}\nssl_key = <{ssl[1]}\n"
        imaps = f"    address = 127.0.0.1\n    port = {ssl_port}\n"
    else:
        tls, imaps = "ssl = no\n", "    port = 0\n"
    return f"""\
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = crm-test-{port}
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
{users}mail_location = maildir:{mail_root}/%u
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = home={mail_root}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
{imaps}  }}
{chroot}}}
service anvil {{
{chroot}}}
service stats {{
{chroot}}}
"""


def _wait_for(server: Dovecot, deadline: float) -> str | None:
    """None once the server greets on its port (`* OK`, not merely a socket that
    accepts); else why not (its log)."""
    assert server.process is not None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return f"dovecot exited ({server.process.returncode}): {server.log.strip()}"
        with (
            contextlib.suppress(OSError),
            socket.create_connection((server.host, server.port), 0.5) as s,
        ):
            if s.recv(64).startswith(b"* OK"):
                return None
        time.sleep(0.02)  # not a test's sleep: waiting for a server to listen
    return f"dovecot did not answer within the deadline: {server.log.strip()}"


@contextlib.contextmanager
def running(folder: Path, *, ssl: bool = False) -> Iterator[Dovecot | str]:
    """A started server, or the reason it cannot start (a text); stopped at the end."""
    if not os.access(DOVECOT, os.X_OK):
        yield f"{DOVECOT} is not installed (Debian package dovecot-imapd)"
        return
    folder.mkdir(parents=True, exist_ok=True)
    cert = make_cert(folder) if ssl else None
    if isinstance(cert, str):
        yield cert
        return
    mail_root = folder / "mail"
    if os.geteuid() == 0:  # read by `nobody`: a folder it owns that it can reach
        mail_root = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
        with contextlib.suppress(KeyError, OSError):
            os.chown(mail_root, pwd.getpwnam("nobody").pw_uid, -1)
    ports = (free_port(), free_port() if cert else None)
    conf = folder / "dovecot.conf"
    conf.write_text(_config(folder, mail_root, ports, cert))
    server = Dovecot(folder, mail_root, *ports, cert[0] if cert else None)
    log = (folder / "dovecot.stderr").open("wb")
    try:
        server.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        problem = _wait_for(server, time.monotonic() + 10)
        yield problem or server
    finally:
        server.stop()
        log.close()
        if mail_root != folder / "mail":
            shutil.rmtree(mail_root, ignore_errors=True)
