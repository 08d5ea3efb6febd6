"""Finding one record by what a person types (a REF), and names that would make a
REF ambiguous.

A REF is tried level by level; the first level that finds anything decides:

1. exact: the full id (a merged record's id leads to the one kept), a case- and
   accent-insensitive exact name (title for deals and tasks) or e-mail (for a
   customer, its contacts' e-mails too); when no live record has it, a merged
   record's old name or e-mail, kept in its tombstone;
2. a unique id prefix of at least MIN_PREFIX characters (merged records' ids too);
3. a case- and accent-insensitive substring of the name or title, or of a
   customer's contact's name, of at least MIN_TEXT characters (MIN_TEXT_WIDE when
   it holds Chinese, Japanese or Korean: `华泰` finds 北京华泰机械有限公司).

Several records at a level: AmbiguousError listing them with ids. None at all:
NotFoundError with up to NEAR near names ("did you mean"). A REF that led through
a merge says so by Store.notice (the CLI prints it on stderr).

Every read goes through Store.query with only the fields a level needs and, for
names, the index's text condition, so that 100,000 records answer in milliseconds;
a full id reads one file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from crmcli import models
from crmcli.errors import AmbiguousError, NotFoundError
from crmcli.models import KINDS, Record
from crmcli.store import ID_RE, TOMBSTONE_FIELDS, Store, fold

MIN_PREFIX = 4  # characters of an id prefix
MIN_TEXT = 3  # characters of a substring
MIN_TEXT_WIDE = 2  # ... when it holds a wide (CJK) character
NEAR = 5  # names a "did you mean" offers
CUTOFF = 0.6  # how alike (difflib's ratio) a near name must be
SHORTLIST = 100  # names difflib compares at most (those sharing most character pairs)
LISTED = 20  # candidates an ambiguity error names (the rest are counted)

EXACT, PREFIX, SUBSTRING = 1, 2, 3  # the levels, best first


class Match(NamedTuple):
    """A record found and the level (EXACT, PREFIX, SUBSTRING) that found it."""

    record: Record
    level: int


def resolve(store: Store, kind: str, ref: str) -> Record:
    """The one record of `kind` that `ref` names (see the module's levels); raises
    NotFoundError (with near names) or AmbiguousError (with the candidates)."""
    return match(store, kind, ref).record


def match(store: Store, kind: str, ref: str, *, suggest: bool = True) -> Match:
    """As `resolve`, with the level that found the record; `suggest`: a NotFoundError
    names near records (which reads every name of the kind)."""
    text = (ref or "").strip()
    low = text.lower()
    if ID_RE.match(low) and store.exists(kind, low):
        rec = store.read_file(kind, store.path(kind, low))
        return Match(_follow(store, kind, rec, ref), EXACT)
    wanted = fold(text)
    found = _with_text(store, kind, text) if wanted else []
    exact = [r for r in found if _exact(kind, r, wanted, low)]
    if exact:
        return Match(_one(store, kind, ref, exact, EXACT), EXACT)
    merged = _merged(store, kind, ref, wanted, low) if wanted else None
    if merged is not None:
        return Match(merged, EXACT)
    if len(low) >= MIN_PREFIX and ID_RE.match(low):
        rec = _by_prefix(store, kind, ref, low)
        if rec is not None:
            return Match(rec, PREFIX)
    if long_enough(wanted):
        inside = [r for r in found if _contains(kind, r, wanted)]
        if inside:
            return Match(_one(store, kind, ref, inside, SUBSTRING), SUBSTRING)
    lines = _did_you_mean(store, kind, wanted) if suggest else []
    raise NotFoundError(f"no {kind} matches '{ref}'", lines)


def across(
    store: Store, kinds: Iterable[str], ref: str
) -> tuple[list[tuple[str, Record]], list[tuple[str, AmbiguousError]]]:
    """What `ref` names among records of several kinds, at the best level any kind
    reaches (an exact match wins over a looser one): [(kind, record)] found there, and
    [(kind, AmbiguousError)] of the kinds where it names several. Both empty: none."""
    hits: list[tuple[int, str, Record]] = []
    several: list[tuple[int, str, AmbiguousError]] = []
    for kind in kinds:
        try:
            m = match(store, kind, ref, suggest=False)
            hits.append((m.level, kind, m.record))
        except AmbiguousError as e:
            several.append((e.level, kind, e))
        except NotFoundError:
            continue
    best = min([level for level, _k, _x in [*hits, *several]], default=0)
    found = [(k, r) for level, k, r in hits if level == best]
    return found, [(k, e) for level, k, e in several if level == best]


def long_enough(folded: str) -> bool:
    """Whether a (folded) text is long enough to be looked for inside names."""
    import unicodedata

    if len(folded) >= MIN_TEXT:
        return True
    wide = any(unicodedata.east_asian_width(c) in "WF" for c in folded)
    return wide and len(folded) >= MIN_TEXT_WIDE


# ----- the levels ---------------------------------------------------------------------


def _fields(kind: str) -> tuple[str, ...]:
    """What resolution reads of each candidate: id, name, e-mails, contacts, status."""
    have = models.FIELDS[kind]
    extra = [f for f in ("emails", "contacts", "status") if f in have]
    return ("id", models.NAME_FIELD[kind], *extra)


def _with_text(store: Store, kind: str, text: str) -> list[Record]:
    """The records whose indexed text (names, e-mails, phones, contacts; titles) holds
    `text`: every exact or substring candidate, and few others."""
    return store.query(kind, {"text": text}, fields=_fields(kind))


def _emails(kind: str, rec: Record) -> list[str]:
    found = [str(e).lower() for e in rec.get("emails") or []]
    if kind == "customer":
        for c in rec.get("contacts") or []:
            found += [str(e).lower() for e in c.get("emails") or []]
    return found


def _exact(kind: str, rec: Record, wanted: str, low: str) -> bool:
    name = rec.get(models.NAME_FIELD[kind])
    return fold(str(name or "")) == wanted or low in _emails(kind, rec)


def _contains(kind: str, rec: Record, wanted: str) -> bool:
    names = [rec.get(models.NAME_FIELD[kind])]
    if kind == "customer":
        names += [c.get("name") for c in rec.get("contacts") or []]
    return any(wanted in fold(str(n)) for n in names if n)


def _one(store: Store, kind: str, ref: str, found: list[Record], level: int) -> Record:
    """The record, loaded whole, when `found` holds one; AmbiguousError otherwise."""
    if len(found) == 1:
        return store.load(kind, found[0]["id"])
    raise ambiguous(kind, ref, found, level)


def ambiguous(kind: str, ref: str, found: list[Record], level: int = EXACT) -> AmbiguousError:
    """The error for a REF that matches several records, listing them with ids."""
    lines = [f"  {r['id']}  {models.display_name(kind, r)}" for r in found[:LISTED]]
    if len(found) > LISTED:
        lines.append(f"  ... and {len(found) - LISTED} more")
    error = AmbiguousError(f"'{ref}' matches {len(found)} {KINDS[kind]}; use an id", lines, found)
    error.level = level
    return error


def _follow(store: Store, kind: str, rec: Record, ref: str) -> Record:
    """The live record a merge tombstone leads to (saying so), or `rec` itself."""
    if "merged_into" not in rec:
        return rec
    live = store.load(kind, rec["id"])
    _say_merged(store, kind, ref, live)
    return live


def _say_merged(store: Store, kind: str, ref: str, live: Record) -> None:
    name = models.display_name(kind, live)
    store.notice(f"'{ref.strip()}' was merged into {kind} {live['id']} ({name})")


def _merged(store: Store, kind: str, ref: str, wanted: str, low: str) -> Record | None:
    """The record kept by the merges whose tombstones hold this old name or e-mail."""
    name = models.NAME_FIELD[kind]
    fields = tuple(f for f in ("id", name, "emails") if f in TOMBSTONE_FIELDS)
    stones = [
        s
        for s in store.query(kind, {"merged": True}, fields=fields)
        if fold(str(s.get(name) or "")) == wanted or low in _emails(kind, s)
    ]
    if not stones:
        return None
    kept = {r["id"]: r for r in (store.load(kind, s["id"]) for s in stones)}
    if len(kept) > 1:
        raise ambiguous(kind, ref, list(kept.values()))
    live = next(iter(kept.values()))
    _say_merged(store, kind, ref, live)
    return live


def _by_prefix(store: Store, kind: str, ref: str, low: str) -> Record | None:
    """The one live record whose id, or a merged record's id leading to it, starts
    with `low`; None when none does."""
    ids = {r["id"] for r in store.query(kind, {"id_prefix": low}, fields=("id",))}
    for s in store.query(kind, {"id_prefix": low, "merged": True}, fields=("id",)):
        ids.add(store.load(kind, s["id"])["id"])
    if not ids:
        return None
    if len(ids) > 1:
        raise ambiguous(kind, ref, [store.load(kind, i) for i in sorted(ids)], PREFIX)
    rec = store.load(kind, ids.pop())
    if not rec["id"].startswith(low):
        _say_merged(store, kind, ref, rec)
    return rec


# ----- did you mean -------------------------------------------------------------------


def near(store: Store, kind: str, text: str, n: int = NEAR) -> list[Record]:
    """Up to `n` records (id and name) whose name or title, or a word of it, is most
    like `text` (difflib's ratio at least CUTOFF, case and accents aside), best first.

    Fast over every name of a kind: a name (lowercased) is compared by difflib only
    when it holds half of the text's characters (tests in C), and only the SHORTLIST
    that hold most of its character pairs, then characters."""
    import heapq
    from difflib import SequenceMatcher

    wanted = fold(text.strip())
    if not wanted:
        return []
    name = models.NAME_FIELD[kind]
    chars = set(wanted)
    pairs = {wanted[i : i + 2] for i in range(len(wanted) - 1)}
    need = (len(chars) + 1) // 2
    shortlist: list[tuple[int, int, str, Record]] = []
    for rec in store.query(kind, fields=("id", name)):
        low = str(rec.get(name) or "").lower()  # (folded only if shortlisted: fold is slower)
        held = sum(c in low for c in chars)
        if held >= need:
            shortlist.append((sum(p in low for p in pairs), held, rec["id"], rec))
    matcher = SequenceMatcher(None, "", wanted, autojunk=False)  # seq2 is analysed once
    scored: list[tuple[float, str, Record]] = []
    for _p, _c, rid, rec in heapq.nlargest(SHORTLIST, shortlist, key=lambda s: s[:2]):
        folded = fold(str(rec.get(name) or ""))
        best = 0.0
        for candidate in (folded, *folded.split()):
            matcher.set_seq1(candidate)
            if matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF:
                best = max(best, matcher.ratio())
        if best >= CUTOFF:
            scored.append((-best, rid, rec))
    return [rec for _s, _id, rec in sorted(scored, key=lambda s: s[:2])[:n]]


def _did_you_mean(store: Store, kind: str, wanted: str) -> list[str]:
    """The lines after a no-match error: near names with their ids, if any."""
    found = near(store, kind, wanted)
    if not found:
        return []
    lines = [f"  {r['id']}  {models.display_name(kind, r)}" for r in found]
    return ["Did you mean:", *lines]


# ----- names already taken ----------------------------------------------------------


def name_taken(store: Store, kind: str, rec: Record) -> list[str]:
    """Warnings when another record of `kind` already has `rec`'s name (title), case
    and accents aside: the name alone then finds neither. For tasks, only open ones
    count (a REF prefers the open task of a title). Advice read from the index as the
    last command left it (`add` must not stat every file of the kind for it)."""
    field = models.NAME_FIELD[kind]
    name = str(rec.get(field) or "").strip()
    if not name:
        return []
    wanted = fold(name)
    where = {"words": name, "status": "open" if kind == "task" else None}
    others = [
        r
        for r in store.query(kind, where, fields=("id", field), stale_ok=True)
        if r["id"] != rec.get("id")
        and fold(str(r.get(field) or "")) == wanted
        and store.exists(kind, r["id"])  # (a row the index has not yet seen go)
    ]
    if not others:
        return []
    what = "title" if field == "title" else "name"
    ids = ", ".join(r["id"] for r in others[:LISTED])
    more = f" and {len(others) - LISTED} more" if len(others) > LISTED else ""
    has = "has" if len(others) == 1 else "have"
    return [
        f"{kind} {ids}{more} already {has} the {what} '{name}': "
        f"the {what} alone no longer finds one; use an id"
    ]
