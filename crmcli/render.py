"""Output: rich tables on a terminal, plain text off one; JSON and CSV (written by
crmcli.encode) for scripts.

Data goes to stdout, messages to stderr. Off a terminal, or with NO_COLOR set,
there is no colour and no progress bar. rich is imported only when a table is drawn.

Text from data (a name off a business card, an e-mail subject) may hold control
characters and escape sequences; `safe` shows them escaped (`\\x1b`, `\\u202e`).
Everything crm prints passes it: the CLI writes through SafeStream, and rich, which
writes its own colour codes, is given text that `safe` has escaped (cell, table).
CSV and `crm export` are for programs and carry the data as is.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

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


def console(stderr: bool = False, width: int | None = None) -> Any:
    """A rich console on stdout (or stderr): the terminal's width, else 80 or `width`."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    tty = is_terminal(stream)
    return Console(
        file=raw(stream),
        no_color=not use_colour(stream),
        highlight=False,
        emoji=False,
        soft_wrap=False,
        width=None if tty and width is None else width or 80,
        color_system="auto" if use_colour(stream) else None,
    )


def message(text: str) -> None:
    """A message for people, on stderr."""
    print(text, file=sys.stderr)


def warn(text: str) -> None:
    print(f"Warning: {safe(text, lines=False)}", file=sys.stderr)


def note(text: str) -> None:
    """Something worth knowing, nothing wrong (Store.notice), on stderr."""
    print(f"Note: {safe(text, lines=False)}", file=sys.stderr)


# ----- JSON ------------------------------------------------------------------------


def print_json(data: Any) -> None:
    """One object indented; a list of records as a JSON array with one record a line
    (written as it goes: fast and light for 100,000 records)."""
    from crmcli.encode import COMPACT, exact, to_json

    out = sys.stdout
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        encode = COMPACT.encode
        for start in range(0, len(data), 1000):
            chunk = ",\n".join(map(encode, data[start : start + 1000]))
            out.write(("[\n" if start == 0 else ",\n") + exact(chunk))
        out.write("\n]\n")
    else:
        out.write(to_json(data) + "\n")


def print_json_lines(lines: Sequence[str]) -> None:
    """A list of records already written by encode.record_json, exactly as print_json prints
    the records."""
    if not lines:
        sys.stdout.write("[]\n")
        return
    out = sys.stdout
    for start in range(0, len(lines), 1000):
        out.write(("[\n" if start == 0 else ",\n") + ",\n".join(lines[start : start + 1000]))
    out.write("\n]\n")


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


# The columns that name the record a row is: never dropped, never cut (a name or
# title may wrap on a terminal; an id never does: it is typed into the next command).
KEY_COLUMNS = ("id", "name", "title")
_MIN_CUT = 8  # cells: the narrowest a column is cut to before it is dropped
_MIN_WRAP = 16  # cells: the narrowest a name (or a note) wraps to on a terminal
_GAP = 2  # cells between two columns


def _column(col: str | tuple[str, dict[str, Any]], position: int) -> dict[str, Any]:
    """A column's spec: header, key, priority (higher: kept longer), min (the fewest
    cells it is cut to before it is dropped), justify, wrap."""
    header, opts = (col, {}) if isinstance(col, str) else col
    unknown = set(opts) - {"key", "priority", "min", "justify", "wrap"}
    if unknown:
        raise TypeError(f"table column {header!r}: unknown options {sorted(unknown)}")
    return {
        "header": header,
        "key": opts.get("key", header in KEY_COLUMNS),
        "priority": opts.get("priority", 1),
        "min": opts.get("min", _MIN_CUT),
        "justify": opts.get("justify", "left"),
        "wrap": opts.get("wrap", False),
        "position": position,
    }


def _fit(cols: list[dict[str, Any]], width: int, tty: bool) -> list[dict[str, Any]]:
    """The columns shown and their widths in `width` cells: the others are cut with
    `…` down to their `min` cells, least useful (lowest priority) and widest first,
    then dropped in that order; key columns are never cut (on a terminal a name
    wraps, down to _MIN_WRAP cells), nor dropped."""
    shown = list(cols)
    while True:
        for c in shown:
            c["width"] = c["natural"]
        excess = sum(c["width"] for c in shown) + _GAP * (len(shown) - 1) - width
        order = sorted(
            (c for c in shown if not c["key"] and not c["wrap"]),
            key=lambda c: (c["priority"], -c["natural"], -c["position"]),
        )
        wrapping = [c for c in shown if c["wrap"] or (c["key"] and tty and c["header"] != "id")]
        notes = [c for c in wrapping if c["wrap"]]
        for c in notes + order + [c for c in wrapping if not c["wrap"]]:
            if excess <= 0:
                return shown
            least = c["min"] if c in order else _MIN_WRAP
            take = min(excess, max(0, c["natural"] - max(least, c["head"])))
            c["width"] -= take
            excess -= take
        if excess <= 0 or not order:
            return shown
        shown.remove(order[0])


def _same_on_every_row(
    cols: list[dict[str, Any]], rows: list[list[Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The columns left after those empty on every row, or the same on every row (of
    two or more), and a line for each of the latter that says what it holds."""
    kept, said = [], []
    for c in cols:
        values = {row[c["position"]] for row in rows}
        if c["key"] or c["wrap"] or (len(values) > 1 or len(rows) < 2) and values != {""}:
            kept.append(c)
        elif values != {""}:
            said.append(f"{c['header'] or 'flag'}: {next(iter(values))} (every row)")
    return kept, said


def table(
    columns: Sequence[str | tuple[str, dict[str, Any]]],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    footer: str | None = None,
    empty: str = "nothing to show",
    omit_same: bool = False,
) -> None:
    """Draw rows as a table that fits the screen (80 columns off a terminal).

    A column is a header or (header, options): `priority` (default 1; the lowest
    is cut first, then dropped), `min` (cut to no fewer cells: default 8), `justify` ("right" for numbers), `wrap` (a note
    shown over lines), `key` (default: the columns headed id, name and title; never
    dropped or cut). Off a terminal each row is one line (cells cut with `…`, nothing
    wrapped), so grep finds whole rows. With `omit_same`, a column that is the same
    on every row is left out and a line on stderr says what it holds.
    """
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    con = console()
    tty = is_terminal()
    texts = [[v if isinstance(v, Text) else Text(cell(v)) for v in row] for row in rows]
    if not texts:
        message(empty)
        return
    cols = [_column(c, i) for i, c in enumerate(columns)]
    said: list[str] = []
    if omit_same:
        cols, said = _same_on_every_row(cols, [[t.plain for t in row] for row in texts])
    for c in cols:
        c["head"] = cell_len(c["header"])
        longest = max(
            cell_len(line) for row in texts for line in row[c["position"]].plain.split("\n")
        )
        c["natural"] = max(c["head"], longest)
    cols = _fit(cols, con.width, tty)
    # Columns apart by two spaces, a rule under the header: ASCII off a terminal.
    ascii_head = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)
    t = Table(
        title=safe(title, lines=False) if title else None,
        box=box.SIMPLE_HEAD if tty else ascii_head,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        header_style="bold" if use_colour() else "",
        title_style="bold" if use_colour() else "",
    )
    for c in cols:
        folds = c["wrap"] or (tty and c["key"] and c["header"] != "id")
        t.add_column(
            c["header"],
            justify=c["justify"],
            width=c["width"],
            no_wrap=not folds,
            overflow="fold" if folds else "ellipsis",
        )
    for row in texts:
        t.add_row(*[row[c["position"]] for c in cols])
    total = sum(c["width"] for c in cols) + _GAP * (len(cols) - 1)
    (console(width=total) if total > con.width else con).print(t)
    for line in said:
        message(line)
    if footer:
        message(footer)


def record_view(pairs: Iterable[tuple[str, Any]], title: str | None = None, tz: Any = None) -> None:
    """A record as `field  value` lines (show): booleans yes/no, timestamps short in
    the zone `tz` (the CRM's)."""
    from rich.table import Table
    from rich.text import Text

    from crmcli.formats import STAMP, time_text

    con = console()
    if title:
        con.print(safe(title, lines=False), style="bold" if use_colour() else "", markup=False)
    t = Table(box=None, show_header=False, pad_edge=False)
    t.add_column("field", style="bold" if use_colour() else "", no_wrap=True)
    t.add_column("value", overflow="fold")
    for k, v in pairs:
        if isinstance(v, str) and STAMP.match(v):
            v = time_text(v, tz)
        t.add_row(Text(cell(k)), v if isinstance(v, Text) else Text(cell(v)))
    con.print(t)


def section(title: str) -> None:
    con = console()
    con.print()
    con.print(safe(title, lines=False), style="bold" if use_colour() else "", markup=False)
