"""crm mail ...: e-mail on the timeline (crmcli.mail): import mailboxes, log one
piped message; `crm mail fetch` reads an IMAP folder."""

import sys
from typing import Annotated, Any

import typer

from crmcli.commands.common import ShowFormat, ShowFormatOpt, get_store

app = typer.Typer(
    help=(
        "E-mail on the timeline: import mailboxes, log a piped message, see who owes a reply.\n\n"
        "Example: crm mail import ~/Mail/work/INBOX ~/Mail/work/Sent"
    ),
    no_args_is_help=True,
)

TABLE_ROWS = 50  # messages listed under a summary
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Say what would be logged; write nothing.")
]
BodyOpt = Annotated[
    bool,
    typer.Option(
        "--body",
        help="Keep each message's whole text, not only a snippet (settings mail.keep_body).",
    ),  # fmt: skip
]
NEW_LEADS = "A correspondent no customer, contact or lead has becomes a lead."
CreateLeadsOpt = Annotated[bool, typer.Option("--create-leads", help=NEW_LEADS)]
SourceArg = Annotated[
    str, typer.Argument(help="'-': the message on standard input; or an .eml file.",
                        metavar="-|FILE", show_default=False)
]  # fmt: skip
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="List every message, those already there too.")
]


@app.command("import")
def import_cmd(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Maildir folders, mbox files and .eml files; '-' reads one message from "
            "standard input.",
            metavar="PATH",
            show_default=False,
        ),
    ],
    create_leads: CreateLeadsOpt = False,
    body: BodyOpt = False,
    dry_run: DryRunOpt = False,
    verbose: VerboseOpt = False,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Log every message to or from a customer, contact or lead on its timeline.

    Messages are matched by From, To, Cc and Reply-To; mail only among your own
    addresses (settings mail.me, mail.internal_domains) is never logged. Importing
    again, or another copy of the same mail, logs nothing twice.

    Example: crm mail import ~/Mail/work/INBOX sent.mbox --dry-run
    """
    summary = _import(paths, dry_run=dry_run, create_leads=create_leads, keep_body=body)
    _report(summary, fmt, verbose)


@app.command("log")
def log_cmd(
    source: SourceArg,
    create_lead: Annotated[bool, typer.Option("--create-lead", help=NEW_LEADS)] = False,
    body: BodyOpt = False,
    dry_run: DryRunOpt = False,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Log one message (for mutt's pipe-message, aerc's :pipe, procmail or sieve).

    A message that matches no customer, contact or lead says so on stderr and exits
    0 (--create-lead makes its correspondent a lead).

    Example: crm mail log - < message.eml
    """
    summary = _import([source], one=True, dry_run=dry_run, create_leads=create_lead, keep_body=body)
    if fmt == ShowFormat.json:
        from crmcli import render

        render.print_json(summary.as_json())
        return
    row = summary.rows[0]
    _say_one(row, dry_run)


@app.command("fetch")
def fetch_cmd(
    create_leads: CreateLeadsOpt = False,
    body: BodyOpt = False,
    dry_run: DryRunOpt = False,
    verbose: VerboseOpt = False,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Log the new mail of an IMAP folder (settings mail.imap) as crm mail import does.

    Only what is new since the last fetch is read (the folder's UIDVALIDITY and last
    UID are kept in .crm/mail-imap-state.json), read-only: no message is marked as
    read. The password comes from mail.imap's password_env or password_command, or
    ~/.netrc; never from crm.yaml. --dry-run writes nothing and keeps the state.

    Example: crm mail fetch --dry-run
    """
    from crmcli import render
    from crmcli.mail import importer
    from crmcli.mail.imap import fetch_new

    store = get_store()
    with fetch_new(store.settings, store.root) as run:
        if run.refetch:
            render.message(
                f"The folder {run.cfg.folder} was renumbered (its UIDVALIDITY changed): "
                f"reading all {len(run.uids)} messages again; none is logged twice."
            )
        summary = importer.import_messages(
            store, run.for_import(), dry_run=dry_run, create_leads=create_leads,
            keep_body=body,
        )  # fmt: skip
        if not dry_run:
            run.commit()
    _report(summary, fmt, verbose, empty=f"No new mail in {run.cfg.folder} at {run.cfg.host}.")


def _import(paths: list[str], one: bool = False, **options: bool) -> Any:
    """Import the messages of `paths`, each checked first (one that is no mail stops
    the import before it writes); `one`: a single message, stdin or an .eml file."""
    from crmcli.errors import CrmError
    from crmcli.mail import importer, sources

    checked = sources.check(paths)
    if one and checked[0][1] not in ("stdin", "eml"):
        raise CrmError(
            f"{paths[0]} is a {checked[0][1]}: crm mail log takes one message ('-' or an "
            "e-mail file); use crm mail import for a mailbox"
        )
    return importer.import_messages(get_store(), sources.messages(checked), **options)


def _say_one(row: dict[str, Any], dry_run: bool) -> None:
    """One line for one message: where it was logged, or why not (stderr)."""
    from crmcli import render

    subject = row["subject"] or "(no subject)"
    names = ", ".join(f"{e['kind']} {e['name']} ({e['on']})" for e in row["entries"])
    if row["outcome"] == "logged":
        verb = "Would log" if dry_run else "Logged"
        print(f'{verb} "{subject}" on {names}')
    elif row["outcome"] == "already":
        print(f'Already logged: "{subject}" on {names}')
    else:
        render.message(f'Not logged: "{subject}": {row["reason"]}')


def _report(
    summary: Any, fmt: ShowFormat, verbose: bool, empty: str = "No messages found."
) -> None:
    from crmcli import render

    if fmt == ShowFormat.json:
        render.print_json(summary.as_json())
        return
    shown = [r for r in summary.rows if verbose or r["outcome"] != "already"]
    if shown:
        render.table(
            ["date", "outcome", ("subject", {"wrap": True}), ("logged on", {"wrap": True})],
            [
                [
                    (r["date"] or "")[:16].replace("T", " "),
                    r["outcome"],
                    r["subject"] or "(no subject)",
                    ", ".join(e["name"] or e["on"] for e in r["entries"]) or r["reason"],
                ]
                for r in shown[:TABLE_ROWS]
            ],
        )
        if len(shown) > TABLE_ROWS:
            render.message(
                f"{len(shown) - TABLE_ROWS} more messages not shown (--format json shows all)"
            )
    c = summary.counts
    counts = (
        f"{c['logged']} logged ({summary.entries_written} entries), {c['already']} already there, "
        f"{c['unknown']} unknown, {c['internal']} internal"
    )
    if c["unreadable"]:
        counts += f", {c['unreadable']} unreadable"
    if summary.leads_created:
        counts += f"; {len(summary.leads_created)} new leads"
    print(
        f"Dry run, nothing written: would have {counts}" if summary.dry_run else f"Mail: {counts}"
    )
    if not summary.rows:
        print(empty, file=sys.stderr)
