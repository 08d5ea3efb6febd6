"""How values read for people, in one place: money (exact, never rounded).

The files and JSON keep values as they are; these are for tables, `show`, the
plain text of `task remind` and messages. Phones: contactinfo.display_phone.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

_CENT = Decimal("0.01")


def money_text(amount: Any, currency: str | None = None) -> str:
    """1,200.50 CNY for people: two decimals, or every decimal the amount has
    (1,234.567 stays 1,234.567; money is never rounded for display)."""
    if amount is None or isinstance(amount, bool):
        return ""
    if not isinstance(amount, Decimal):
        try:
            amount = Decimal(amount if isinstance(amount, int) else str(amount))
        except (InvalidOperation, ValueError):
            return str(amount)
    if not amount.is_finite():
        return str(amount)
    text = f"{amount:,.2f}" if amount == amount.quantize(_CENT) else f"{amount:,f}"
    return f"{text} {currency}" if currency else text
