"""Team use over git: running git, setting a CRM up for it (merge driver,
.gitattributes, autocommit), committing what a command changed, the history of a
record, undoing the last crm commit, and sync (pull --rebase, then push).

Commits made by crm carry a trailer `Crm-Command: crm ...`; an undo carries
`Crm-Undo: SHA` too. Plain functions; errors are raised as CrmError, warnings go
to `store.warn`. git itself is run as a subprocess.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError
from crmcli.models import KINDS

DRIVER = "crm"
TRAILER_COMMAND = "Crm-Command"
TRAILER_UNDO = "Crm-Undo"
ATTRIBUTES_COMMENT = "# crm: merge record files field by field (crm merge-driver)"
UNDO_DEPTH = 500  # how many commits back undo looks for a crm commit


class GitError(CrmError):
    """A git command failed; `output` is what it said."""

    def __init__(self, args: Sequence[str], code: int, output: str) -> None:
        self.code = code
        self.output = output
        super().__init__(
            f"git {' '.join(args[:2])} failed: {first_line(output) or f'exit status {code}'}"
        )


def first_line(output: str) -> str:
    """git's most telling line: the first 'fatal:'/'error:' one, else the first."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith(("fatal:", "error:")):
            return ln
    return lines[0] if lines else ""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_MESSAGES"] = "C"
    env.pop("LANGUAGE", None)
    env.setdefault("GIT_EDITOR", "true")
    if not sys.stdin or not hasattr(sys.stdin, "isatty") or not sys.stdin.isatty():
        env["GIT_TERMINAL_PROMPT"] = "0"
    if os.environ.get("CRM_NOW"):  # the contract's clock: commits carry it too
        from crmcli.dates import iso, parse_iso

        try:
            stamp = iso(parse_iso(os.environ["CRM_NOW"]))
        except (ValueError, OverflowError, CrmError):
            stamp = ""
        if stamp:
            env["GIT_AUTHOR_DATE"] = stamp
            env["GIT_COMMITTER_DATE"] = stamp
    return env


def git(
    cwd: Path, *args: str, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `git ARGS` in `cwd`; GitError when it fails and `check`."""
    cmd = ["git", "-c", "core.quotepath=false", *args]
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=_env(),
        )
    except FileNotFoundError:
        raise CrmError("git is not installed (or not on PATH); crm needs it for this") from None
    except OSError as e:
        raise CrmError(f"cannot run git in {cwd}: {e.strerror}") from None
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr + proc.stdout)
    return proc


def toplevel(path: Path) -> Path | None:
    """The work tree that holds `path`, or None when it is not in one (or no git)."""
    try:
        proc = git(Path(path), "rev-parse", "--show-toplevel", check=False)
    except CrmError:
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return Path(proc.stdout.strip())


def require_repo(root: Path, what: str) -> Path:
    top = toplevel(root)
    if top is None:
        raise CrmError(
            f"{what} needs git, and the CRM in {Path(root).resolve()} is not in a git "
            "repository; set one up with: crm init --git"
        )
    return top


def prefix(root: Path) -> str:
    """The CRM's folder inside its work tree, as git writes paths ("crm/"; "" at the top)."""
    return git(Path(root), "rev-parse", "--show-prefix").stdout.strip()


def outside(paths: Iterable[str], where: str) -> list[str]:
    """The repository paths (relative to the top) that are not under the folder `where`."""
    return [p for p in paths if not p.startswith(where)]


def has_head(cwd: Path) -> bool:
    return git(cwd, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).returncode == 0


def _rel(root: Path, paths: Iterable[Path | str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        r = os.path.relpath(p, root)
        if r not in out:
            out.append(r)
    return out


# ----- set-up -----------------------------------------------------------------------------


def driver_command() -> str:
    """How git should run the merge driver: this Python running `-m crmcli`, so it
    works from a virtualenv whether or not `crm` is on git's PATH."""
    return f"{shlex.quote(sys.executable)} -m crmcli merge-driver %O %A %B %P"


def driver_ok(top: Path) -> bool:
    """Is the merge driver registered in this clone's git config, with a program
    that still exists?"""
    proc = git(top, "config", "--get", f"merge.{DRIVER}.driver", check=False)
    value = proc.stdout.strip()
    if proc.returncode != 0 or not value:
        return False
    try:
        program = shlex.split(value)[0]
    except (ValueError, IndexError):
        return False
    return not os.path.isabs(program) or os.path.exists(program)


def register_driver(top: Path) -> bool:
    """Register the merge driver in the repository's config; True when it changed."""
    if driver_ok(top):
        return False
    git(top, "config", f"merge.{DRIVER}.name", "crm: merge record files field by field")
    git(top, "config", f"merge.{DRIVER}.driver", driver_command())
    return True


def attribute_lines() -> list[str]:
    return [f"{folder}/*.yaml merge={DRIVER}" for folder in KINDS.values()]


def ensure_attributes(root: Path) -> bool:
    """.gitattributes at the CRM root names the merge driver for every record
    folder; missing lines are added (others kept). True when the file changed."""
    from crmcli.store import atomic_write

    path = Path(root) / ".gitattributes"
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as e:
        raise CrmError(f"cannot read {path}: {e}") from None
    have = {" ".join(line.split()) for line in text.splitlines()}
    missing = [line for line in attribute_lines() if line not in have]
    if not missing:
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    if ATTRIBUTES_COMMENT not in have:
        missing.insert(0, ATTRIBUTES_COMMENT)
    text += "\n".join(missing) + "\n"
    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as e:
        raise CrmError(f"cannot write {path}: {e.strerror}") from None
    return True


_FLOW = re.compile(r"^git:(?P<sp>\s*)\{(?P<body>[^{}#]*)\}(?P<rest>\s*(#.*)?)$")
_BLOCK = re.compile(r"^git:\s*(#.*)?$")
_AUTO = re.compile(r"autocommit\s*:\s*[^,}\s]*")


def autocommit_text(text: str) -> str:
    """crm.yaml's text with `git.autocommit: true`, comments and layout kept."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        bare = line.rstrip("\r\n")
        end = line[len(bare) :] or "\n"
        m = _FLOW.match(bare)
        if m:
            body = m.group("body")
            if _AUTO.search(body):
                body = _AUTO.sub("autocommit: true", body, count=1)
            else:
                body = "autocommit: true" + (", " + body.strip() if body.strip() else "")
            lines[i] = f"git:{m.group('sp')}{{{body}}}{m.group('rest')}{end}"
            return "".join(lines)
        if _BLOCK.match(bare):
            j = i + 1
            indent = "  "
            while j < len(lines) and (not lines[j].strip() or lines[j][:1] in " \t"):
                sub = lines[j]
                if sub.strip():
                    indent = sub[: len(sub) - len(sub.lstrip())]
                    if sub.strip().startswith("autocommit:"):
                        lines[j] = (
                            indent + _AUTO.sub("autocommit: true", sub.strip(), count=1) + "\n"
                        )
                        return "".join(lines)
                j += 1
            lines.insert(i + 1, f"{indent}autocommit: true\n")
            return "".join(lines)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "git: {autocommit: true}\n"


def enable_autocommit(root: Path) -> bool:
    """Set `git.autocommit: true` in crm.yaml by editing its text; True when changed."""
    from crmcli import yamlio
    from crmcli.settings import SETTINGS_FILE
    from crmcli.store import atomic_write

    path = Path(root) / SETTINGS_FILE
    text = path.read_text(encoding="utf-8")
    data = yamlio.loads(text) or {}
    if isinstance(data.get("git"), dict) and data["git"].get("autocommit") is True:
        return False
    new = autocommit_text(text)
    try:
        check = yamlio.loads(new) or {}
    except yamlio.YAMLError:
        check = {}
    if not (isinstance(check.get("git"), dict) and check["git"].get("autocommit") is True):
        raise CrmError(
            f"cannot set git.autocommit in {path}; set 'git: {{autocommit: true}}' by hand"
        )
    try:
        atomic_write(path, new.encode("utf-8"))
    except OSError as e:
        raise CrmError(f"cannot write {path}: {e.strerror}") from None
    return True


@dataclass
class SetupResult:
    top: Path
    created_repo: bool = False
    driver: bool = False
    attributes: bool = False
    autocommit: bool = False
    commit: str | None = None
    warnings: list[str] = field(default_factory=list)


def setup(root: Path, *, create_repo: bool, commit: bool = True) -> SetupResult | None:
    """Set a CRM up for team use over git: `git init` when asked and needed, the
    merge driver in .gitattributes and the repository config, autocommit on in
    crm.yaml, and (with `commit`) a commit of those set-up files (never of records,
    except that a repository made here starts with the whole CRM). None when the
    CRM is not in a git work tree and `create_repo` is false."""
    root = Path(root)
    top = toplevel(root)
    created = False
    if top is None:
        if not create_repo:
            return None
        git(root, "init", "-q")
        top = toplevel(root)
        if top is None:
            raise CrmError(f"git init in {root.resolve()} did not make a work tree")
        created = True
    res = SetupResult(top=top, created_repo=created)
    res.attributes = ensure_attributes(root)
    res.driver = register_driver(top)
    res.autocommit = enable_autocommit(root)
    files = [".gitattributes", ".gitignore", "crm.yaml"]
    files += [f"{folder}/.gitkeep" for folder in KINDS.values()]
    files = [f for f in files if (root / f).exists()]
    # a new repository starts with the whole CRM (records an existing CRM already
    # has included); in an existing one only the set-up files are committed
    paths = [root] if created else [root / f for f in files]
    if not commit:
        return res
    try:
        res.commit = commit_paths(root, paths, "crm: set up the CRM for git")
    except GitError as e:
        res.warnings.append(
            f"the set-up files ({', '.join(files)}) are not committed: {first_line(e.output) or e.message}"
        )
    return res


# ----- committing ------------------------------------------------------------------------


def commit_paths(
    root: Path, paths: Sequence[Path | str], message: str, trailers: dict[str, str] | None = None
) -> str | None:
    """Commit exactly `paths` (relative to `root` or absolute; written or removed)
    with `message`, leaving anything else staged as it is. None when none of them
    differs from HEAD. GitError when git refuses (a hook, no identity, ...)."""
    root = Path(root)
    rels = _rel(root, paths)
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
    files = _rel(store.root, store.changed)
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


# ----- reading history ---------------------------------------------------------------------


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


_LOG_FORMAT = "%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1f%B%x1f"


def _parse_log(out: str) -> list[tuple[Commit, str]]:
    """Commits from `git log --format=_LOG_FORMAT [--name-status]`, each with the
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


def _show(root: Path, specs: list[str]) -> list[str | None]:
    """The contents of `REV:PATH` specs (None for a missing one), with one git call."""
    if not specs:
        return []
    proc = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        input=("\n".join(specs) + "\n").encode("utf-8"),
        capture_output=True,
        env=_env(),
    )
    data = proc.stdout
    out: list[str | None] = []
    pos = 0
    for _spec in specs:
        nl = data.find(b"\n", pos)
        if nl < 0:
            out.append(None)
            continue
        header = data[pos:nl].decode("utf-8", "replace")
        pos = nl + 1
        parts = header.split()
        if len(parts) == 3 and parts[1] == "blob":
            size = int(parts[2])
            out.append(data[pos : pos + size].decode("utf-8", "replace"))
            pos += size + 1
        else:
            out.append(None)
    return out


def _load_version(text: str | None) -> tuple[Any, str | None]:
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
    args = ["log", "--follow", "-M100%", "--no-color", f"--format={_LOG_FORMAT}", "--name-status"]
    if limit:
        args.append(f"-n{limit}")
    commits: list[tuple[Commit, str, str | None, str | None]] = []
    if has_head(root):
        out = git(root, "--literal-pathspecs", *args, "--", relpath).stdout
        for commit, rest in _parse_log(out):
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
    contents = _show(top, [s or "-missing-" for s in specs])
    # uncommitted changes first
    work = root / relpath
    head_text = None
    if commits:
        head_spec = f"HEAD:{os.path.relpath(root / relpath, top)}"
        head_text = _show(top, [head_spec])[0]
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
    old, old_err = _load_version(old_text)
    new, new_err = _load_version(new_text)
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


# ----- undo ------------------------------------------------------------------------------------


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
        root, "log", "--first-parent", f"-n{UNDO_DEPTH}", f"--format={_LOG_FORMAT}", "--", "."
    ).stdout
    commits = [c for c, _ in _parse_log(out)]
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
        top, "--literal-pathspecs", "log", f"--format={_LOG_FORMAT}", f"{target.sha}..HEAD",
        "--", *paths,
    ).stdout  # fmt: skip
    ignorable = undone | {c.sha for c in commits if c.trailer(TRAILER_UNDO)}
    for c, _ in _parse_log(newer):
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


# ----- sync ------------------------------------------------------------------------------------


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


def sync(root: Path, *, max_tries: int = 3) -> SyncResult:
    """Pull with rebase (record files merged by the merge driver), then push."""
    root = Path(root)
    top = toplevel(root)
    if top is None:
        raise CrmError(
            f"the CRM in {root.resolve()} is not in a git repository, so there is nothing to "
            "sync with; set one up with: crm init --git, then git remote add origin URL"
        )
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
    texts = _show(top, [f"{rev}:{where}{r}" for r in rels for rev in (before, "HEAD")])
    found = []
    for i, rel in enumerate(rels):
        old, _ = _load_version(texts[2 * i])
        new, _ = _load_version(texts[2 * i + 1])
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
