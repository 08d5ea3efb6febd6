"""Output: rich tables on a terminal, plain text off one; JSON and CSV for scripts.

Data goes to stdout, messages to stderr. Off a terminal, or with NO_COLOR set,
there is no colour and no progress bar. rich is imported only when a table is drawn.

Text from data (a name off a business card, an e-mail subject) may hold control
characters and escape sequences; `safe` shows them escaped (`\\x1b`, `\\u202e`).
Everything crm prints passes it: the CLI writes through SafeStream, and rich, which
writes its own colour codes, is given text that `safe` has escaped (cell, table).
CSV and `crm export` are for programs and carry the data as is.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

_DEC = "\x00dec:"
_DEC_RE = re.compile(r'"\\u0000dec:([-0-9.eE+]+)"')
_DEC_MARK = "\\u0000dec:"


# C0 controls (but for newline and tab, kept where text may run over lines), DEL, C1,
# and the Unicode marks that reorder or split text on screen (bidi, line separators).
_MARKS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_MARKS}]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_MARKS}]")


_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escaped(m: re.Match) -> str:
    # \n \t \r by name, other C0 as \xNN, the rest as \uNNNN (valid in a JSON string)
    c = ord(m[0])
    return _NAMED.get(m[0]) or (f"\\x{c:02x}" if c < 0x7F else f"\\u{c:04x}")


def safe(text: str, lines: bool = True) -> str:
    """`text` with control characters and bidi marks escaped; newlines and tabs kept
    unless `lines` is False (a one-line cell or message)."""
    return (_UNSAFE if lines else _UNSAFE_LINE).sub(_escaped, text)


class SafeStream:
    """A text stream that escapes what `safe` escapes in all written to it (the CLI
    puts one over stdout and stderr); `inner` is the stream beneath (rich, CSV)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        return self.inner.write(safe(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def raw(stream: Any) -> Any:
    """The stream beneath a SafeStream: for rich (text escaped by the caller) and CSV."""
    return stream.inner if isinstance(stream, SafeStream) else stream


def is_terminal(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def use_colour(stream: Any = None) -> bool:
    return is_terminal(stream) and "NO_COLOR" not in os.environ


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    tty = is_terminal(stream)
    return Console(
        file=raw(stream),
        no_color=not use_colour(stream),
        highlight=False,
        emoji=False,
        soft_wrap=False,
        width=None if tty else 80,
        color_system="auto" if use_colour(stream) else None,
    )


def message(text: str) -> None:
    """A message for people, on stderr."""
    print(text, file=sys.stderr)


def warn(text: str) -> None:
    print(f"Warning: {safe(text, lines=False)}", file=sys.stderr)


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


_COMPACT = json.JSONEncoder(ensure_ascii=False, default=_default)


def _exact(text: str) -> str:
    return _DEC_RE.sub(r"\1", text) if _DEC_MARK in text else text


def to_json(data: Any, indent: int | None = 2) -> str:
    """JSON with exact decimals: money is a JSON number, never a rounded float."""
    if indent is None:
        return _exact(_COMPACT.encode(data))
    return _exact(json.dumps(data, ensure_ascii=False, indent=indent, default=_default))


def record_json(rec: dict[str, Any]) -> str:
    """One record as a line of a JSON list (the index keeps it: see print_json_lines)."""
    return _exact(_COMPACT.encode(rec))


def print_json(data: Any) -> None:
    """One object indented; a list of records as a JSON array with one record a line
    (written as it goes: fast and light for 100,000 records)."""
    out = sys.stdout
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        encode = _COMPACT.encode
        for start in range(0, len(data), 1000):
            chunk = ",\n".join(map(encode, data[start : start + 1000]))
            out.write(("[\n" if start == 0 else ",\n") + _exact(chunk))
        out.write("\n]\n")
    else:
        out.write(to_json(data) + "\n")


class JsonRecords(Sequence):
    """Records kept as their JSON lines (record_json), each parsed only when read:
    a long list of which a table shows one page."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return JsonRecords(self.lines[i])
        return json.loads(self.lines[i], parse_float=Decimal)


def print_json_lines(lines: Sequence[str]) -> None:
    """A list of records already written by record_json, exactly as print_json prints
    the records."""
    if not lines:
        sys.stdout.write("[]\n")
        return
    out = sys.stdout
    for start in range(0, len(lines), 1000):
        out.write(("[\n" if start == 0 else ",\n") + ",\n".join(lines[start : start + 1000]))
    out.write("\n]\n")


# ----- CSV -------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """One CSV cell: lists joined with '; ', mappings as JSON, formulas neutralised."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal):
        text = format(value, "f")
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


def write_csv(
    records: Iterable[dict[str, Any]], columns: Sequence[str], stream: Any = None
) -> None:
    """Rows end in "\n"; a cell holding "\r" or "\n" is quoted (the csv module quotes
    only the characters of its line terminator, so rows are written with "\r\n" and
    that ending is then replaced): a bare carriage return never splits a row."""
    import io

    out = stream or raw(sys.stdout)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in ([*columns], *([csv_cell(rec.get(c)) for c in columns] for rec in records)):
        writer.writerow(row)
        out.write(buf.getvalue()[:-2] + "\n")
        buf.seek(0)
        buf.truncate()


# ----- tables ----------------------------------------------------------------------


MAX_CELL = 1000  # characters of one value a table shows (JSON and CSV keep it whole)


def cell(value: Any) -> str:
    """A value as one line of a table (control characters and newlines escaped)."""
    if value is None:
        return ""
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        from crmcli.formats import yes_no

        return yes_no(value)
    elif isinstance(value, Decimal):
        from crmcli.formats import money_text

        return money_text(value)
    else:
        text = str(value)
    return safe(_cut(text), lines=False)


def _cut(text: str) -> str:
    """A huge value cut for a table: drawing it takes rich seconds."""
    if len(text) > MAX_CELL:
        return f"{text[:MAX_CELL]}… ({len(text) - MAX_CELL:,} more characters)"
    return text


def lines_cell(text: Any) -> Any:
    """Text shown over lines in a table cell (a note): newlines and tabs kept."""
    from rich.text import Text

    return Text(safe(_cut(str(text))))


def table(
    columns: Sequence[str | tuple[str, dict[str, Any]]],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    footer: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """Draw rows as a rich table. A column is a header or (header, Column options)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    con = console()
    rows = list(rows)
    if not rows:
        message(empty)
        return
    # Columns apart by two spaces, a rule under the header: ASCII off a terminal.
    ascii_head = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)
    t = Table(
        title=safe(title, lines=False) if title else None,
        box=box.SIMPLE_HEAD if is_terminal() else ascii_head,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        header_style="bold" if use_colour() else "",
        title_style="bold" if use_colour() else "",
    )
    for col in columns:
        if isinstance(col, tuple):
            t.add_column(col[0], **col[1])
        else:
            t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*[v if isinstance(v, Text) else Text(cell(v)) for v in row])
    con.print(t)
    if footer:
        message(footer)


def record_view(pairs: Iterable[tuple[str, Any]], title: str | None = None) -> None:
    """A record as `field  value` lines (show)."""
    from rich.table import Table
    from rich.text import Text

    con = console()
    if title:
        con.print(safe(title, lines=False), style="bold" if use_colour() else "", markup=False)
    t = Table(box=None, show_header=False, pad_edge=False)
    t.add_column("field", style="bold" if use_colour() else "", no_wrap=True)
    t.add_column("value", overflow="fold")
    for k, v in pairs:
        t.add_row(Text(cell(k)), v if isinstance(v, Text) else Text(cell(v)))
    con.print(t)


def section(title: str) -> None:
    con = console()
    con.print()
    con.print(safe(title, lines=False), style="bold" if use_colour() else "", markup=False)
