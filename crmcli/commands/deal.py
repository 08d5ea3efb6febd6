"""crm deal ..."""

from __future__ import annotations

import typer

app = typer.Typer(help="Deals.\n\nExample: crm deal --help", no_args_is_help=True)
