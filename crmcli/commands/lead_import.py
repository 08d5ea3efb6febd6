"""crm lead import: business cards from CSV and vCard files become leads."""

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from crmcli import models
from crmcli.commands.common import (
    ShowFormat,
    ShowFormatOpt,
    SourceOpt,
    TagOpt,
    check_known,
    choices,
    get_store,
)
from crmcli.errors import CrmError

TABLE_ROWS = 50  # rows listed under a table summary
PROGRESS_MIN = 200
BULK_MIN = 50  # cards: fewer than this import too fast for a bar to help


InputFormat = choices("InputFormat", models.IMPORT_FORMATS)


FilesArg = Annotated[
    list[str],
    typer.Argument(
        help="CSV or vCard (.vcf) files; '-' reads standard input.",
        show_default=False,
        metavar="FILE",
    ),
]
ImportOwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="Owner of new leads (default: you).")
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        "-m",
        metavar="COLUMN=FIELD",
        help="What a CSV column holds (repeatable): name, first_name, last_name, company, "
        "title, department, email, phone, fax, note, website, fields.KEY or ignore.",
        show_default=False,
    ),
]
NoHeaderOpt = Annotated[
    bool,
    typer.Option(
        "--no-header",
        help="The CSV has no header row: name its columns by number (--map 1=name).",
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        metavar="NAME",
        help="Read the files in this encoding (default: BOM, else UTF-8, else guessed "
        "and said on each row).",
        show_default=False,
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would happen; write nothing.")
]
InputFormatOpt = Annotated[
    InputFormat | None,
    typer.Option(
        "--input-format",
        help="csv or vcf (default: from the file name, else its content).",
        show_default=False,
    ),
]
AsContactOpt = Annotated[
    bool,
    typer.Option(
        "--as-contact",
        help="A new person whose only match is a company customer's shared phone "
        "becomes a contact of that customer (default: a new lead).",
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="List every row, duplicates with nothing new too."),
]


def import_command(
    files: FilesArg,
    source: SourceOpt = None,
    owner: ImportOwnerOpt = None,
    tag: TagOpt = None,
    map_: MapOpt = None,
    no_header: NoHeaderOpt = False,
    encoding: EncodingOpt = None,
    dry_run: DryRunOpt = False,
    input_format: InputFormatOpt = None,
    as_contact: AsContactOpt = False,
    verbose: VerboseOpt = False,
    fmt: ShowFormatOpt = ShowFormat.table,
) -> None:
    """Import leads from business cards: CSV and vCard files.

    CSV (Google, Outlook in eight languages, Thunderbird, LinkedIn, HubSpot, generic
    headers) and vCards (2.1, 3.0, 4.0); encodings other than UTF-8 are guessed and
    said on each row (--encoding forces one). Duplicates of leads merge into them, cards of customers are skipped,
    unusable rows are reported by line or card number.
    One import is one batch (see `crm lead list --batch`).

    Example: crm lead import cards.vcf contacts.csv --source trade-show --tag expo-2026
    """
    from crmcli.importers.csvreader import parse_map
    from crmcli.importers.engine import Importer, new_batch_id
    from crmcli.importers.text import check_encoding

    store = get_store()
    mapping = parse_map(map_)
    forced = check_encoding(encoding) if encoding else None
    if files.count("-") > 1:
        raise CrmError("'-' (standard input) can be given once")
    # Every file is read first: one that cannot be read stops the import before
    # anything is written.
    fixed = input_format.value if input_format else None
    cards, csv_files = _read_cards(store, files, mapping, forced, fixed, no_header)
    check_known(store, "owners", owner, "owner")
    check_known(store, "sources", source, "source")
    importer = Importer(
        store,
        batch=new_batch_id(store),
        source=source,
        owner=owner,
        tags=tag,
        dry_run=dry_run,
        as_contact=as_contact,
    )
    _import(store, importer, cards, dry_run)
    summary = importer.summary()
    _report(summary, fmt, verbose)
    _refuse_all_rejected(summary)


def _read_cards(
    store: Any,
    files: list[str],
    mapping: dict[str, str],
    forced: str | None,
    fixed: str | None,
    no_header: bool,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The cards of every file, and the CSV files among them; an option that names
    what no file has is an error; columns and cells not imported are warned about."""
    from crmcli.importers import detect_format, read_source

    cards: list[dict[str, Any]] = []
    seen_maps: set[str] = set()
    csv_files = []
    warnings: list[tuple[str, str, list[str]]] = []
    for name in files:
        data = _read(name)
        fmt_in = detect_format(name, data, fixed)
        file_cards, info = read_source(
            name, data, fmt_in, mapping, encoding=forced, no_header=no_header
        )
        if fmt_in == "csv":
            csv_files.append(name)
            seen_maps |= info.get("mapped", set())
            if info.get("unused"):
                warnings.append((name, "columns not imported", info["unused"]))
            if info.get("beyond"):
                cells = [f"line {line} column {col}" for line, col in info["beyond"]]
                warnings.append((name, "cells beyond the header not imported", cells))
        cards += file_cards
    if mapping:
        if not csv_files:
            raise CrmError("--map names CSV columns, but no CSV file is imported")
        missing = [c for c in mapping if c not in seen_maps]
        if missing:
            raise CrmError(f"--map: no column '{missing[0]}' in {', '.join(csv_files)}")
    if no_header and not csv_files:
        raise CrmError("--no-header is for CSV files, but no CSV file is imported")
    for name, what, items in warnings:
        listed = ", ".join(items[:6]) + (f" and {len(items) - 6} more" if len(items) > 6 else "")
        hint = " (--map COLUMN=field takes one)" if what.startswith("columns") else ""
        store.warn(f"{name}: {what}: {listed}{hint}")
    return cards, csv_files


def _import(store: Any, importer: Any, cards: list[dict[str, Any]], dry_run: bool) -> None:
    """Run the importer over the cards (under the lock unless a dry run); interrupted,
    say how far it got (every record written is whole)."""
    try:
        with _terminate_as_interrupt():
            if dry_run:
                _run(importer, cards)
            else:
                # Many records: fsync once at the end, not twice a record.
                bulk = store.bulk() if len(cards) >= BULK_MIN else contextlib.nullcontext()
                with store.lock(), bulk:
                    try:
                        _run(importer, cards)
                    finally:
                        _note(store, importer)
    except KeyboardInterrupt:
        c = importer.counts
        print(
            f"Interrupted after {sum(c.values())} of {len(cards)} cards "
            f"({c['created']} created, {c['merged']} merged); every record written is whole. "
            "Run the same import again to finish: it adds no duplicates.",
            file=sys.stderr,
        )
        raise


def _refuse_all_rejected(summary: dict[str, Any]) -> None:
    """An import of which every row was rejected is an error naming the first."""
    if summary["rejected"] and summary["rejected"] == len(summary["rows"]):
        n = summary["rejected"]
        first = summary["rows"][0]
        where = f"card {first['card']}" if "card" in first else f"line {first['line']}"
        raise CrmError(
            f"every row was rejected ({n} of {n}), nothing imported; "
            f"{_short(first['file'])} {where}: {first['reason']}"
        )


def _read(name: str) -> bytes:
    if name == "-":
        stream = sys.stdin
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            return buffer.read()
        text = stream.read()
        return text.encode("utf-8", "surrogateescape")
    try:
        with open(name, "rb") as f:
            return f.read()
    except IsADirectoryError:
        raise CrmError(f"{name} is a directory, not a CSV or vCard file") from None
    except OSError as e:
        raise CrmError(f"cannot read {name}: {e.strerror}") from None


def _run(importer: Any, cards: list[dict[str, Any]]) -> None:
    from crmcli.render import use_colour

    if os.environ.get("CRM_TEST_KILL_AFTER"):  # tests only: `kill` after N records
        importer.run(cards, progress=_kill_after(int(os.environ["CRM_TEST_KILL_AFTER"])))
        return
    if len(cards) < PROGRESS_MIN or not use_colour(sys.stderr):
        importer.run(cards)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from crmcli.render import console

    with Progress(
        TextColumn("Importing"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=len(cards))
        importer.run(cards, progress=lambda: bar.advance(task))


def _kill_after(n: int) -> Callable[[], None]:
    """A progress hook that sends this process SIGTERM once `n` records are done: the
    killed-import test stops an import at a known record, not at a moment it polls for."""
    import signal

    done = [0]

    def progress() -> None:
        done[0] += 1
        if done[0] == n:
            os.kill(os.getpid(), signal.SIGTERM)

    return progress


class _terminate_as_interrupt:
    """While importing, `kill` (SIGTERM) stops like Ctrl-C: between two records."""

    def __enter__(self) -> None:
        import signal
        import threading

        self.old = None
        if threading.current_thread() is threading.main_thread():

            def stop(signum: int, frame: Any) -> None:
                raise KeyboardInterrupt

            self.old = signal.signal(signal.SIGTERM, stop)

    def __exit__(self, *exc: Any) -> None:
        import signal

        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)


def _note(store: Any, importer: Any) -> None:
    from pathlib import PurePath

    n = importer.counts["created"] + importer.counts["merged"]
    if not n:
        if importer.completed:
            store.note_change(f"lead: complete the timeline of {importer.completed} lead(s) "
                              "left by an interrupted import")  # fmt: skip
        return
    names = [("stdin" if f == "-" else PurePath(f).name) for f in importer.files]
    where = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    store.note_change(f"lead: import {n} lead{'s' if n != 1 else ''} from {where}")


def _short(name: str) -> str:
    from pathlib import PurePath

    return "standard input" if name == "-" else PurePath(name).name


def _report(summary: dict[str, Any], fmt: ShowFormat, verbose: bool = False) -> None:
    from crmcli import render

    if fmt == ShowFormat.json:
        render.print_json(summary)
        return
    # The rows that need a look: rejected first, then merged, and any row with notes
    # (guessed encodings, phones kept as written, ...); duplicates that bring nothing
    # new only with --verbose. A long import shows the first TABLE_ROWS.
    order = {"rejected": 0, "merged": 1, "skipped": 2, "created": 3}
    shown = [r for r in summary["rows"] if verbose or _needs_look(r)]
    shown.sort(key=lambda r: order[r["outcome"]])
    quiet = sum(1 for r in summary["rows"] if r["outcome"] == "skipped" and not _needs_look(r))
    if shown:
        _table(shown[:TABLE_ROWS])
        if len(shown) > TABLE_ROWS:
            render.message(
                f"{len(shown) - TABLE_ROWS} more rows not shown (--format json shows all)"
            )
    if quiet and not verbose:
        render.message(
            f"{quiet} duplicate{'s' if quiet != 1 else ''} with nothing new not listed "
            "(--verbose lists them)"
        )
    c = summary
    counts = (
        f"{c['created']} created, {c['merged']} merged, "
        f"{c['skipped']} skipped as duplicates, {c['rejected']} rejected"
    )
    if c["dry_run"]:
        print(f"Dry run, nothing written: would import {counts}")
    else:
        batch = f" (batch {c['batch']})" if c["created"] or c["merged"] else ""
        print(f"Imported {counts}{batch}")


def _needs_look(row: dict[str, Any]) -> bool:
    return row["outcome"] in ("rejected", "merged") or bool(row["notes"])


def _table(rows: list[dict[str, Any]]) -> None:
    from crmcli import render

    files = {r["file"] for r in rows}
    many = len(files) > 1
    columns: list[Any] = [
        ("where", {"key": True}),
        ("outcome", {"key": True}),
        "name",
        ("reason", {"wrap": True}),
    ]
    if many:
        columns.insert(0, ("file", {"wrap": True}))
    table_rows = []
    for r in rows:
        where = f"card {r['card']}" if "card" in r else f"line {r['line']}"
        reason = "; ".join(x for x in [r["reason"], *r["notes"]] if x)
        row = [where, r["outcome"], r["name"] or "", reason]
        table_rows.append([_short(r["file"]), *row] if many else row)
    render.table(columns, table_rows, title=None if many else _short(next(iter(files))))
