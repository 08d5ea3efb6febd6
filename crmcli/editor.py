"""Edit a record's YAML in the user's editor (`crm ... edit REF --editor`).

The file opens in $VISUAL, else $EDITOR, else vi (the variable is split as a shell
would: `code --wait` works). What is saved is read with yamlio and checked with
models.validate; a problem re-opens the file with the message at the top as a
comment, the text as it was saved kept below it. An empty file, or one that reads
the same as the record, changes nothing; saving the same broken text twice gives
up. Only a whole, valid record is written, by the store's one writer, and only if
the file was not changed by someone else meanwhile (the lock is not held while a
person types: that can take minutes).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from crmcli import models, yamlio
from crmcli.errors import CrmError

HEADER = "# crm: not saved: "
_HINT = "# Fix it and save, or empty the file to change nothing.\n"


def editor_command() -> list[str]:
    """$VISUAL, else $EDITOR, else vi, as words (split as a shell would)."""
    text = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise CrmError(f"cannot read the editor command '{text}': {e}") from None
    if not words:
        raise CrmError("$VISUAL and $EDITOR name no editor")
    return words


def run_editor(path: Path) -> None:
    """Open `path` in the user's editor and wait for it; an editor that cannot start
    or fails is an error."""
    words = editor_command()
    try:
        code = subprocess.run([*words, str(path)], check=False).returncode
    except OSError as e:
        raise CrmError(f"cannot run the editor '{words[0]}': {e.strerror}") from None
    if code != 0:
        raise CrmError(f"the editor '{words[0]}' exited with {code}; nothing changed")


def with_problem(text: str, problems: list[str]) -> str:
    """`text` with the problems as comments at its top (those of a try before gone)."""
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith(HEADER):
        lines = lines[lines.index(_HINT) + 1 if _HINT in lines else 1 :]
    head = [HEADER + problems[0] + "\n", *(f"#   {p}\n" for p in problems[1:]), _HINT]
    return "".join(head + lines)


def parse(kind: str, rid: str, text: str) -> dict[str, Any] | None:
    """The record in `text`, normalised; None for an empty file (comments only).
    CrmError lists what is wrong (its message the first problem, details the rest)."""
    try:
        data = yamlio.loads(text)
    except yamlio.YAMLError as e:
        raise CrmError(f"not valid YAML: {yamlio.describe(e)}") from None
    if data is None:
        return None
    problems = models.validate(kind, data)
    if not problems and data.get("id", rid) != rid:
        problems = [f"id: is {rid} (the file's name); it cannot change"]
    if problems:
        raise CrmError(problems[0], problems[1:])
    return models.normalize(kind, {**data, "id": rid})


def edit(store: Any, kind: str, rid: str) -> dict[str, Any] | None:
    """Let the user edit record `rid` until it is valid; save it and return it, or
    None when nothing changed. The text being edited lives under .crm/ meanwhile."""
    path = store.path(kind, rid)
    original = store.read_bytes(path)
    text = original.decode("utf-8")
    before = parse(kind, rid, text)
    work = store.root / ".crm" / f"edit-{kind}-{rid}.yaml"
    work.parent.mkdir(exist_ok=True)
    keep = False  # the text stays when it could not be saved over another's change
    try:
        while True:
            work.write_text(text, encoding="utf-8")
            run_editor(work)
            saved = work.read_text(encoding="utf-8")
            try:
                rec = parse(kind, rid, saved)
                break
            except CrmError as e:
                if saved == text:  # saved as it was shown: the person gave up
                    raise CrmError(f"{store.rel(path)}: {e.message}; nothing changed") from None
                text = with_problem(saved, [e.message, *e.details])
        if rec is None or rec == before:
            return None
        with store.lock():
            if store.read_bytes(path) != original:
                keep = True
                raise CrmError(
                    f"{store.rel(path)} changed while you edited it; nothing saved "
                    f"(your text is in {store.rel(work)})"
                )
            rec = store.save(kind, rec)
            store.note_change(f'{kind}: edit "{models.display_name(kind, rec)}" in an editor')
            return rec
    finally:
        if not keep:
            work.unlink(missing_ok=True)
