"""crm lead ..."""

from __future__ import annotations

import typer

app = typer.Typer(help="Leads.\n\nExample: crm lead --help", no_args_is_help=True)
