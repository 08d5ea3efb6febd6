"""crm lead ..."""

from __future__ import annotations

import typer

app = typer.Typer(help="Leads.\n\nExample: crm lead --help", no_args_is_help=True)


def _register_import() -> None:
    from crmcli.commands.lead_import import import_command

    app.command("import")(import_command)


_register_import()
