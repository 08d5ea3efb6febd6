"""Undoing the last crm commit: a plan (what it changed, whether it can be undone)
and its revert, carrying the trailer `Crm-Undo: SHA`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crmcli.errors import CrmError
from crmcli.git.autocommit import commit_paths
from crmcli.git.history import LOG_FORMAT, Commit, parse_log
from crmcli.git.run import (
    TRAILER_COMMAND,
    TRAILER_UNDO,
    UNDO_DEPTH,
    GitError,
    first_line,
    git,
    has_head,
    outside,
    prefix,
    require_repo,
)


@dataclass
class UndoPlan:
    commit: Commit
    files: list[tuple[str, str]]  # (status A/M/D, path relative to the top)
    top: Path


def plan_undo(root: Path) -> UndoPlan:
    """The newest crm commit not undone yet, if it can be reverted cleanly."""
    root = Path(root)
    top = require_repo(root, "undo")
    if not has_head(top):
        raise CrmError("nothing to undo: the repository has no commits yet")
    out = git(
        root, "log", "--first-parent", f"-n{UNDO_DEPTH}", f"--format={LOG_FORMAT}", "--", "."
    ).stdout
    commits = [c for c, _ in parse_log(out)]
    undone = {c.trailer(TRAILER_UNDO) for c in commits if c.trailer(TRAILER_UNDO)}
    undone = {u for u in undone if u}
    target = None
    for c in commits:
        if c.trailer(TRAILER_UNDO) or any(c.sha.startswith(u) for u in undone):
            continue
        if c.trailer(TRAILER_COMMAND):
            target = c
            break
    if target is None:
        raise CrmError(
            "nothing to undo: no commit made by crm in this CRM's recent history "
            "(crm commits changes when settings git.autocommit is on)"
        )
    parents = git(top, "rev-list", "--parents", "-n1", target.sha).stdout.split()
    if len(parents) < 2:
        raise CrmError(f'cannot undo {target.short} "{target.subject}": it is the first commit')
    diff = git(
        top, "diff-tree", "--no-commit-id", "--no-renames", "-r", "--name-status", "-z",
        parents[1], target.sha,
    ).stdout.split("\0")  # fmt: skip
    diff = [d for d in diff if d]
    files = [(diff[i][0], diff[i + 1]) for i in range(0, len(diff) - 1, 2)]
    if not files:
        raise CrmError(f'cannot undo {target.short} "{target.subject}": it changed no file')
    paths = [p for _, p in files]
    crm_dir = prefix(root)
    foreign = outside(paths, crm_dir)
    if foreign:
        raise CrmError(
            f'cannot undo {target.short} "{target.subject}": it also changed {foreign[0]}'
            + (f" and {len(foreign) - 1} more file(s)" if len(foreign) > 1 else "")
            + f", outside the CRM ({crm_dir.rstrip('/')}/); crm undoes only its own files, "
            f"revert it by hand with: git revert {target.short}"
        )
    newer = git(
        top, "--literal-pathspecs", "log", f"--format={LOG_FORMAT}", f"{target.sha}..HEAD",
        "--", *paths,
    ).stdout  # fmt: skip
    ignorable = undone | {c.sha for c in commits if c.trailer(TRAILER_UNDO)}
    for c, _ in parse_log(newer):
        if c.sha in ignorable or any(c.sha.startswith(u) for u in undone):
            continue
        touched = git(
            top, "--literal-pathspecs", "diff-tree", "--no-commit-id", "-r", "--name-only", "-m",
            "--first-parent", c.sha, "--", *paths,
        ).stdout.split()  # fmt: skip
        which = ", ".join(dict.fromkeys(touched)) or ", ".join(paths)
        raise CrmError(
            f'cannot undo {target.short} "{target.subject}": a newer commit {c.short} '
            f'"{c.subject}" by {c.author} also changed {which}; '
            f"undo that one first, or revert by hand with: git revert {target.short}"
        )
    dirty = git(top, "--literal-pathspecs", "status", "--porcelain", "-z", "--", *paths).stdout
    dirty_paths = [d[3:] for d in dirty.split("\0") if len(d) > 3]
    if dirty_paths:
        raise CrmError(
            f'cannot undo {target.short} "{target.subject}": '
            f"{', '.join(dirty_paths)} has uncommitted changes; commit or discard them first"
        )
    return UndoPlan(commit=target, files=files, top=top)


def apply_undo(plan: UndoPlan) -> tuple[str | None, str | None]:
    """Put the files of the planned commit back as they were before it and commit
    that. Returns (new commit, None), or (None, why the commit failed)."""
    top = plan.top
    target = plan.commit
    added = [p for s, p in plan.files if s == "A"]
    others = [p for s, p in plan.files if s != "A"]
    if added:
        git(top, "--literal-pathspecs", "rm", "-q", "-f", "--", *added)
    if others:
        git(top, "--literal-pathspecs", "checkout", f"{target.sha}^", "--", *others)
    message = f"undo: {target.subject}\n\nThis reverts commit {target.sha}."
    try:
        sha = commit_paths(
            top,
            [top / p for _, p in plan.files],
            message,
            trailers={TRAILER_UNDO: target.sha, TRAILER_COMMAND: "crm undo"},
        )
    except GitError as e:
        return None, first_line(e.output) or f"git commit exited with status {e.code}"
    return sha, None
