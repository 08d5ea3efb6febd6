"""crm order ...: hand the orders of won deals off to the ERP (crmcli.orders)."""

import sys
from typing import Annotated

import typer

from crmcli import models
from crmcli.commands.common import choices, get_store, group, output_option

app = group(
    "Orders: won deals as the ERP takes them.", "crm order export --new --output erp-inbox/"
)

OrderFormat = choices("OrderFormat", models.ORDER_FORMATS)


@app.command("export")
def export_cmd(
    output: Annotated[str, output_option("The folder to write to (made if missing).", "DIR")],
    new: Annotated[bool, typer.Option("--new", help="The won deals not handed off yet.")] = False,
    since: Annotated[
        str | None,
        typer.Option(help="Every deal won since WHEN, handed off or not (re-export)."),
    ] = None,
    fmt: Annotated[
        OrderFormat,  # type: ignore[valid-type]
        typer.Option("--format", "-f", help="orderx (Order-X XML), json or csv."),
    ] = "orderx",
) -> None:
    """Write the order of each won deal to DIR, one file each, and record the hand-off
    on the deal (handed_off_at, a timeline entry): a nightly job that never repeats one.

    Example: crm order export --new --output erp-inbox/

    Example: crm order export --since 2026-11-01 --format csv -o erp-inbox/
    """
    from crmcli import orders
    from crmcli.errors import CrmError
    from crmcli.store import user_path

    if new == (since is not None):
        raise CrmError("say which orders: --new (not handed off yet) or --since WHEN")
    store = get_store()
    folder = user_path(output, "--output")
    if folder.exists() and not folder.is_dir():
        raise CrmError(f"--output {output} is a file; give a folder")
    with store.lock():
        written = orders.export(store, folder, getattr(fmt, "value", fmt), since)
    for path in written:
        print(path)
    print(f"Handed off {len(written)} order(s) to {output}", file=sys.stderr)
