"""Reading history: the commits that touched a record and the fields each changed;
records deleted from the files but still in history.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crmcli.git.run import (
    TRAILER_COMMAND,
    git,
    has_head,
    outside,
    prefix,
    require_repo,
    toplevel,
)
from crmcli.models import KINDS


@dataclass
class Commit:
    sha: str
    author: str
    email: str
    date: str
    subject: str
    body: str

    def trailer(self, key: str) -> str | None:
        value = None
        for line in self.body.splitlines():
            k, sep, v = line.partition(":")
            if sep and k.strip().lower() == key.lower():
                value = v.strip()
        return value

    @property
    def short(self) -> str:
        return self.sha[:7]


LOG_FORMAT = "%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1f%B%x1f"


def parse_log(out: str) -> list[tuple[Commit, str]]:
    """Commits from `git log --format=LOG_FORMAT [--name-status]`, each with the
    text after its header (the name-status lines)."""
    found = []
    for chunk in out.split("\x1e"):
        if not chunk.strip():
            continue
        parts = chunk.split("\x1f")
        if len(parts) < 7:
            continue
        sha, author, email, date, subject, body, rest = parts[:7]
        found.append((Commit(sha, author, email, date, subject, body), rest))
    return found


def show_versions(root: Path, specs: list[str]) -> list[str | None]:
    """The contents of `REV:PATH` specs (None for a missing one), with one git call."""
    from crmcli.git.tree import cat_blobs

    return [None if b is None else b.decode("utf-8", "replace") for b in cat_blobs(root, specs)]


def load_version(text: str | None) -> tuple[Any, str | None]:
    from crmcli import yamlio

    if text is None:
        return None, None
    try:
        data = yamlio.loads(text)
    except yamlio.YAMLError as e:
        return None, f"not valid YAML: {yamlio.describe(e)}"
    if not isinstance(data, dict):
        return None, "not a mapping of fields"
    return data, None


_QUIET_FIELDS = ("updated",)


def field_changes(old: Any, new: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Field by field, what changed between two versions of a record:
    [{field, change: added|changed|removed, old, new}]; `updated` is left out."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    changes: list[dict[str, Any]] = []
    keys = list(new) + [k for k in old if k not in new]
    for k in keys:
        name = f"{prefix}{k}"
        if not prefix and k in _QUIET_FIELDS:
            continue
        a, b = old.get(k), new.get(k)
        if a == b and (k in old) == (k in new):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            changes += field_changes(a, b, f"{name}.")
            continue
        if k not in old or _empty(a):
            if _empty(b):
                continue
            changes.append({"field": name, "change": "added", "old": None, "new": b})
        elif k not in new or _empty(b):
            changes.append({"field": name, "change": "removed", "old": a, "new": None})
        else:
            changes.append({"field": name, "change": "changed", "old": a, "new": b})
    return changes


def _empty(v: Any) -> bool:
    return v is None or v == [] or v == {} or v == ""


def record_history(root: Path, relpath: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The changes to one record file, newest first: one entry per commit that
    touched it (git log --follow), plus one for uncommitted changes."""
    root = Path(root)
    require_repo(root, "history")
    entries: list[dict[str, Any]] = []
    # --follow with exact renames only: record files look alike, and git would
    # otherwise take a new record for a copy of an older one
    args = ["log", "--follow", "-M100%", "--no-color", f"--format={LOG_FORMAT}", "--name-status"]
    if limit:
        args.append(f"-n{limit}")
    commits: list[tuple[Commit, str, str | None, str | None]] = []
    if has_head(root):
        out = git(root, "--literal-pathspecs", *args, "--", relpath).stdout
        for commit, rest in parse_log(out):
            status, path, oldpath = "M", None, None
            for line in rest.strip().splitlines():
                cols = line.split("\t")
                if len(cols) >= 2 and cols[0]:
                    status = cols[0][0]
                    path = cols[-1]
                    oldpath = cols[1] if status in "RC" and len(cols) >= 3 else cols[-1]
            commits.append((commit, status, path, oldpath))
    commits = _inside(commits, prefix(root))
    specs: list[str] = []
    top = toplevel(root) or root
    for commit, status, path, oldpath in commits:
        p = path or os.path.relpath(root / relpath, top)
        specs.append(f"{commit.sha}:{p}" if status != "D" else "")
        specs.append(f"{commit.sha}^:{oldpath or p}" if status not in "A" else "")
    contents = show_versions(top, [s or "-missing-" for s in specs])
    # uncommitted changes first
    work = root / relpath
    head_text = None
    if commits:
        head_spec = f"HEAD:{os.path.relpath(root / relpath, top)}"
        head_text = show_versions(top, [head_spec])[0]
    try:
        work_text = work.read_bytes().decode("utf-8", "replace") if work.exists() else None
    except OSError:
        work_text = None
    if work_text != head_text and not (work_text is None and not commits):
        entries.append(_entry(None, head_text, work_text))
    for i, (commit, status, _path, _old) in enumerate(commits):
        new_text = contents[2 * i] if status != "D" else None
        old_text = contents[2 * i + 1] if status != "A" else None
        entries.append(_entry(commit, old_text, new_text))
    return entries[:limit] if limit else entries


def _inside(commits: list[tuple[Any, str, str | None, str | None]], crm_dir: str) -> list:
    """History stops where --follow leaves the CRM: a file renamed into it from
    elsewhere in the repository was created there, as far as the CRM knows."""
    kept = []
    for commit, status, path, oldpath in commits:
        if path is not None and outside([path], crm_dir):
            break
        if status in "RC" and oldpath is not None and outside([oldpath], crm_dir):
            kept.append((commit, "A", path, None))
            break
        kept.append((commit, status, path, oldpath))
    return kept


def _entry(commit: Commit | None, old_text: str | None, new_text: str | None) -> dict[str, Any]:
    old, old_err = load_version(old_text)
    new, new_err = load_version(new_text)
    if new_text is None:
        action, changes = "deleted", []
    elif old_text is None:
        action = "created"
        changes = [
            c
            for c in field_changes({}, new)
            if c["field"] not in ("id", "created") and c["new"] is not False
        ]
    elif isinstance(new, dict) and "merged_into" in new and not (old or {}).get("merged_into"):
        action = "merged"
        changes = [
            {"field": "merged_into", "change": "added", "old": None, "new": new["merged_into"]}
        ]
    else:  # a version that cannot be read shows no field changes, only the problem
        action = "changed"
        changes = [] if (old_err or new_err) else field_changes(old, new)
    entry: dict[str, Any] = {
        "commit": commit.sha if commit else None,
        "author": commit.author if commit else None,
        "email": commit.email if commit else None,
        "date": commit.date if commit else None,
        "message": commit.subject if commit else "(not committed)",
        "command": commit.trailer(TRAILER_COMMAND) if commit else None,
        "action": action,
        "changes": changes,
    }
    problem = new_err or old_err
    if problem:
        entry["problem"] = problem
    return entry


def find_deleted(root: Path, rid: str) -> list[tuple[str, str]]:
    """(kind, relative path) of record files named `rid` that git knows about
    but that are gone from the work tree (for the history of a removed record)."""
    found = []
    if not has_head(root):
        return found
    for kind, folder in KINDS.items():
        if kind == "activity":
            continue
        rel = f"{folder}/{rid}.yaml"
        out = git(root, "--literal-pathspecs", "log", "-1", "--format=%H", "--", rel, check=False)
        if out.returncode == 0 and out.stdout.strip():
            found.append((kind, rel))
    return found
