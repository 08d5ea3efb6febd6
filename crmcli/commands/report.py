"""crm report ..."""

from __future__ import annotations

import typer

app = typer.Typer(help="Reports.\n\nExample: crm report --help", no_args_is_help=True)
