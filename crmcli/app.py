"""The root command: global options, the command groups, and the one place where
errors become exit codes (0 done, 1 user/data error, 2 usage error)."""

import os
import sys
from typing import Annotated, Any

import typer

from crmcli import __version__
from crmcli.commands.common import state

# Command groups and top-level commands, imported only when a command needs them
# (start-up time): name -> module under crmcli.commands [, function].
GROUPS = {
    "customer": "customer",
    "lead": "lead",
    "deal": "deal",
    "task": "task",
    "report": "report",
    "order": "order",
    "mail": "mail",
}
COMMANDS = {
    "init": ("init", "init_command"),
    "log": ("log", "log_command"),
    "today": ("today", "today_command"),
    "search": ("search", "search_command"),
    "export": ("export", "export_command"),
    "doctor": ("doctor", "doctor_command"),
    "history": ("history", "history_command"),
    "undo": ("history", "undo_command"),
    "sync": ("sync", "sync_command"),
    "resolve": ("sync", "resolve_command"),
    "merge-driver": ("sync", "merge_driver_command"),
}
ORDER = [
    "init",
    "today",
    "log",
    *GROUPS,
    "search",
    "export",
    "doctor",
    "history",
    "undo",
    "sync",
    "resolve",
    "merge-driver",
]


def _version(value: bool) -> None:
    if value:
        print(f"crm {__version__}")
        raise typer.Exit()


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


def build(names: list[str] | None = None) -> typer.Typer:
    """The root app with the named commands (all by default)."""
    import importlib

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
    app.callback()(root)
    for name in ORDER:
        if names is not None and name not in names:
            continue
        if name in GROUPS:
            module = importlib.import_module(f"crmcli.commands.{GROUPS[name]}")
            app.add_typer(module.app, name=name)
        else:
            module_name, func = COMMANDS[name]
            module = importlib.import_module(f"crmcli.commands.{module_name}")
            app.command(name)(getattr(module, func))
    return app


def _path(argv: list[str]) -> tuple[str, ...]:
    """The command named in `argv` after global options: ("today",), ("task", "list"),
    ("task",) for a group alone; () for none (no command, --help, an unknown name)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--dir", "-C"):
            i += 2
            continue
        if arg.startswith("--dir=") or (arg.startswith("-C") and len(arg) > 2):
            i += 1
            continue
        if arg in COMMANDS:
            return (arg,)
        if arg in GROUPS:
            rest = argv[i + 1 : i + 2]
            return (arg, *rest) if rest and not rest[0].startswith("-") else (arg,)
        return ()
    return ()


def _wanted(argv: list[str]) -> list[str] | None:
    """The one command named in `argv` (after global options), or None for all of them
    (no command, --help, shell completion, or a name to be reported as unknown)."""
    if any(k.endswith("_COMPLETE") for k in os.environ):
        return None
    path = _path(argv)
    return [path[0]] if path else None


def __getattr__(name: str) -> typer.Typer:
    """`crmcli.app.app`: the whole app (tests and documentation walk it)."""
    if name == "app":
        return build()
    raise AttributeError(name)


def _autocommit() -> None:
    """After a command that succeeded: commit what it changed outside the writer
    lock (settings git.autocommit; a change made under the lock is committed as the
    lock is let go). A failure here is a warning; the change itself is saved."""
    from crmcli.errors import CrmError

    store = state.store
    if store is None or not store.changed or not store.autocommits():
        return
    try:
        with store.lock():
            pass  # its release commits
    except CrmError as e:
        print(f"Warning: the change is saved but not committed: {e.message}", file=sys.stderr)


_click_commands: dict[tuple[str, ...] | None, object] = {}


def _command(argv: list[str]):  # a click.Command (click is not imported at module top)
    """The click command for `argv`: only the command group it names is imported and
    built (start-up time), once per process (tests run many commands in one process)."""
    names = _wanted(argv)
    key = tuple(names) if names is not None else None
    if key not in _click_commands:
        _click_commands[key] = _plain_help(typer.main.get_command(build(names)))
    return _click_commands[key]


def _plain_help(command: Any) -> Any:
    """Help as plain text: no rich panels (importing them costs more than the rest of
    start-up, and plain text pipes and greps well), examples never re-wrapped."""
    command.rich_markup_mode = None
    if command.help and "\nExample:" in command.help:
        command.help = command.help.replace("\nExample:", "\n\b\nExample:", 1)
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)
    return command


def main() -> None:
    """Console entry point: run the app, map errors to exit codes. All it prints passes
    render.SafeStream (control characters from data shown escaped); a character the
    terminal's encoding lacks is shown as a \\u escape, never an error."""
    from crmcli import render

    streams = sys.stdout, sys.stderr
    for stream in streams:
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    sys.stdout, sys.stderr = render.SafeStream(sys.stdout), render.SafeStream(sys.stderr)
    try:
        _main()
    finally:
        sys.stdout, sys.stderr = streams


def _run(argv: list[str]) -> None:
    """Run the command `argv` names; a read of fresh.READS checks the index as it
    works (fresh.run)."""
    from crmcli import fresh

    def command() -> None:
        _command(argv)(prog_name="crm")

    def again() -> None:
        state.store = None

    if not fresh.applies(_path(argv)):
        return command()
    fresh.run(command, [sys.stdout, sys.stderr], again)


def _main() -> None:
    from crmcli.errors import CrmError
    from crmcli.render import safe

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
            _run(sys.argv[1:])
        except SystemExit as e:
            if not e.code:
                _autocommit()
            raise
    except CrmError as e:
        print(f"Error: {safe(e.message, lines=False)}", file=sys.stderr)
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
            f"Error: unexpected {type(e).__name__}: {safe(str(e), lines=False)}"
            " (run with CRM_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        sys.exit(1)
