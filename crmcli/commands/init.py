"""crm init: create a CRM directory."""

from __future__ import annotations

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
) -> None:
    """Create a CRM: crm.yaml with commented defaults, the record folders, .gitignore.

    Refuses to overwrite an existing CRM.

    Example: crm init ~/sales --name "Acme CRM"
    """
    from crmcli.store import init

    root = init(path, name)
    print(f"Created a CRM in {root.resolve()}; edit crm.yaml to set owners and pipeline.")
