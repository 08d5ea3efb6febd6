"""A git history for a generated CRM: its records as they came to be, in about N
commits spread over the year before "now", written with `git fast-import`.

Every record file appears in the commit that covers its `created` time (an
activity: its `at`); a deal also changes in the commits that cover each of its
stage_history entries (its stage, status and closing as they were then), and
about a third of the deals had a smaller amount and an earlier close date before
their last change (so `report changes` finds amounts raised and close dates
slipped). What happened more than a year before "now" is all in the first commit.
The last version of every file is its bytes on disk, so the work tree is clean
at HEAD. Commits carry author and committer dates (+08:00) and the owner of what
they changed as author.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from crmcli import models, yamlio

DAYS = 365
Event = tuple[datetime, str, str, bytes]  # (when, author, path, the file's bytes)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _field(data: bytes, key: str) -> str | None:
    """A top-level scalar of a record file, without parsing it all (fast enough for
    100,000 files; the generator writes one key a line)."""
    m = re.search(rb"^" + key.encode() + rb": (.+)$", data, re.MULTILINE)
    value = m.group(1).decode("utf-8").strip() if m else None
    return None if value in (None, "null") else value


def _deal_events(path: str, data: bytes, rng: random.Random) -> list[Event]:
    rec = yamlio.loads(data.decode("utf-8"))
    history = rec.get("stage_history") or []
    owner = rec.get("owner") or "alice"
    if not history:
        return [(_ts(rec["created"]), owner, path, data)]
    events = []
    for k, entry in enumerate(history[:-1]):
        then = dict(rec, stage=entry["stage"], status="open", stage_history=history[: k + 1],
                    closed_at=None, lost_reason=None, updated=entry["at"])  # fmt: skip
        if k == len(history) - 2 and rng.random() < 0.33 and rec.get("close_date"):
            close = datetime.fromisoformat(rec["close_date"]) - timedelta(days=rng.randint(7, 30))
            then["close_date"] = close.date().isoformat()
            then["amount"] = (Decimal(rec["amount"]) * Decimal("0.9")).quantize(Decimal("0.01"))
        events.append((_ts(entry["at"]), entry.get("by") or owner, path,
                       yamlio.dumps(then).encode("utf-8")))  # fmt: skip
    events.append((_ts(history[-1]["at"]), history[-1].get("by") or owner, path, data))
    return events


def _events(root: Path, seed: int) -> list[Event]:
    rng = random.Random(seed * 31 + 7)
    events: list[Event] = []
    for kind, folder in models.KINDS.items():
        for name in sorted(n for n in os.listdir(root / folder) if n.endswith(".yaml")):
            path = f"{folder}/{name}"
            data = (root / path).read_bytes()
            if kind == "deal":
                events += _deal_events(path, data, rng)
                continue
            when = _field(data, "at" if kind == "activity" else "created")
            who = _field(data, "owner") or _field(data, "by") or "alice"
            events.append((_ts(when.strip("'\"")), who, path, data))
    events.sort(key=lambda e: (e[0], e[2]))
    return events


def _blob(out: Any, data: bytes) -> None:
    out.write(b"data %d\n" % len(data))
    out.write(data)
    out.write(b"\n")


def _commit(
    out: Any, when: datetime, author: str, message: str, files: list[tuple[str, bytes]]
) -> None:
    stamp = f"{int(when.timestamp())} +0800".encode()
    who = f"{author} <{author}@bench.example>".encode()
    out.write(b"commit refs/heads/main\n")
    out.write(b"author " + who + b" " + stamp + b"\n")
    out.write(b"committer " + who + b" " + stamp + b"\n")
    _blob(out, message.encode("utf-8"))
    for path, data in files:
        out.write(f"M 100644 inline {path}\n".encode())
        _blob(out, data)
    out.write(b"\n")


def make_history(root: Path, commits: int, now: datetime, *, seed: int = 1) -> int:
    """Put the CRM at `root` (its files written) in a new git repository whose
    history has about `commits` commits; returns how many it made."""
    root = Path(root)
    events = _events(root, seed)
    start = now - timedelta(days=DAYS)
    old = [e for e in events if e[0] <= start]
    recent = [e for e in events if e[0] > start]
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=root, stdin=subprocess.PIPE,
                            env=env)  # fmt: skip
    assert proc.stdin is not None
    top = [(p.name, p.read_bytes()) for p in sorted(root.iterdir()) if p.is_file()]
    top += [
        (f"{f}/.gitkeep", b"") for f in models.KINDS.values() if (root / f / ".gitkeep").exists()
    ]
    _commit(proc.stdin, start, "alice", "crm: set up, and the records of before",
            top + [(e[2], e[3]) for e in old])  # fmt: skip
    made = 1
    groups = max(1, min(commits - 1, len(recent)))
    bounds = [len(recent) * g // groups for g in range(groups + 1)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        group = recent[lo:hi]
        _commit(proc.stdin, group[-1][0], group[0][1], f"crm: {len(group)} changes",
                [(e[2], e[3]) for e in group])  # fmt: skip
        made += 1
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "reset", "-q"], cwd=root, check=True, env=env)
    return made
