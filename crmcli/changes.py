"""A change set: what an `add` or `edit` asks of one record, and the one function that
applies it to a record of any kind (models.SCHEMAS says what each field holds).

The CLI builds a ChangeSet once from a command's options (commands.common.change_set);
the domain functions (customers, leads, deals, tasks) check and clean its values by
their own rules, then `apply` it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crmcli import models
from crmcli.errors import CrmError
from crmcli.models import Record

FIELD_PREFIX = "fields."
# What one item of a list field is called in messages ("has no e-mail 'x'").
ITEM_NAMES = {"emails": "e-mail", "phones": "phone", "tags": "tag", "lines": "line"}


class ConflictError(CrmError):
    """A change set that contradicts itself (the CLI makes it a usage error)."""


@dataclass
class ChangeSet:
    """Fields to set (a field name, or `fields.KEY` for a custom field), fields to
    clear, and items to add to or remove from list fields. `options` names the
    option that asked for each change (for messages), by the keys `set:FIELD`,
    `unset:FIELD`, `add:FIELD`, `remove:FIELD`; without one a message says `--FIELD`."""

    set: dict[str, Any] = field(default_factory=dict)
    unset: list[str] = field(default_factory=list)
    add: dict[str, list[Any]] = field(default_factory=dict)
    remove: dict[str, list[Any]] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def of(cls, **values: Any) -> ChangeSet:
        """A change set from keyword values: lists add to list fields, None is left
        out, anything else is set (`fields` a mapping of custom fields)."""
        custom = values.pop("fields", None) or {}
        sets = {k: v for k, v in values.items() if v is not None and not isinstance(v, list)}
        sets.update({FIELD_PREFIX + k: v for k, v in custom.items()})
        return cls(set=sets, add={k: v for k, v in values.items() if isinstance(v, list) and v})

    @property
    def empty(self) -> bool:
        return not (self.set or self.unset or self.add or self.remove)

    def option(self, op: str, name: str, item: Any = None) -> str:
        """The option that asked for this change, for messages (`--website`,
        `--unset website`, `--remove-tag vip`)."""
        label = self.options.get(f"{op}:{name}")
        if label is None:
            flag = name.removeprefix(FIELD_PREFIX).replace("_", "-")
            label = {"unset": f"--unset {name}", "remove": f"--remove-{flag}"}.get(op, f"--{flag}")
        return f"{label} {item}" if item is not None and op != "unset" else label

    def check(self) -> None:
        """Refuse a contradiction: a field both cleared and set, added to or removed
        from; an item both added and removed."""
        for name in self.unset:
            for op, names in (("set", self.set), ("add", self.add), ("remove", self.remove)):
                hit = [n for n in names if n == name or (name == "fields" and _custom(n))]
                if hit:
                    self._conflict((op, hit[0]), ("unset", name))
        for name, items in self.add.items():
            both = [x for x in items if x in self.remove.get(name, [])]
            if both:
                self._conflict(("add", name, both[0]), ("remove", name, both[0]))

    def _conflict(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
        raise ConflictError(f"{self.option(*a)} and {self.option(*b)} contradict each other")

    def clean_text(self, name: str, required: str | None = None) -> None:
        """The text set for `name` without surrounding blanks (None when empty); an
        empty one is the error `required` when it is given."""
        value = self.set.get(name)
        if value is not None:
            if required and not value.strip():
                raise CrmError(required)
            self.set[name] = value.strip() or None

    def pop(self, name: str, default: Any = None) -> Any:
        """Take a field out of `set` (a domain rule handles it), else `default`."""
        return self.set.pop(name, default)


def unchanged(kind: str, before: Record, after: Record) -> bool:
    """Does `after` say what `before` said (its `updated` time aside)?"""
    a, b = models.normalize(kind, after), models.normalize(kind, before)
    return {k: v for k, v in a.items() if k != "updated"} == {
        k: v for k, v in b.items() if k != "updated"
    }


def _custom(name: str) -> bool:
    return name.startswith(FIELD_PREFIX)


def _no_item(kind: str, rec: Record, name: str, item: Any) -> CrmError:
    what = ITEM_NAMES.get(name, name)
    return CrmError(f"{kind} {rec['id']} has no {what} '{item}'")


def apply(
    kind: str,
    rec: Record,
    changes: ChangeSet,
    same: dict[str, Callable[[Any, Any], bool]] | None = None,
) -> Record:
    """`rec` (a copy) with the change set applied, in order: set, add, remove, unset.

    Fields are those of models.schema(kind) (a contact's too) or `fields.KEY`; a cleared field takes
    the empty value of its type; models.UNSETTABLE[kind] names the fields that may
    be cleared (besides `fields.KEY`). `same[field](item, value)` says whether an item to remove
    matches a value in the list (default: equal); an item that matches none is an
    error naming it."""
    schema = dict(models.schema(kind))
    unsettable = models.UNSETTABLE[kind]
    rec = dict(rec, fields=dict(rec.get("fields") or {})) if "fields" in schema else dict(rec)
    for name, value in changes.set.items():
        if name.startswith(FIELD_PREFIX) and "fields" in schema:
            rec["fields"][name.removeprefix(FIELD_PREFIX)] = value
        elif name in schema:
            rec[name] = value
        else:
            raise CrmError(f"a {kind} has no field '{name}'")
    for name, items in changes.add.items():
        rec[name] = list(rec.get(name) or []) + list(items)
    for name, items in changes.remove.items():
        match = (same or {}).get(name, lambda item, value: item == value)
        for item in items:
            kept = [v for v in rec.get(name) or [] if not match(item, v)]
            if len(kept) == len(rec.get(name) or []):
                raise _no_item(kind, rec, name, item)
            rec[name] = kept
    for name in changes.unset:
        key = name.removeprefix(FIELD_PREFIX)
        if name in unsettable:
            rec[name] = models.empty_value(schema[name])
        elif name.startswith(FIELD_PREFIX) and key in rec.get("fields", {}):
            del rec["fields"][key]
        else:
            allowed = ", ".join([*unsettable, "fields.KEY"])
            raise CrmError(f"cannot unset '{name}' on {kind} {rec['id']} (one of: {allowed})")
    return rec
