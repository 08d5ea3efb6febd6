"""Three-way merge of one record, field by field: what git runs instead of its
line merge for the record files (`crm merge-driver %O %A %B %P`).

- a field changed on one side only takes that side's value;
- list fields (emails, tags, contacts, stage_history, ...) take both sides'
  additions, in a stable order: base order, then ours' additions, then theirs'
  (an item that one side removed stays removed); stage_history is sorted by `at`;
- nested mappings (`fields`, a contact changed on both sides) merge key by key;
- the same field changed to different values on both sides: the side with the
  later `updated` wins (a tie: the values are compared, so the result never
  depends on which side is "ours"), and the losing value is kept in the record
  under `conflicts` as {field, value, from: the loser's updated} for a person;
- a record merged away (a tombstone with `merged_into`) stays a tombstone; the
  other side's changes are kept under its `conflicts`;
- one event seen on both sides is no conflict: a record both sides created (the
  next occurrence of a recurring task completed on two clones) keeps the earlier
  `created`, a task both sides marked done keeps the earlier `done_at`, and a
  deal whose order both sides handed off keeps the earlier `handed_off_at`.

`settle` takes one conflict out of a record again (crm resolve): the field keeps
the value it holds ("ours"), the value set aside ("theirs") or a new one.

Nothing here writes conflict markers: a file that cannot be parsed is left to
git (`merge_files` returns False and leaves OURS as it was).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

Record = dict[str, Any]

#: fields holding lists whose items are merged as sets (in a stable order)
LIST_FIELDS = frozenset(
    {
        "emails",
        "phones",
        "tags",
        "contacts",
        "stage_history",
        "lines",
        "approvals",
        "batches",
        "conflicts",
    }
)
#: lists of mappings whose items have a natural key: an item changed on both
#: sides is merged key by key rather than kept twice
KEYED_LISTS = {"contacts": "name", "lines": "sku"}


class _Missing:
    """A field that is not in the record (distinct from null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class MergeFailed(Exception):
    """The versions cannot be merged field by field (not a mapping, not YAML)."""


def merge_records(base: Record | None, ours: Record, theirs: Record) -> Record:
    """The three-way merge of one record. `base` is None when both sides added the
    file. Raises MergeFailed when a version is not a mapping."""
    if base is None:
        base = {}
    for name, version in (("base", base), ("ours", ours), ("theirs", theirs)):
        if not isinstance(version, dict):
            raise MergeFailed(f"{name} is not a mapping of fields")
    if ours == theirs or theirs == base:
        return dict(ours)
    if ours == base:
        return dict(theirs)
    m = _Merger(ours.get("updated"), theirs.get("updated"))
    if ours.get("status") == theirs.get("status") == "done" != base.get("status"):
        m.earliest.add("done_at")  # both completed the task: one completion
    tomb_o, tomb_t = "merged_into" in ours, "merged_into" in theirs
    if tomb_o != tomb_t:
        return m.tombstone(base, ours if tomb_o else theirs, theirs if tomb_o else ours)
    result = m.merge_map("", base, ours, theirs)
    if m.conflicts:
        order = {k: i for i, k in enumerate(base)}
        m.conflicts.sort(key=lambda c: _conflict_order(c["field"], order))
        kept = result.get("conflicts")
        kept = list(kept) if isinstance(kept, list) else []
        for c in m.conflicts:
            if c not in kept:
                kept.append(c)
        result["conflicts"] = kept
    return result


def _conflict_order(field: str, order: dict[str, int]) -> tuple[int, int, str]:
    top = field.split(".", 1)[0].split("[", 1)[0]
    return (0, order[top], field) if top in order else (1, 0, field)


def _sort_key(value: Any) -> str:
    """A total, deterministic order on values (for ties)."""
    if value is MISSING:
        return ""
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _when(stamp: Any) -> Any:
    from crmcli.dates import parse_iso

    if not isinstance(stamp, str):
        return None
    try:
        dt = parse_iso(stamp)
    except (ValueError, OverflowError):
        return None
    return dt if dt.tzinfo is not None else None


class _Merger:
    def __init__(self, ours_updated: Any, theirs_updated: Any) -> None:
        self.ours_updated = ours_updated
        self.theirs_updated = theirs_updated
        self.conflicts: list[Record] = []
        # stamps of one event seen on both sides: the earlier one stands, no conflict
        # (a deal's order handed off from both clones was handed off at the first)
        self.earliest = {"created", "handed_off_at"}
        a, b = _when(ours_updated), _when(theirs_updated)
        # which side wins a field changed on both: "ours", "theirs", or None (a tie)
        self.later: str | None = None
        if a is not None and b is not None and a != b:
            self.later = "ours" if a > b else "theirs"

    # ----- one value ------------------------------------------------------------------

    def merge_value(self, path: str, key: str, b: Any, o: Any, t: Any) -> Any:
        if o == t:
            return o
        if o == b:
            return t
        if t == b:
            return o
        if path == "updated":
            return self._later_stamp(o, t)
        if path in self.earliest and _when(o) is not None and _when(t) is not None:
            return self._later_stamp(o, t, earlier=True)
        if b is MISSING and (_blank(o) or _blank(t)):
            return t if _blank(o) else o  # new on both sides (no base): a value beats none
        if key in LIST_FIELDS and isinstance(o, list) and isinstance(t, list) and _listish(b):
            return self.merge_list(path, key, b, o, t)
        if (
            isinstance(o, dict)
            and isinstance(t, dict)
            and (b is MISSING or b is None or isinstance(b, dict))
        ):
            return self.merge_map(path, b if isinstance(b, dict) else {}, o, t)
        return self.conflict(path, o, t)

    def _later_stamp(self, o: Any, t: Any, *, earlier: bool = False) -> Any:
        a, b = _when(o), _when(t)
        if a is not None and b is not None and a != b:
            return o if (a > b) != earlier else t
        return max((o, t), key=_sort_key)

    def conflict(self, path: str, o: Any, t: Any) -> Any:
        """Both sides changed `path`: keep the winner, record the loser."""
        if self.later == "ours":
            win, lose, lose_from = o, t, self.theirs_updated
        elif self.later == "theirs":
            win, lose, lose_from = t, o, self.ours_updated
        elif _sort_key(o) >= _sort_key(t):
            win, lose, lose_from = o, t, self.theirs_updated
        else:
            win, lose, lose_from = t, o, self.ours_updated
        self.conflicts.append(
            {"field": path, "value": None if lose is MISSING else lose, "from": lose_from}
        )
        return win

    # ----- mappings -------------------------------------------------------------------

    def merge_map(self, path: str, b: Record, o: Record, t: Record) -> Record:
        keys = list(b)
        keys += [k for k in o if k not in b]
        keys += [k for k in t if k not in b and k not in o]
        out: Record = {}
        for k in keys:
            sub = f"{path}.{k}" if path else str(k)
            v = self.merge_value(
                sub, str(k), b.get(k, MISSING), o.get(k, MISSING), t.get(k, MISSING)
            )
            if v is not MISSING:
                out[k] = v
        return out

    # ----- lists ----------------------------------------------------------------------

    def merge_list(self, path: str, key: str, b: Any, o: list, t: list) -> list:
        base = b if isinstance(b, list) else []
        keyfield = KEYED_LISTS.get(key)
        if keyfield and all(_keyable(x, keyfield) for x in (base, o, t)):
            out = self._merge_keyed(path, keyfield, base, o, t)
        else:
            out = [x for x in base if x in o and x in t]
            for x in o + t:
                if x not in base and x not in out:
                    out.append(x)
        if key == "stage_history":
            out = _sorted_by_at(out)
        return out

    def _merge_keyed(self, path: str, keyfield: str, b: list, o: list, t: list) -> list:
        from crmcli.store import fold

        def index(items: list) -> dict[str, Record]:
            return {fold(x[keyfield]): x for x in items}

        bi, oi, ti = index(b), index(o), index(t)
        keys = list(bi) + [k for k in oi if k not in bi]
        keys += [k for k in ti if k not in bi and k not in oi]
        out = []
        for k in keys:
            bb, oo, tt = bi.get(k, MISSING), oi.get(k, MISSING), ti.get(k, MISSING)
            if oo == tt:
                v = oo
            elif oo == bb:
                v = tt
            elif tt == bb:
                v = oo
            elif oo is MISSING or tt is MISSING:
                v = tt if oo is MISSING else oo  # removed on one side, changed on the other: keep
            else:
                name = (oo if oo is not MISSING else tt)[keyfield]
                v = self.merge_map(f"{path}[{name}]", bb if isinstance(bb, dict) else {}, oo, tt)
            if v is not MISSING:
                out.append(v)
        return out

    # ----- a record merged away on one side -------------------------------------------

    def tombstone(self, base: Record, tomb: Record, other: Record) -> Record:
        """One side merged the record into another (tombstone), the other edited it:
        the tombstone stands; the edits are kept under its conflicts."""
        out = dict(tomb)
        kept = list(out.get("conflicts") or [])
        for k, v in other.items():
            if k in ("updated", "conflicts", "id") or base.get(k, MISSING) == v:
                continue
            entry = {"field": str(k), "value": v, "from": other.get("updated")}
            if entry not in kept:
                kept.append(entry)
        if kept:
            out["conflicts"] = kept
        return out


def _blank(x: Any) -> bool:
    return x is MISSING or x is None or x == [] or x == {} or x == ""


def _listish(x: Any) -> bool:
    return x is MISSING or x is None or isinstance(x, list)


def _keyable(items: list, keyfield: str) -> bool:
    from crmcli.store import fold

    if not all(isinstance(x, dict) and isinstance(x.get(keyfield), str) for x in items):
        return False
    keys = [fold(x[keyfield]) for x in items]
    return len(keys) == len(set(keys))


def _sorted_by_at(items: list) -> list:
    def key(x: Any) -> tuple[int, Any, str]:
        at = x.get("at") if isinstance(x, dict) else None
        dt = _when(at)
        if dt is None:
            return (1, 0, str(at))
        return (0, dt.timestamp(), str(at))

    return sorted(items, key=key)


# ----- settling a conflict (crm resolve) ----------------------------------------------

_FIRST = re.compile(r"[^.\[]+")
_STEP = re.compile(r"\[([^\]]*)\]|\.([^.\[]+)")


def conflicts_of(rec: Record) -> list[Record]:
    """The conflict entries a record holds ({field, value, from}), well-formed ones only."""
    kept = rec.get("conflicts")
    entries = kept if isinstance(kept, list) else []
    return [c for c in entries if isinstance(c, dict) and isinstance(c.get("field"), str)]


def _steps(path: str) -> list[tuple[str, str]]:
    """`fields.size`, `contacts[Li Wei].phones` as (key|item, name) steps."""
    m = _FIRST.match(path)
    if not m:
        raise ValueError(path)
    steps, pos = [("key", m.group())], m.end()
    while pos < len(path):
        m = _STEP.match(path, pos)
        if not m:
            raise ValueError(path)
        steps.append(("item", m[1]) if m[1] is not None else ("key", m[2]))
        pos = m.end()
    return steps


def _step_into(node: Any, step: tuple[str, str], parent: str, create: bool) -> Any:
    from crmcli.store import fold

    how, name = step
    if how == "key":
        if isinstance(node, dict):
            if create and not isinstance(node.get(name), (dict, list)):
                node[name] = {}
            return node.get(name, MISSING)
        return MISSING
    keyfield = KEYED_LISTS.get(parent)
    if keyfield is None or not isinstance(node, list):
        return MISSING
    found = [x for x in node if isinstance(x, dict) and fold(str(x.get(keyfield))) == fold(name)]
    return found[0] if found else MISSING


def value_at(rec: Record, path: str) -> Any:
    """The value at a conflict's field path in `rec` (MISSING when it is not there)."""
    node: Any = rec
    try:
        steps = _steps(path)
    except ValueError:
        return MISSING
    parent = ""
    for step in steps:
        node = _step_into(node, step, parent, create=False)
        if node is MISSING:
            return MISSING
        parent = step[1]
    return node


def _set_at(rec: Record, path: str, value: Any) -> None:
    steps = _steps(path)
    node: Any = rec
    parent = ""
    for step in steps[:-1]:
        node = _step_into(node, step, parent, create=True)
        if node is MISSING:
            raise ValueError(path)
        parent = step[1]
    how, name = steps[-1]
    if how != "key" or not isinstance(node, dict):
        raise ValueError(path)
    node[name] = value


def settle(rec: Record, path: str, keep: str) -> tuple[Record, Any]:
    """`rec` with the conflicts on `path` settled: `keep` is "ours" (the value the
    field holds, which the merge kept), "theirs" (the value set aside) or a value
    (YAML, or text as it is when the field's values are texts). The entries for
    `path` are removed. Returns (the new record, the value kept); ValueError
    saying why when there is no such conflict or "theirs" is not one value."""
    import copy

    from crmcli import yamlio

    entries = [c for c in conflicts_of(rec) if c["field"] == path]
    if not entries:
        fields = list(dict.fromkeys(c["field"] for c in conflicts_of(rec)))
        where = f"its conflicts are on {', '.join(fields)}" if fields else "it has none"
        raise ValueError(f"no conflict on '{path}' ({where})")
    if keep != "ours" and path == "id":
        raise ValueError("a record's id is not changed by resolve; keep ours")
    ours = value_at(rec, path)
    others = [c.get("value") for c in entries]
    if keep == "ours":
        value = None if ours is MISSING else ours
    elif keep == "theirs":
        if len(others) > 1:
            shown = ", ".join(shown_value(v) for v in others)
            raise ValueError(f"'{path}' has {len(others)} values set aside ({shown}); "
                             "keep one with --keep VALUE")  # fmt: skip
        value = others[0]
    elif all(v is None or v is MISSING or isinstance(v, str) for v in [ours, *others]):
        value = keep
    else:
        try:
            value = yamlio.loads(keep)
        except yamlio.YAMLError as e:
            raise ValueError(f"--keep {keep!r} is not a value: {yamlio.describe(e)}") from None
    out = copy.deepcopy(rec)
    if keep != "ours":
        try:
            _set_at(out, path, value)
        except ValueError:
            raise ValueError(f"'{path}' is not a field this record can hold now") from None
    left = [c for c in out.get("conflicts") or [] if c not in entries]
    if left:
        out["conflicts"] = left
    else:
        out.pop("conflicts", None)
    return out, value


def shown_value(value: Any, width: int = 60) -> str:
    """A value on one line for messages: JSON-like, control characters escaped."""
    from decimal import Decimal

    if value is MISSING or value is None:
        text = "null"
    elif isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    text = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= width else text[: width - 1] + "…"


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# ----- files -----------------------------------------------------------------------------


def kind_of(path: str | None) -> str | None:
    """The record kind of a repository path like `deals/abc.yaml` (from its folder)."""
    from crmcli.models import KINDS

    if not path:
        return None
    folder = Path(path).parent.name
    for kind, name in KINDS.items():
        if name == folder:
            return kind
    return None


def _read(path: Path, what: str) -> Any:
    from crmcli import yamlio

    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise MergeFailed(f"cannot read {what} ({path}): {e.strerror}") from None
    except UnicodeDecodeError:
        raise MergeFailed(f"{what} is not UTF-8 text") from None
    try:
        return yamlio.loads(text)
    except yamlio.YAMLError as e:
        raise MergeFailed(f"{what} is not valid YAML: {yamlio.describe(e)}") from None


def merge_files(base: Path, ours: Path, theirs: Path, name: str | None = None) -> None:
    """Merge three versions of a record file into `ours` (git's %O %A %B; `name` is
    %P, the file's path in the repository). Raises MergeFailed, leaving `ours` as it
    was, when a version cannot be read as a record."""
    from crmcli.store import write_record

    b = _read(Path(base), "the common ancestor")
    o = _read(Path(ours), "our version")
    t = _read(Path(theirs), "their version")
    result = merge_records(b, o, t)
    kind = kind_of(name) or kind_of(str(ours))  # %P, else OURS if it sits in deals/ etc.
    try:
        write_record(Path(ours), kind, result, check=False)  # invalid sides merge: doctor tells
    except OSError as e:
        raise MergeFailed(f"cannot write {ours}: {e.strerror}") from None


def main(argv: list[str]) -> int:
    """`crm merge-driver BASE OURS THEIRS [PATH]` without loading the whole CLI
    (git runs it once per file changed on both sides, so start-up time counts).
    Exit 0: merged into OURS; 1: left to git (OURS untouched); 2: usage."""
    import sys

    if len(argv) not in (3, 4) or any(a in ("-h", "--help") for a in argv):
        return -1  # not ours to handle: let the full CLI print help or usage
    base, ours, theirs = argv[:3]
    name = argv[3] if len(argv) == 4 else None
    try:
        merge_files(Path(base), Path(ours), Path(theirs), name)
    except MergeFailed as e:
        print(
            f"Error: cannot merge {name or ours} field by field: {e}; left to git", file=sys.stderr
        )
        return 1
    return 0
