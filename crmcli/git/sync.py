"""Sync: commit, pull --rebase (record files merged field by field by the merge
driver), then push; conflicts it could not merge are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError
from crmcli.git.autocommit import commit_paths
from crmcli.git.history import load_version, show_versions
from crmcli.git.run import GitError, first_line, git, has_head, prefix, toplevel
from crmcli.git.setup import ensure_attributes, register_driver
from crmcli.models import KINDS


@dataclass
class SyncResult:
    remote: str
    branch: str
    pulled: int = 0
    pushed: int = 0
    driver_registered: bool = False
    uncommitted: list[str] = field(default_factory=list)
    # conflicts the merge kept in records this sync changed: {kind, id, name, path,
    # field, ours: the value the record holds, theirs: the value set aside, from}
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def _git_dir(top: Path) -> Path:
    out = git(top, "rev-parse", "--absolute-git-dir").stdout.strip()
    return Path(out)


def _count(top: Path, spec: str) -> int:
    out = git(top, "rev-list", "--count", spec, check=False)
    try:
        return int(out.stdout.strip())
    except ValueError:
        return 0


def _remote_url(top: Path, remote: str) -> str:
    out = git(top, "remote", "get-url", remote, check=False)
    return out.stdout.strip() or remote


def _branch(top: Path) -> str:
    """The branch sync works on; CrmError when a rebase or merge is under way, or
    HEAD is detached."""
    gdir = _git_dir(top)
    if (gdir / "rebase-merge").exists() or (gdir / "rebase-apply").exists():
        raise CrmError(
            "a rebase is still in progress (an earlier sync stopped at a conflict?); see "
            "'git status', finish with 'git rebase --continue' or 'git rebase --abort', "
            "then run crm sync again"
        )
    if (gdir / "MERGE_HEAD").exists():
        raise CrmError(
            "a git merge is in progress; finish it ('git status' explains) before crm sync"
        )
    branch = git(top, "symbolic-ref", "--short", "-q", "HEAD", check=False).stdout.strip()
    if not branch:
        raise CrmError("not on a branch (detached HEAD); check out a branch before crm sync")
    return branch


def _upstream(top: Path, branch: str) -> tuple[str, str]:
    """The remote `branch` syncs with and its upstream ref ("" when it has none yet:
    origin, or the only remote)."""
    remote = git(top, "config", "--get", f"branch.{branch}.remote", check=False).stdout.strip()
    merge_ref = git(top, "config", "--get", f"branch.{branch}.merge", check=False).stdout.strip()
    remotes = git(top, "remote").stdout.split()
    if not remote or remote == ".":
        if not remotes:
            raise CrmError("no git remote to sync with; add one with: git remote add origin URL")
        if "origin" in remotes:
            remote = "origin"
        elif len(remotes) == 1:
            remote = remotes[0]
        else:
            raise CrmError(
                f"several git remotes ({', '.join(remotes)}) and no upstream for branch "
                f"'{branch}'; choose one with: git branch --set-upstream-to REMOTE/{branch}"
            )
        merge_ref = ""
    return remote, merge_ref


def sync(root: Path, *, max_tries: int = 3) -> SyncResult:
    """Pull with rebase (record files merged by the merge driver), then push."""
    root = Path(root)
    top = toplevel(root)
    if top is None:
        raise CrmError(
            f"the CRM in {root.resolve()} is not in a git repository, so there is nothing to "
            "sync with; set one up with: crm init --git, then git remote add origin URL"
        )
    branch = _branch(top)
    remote, merge_ref = _upstream(top, branch)
    rbranch = merge_ref.removeprefix("refs/heads/") if merge_ref else branch
    res = SyncResult(remote=remote, branch=rbranch)
    before = git(top, "rev-parse", "HEAD").stdout.strip() if has_head(top) else None

    res.driver_registered = register_driver(top)
    if ensure_attributes(root):
        try:
            commit_paths(root, [root / ".gitattributes"], "crm: merge record files field by field")
        except GitError as e:
            raise CrmError(
                f"cannot commit .gitattributes (the merge driver): {first_line(e.output)}"
            ) from None

    tracking = f"refs/remotes/{remote}/{rbranch}"
    for _attempt in range(max_tries):
        try:
            git(top, "fetch", "-q", remote)
        except GitError as e:
            raise CrmError(
                f"cannot reach git remote '{remote}' ({_remote_url(top, remote)}): "
                f"{first_line(e.output) or 'fetch failed'}"
            ) from None
        exists = git(top, "rev-parse", "-q", "--verify", tracking, check=False).returncode == 0
        if exists:
            behind = _count(top, f"HEAD..{tracking}")
            if behind:
                _rebase(top, tracking)
                res.pulled += behind
        ahead = _count(top, f"{tracking}..HEAD") if exists else _count(top, "HEAD")
        if not ahead:
            break
        push = ["push", "-q", remote, f"HEAD:refs/heads/{rbranch}"]
        if not merge_ref:
            push.insert(1, "--set-upstream")
        proc = git(top, *push, check=False)
        if proc.returncode == 0:
            res.pushed += ahead
            if not merge_ref:
                git(top, "branch", f"--set-upstream-to={remote}/{rbranch}", check=False)
            break
        output = proc.stderr + proc.stdout
        if "rejected" in output or "fetch first" in output or "non-fast-forward" in output:
            continue  # someone pushed in between: pull again
        raise CrmError(
            f"cannot push to git remote '{remote}' ({_remote_url(top, remote)}): "
            f"{first_line(output) or 'push failed'}"
        )
    else:
        raise CrmError(
            f"cannot push to git remote '{remote}': it kept changing while syncing; try again"
        )
    dirty = git(root, "status", "--porcelain", "-z", "--", ".").stdout
    res.uncommitted = [d[3:] for d in dirty.split("\0") if len(d) > 3]
    if before:
        res.conflicts = new_conflicts(root, before)
    return res


def new_conflicts(root: Path, before: str) -> list[dict[str, Any]]:
    """The conflict entries (see mergedriver) that record files gained from commit
    `before` to HEAD: what the merge driver kept for a person, here or on a clone."""
    from crmcli import mergedriver, models

    folders = list(KINDS.values())
    out = git(root, "--literal-pathspecs", "diff", "--name-only", "--no-renames", "-z",
              "--relative", before, "HEAD", "--", *folders).stdout  # fmt: skip
    rels = [r for r in out.split("\0") if r.endswith(".yaml")]
    if not rels:
        return []
    where = prefix(root)
    top = toplevel(root) or root
    texts = show_versions(top, [f"{rev}:{where}{r}" for r in rels for rev in (before, "HEAD")])
    found = []
    for i, rel in enumerate(rels):
        old, _ = load_version(texts[2 * i])
        new, _ = load_version(texts[2 * i + 1])
        if not isinstance(new, dict):
            continue
        had = mergedriver.conflicts_of(old) if isinstance(old, dict) else []
        kind = mergedriver.kind_of(rel) or "record"
        for c in mergedriver.conflicts_of(new):
            if c in had:
                continue
            ours = mergedriver.value_at(new, c["field"])
            found.append({
                "kind": kind, "id": str(new.get("id") or Path(rel).stem),
                "name": None if "merged_into" in new or kind not in models.NAME_FIELD
                else models.display_name(kind, new),
                "path": rel, "field": c["field"], "merged_into": new.get("merged_into"),
                "ours": None if ours is mergedriver.MISSING else ours,
                "theirs": c.get("value"), "from": c.get("from"),
            })  # fmt: skip
    return found


def _rebase(top: Path, onto: str) -> None:
    proc = git(top, "rebase", "--autostash", onto, check=False)
    if proc.returncode == 0:
        return
    conflicted = git(top, "diff", "--name-only", "--diff-filter=U", check=False).stdout.split()
    output = proc.stderr + proc.stdout
    if conflicted:
        files = ", ".join(conflicted)
        raise CrmError(
            f"sync stopped at a conflict that needs a person in {files}: edit the file(s), "
            "then 'git add' them and 'git rebase --continue' (or 'git rebase --abort' to go "
            "back), then run crm sync again"
        )
    raise CrmError(f"git rebase onto {onto} failed: {first_line(output) or 'see git status'}")
