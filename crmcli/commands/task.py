"""crm task ..."""

from __future__ import annotations

import typer

app = typer.Typer(help="Tasks.\n\nExample: crm task --help", no_args_is_help=True)
