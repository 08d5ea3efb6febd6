"""The CRM at a past moment, read through git itself: the last commit at or before
a time (`git rev-list`), the record files of that commit's tree in one pass
(`git ls-tree -r`, then `git cat-file --batch` for the blobs), and the commits
that changed the deals between two commits with the blob of every version
(`git log --raw`). No hand-written object parser, no `git show` per file.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from crmcli.git.run import GitError, git, git_env, has_head, prefix, toplevel
from crmcli.models import KINDS
from crmcli.settings import SETTINGS_FILE

ZERO = "0" * 40


@dataclass
class Tree:
    """One commit of the CRM's repository: its sha and date, the CRM's folder in
    the repository and the blob of its crm.yaml; `files(kind)` lists the record
    files of a kind (one `git ls-tree` of that folder, when first asked)."""

    root: Path
    top: Path
    folder: str
    commit: str
    date: str
    settings_blob: str | None = None
    listed: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def files(self, kind: str) -> list[tuple[str, str]]:
        """[(file name, blob sha)] of `kind`'s record files, in name order."""
        if kind not in self.listed:
            where = f"{self.folder}{KINDS[kind]}/"
            out = git(self.top, "ls-tree", "-z", "--full-tree", self.commit, "--", where).stdout
            found = []
            for entry in out.split("\0"):
                meta, _, path = entry.partition("\t")
                parts, name = meta.split(), path[len(where) :]
                if len(parts) == 3 and parts[1] == "blob" and name.endswith(".yaml"):
                    found.append((name, parts[2]))
            found.sort()
            self.listed[kind] = found
        return self.listed[kind]


def repository(root: Path) -> tuple[Path, str] | None:
    """(work tree top, the CRM's folder in it as git writes paths) when the CRM is in
    a git repository with at least one commit; else None."""
    top = toplevel(root)
    if top is None or not has_head(root):
        return None
    return top, prefix(root)


def commit_at(root: Path, when: datetime) -> tuple[str, str] | None:
    """(sha, committer date ISO) of the last commit of HEAD at or before `when`."""
    out = git(
        root, "rev-list", "-1", "--format=%cI", f"--before={when.isoformat()}", "HEAD"
    ).stdout.split()
    # rev-list --format prints "commit SHA" then the formatted line
    return (out[1], out[2]) if len(out) >= 3 else None


def head(root: Path) -> tuple[str, str]:
    """(sha, committer date ISO) of HEAD."""
    sha, date = git(root, "log", "-1", "--format=%H %cI", "HEAD").stdout.split()
    return sha, date


def first_commit_date(root: Path) -> str | None:
    """The committer date (ISO) of the first commit of HEAD that holds the CRM (its
    crm.yaml), else of the oldest commit."""
    for path in (SETTINGS_FILE, "."):
        out = git(root, "log", "--reverse", "--format=%cI", "HEAD", "--", path, check=False)
        if out.stdout.split():
            return out.stdout.split()[0]
    return None


def read_tree(root: Path, commit: str, date: str, repo: tuple[Path, str]) -> Tree:
    """The CRM at `commit` (`repo`: what `repository` said): where its crm.yaml is
    (record files are listed per kind when asked, Tree.files)."""
    top, folder = repo
    tree = Tree(root, top, folder, commit, date)
    out = git(top, "ls-tree", "--full-tree", commit, "--", f"{folder}{SETTINGS_FILE}").stdout
    parts = out.split()
    if len(parts) >= 3 and parts[1] == "blob":
        tree.settings_blob = parts[2]
    return tree


def unchanged_files(tree: Tree, kind: str) -> dict[str, str]:
    """{file name: blob sha} of `kind`'s record files whose work-tree copy is the
    blob git's index holds (`git ls-files -s`, less what `git diff-files` finds
    changed): their records need not be read from git again."""
    top, folder = tree.top, tree.folder
    where = f"{folder}{KINDS[kind]}/"
    staged = git(top, "ls-files", "-s", "-z", "--", where).stdout
    changed = set(git(top, "diff-files", "--name-only", "-z", "--", where).stdout.split("\0"))
    out = {}
    for entry in staged.split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[2] == "0" and path not in changed:
            out[path[len(where) :]] = parts[1]
    return out


def cat_blobs(top: Path, specs: Iterable[str]) -> list[bytes | None]:
    """The contents of objects (blob shas or REV:PATH specs), in order, with one
    `git cat-file --batch`; None for one that is missing or not a blob."""
    specs = list(specs)
    if not specs:
        return []
    proc = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=top,
        input=("\n".join(specs) + "\n").encode("utf-8"),
        capture_output=True,
        env=git_env(),
    )
    if proc.returncode != 0:
        raise GitError(["cat-file", "--batch"], proc.returncode, proc.stderr.decode())
    data = proc.stdout
    out: list[bytes | None] = []
    pos = 0
    for _spec in specs:
        nl = data.find(b"\n", pos)
        if nl < 0:
            out.append(None)
            continue
        parts = data[pos:nl].split()
        pos = nl + 1
        if len(parts) == 3 and parts[1] == b"blob":
            size = int(parts[2])
            out.append(data[pos : pos + size])
            pos += size + 1
        else:
            out.append(None)
    return out


@dataclass
class Version:
    """A commit that changed one record file: who, when, and the file's blob after
    it (None: the file was deleted)."""

    commit: str
    author: str
    date: str
    blob: str | None


def file_versions(start: str | None, end: Tree, kind: str) -> dict[str, list[Version]]:
    """{file name: its versions, oldest first} of `kind`'s record files changed by
    the commits after `start` (None: from the first) up to `end`: one `git log --raw`
    (merges shown against their first parent)."""
    where = f"{end.folder}{KINDS[kind]}/"
    span = f"{start}..{end.commit}" if start else end.commit
    out = git(
        end.top,
        "log",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--first-parent",
        "-m",
        "--reverse",
        "--format=%x1e%H%x1f%an%x1f%aI",
        span,
        "--",
        where,
    ).stdout
    versions: dict[str, list[Version]] = {}
    for chunk in out.split("\x1e"):
        head, _, rest = chunk.partition("\n")
        parts = head.split("\x1f")
        if len(parts) != 3:
            continue
        sha, author, date = parts
        for line in rest.splitlines():
            meta, _, path = line.partition("\t")
            cols = meta.split()
            if len(cols) < 5 or not path.startswith(where):
                continue
            name = path[len(where) :]
            if "/" in name or not name.endswith(".yaml"):
                continue
            blob = None if cols[3] == ZERO else cols[3]
            versions.setdefault(name, []).append(Version(sha, author, date, blob))
    return versions
