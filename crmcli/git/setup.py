"""Setting a CRM up for team use: the merge driver, .gitattributes, autocommit in
crm.yaml, and `crm init --git`.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from crmcli.errors import CrmError
from crmcli.git.autocommit import commit_paths
from crmcli.git.run import ATTRIBUTES_COMMENT, DRIVER, GitError, first_line, git, toplevel
from crmcli.models import KINDS


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
