"""The root command: global options, the command groups, and the one place where
errors become exit codes (0 done, 1 user/data error, 2 usage error)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from crmcli import __version__
from crmcli.commands import customer, deal, doctor, export, init, lead, report, task, team
from crmcli.commands.common import state

app = typer.Typer(
    name="crm",
    help=(
        "A customer relationship manager for the terminal, kept in plain YAML files.\n\n"
        "Example: crm init ~/crm && cd ~/crm && crm customer add 'Acme GmbH' --tag vip"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"crm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    dir: Annotated[
        str | None,
        typer.Option(
            "--dir",
            "-C",
            metavar="PATH",
            help="The CRM directory (else env CRM_DIR, else the nearest parent with crm.yaml).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """A customer relationship manager for the terminal, kept in plain YAML files."""
    state.dir = dir
    state.store = None


app.command("init")(init.init_command)
app.add_typer(customer.app, name="customer")
app.add_typer(lead.app, name="lead")
app.add_typer(deal.app, name="deal")
app.add_typer(task.app, name="task")
app.add_typer(report.app, name="report")
app.command("export")(export.export_command)
app.command("doctor")(doctor.doctor_command)
app.command("history")(team.history_command)
app.command("undo")(team.undo_command)
app.command("sync")(team.sync_command)
app.command("merge-driver")(team.merge_driver_command)


def _autocommit() -> None:
    """After a command that succeeded: commit the files it changed (settings
    git.autocommit). A failure here is a warning; the change itself is saved."""
    store = state.store
    if store is None or not store.changed:
        return
    try:
        from crmcli.gitops import autocommit

        autocommit(store, sys.argv[1:])
    except Exception as e:  # noqa: BLE001 - never lose or fail a saved change over git
        if os.environ.get("CRM_DEBUG"):
            raise
        print(f"Warning: the change is saved but not committed: {e}", file=sys.stderr)


_click_command = None


def _command():  # a click.Command (click is not imported at module top)
    """The click command behind `app`, built once per process: calling `app(...)` has
    Typer rebuild every group and option (~50 ms) on each call."""
    global _click_command
    if _click_command is None:
        _click_command = typer.main.get_command(app)
    return _click_command


def main() -> None:
    """Console entry point: run the app, map errors to exit codes."""
    from crmcli.errors import CrmError

    for arg in sys.argv[1:]:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            # bytes that are not UTF-8 (a Latin-1 terminal, a stray file name) would end up
            # in a record; refuse them here, naming the argument
            shown = os.fsencode(arg).decode("utf-8", "backslashreplace")
            print(f"Error: argument '{shown}' is not valid UTF-8 text", file=sys.stderr)
            sys.exit(1)
    state.store = None
    try:
        try:
            _command()(prog_name="crm")
        except SystemExit as e:
            if not e.code:
                _autocommit()
            raise
    except CrmError as e:
        print(f"Error: {e.message}", file=sys.stderr)
        for line in e.details:
            print(line, file=sys.stderr)
        if os.environ.get("CRM_DEBUG"):
            raise
        sys.exit(1)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as e:  # a bug: one clear line, the traceback only with CRM_DEBUG
        if os.environ.get("CRM_DEBUG"):
            raise
        print(
            f"Error: unexpected {type(e).__name__}: {e} (run with CRM_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        sys.exit(1)
