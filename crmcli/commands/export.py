"""crm export: records out as JSON lines, CSV or vCard."""

import sys
from collections.abc import Iterable, Iterator
from typing import Annotated

import typer

from crmcli import models
from crmcli.commands.common import choices, get_store, output_option

ExportFormat = choices("ExportFormat", models.EXPORT_FORMATS)


def export_command(
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            "-k",
            help="customer, lead, deal, task or activity (repeatable; default: all).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="jsonl (every kind), csv (one kind) or vcf (customers and leads). "
            "Default: from the --output name, else jsonl.",
            show_default=False,
        ),
    ] = None,
    include_converted: Annotated[
        bool,
        typer.Option(
            "--include-converted",
            help="vCard: converted leads too (by default left out: each is the customer "
            "or contact it became).",
        ),
    ] = False,
    output: Annotated[
        str | None, output_option("Write to FILE (atomically) instead of standard output.")
    ] = None,
) -> None:
    """Export records as JSON lines, CSV or vCard.

    JSON lines: one record a line, with its kind. CSV: one kind, formulas
    neutralised for spreadsheets. vCard 4.0: customers, their contacts and leads
    (which `crm lead import` reads back).

    Example: crm export --kind lead --format csv --output leads.csv
    """

    from crmcli import exporters

    store = get_store()
    kinds = exporters.parse_kinds(kind)
    chosen = fmt.value if fmt else _from_name(output)
    parts = exporters.export_parts(store, chosen, kinds, include_converted=include_converted)
    if output is None or output == "-":
        from crmcli.render import raw

        out = raw(sys.stdout)  # data for programs: as is, not escaped for a terminal
        for text, _n in parts:
            out.write(text)
        out.flush()
        return
    _write_file(parts, output, "vCards" if chosen == "vcf" else "records")


def _from_name(output: str | None) -> str:
    if output:
        suffix = output.lower().rsplit(".", 1)[-1] if "." in output else ""
        if suffix in ("csv", "vcf", "jsonl"):
            return suffix
        if suffix == "vcard":
            return "vcf"
    return "jsonl"


def _write_file(parts: Iterable[tuple[str, int]], output: str, what: str) -> None:
    """The export's parts into file `output`, atomically; says how many `what`."""
    from crmcli.errors import CrmError
    from crmcli.store import atomic_write, user_path

    target = user_path(output, "--output")
    if target.is_dir():
        raise CrmError(f"{output} is a directory; give a file name")
    count = 0

    def encoded() -> Iterator[bytes]:
        nonlocal count
        for text, n in parts:
            count += n
            yield text.encode("utf-8")

    try:
        atomic_write(target, encoded())
    except OSError as e:
        raise CrmError(f"cannot write {output}: {e.strerror}") from None
    print(f"Exported {count} {what} to {output}", file=sys.stderr)
