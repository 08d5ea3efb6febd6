"""JSON and CSV encoders: exact decimals (money is a JSON number, never a rounded
float), dates as ISO text, CSV cells safe in a spreadsheet. Apart from rendering, so
the store writes a record's JSON line without importing the renderer or rich.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

_DEC = "\x00dec:"
_DEC_RE = re.compile(r'"\\u0000dec:([-0-9.eE+]+)"')
_DEC_MARK = "\\u0000dec:"


# ----- JSON ------------------------------------------------------------------------


def _default(obj: Any) -> Any:
    """JSON for what json cannot write: Decimals (marked, unquoted after), dates."""
    if isinstance(obj, Decimal):
        return _DEC + format(obj, "f") if obj.is_finite() else None
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


COMPACT = json.JSONEncoder(ensure_ascii=False, default=_default)


def exact(text: str) -> str:
    return _DEC_RE.sub(r"\1", text) if _DEC_MARK in text else text


def to_json(data: Any, indent: int | None = 2) -> str:
    """JSON with exact decimals: money is a JSON number, never a rounded float."""
    if indent is None:
        return exact(COMPACT.encode(data))
    return exact(json.dumps(data, ensure_ascii=False, indent=indent, default=_default))


def record_json(rec: dict[str, Any]) -> str:
    """One record as a line of a JSON list (the index keeps it: see print_json_lines)."""
    return exact(COMPACT.encode(rec))


class JsonRecords(Sequence):
    """Records kept as their JSON lines (record_json), each parsed only when read:
    a long list of which a table shows one page."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [json.loads(line, parse_float=Decimal) for line in self.lines[i]]
        return json.loads(self.lines[i], parse_float=Decimal)


# ----- CSV -------------------------------------------------------------------------


def scalar_text(value: Any) -> str | None:
    """A boolean or a decimal as JSON writes it (true, 1200.50: exact), unquoted; None
    for any other value. CSV cells and `crm history` show them so."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return None


def csv_cell(value: Any) -> str:
    """One CSV cell: lists joined with '; ', mappings as JSON, formulas neutralised."""
    if value is None:
        text = ""
    elif (scalar := scalar_text(value)) is not None:
        text = scalar
    elif isinstance(value, list):
        text = "; ".join(v if isinstance(v, str) else to_json(v, indent=None) for v in value)
    elif isinstance(value, dict):
        text = to_json(value, indent=None) if value else ""
    else:
        text = str(value)
    if text and (text[0] in _FORMULA_START or "\n" in text or "\r" in text):
        # A spreadsheet must not run it as a formula: at the start of the cell, nor
        # of any line in it (some read a line break inside a cell as a new row).
        text = _FORMULA.sub(r"\1'", text)
    return text


_FORMULA_START = "=+-@\t\r"
_FORMULA = re.compile(r"(^|[\r\n])(?=[=+\-@\t\r])")


def write_csv(records: Iterable[dict[str, Any]], columns: Sequence[str], stream: Any) -> None:
    """Rows end in "\n"; a cell holding "\r" or "\n" is quoted (the csv module quotes
    only the characters of its line terminator, so rows are written with "\r\n" and
    that ending is then replaced): a bare carriage return never splits a row."""
    import io

    out = stream
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in ([*columns], *([csv_cell(rec.get(c)) for c in columns] for rec in records)):
        writer.writerow(row)
        out.write(buf.getvalue()[:-2] + "\n")
        buf.seek(0)
        buf.truncate()
