"""crm doctor: check every file of the CRM; --fix repairs what is safe."""

import sys
from typing import Annotated

import typer

from crmcli.commands.common import ShowFormat, ShowFormatOpt, state


def doctor_command(
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Repair what is safe: stray temp files, non-canonical files, links to merged "
            "records. Never deletes a record or guesses data.",
        ),
    ] = False,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Check every file: YAML, fields, links, duplicates, stages, conflicts, crm.yaml.

    Prints one line per problem, `FILE: FIELD: PROBLEM`, and exits 1 when there is
    any; with --format json, an array of {file, field, problem, fixable, fixed,
    action, note}. A clean CRM exits 0; notes (a key crm does not define, kept as
    written) are printed but are no problem.

    Example: crm doctor --fix
    """
    from crmcli import doctor, render
    from crmcli.errors import CrmError
    from crmcli.store import locate

    root = locate(state.dir)
    store, _ = doctor.open_store(root, warn=render.warn)
    state.store = store
    if fix:
        with store.lock():
            report = doctor.fix(store)
    else:
        report = doctor.check(root, store)
    if fmt == ShowFormat.json:
        render.print_json([p.as_dict() for p in report.fixed + report.problems])
    else:
        for p in report.fixed:
            print(f"fixed {p.file}{': ' + p.field if p.field else ''}: {p.action}")
        for p in report.problems:
            print(p.line() + (" (crm doctor --fix repairs it)" if p.fixable else ""))
    sys.stdout.flush()
    notes = sum(p.note for p in report.problems)
    n = len(report.problems) - notes
    if n and report.fixed:
        from crmcli.app import _autocommit

        _autocommit()  # exit 1 skips the autocommit after a command: commit the repairs here
    if n:
        fixable = sum(p.fixable for p in report.problems)
        hint = f"; {fixable} can be repaired with crm doctor --fix" if fixable else ""
        raise CrmError(f"{n} problem{'s' if n != 1 else ''} found{hint}")
    files = f"{report.files} file{'s' if report.files != 1 else ''}"
    if notes:
        files += f" ({notes} note{'s' if notes != 1 else ''})"
    if report.fixed:
        render.message(f"fixed {len(report.fixed)}; no problems left in {files}")
    else:
        render.message(f"no problems found in {files}")
