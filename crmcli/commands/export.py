"""crm export: records out as JSON lines, CSV or vCard (placeholder, being built)."""

from __future__ import annotations


def export_command() -> None:
    """Export records.

    Example: crm export --format jsonl --output all.jsonl
    """
    from crmcli.errors import CrmError

    raise CrmError("export is not built yet")
