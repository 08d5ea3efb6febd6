"""crm init: create a CRM directory (and set it up for git)."""

from pathlib import Path
from typing import Annotated

import typer


def init_command(
    path: Annotated[
        Path, typer.Argument(help="Where to create the CRM (default: here).", show_default=False)
    ] = Path("."),
    name: Annotated[
        str | None, typer.Option("--name", help="The CRM's name (default: the folder name).")
    ] = None,
    git: Annotated[
        bool,
        typer.Option(
            "--git",
            help="Keep the CRM in git: git init if needed, crm's merge driver, autocommit on. "
            "In a clone of a CRM, sets up git for that clone without touching records.",
        ),
    ] = False,
) -> None:
    """Create a CRM: crm.yaml with commented defaults, the record folders, .gitignore.

    Refuses to overwrite an existing CRM (except with --git, which then only sets up
    git). Inside a git work tree, or with --git, it also registers crm's merge driver
    (.gitattributes and the repository's config) and turns settings git.autocommit on;
    --git also commits those set-up files.

    Example: crm init ~/sales --name "Acme CRM" --git
    """
    from crmcli.git.setup import setup
    from crmcli.render import warn
    from crmcli.settings import SETTINGS_FILE
    from crmcli.store import init

    existing = git and (path / SETTINGS_FILE).is_file()
    if existing:
        root = path
    else:
        root = init(path, name)
        print(f"Created a CRM in {root.resolve()}; edit crm.yaml to set owners and pipeline.")
    res = setup(root, create_repo=git, commit=git)
    if res is None:
        return
    for w in res.warnings:
        warn(w)
    done = []
    if res.created_repo:
        done.append("made a git repository")
    done.append("merge driver registered" if res.driver else "merge driver already registered")
    if res.attributes:
        done.append(".gitattributes written")
    done.append("autocommit on")
    if res.commit:
        done.append(f"committed the set-up files ({res.commit[:7]})")
    print(f"Git for the CRM in {root.resolve()}: {', '.join(done)}.")
    if not git:
        print("Commit crm.yaml, .gitattributes and .gitignore when you are ready (or use --git).")
