"""crm lead import: business cards from CSV and vCard files (placeholder, being built)."""

from __future__ import annotations


def import_command() -> None:
    """Import leads from CSV or vCard files.

    Example: crm lead import cards.vcf --source trade-show
    """
    from crmcli.errors import CrmError

    raise CrmError("lead import is not built yet")
