"""Read commands that check the index while they work, not before.

The index is never stale because every read first stats every file of each kind it
needs (index.Index.sync): at 100,000 records that is about 0.3 s of system calls
before the first row is read. The read commands of READS do that check in forked
processes instead, one per kind, while the command works from the rows as they were
when the folder last hashed the same; what the command prints is held meanwhile.
When the command is done (or writes a file, takes the writer's lock, or has held
HOLD_LIMIT characters), `settle` waits for the checks: if every kind read is
unchanged, the output is let through and the command goes on the usual way; if one
changed, the output is dropped and `run` runs the command again the usual way (sync,
then read). So an answer is never stale, and the stat calls cost a second CPU
rather than time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

# The commands run this way: ("today",) a top-level one, ("task", "list") one of a
# group's, ("report", "*") every command of the group. What they change (a file
# written, a record saved under the lock) waits for `settle`.
READS = (
    {("search",), ("today",), ("report", "*")}
    | {(group, cmd) for group in ("customer", "lead", "deal", "task") for cmd in ("list", "show")}
    | {("task", "remind")}
)
HOLD_LIMIT = 1 << 20  # characters of output held before the checks are waited for


class Stale(BaseException):
    """The rows a read worked from were behind the files (a BaseException: no
    `except Exception` in a command can take it for its own error)."""


class Held:
    """A stream that keeps what is written to it until the run settles."""

    def __init__(self, inner: Any, run: _Run) -> None:
        self.inner = inner
        self.run = run
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        if self.run.settled:
            return self.inner.write(text)
        self.parts.append(text)
        self.size += len(text)
        if self.size > HOLD_LIMIT:
            settle()
        return len(text)

    def flush(self) -> None:
        if self.run.settled:
            self.inner.flush()

    def release(self) -> None:
        self.inner.write("".join(self.parts))
        self.parts.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Run:
    def __init__(self) -> None:
        self.indexes: list[Any] = []  # index.Index objects with checks under way
        self.held: list[Held] = []
        self.settled = False


_run: _Run | None = None


def applies(path: tuple[str, ...]) -> bool:
    """Is the command `path` (("today",), ("task", "list")) run this way here: one of
    READS, CRM_NO_BACKGROUND not set, and a system with fork?"""
    listed = path in READS or path[:1] + ("*",) in READS
    return listed and not os.environ.get("CRM_NO_BACKGROUND") and hasattr(os, "fork")


def background() -> bool:
    """May a kind read now take its rows as they are and check in the background?"""
    return _run is not None and not _run.settled


def watch(index: Any) -> None:
    """`index` has checks under way that `settle` must wait for."""
    if _run is not None and index not in _run.indexes:
        _run.indexes.append(index)


def settle() -> None:
    """Wait for the checks of this run: raise Stale when a kind read from the index
    has changed on disk; else let the held output through. From then on this run
    reads the usual way. Nothing (no run, or settled already) returns at once."""
    run = _run
    if run is None or run.settled:
        return
    run.settled = True
    stale = [kind for index in run.indexes for kind in index.stale()]
    if stale:
        raise Stale(", ".join(stale))
    for stream in run.held:
        stream.release()


def run(command: Callable[[], None], streams: list[Any], again: Callable[[], None]) -> None:
    """Run `command` holding what it writes to `streams` (render.SafeStream objects)
    until settled; when what it read was stale, `again()` (forget what this run
    read), then run it once more the usual way."""
    global _run
    current = _run = _Run()
    for stream in streams:
        stream.inner = Held(stream.inner, current)
        current.held.append(stream.inner)
    try:
        try:
            command()
        except Stale:
            outcome: BaseException | None = Stale()
        except KeyboardInterrupt:
            raise  # (the checks were interrupted too: never a reason to run again)
        except BaseException as e:  # SystemExit, CrmError, a bug: after the verdict
            outcome = e
        else:
            outcome = None
        if not isinstance(outcome, Stale):
            try:
                settle()
            except Stale as e:
                outcome = e
    finally:
        _run = None
        for stream in streams:
            stream.inner = stream.inner.inner
    if isinstance(outcome, Stale):
        again()
        command()
    elif outcome is not None:
        raise outcome
