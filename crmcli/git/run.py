"""Running git: the environment crm runs it in (no prompts; commits carry CRM_NOW),
its errors (GitError), and where a CRM lies in its repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from crmcli.errors import CrmError

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


def git_env() -> dict[str, str]:
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
            env=git_env(),
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


def rel_paths(root: Path, paths: Iterable[Path | str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        r = os.path.relpath(p, root)
        if r not in out:
            out.append(r)
    return out
