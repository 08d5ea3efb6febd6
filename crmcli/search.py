"""crm search: find records of every kind by the words in them, ranked, each hit with
the record it belongs to and a snippet of the text that matched.

What is searched (`pieces`): customers' names, e-mails, phones, website and their
contacts (name, title, e-mails, phones); leads' names, companies, titles, e-mails and
phones; deals' and tasks' titles; timeline entries' text. A record matches when every
word of the query is in that text, case and accents aside (store.fold), anywhere
(inside longer words too, so CJK without spaces is found). Store.query's `words`
condition finds them: the index's full-text table (index.py), or the files when there
is no index, with the same answer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

from crmcli.models import NAME_FIELD, Record

# The kinds searched, in the order a tie is broken
KINDS = ("customer", "lead", "deal", "task", "activity")
SNIPPET = 60  # characters of text around a match a snippet shows
_LEAD_IN = 12  # of them at most before the first match (when the text is longer)
NAME_WEIGHT = 3.0  # a word in a name or title counts this many times one in other text


# The fields searched after the name or title, by kind (a contact: its name, title,
# e-mails and phones, as one piece)
FIELDS = {"customer": ("emails", "phones", "website", "contacts"),
          "lead": ("company", "title", "emails", "phones"), "activity": ("text",)}  # fmt: skip


def pieces(kind: str, rec: Record) -> list[tuple[str, str]]:
    """The texts of a record that search looks in, as (field, text): its name or
    title first (for every kind but a timeline entry), then those of FIELDS; a
    contact is one piece, `name · title · e-mails · phones`."""
    found: list[tuple[str, str]] = []
    if kind != "activity":
        found += [(NAME_FIELD[kind], t) for t in _texts(rec.get(NAME_FIELD[kind]))]
    for f in FIELDS.get(kind, ()):
        if f != "contacts":
            found += [(f, t) for t in _texts(rec.get(f))]
            continue
        for c in rec.get(f) or []:
            if isinstance(c, dict):
                parts = _texts(c.get("name"), c.get("title"), c.get("emails"), c.get("phones"))
                if parts:
                    found.append((f, " · ".join(parts)))
    return found


def _texts(*values: Any) -> list[str]:
    """The non-empty texts among values and lists of them."""
    out: list[str] = []
    for v in values:
        for x in v if isinstance(v, list) else [v]:
            if x is not None and x != "":
                out.append(str(x))
    return out


def terms(query: str) -> list[str]:
    """The words of a query, folded; an empty query is an error."""
    from crmcli.errors import CrmError
    from crmcli.store import fold

    words = fold(query).split()
    if not words:
        raise CrmError("nothing to search for: give a word")
    return words


@dataclass
class Hit:
    """One record found: `of` is the record it belongs to ({kind, id, name} or None),
    `snippet` the text that matched with `spans` [(start, end)] of the words in it."""

    kind: str
    rec: Record
    rank: tuple = ()
    name: str = ""
    of: dict[str, str] | None = None
    field: str = ""
    snippet: str = ""
    spans: list[tuple[int, int]] = _field(default_factory=list)

    @property
    def id(self) -> str:
        return self.rec["id"]

    def json(self) -> dict[str, Any]:
        """The hit as `crm search --format json` prints it."""
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "of": self.of,
            "field": self.field,
            "snippet": self.snippet,
        }


def search(
    store: Any, query: str, kinds: Iterable[str] | None = None, limit: int | None = None
) -> tuple[list[Hit], int]:
    """The best `limit` hits (None or 0: all) for `query` among records of `kinds`
    (default: every kind), ranked (see `rank`), with names, links and snippets; and
    how many records matched in all."""
    words = terms(query)
    wanted = list(kinds or KINDS)
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise ValueError(f"search: no kind {', '.join(unknown)} (use {', '.join(KINDS)})")
    hits = [
        Hit(kind, rec, rank(kind, rec, words))
        for kind in KINDS
        if kind in wanted
        for rec in store.query(kind, {"words": query})
    ]
    hits.sort(key=lambda h: h.rank)
    total = len(hits)
    shown = hits[:limit] if limit else hits
    for h in shown:
        h.name = hit_name(h.kind, h.rec)
        h.field, h.snippet, h.spans = snippet(pieces(h.kind, h.rec), words)
    _link(store, shown)
    return shown, total


def hit_name(kind: str, rec: Record) -> str:
    """What a hit is called: its name or title; a timeline entry its kind and day."""
    if kind == "activity":
        return f"{rec.get('kind') or 'note'} {str(rec.get('at') or '')[:10]}".strip()
    return str(rec.get(NAME_FIELD[kind]) or rec["id"])


def rank(kind: str, rec: Record, words: Sequence[str]) -> tuple:
    """A hit's sort key, best first: (tier, score, kind, newest, id). Tier 0: the name or
    title, a contact's name or an e-mail is the query itself; 1: every word is in the
    name or title (or one contact's name); 2: in other text. The score, within a tier,
    is BM25's term-frequency part: more matches in shorter text first, a word in the
    name counting NAME_WEIGHT times."""
    from crmcli.store import fold

    whole = " ".join(words)
    parts = [(f, fold(t)) for f, t in pieces(kind, rec)]
    named = 0 if kind == "activity" else min(1, len(parts))  # the name or title: first
    names = [t for _f, t in parts[:named]]
    names += [t.split(" · ")[0] for f, t in parts if f == "contacts"]
    exact = {" ".join(t.split()) for t in names} | {t for f, t in parts if f == "emails"}
    if whole in exact:
        tier = 0
    elif any(all(w in t for w in words) for t in names):
        tier = 1
    else:
        tier = 2
    score = 0.0
    for i, (_f, t) in enumerate(parts):
        tf = sum(t.count(w) for w in words)
        if tf:
            weight = NAME_WEIGHT if i < named else 1.0
            score += weight * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(t) / 40))
    return (tier, -round(score, 9), KINDS.index(kind), -_stamp(rec), rec["id"])


def _stamp(rec: Record) -> float:
    """When a record was last written (a timeline entry: when it happened), as a
    POSIX timestamp; 0 when it has none that reads."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(rec.get("at") or rec.get("updated"))).timestamp()
    except (ValueError, OverflowError, OSError):
        return 0.0


def _folded(text: str) -> tuple[str, list[int]]:
    """`text` folded as store.fold does, and for each character of the folded text the
    position of the character of `text` it came from (one more at the end)."""
    if text.isascii():
        low = text.lower()
        return low, list(range(len(text) + 1))
    from crmcli.store import fold

    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        f = fold(ch) if not unicodedata.combining(ch) else ""
        out.append(f)
        where += [i] * len(f)
    where.append(len(text))
    return "".join(out), where


def snippet(
    parts: Sequence[tuple[str, str]], words: Sequence[str]
) -> tuple[str, str, list[tuple[int, int]]]:
    """(field, text, spans) of the piece holding the most words of the query (the
    first of those), one line, cut to SNIPPET characters around the first match
    with `…`; spans are where the words are in that text."""
    best: tuple[int, str, str, str, list[int]] | None = None
    for f, t in parts:
        line = " ".join(t.split("\n")).replace("\t", " ").replace("\r", " ")
        low, where = _folded(line)
        n = sum(1 for w in set(words) if w in low)
        if best is None or n > best[0]:
            best = (n, f, line, low, where)
    if best is None:
        return "", "", []
    _n, f, line, low, where = best
    spans = []
    for w in set(words):
        start = low.find(w)
        while start >= 0:
            spans.append((where[start], where[start + len(w) - 1] + 1))
            start = low.find(w, start + 1)
    spans = _merged(spans)
    if len(line) <= SNIPPET:
        return f, line, spans
    first = spans[0][0] if spans else 0
    begin = max(0, min(first - _LEAD_IN, len(line) - SNIPPET))
    space = line.find(" ", begin, first)
    if begin and space >= 0:  # from the start of a word
        begin = space + 1
    end = begin + SNIPPET
    text = ("…" if begin else "") + line[begin:end] + ("…" if end < len(line) else "")
    shift = 1 if begin else 0
    cut = [
        (max(s, begin) - begin + shift, min(e, end) - begin + shift)
        for s, e in spans
        if e > begin and s < end
    ]
    return f, text, cut


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted, the overlapping ones made one."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


# The record a hit belongs to: a timeline entry's record, a task's deal (else its
# customer, else its lead), a deal's customer, a lead's customer once converted.
_OWNER_FIELDS = {"activity": ("on",), "task": ("deal", "customer", "lead"),
                 "deal": ("customer",), "lead": ("customer",)}  # fmt: skip
_ON_KINDS = ("customer", "deal", "lead", "task")  # what an entry's `on` may be


def _owner_ref(kind: str, rec: Record) -> tuple[tuple[str, ...], str] | None:
    """(the kinds it may be, id) of the record a hit belongs to, or None."""
    for f in _OWNER_FIELDS.get(kind, ()):
        rid = rec.get(f)
        if isinstance(rid, str) and rid:
            return (_ON_KINDS if f == "on" else (f,)), rid
    return None


def _link(store: Any, hits: Sequence[Hit]) -> None:
    """Set `of` on each hit: {kind, id, name} of the record it belongs to (a merged
    customer's: the one kept), or None (a link to no record is left out). One query
    per kind and merge hop, for the hits' links only."""
    refs = {h.id: _owner_ref(h.kind, h.rec) for h in hits}
    found: dict[str, dict[str, str]] = {}
    for k in _ON_KINDS:
        # the ids looked for now, each with the ids of the hits' links that lead to it
        pending: dict[str, list[str]] = {}
        for ref in refs.values():
            if ref and k in ref[0] and ref[1] not in found:
                pending[ref[1]] = [ref[1]]
        for _hop in range(10):  # merge tombstones, followed (never round a loop)
            if not pending:
                break
            for r in store.query(k, {"id": list(pending)}, fields=("id", NAME_FIELD[k])):
                for rid in pending.pop(r["id"]):
                    found[rid] = {"kind": k, "id": r["id"], "name": hit_name(k, r)}
            step: dict[str, list[str]] = {}
            for t in store.query(k, {"id": list(pending), "merged": True}):
                step.setdefault(t["merged_into"], []).extend(pending[t["id"]])
            pending = step
    for h in hits:
        ref = refs[h.id]
        h.of = found.get(ref[1]) if ref else None
