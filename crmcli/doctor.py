"""crm doctor: check every file of a CRM, collect each problem as data, repair what is safe.

`check(root)` reads crm.yaml and every record file itself (not through the store's
caches or index) and returns one `Problem` per thing wrong: `{file, field, problem,
fixable}`. `fix(...)` repairs only what cannot lose or invent data:

- stray temp files `.NAME.*.tmp` left by a write that was killed are removed
  (under the writer lock, so never one that a running command is writing);
- a file that is valid but not in canonical form (key order, layout, an `id` that
  does not match the file name) is rewritten canonically, unless it holds YAML
  comments that a rewrite would drop;
- a link (`customer`, `lead`, `deal`, activity `on`) to a merged record's tombstone
  is re-pointed to the record it was merged into.

Never fixed, only reported: broken YAML, fields of the wrong type, links to records
that do not exist (the record may come back with `git pull` or `crm undo`; dropping
the link would lose which one it was), duplicate e-mails/phones (merging is a
person's call), unknown stages, task recurrences (`every`) that cannot repeat, merge
conflicts, tombstones pointing nowhere, crm.yaml.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli import models
from crmcli.errors import CrmError, SettingsError
from crmcli.models import KINDS, Record
from crmcli.settings import SETTINGS_FILE
from crmcli.store import DERIVED_DIR, ID_RE, Store, atomic_write

# Kinds an activity's `on` may point at.
TIMELINE_KINDS = ("customer", "lead", "deal", "task")
_CONFLICT_MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Problem:
    """One thing wrong with one file. `repair` does the fix and says what it did."""

    file: str
    field: str | None
    problem: str
    fixable: bool = False
    repair: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    fixed: bool = False
    action: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "field": self.field,
            "problem": self.problem,
            "fixable": self.fixable,
            "fixed": self.fixed,
            "action": self.action,
        }

    def line(self) -> str:
        """`customers/ab12cd34.yaml: emails: ...` (the field left out when there is none)."""
        where = f"{self.file}: {self.field}" if self.field else self.file
        return _printable(f"{where}: {self.problem}")


@dataclass
class Report:
    problems: list[Problem]  # what is wrong now (after --fix: what is left)
    fixed: list[Problem] = field(default_factory=list)  # what --fix repaired
    files: int = 0  # how many files were checked


# ----- crm.yaml ----------------------------------------------------------------------------


def check_settings(root: Path) -> tuple[dict[str, Any], list[Problem]]:
    """The usable settings (bad keys at their defaults) and one problem per bad key."""
    from crmcli import settings as settings_mod
    from crmcli import yamlio

    problems: list[Problem] = []

    def add(key: str | None, text: str) -> None:
        problems.append(Problem(SETTINGS_FILE, key, text))

    path = root / SETTINGS_FILE
    try:
        data = yamlio.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        add(None, f"cannot read: {e.strerror}")
        data = {}
    except UnicodeDecodeError as e:
        add(None, f"not UTF-8 text (byte {e.start})")
        data = {}
    except yamlio.YAMLError as e:
        add(None, f"not valid YAML: {yamlio.describe(e)}")
        data = {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        add(None, "must be a mapping of settings")
        data = {}
    good: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            add(str(key), "a setting's name must be a text")
            continue
        try:
            settings_mod.validate({key: value})
        except SettingsError as e:
            add(key, _strip_file(e.message, SETTINGS_FILE))
            continue
        good[key] = value
    try:
        settings = settings_mod.validate(good)
    except SettingsError as e:  # a problem between keys: fall back to the defaults
        add(None, _strip_file(e.message, SETTINGS_FILE))
        settings = settings_mod.validate({})
    if settings.get("timezone"):
        from crmcli.dates import get_tz

        try:
            get_tz(settings["timezone"])
        except CrmError as e:
            add("timezone", e.message)
            settings["timezone"] = None
    return settings, problems


def _strip_file(message: str, name: str) -> str:
    text = message.removeprefix(f"{name}: ")
    m = re.match(r"^'([^']+)' (.*)$", text)
    return m.group(2) if m else text


# ----- the files -------------------------------------------------------------------------


class _Checker:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.root
        self.problems: list[Problem] = []
        self.files = 0
        self.present: dict[str, set[str]] = {k: set() for k in KINDS}  # ids with a file
        self.records: dict[str, dict[str, Record]] = {k: {} for k in KINDS}  # valid ones
        self.tombstones: dict[str, dict[str, Any]] = {k: {} for k in KINDS}

    def add(
        self,
        path: Path | str,
        fieldname: str | None,
        text: str,
        repair: Callable[[], str] | None = None,
    ) -> None:
        rel = path if isinstance(path, str) else self.store.rel(path)
        self.problems.append(Problem(rel, fieldname, text, repair is not None, repair))

    # -- scanning

    def run(self) -> None:
        self.temp_files(self.root)
        self.tracked_derived()
        for kind, folder in KINDS.items():
            directory = self.root / folder
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except FileNotFoundError:
                continue
            except OSError as e:
                self.add(folder, None, f"cannot read the folder: {e.strerror}")
                continue
            self.temp_files(directory)
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                path = directory / name
                if not name.endswith(".yaml"):
                    self.add(path, None, "not a record file (crm ignores it)")
                    continue
                self.files += 1
                self.record_file(kind, path)
        self.links()
        self.tombstone_targets()
        for kind in ("customer", "lead"):
            self.duplicates(kind)

    def tracked_derived(self) -> None:
        """.crm/ is this machine's derived data: git must not carry it to other clones."""
        from crmcli import gitops

        try:
            proc = gitops.git(self.root, "ls-files", "-z", "--", DERIVED_DIR, check=False)
        except CrmError:
            return  # no git
        tracked = [n for n in proc.stdout.split("\0") if n] if proc.returncode == 0 else []
        if tracked:
            self.add(f"{DERIVED_DIR}/", None, f"git tracks {len(tracked)} file(s) of crm's derived "
                     f"data; untrack them with: git rm -r --cached {DERIVED_DIR}")  # fmt: skip

    def temp_files(self, directory: Path) -> None:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            if name.startswith(".") and name.endswith(".tmp"):
                path = directory / name
                self.add(path, None, "stray temp file left by an interrupted write",
                         _remove(path))  # fmt: skip

    def record_file(self, kind: str, path: Path) -> None:
        from crmcli import yamlio

        stem = path.name[: -len(".yaml")]
        valid_name = bool(ID_RE.match(stem))
        if valid_name:
            self.present[kind].add(stem)
        else:
            self.add(path, None, f"'{stem}' is not a valid id (only a-z, 0-9 and -), "
                     "so crm cannot refer to this record; rename the file")  # fmt: skip
        try:
            raw = self.store.read_bytes(path)  # never a link, FIFO or huge file
        except CrmError as e:
            self.add(path, None, _strip_file(e.message, self.store.rel(path)))
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.add(path, None, f"not UTF-8 text (byte {e.start})")
            return
        if _CONFLICT_MARKER.search(text):
            self.add(path, None, "git conflict markers (<<<<<<< >>>>>>>) left by a merge; "
                     "edit the file to keep one side")  # fmt: skip
            return
        try:
            data = yamlio.loads(text)
        except yamlio.YAMLError as e:
            self.add(path, None, f"not valid YAML: {yamlio.describe(e)}")
            return
        if not isinstance(data, dict):
            self.add(path, None, "the file must hold a mapping of fields")
            return
        self.conflicts(path, data.get("conflicts"))
        if "merged_into" in data:
            self.tombstone(kind, path, stem, data)
            return
        problems = models.validate(kind, data)
        id_problem = None
        if data.get("id") != stem:
            problems = [p for p in problems if not p.startswith("id: ")]
            if "id" not in data:
                id_problem = "is missing (the file name says it is " + repr(stem) + ")"
            else:
                id_problem = f"{_show(data['id'])} does not match the file name (crm uses {stem!r})"
        for p in problems:
            name, _, message = p.partition(": ")
            if not message:
                name, message = None, p
            self.add(path, name, message)
        if problems:
            if id_problem:
                self.add(path, "id", id_problem)
            return
        rec = models.normalize(kind, {**data, "id": stem})
        if valid_name:
            self.records[kind][stem] = rec
            self.kind_checks(kind, path, rec)
        canonical = yamlio.dumps(rec).encode("utf-8")
        if canonical != raw:
            comments = raw.count(b"#") > canonical.count(b"#")
            repair = None if comments or not valid_name else _rewrite(self.store, kind, path)
            why = " (it has comments a rewrite would drop: tidy it by hand)" if comments else ""
            if id_problem:
                self.add(path, "id", id_problem + why, repair)
            else:
                self.add(path, None, "not in canonical form (key order or layout)" + why, repair)

    def conflicts(self, path: Path, conflicts: Any) -> None:
        """One problem per value the merge driver set aside (`conflicts`, see mergedriver)."""
        if conflicts in (None, [], {}):
            return
        entries = conflicts if isinstance(conflicts, list) else [conflicts]
        for c in entries:
            if isinstance(c, dict) and "field" in c:
                was = f" {_show(c.get('value'))}" if "value" in c else ""
                when = f" (from the edit of {c['from']})" if c.get("from") else ""
                text = f"unresolved merge conflict: {c['field']} was also set to{was}{when}"
            else:
                text = f"unresolved merge conflict: {_show(c)}"
            self.add(path, "conflicts", text + "; keep one value and remove the entry")

    def tombstone(self, kind: str, path: Path, stem: str, data: dict[str, Any]) -> None:
        target = data["merged_into"]
        if not isinstance(target, str) or not ID_RE.match(target):
            self.add(path, "merged_into", f"{_show(target)} is not a valid id")
            return
        if data.get("id") not in (None, stem):
            self.add(path, "id", f"{_show(data['id'])} does not match the file name")
        self.tombstones[kind][stem] = target

    def kind_checks(self, kind: str, path: Path, rec: Record) -> None:
        if kind == "task" and rec.get("every"):
            from crmcli.tasks import parse_every

            try:
                parse_every(rec["every"])
            except CrmError as e:
                self.add(path, "every", e.message)
        if kind != "deal":
            return
        stages = [s["stage"] for s in self.store.settings["pipeline"]]
        if rec["stage"] not in [*stages, "won", "lost"]:
            self.add(path, "stage", f"'{rec['stage']}' is not a stage of the pipeline "
                     f"({', '.join(stages)}, won, lost) in crm.yaml")  # fmt: skip
        close = rec.get("close_date")
        if close is not None and not _DATE_RE.match(close):
            self.add(path, "close_date", f"'{close}' is not a date like 2026-12-31")

    # -- across records

    def follow(self, kind: str, rid: str) -> tuple[str | None, str]:
        """Where a link to `rid` leads: (live id, "") or (None, why it leads nowhere)."""
        seen = [rid]
        while rid in self.tombstones[kind]:
            rid = self.tombstones[kind][rid]
            if rid in seen:
                return None, "merge tombstones form a loop"
            seen.append(rid)
        if rid not in self.present[kind]:
            return None, f"{kind} {rid} does not exist"
        return rid, ""

    def links(self) -> None:
        for kind in ("customer", "lead", "deal", "task", "activity"):
            fields = dict(models.SCHEMAS[kind])
            for rid, rec in self.records[kind].items():
                path = self.store.path(kind, rid)
                if kind == "activity":
                    self.activity_link(path, rec)
                    continue
                for name, target in models.LINKS.items():
                    if name in fields and name != kind and rec.get(name) is not None:
                        self.link(kind, path, name, target, rec[name])

    def link(self, kind: str, path: Path, name: str, target: str, value: str) -> None:
        if not ID_RE.match(value):
            self.add(path, name, f"{_show(value)} is not a valid {target} id")
            return
        if value not in self.present[target]:
            self.add(path, name, f"links to {target} {value}, which does not exist "
                     "(edit the link or bring the record back)")  # fmt: skip
            return
        if value in self.tombstones[target]:
            live, why = self.follow(target, value)
            if live is None:
                self.add(path, name, f"links to {target} {value}, merged away: {why}")
            else:
                self.add(path, name, f"links to {target} {value}, which was merged into {live}",
                         _repoint(self.store, kind, path, name, value, live))  # fmt: skip

    def activity_link(self, path: Path, rec: Record) -> None:
        value = rec["on"]
        if not ID_RE.match(value):
            self.add(path, "on", f"{_show(value)} is not a valid id")
            return
        kinds = [k for k in TIMELINE_KINDS if value in self.present[k]]
        if not kinds:
            self.add(path, "on", f"is on {value}, which does not exist "
                     "(no customer, lead, deal or task has that id)")  # fmt: skip
            return
        target = kinds[0]
        if value in self.tombstones[target]:
            live, why = self.follow(target, value)
            if live is None:
                self.add(path, "on", f"is on {target} {value}, merged away: {why}")
            else:
                self.add(path, "on", f"is on {target} {value}, which was merged into {live}",
                         _repoint(self.store, "activity", path, "on", value, live))  # fmt: skip

    def tombstone_targets(self) -> None:
        for kind, stones in self.tombstones.items():
            for rid, target in stones.items():
                live, why = self.follow(kind, target)
                if live is None:
                    path = self.store.path(kind, rid)
                    self.add(path, "merged_into", f"points to {target}, which leads nowhere: {why}")

    def duplicates(self, kind: str) -> None:
        from crmcli.contactinfo import phone_key

        seen_email: dict[str, str] = {}
        seen_phone: dict[str, str] = {}
        for rid, rec in sorted(self.records[kind].items()):
            path = self.store.path(kind, rid)
            for e in rec["emails"]:
                key = e.strip().lower()
                if key in seen_email and seen_email[key] != rid:
                    self.add(path, "emails", f"{e} is also on {self._name(kind, seen_email[key])}")
                else:
                    seen_email.setdefault(key, rid)
            for p in rec["phones"]:
                key = phone_key(p)
                if len(key) < 3:
                    continue
                if key in seen_phone and seen_phone[key] != rid:
                    self.add(path, "phones", f"{p} is also on {self._name(kind, seen_phone[key])}")
                else:
                    seen_phone.setdefault(key, rid)

    def _name(self, kind: str, rid: str) -> str:
        rec = self.records[kind][rid]
        return f"{KINDS[kind]}/{rid}.yaml ({models.display_name(kind, rec)})"


def _printable(text: str) -> str:
    """One line a terminal shows as is: control characters (a newline, an escape
    sequence hidden in a name) written as escapes."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def _show(value: Any) -> str:
    from crmcli.render import to_json

    text = repr(value) if isinstance(value, str) else to_json(value, indent=None)
    return text if len(text) <= 60 else text[:57] + "..."


# ----- repairs (each re-reads the file, so they can run in any order) ------------------------


def _remove(path: Path) -> Callable[[], str]:
    def repair() -> str:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return "removed the stray temp file"

    return repair


def _rewrite(store: Store, kind: str, path: Path) -> Callable[[], str]:
    def repair() -> str:
        from crmcli import yamlio

        raw = path.read_bytes()
        try:
            data = yamlio.loads(raw.decode("utf-8"))
        except (yamlio.YAMLError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict) or models.validate(kind, {**data, "id": path.stem}):
            raise CrmError("changed since the check; run crm doctor again")
        rec = models.normalize(kind, {**data, "id": path.stem})
        new = yamlio.dumps(rec).encode("utf-8")
        if new != raw:
            atomic_write(path, new)
            store.changed.append(path)
            store.invalidate(kind)
        return "rewrote it in canonical form (same data)"

    return repair


def _repoint(
    store: Store, kind: str, path: Path, name: str, old: str, new: str
) -> Callable[[], str]:
    def repair() -> str:
        rec = store.read_file(kind, path)
        if rec.get(name) != old:
            raise CrmError("changed since the check; run crm doctor again")
        store.save(kind, {**rec, name: new})
        return f"re-pointed from {old} to {new} ({old} was merged into it)"

    return repair


# ----- entry points ------------------------------------------------------------------------


def open_store(
    root: Path, warn: Callable[[str], None] | None = None
) -> tuple[Store, list[Problem]]:
    """A store on `root` even when crm.yaml is broken (bad keys at their defaults)."""
    settings, problems = check_settings(root)
    return Store(root, warn=warn, settings=settings), problems


def check(root: Path, store: Store | None = None) -> Report:
    """Every problem in the CRM at `root`, as data."""
    if store is None:
        store, settings_problems = open_store(root)
    else:
        _, settings_problems = check_settings(root)
    checker = _Checker(store)
    checker.run()
    return Report(settings_problems + checker.problems, files=checker.files + 1)


def fix(store: Store) -> Report:
    """Check, repair what is safe, check again. Hold `store.lock()` around it."""
    first = check(store.root, store)
    fixed: list[Problem] = []
    failed: dict[str, str] = {}
    for p in first.problems:
        if p.repair is None:
            continue
        try:
            p.action = p.repair()
            p.fixed = True
            fixed.append(p)
        except (CrmError, OSError, ValueError) as e:
            failed[p.line()] = e.message if isinstance(e, CrmError) else str(e)
    store.invalidate()
    if fixed:
        store.note_change(f"doctor: fixed {len(fixed)} problem(s)")
    again = check(store.root, store)
    for p in again.problems:
        if p.line() in failed:
            p.problem += f" (could not fix: {failed[p.line()]})"
    return Report(again.problems, fixed, again.files)
