"""Committing what a command changed: one commit per command, its message from the
changes the core recorded, with the trailer `Crm-Command: crm ...`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError
from crmcli.git.run import TRAILER_COMMAND, GitError, first_line, git, rel_paths, toplevel


def commit_paths(
    root: Path, paths: Sequence[Path | str], message: str, trailers: dict[str, str] | None = None
) -> str | None:
    """Commit exactly `paths` (relative to `root` or absolute; written or removed)
    with `message`, leaving anything else staged as it is. None when none of them
    differs from HEAD. GitError when git refuses (a hook, no identity, ...)."""
    root = Path(root)
    rels = rel_paths(root, paths)
    if not rels:
        return None
    foreign = [r for r in rels if r == ".." or r.startswith(("../", "/"))]
    if foreign:
        raise CrmError(f"{foreign[0]} is outside the CRM in {root}; crm commits only its own files")
    present = [r for r in rels if (root / r).exists()]
    gone = [r for r in rels if r not in present]
    if present:
        git(root, "--literal-pathspecs", "add", "--", *present)
    if gone:
        git(root, "--literal-pathspecs", "rm", "--cached", "-q", "--ignore-unmatch", "--", *gone)
    staged = git(
        root,
        "--literal-pathspecs",
        "diff",
        "--cached",
        "--name-only",
        "--relative",
        "-z",
        "--",
        *rels,
    ).stdout.split("\0")
    staged = [s for s in staged if s]
    if not staged:
        return None
    text = message.strip() + "\n"
    if trailers:
        text += "\n" + "".join(f"{k}: {v}\n" for k, v in trailers.items())
    git(
        root, "--literal-pathspecs", "commit", "-q", "--cleanup=whitespace", "-F", "-",
        "--", *staged, input=text,
    )  # fmt: skip
    return git(root, "rev-parse", "HEAD").stdout.strip()


def command_text(argv: Sequence[str]) -> str:
    """`crm ARGS` on one line, for messages and the Crm-Command trailer; the CRM's
    path (--dir, a detail of one machine) is left out."""
    args: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--dir", "-C") and not args:
            skip = True
        elif not (a.startswith("--dir=") and not args):
            args.append(a)
    text = "crm " + shlex.join(args) if args else "crm"
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:199] + "…"


def commit_message(messages: Sequence[str], argv: Sequence[str]) -> str:
    """The subject is what the command said it did (store.note_change), else `crm ARGS`."""
    said = [" ".join(m.split()) for m in messages if m and m.strip()]
    said = list(dict.fromkeys(said))
    if not said:
        return command_text(argv)
    if len(said) == 1:
        return said[0]
    return f"{said[0]} (+{len(said) - 1} more)\n\n" + "\n".join(f"- {m}" for m in said)


def autocommit(store: Any, argv: Sequence[str]) -> str | None:
    """Commit exactly the files a command changed (`store.changed`), holding the
    writer lock (Store.lock does it as it lets go). Never raises CrmError: the
    files are written whatever happens here, and a failure becomes a warning."""
    if not store.changed or not store.autocommits():
        return None
    files = rel_paths(store.root, store.changed)
    try:
        if toplevel(store.root) is None:
            store.warn(
                "settings git.autocommit is on, but this CRM is not in a git repository: "
                "the change is saved, not committed (set git up with: crm init --git)"
            )
            return None
        message = commit_message(store.messages, argv)
        return commit_paths(
            store.root, store.changed, message, trailers={TRAILER_COMMAND: command_text(argv)}
        )
    except CrmError as e:
        why = first_line(e.output) if isinstance(e, GitError) else e.message
        if isinstance(e, GitError) and not why:
            why = f"git commit exited with status {e.code}"
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        store.warn(f"the change is saved in {shown} but not committed: {why}")
        return None
