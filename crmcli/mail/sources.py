"""Where messages come from: `.eml` files, mbox files and Maildir folders (the
standard library's `mailbox`), or standard input. Every path is checked before any
message is read, so a path that is no mail stops an import before it writes."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from crmcli.errors import CrmError

# The first line of a message: a header field (RFC 5322: printable, no colon, then a colon)
_HEADER_RE = re.compile(rb"^[!-9;-~]+:")
_SNIFF = 4096


def check(paths: list[str]) -> list[tuple[str, str]]:
    """(path, what) for each path: "stdin", "maildir", "mbox" or "eml"; CrmError with
    one line for a path that is no mail (a file no message or mbox, a folder no
    Maildir, a path that is not there)."""
    if paths.count("-") > 1:
        raise CrmError("'-' (standard input) can be given once")
    return [(p, "stdin" if p == "-" else _kind(p)) for p in paths]


def _kind(name: str) -> str:
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            return "maildir"
        raise CrmError(f"{name} is a folder but no Maildir (it has no cur/ and new/ folders)")
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF)
    except FileNotFoundError:
        raise CrmError(f"{name}: no such file or folder") from None
    except OSError as e:
        raise CrmError(f"cannot read {name}: {e.strerror}") from None
    return sniff(name, head)


def sniff(name: str, head: bytes) -> str:
    """ "mbox" or "eml" from the first bytes of a file; CrmError when it is neither."""
    text = head.lstrip(b"\r\n")
    if text.startswith(b"From "):
        return "mbox"
    if _HEADER_RE.match(text) and re.search(
        rb"^(from|to|date|message-id|subject|received|return-path):", text, re.I | re.M
    ):
        return "eml"
    raise CrmError(
        f"{name} is no mail: neither a message (.eml, headers first) nor an mbox "
        "(starting with a 'From ' line)"
    )


def messages(checked: list[tuple[str, str]]) -> Iterator[tuple[str, bytes]]:
    """(where, raw bytes) of every message of the checked paths, one at a time."""
    for name, what in checked:
        if what == "stdin":
            yield "standard input", read_stdin()
        elif what == "eml":
            yield name, Path(name).expanduser().read_bytes()
        elif what == "mbox":
            yield from _mbox(name)
        else:
            yield from _maildir(name)


def read_stdin() -> bytes:
    buffer = getattr(sys.stdin, "buffer", None)
    data = (
        buffer.read() if buffer is not None else sys.stdin.read().encode("utf-8", "surrogateescape")
    )
    if not data.strip():
        raise CrmError("standard input is empty: no message to log")
    sniff("standard input", data[:_SNIFF])
    return data


def _mbox(name: str) -> Iterator[tuple[str, bytes]]:
    import mailbox

    box = mailbox.mbox(os.path.expanduser(name), create=False)
    try:
        for n, key in enumerate(box.iterkeys(), 1):
            yield f"{name} message {n}", box.get_bytes(key)
    finally:
        box.close()


def _maildir(name: str) -> Iterator[tuple[str, bytes]]:
    import mailbox

    box = mailbox.Maildir(os.path.expanduser(name), factory=None, create=False)
    for key in sorted(box.iterkeys()):
        try:
            yield f"{name} {key}", box.get_bytes(key)
        except KeyError:  # moved or deleted since it was listed (a sync running)
            continue
