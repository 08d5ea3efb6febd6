"""crm doctor: check every file of a CRM, collect each problem as data, repair what is safe.

`check(root)` reads crm.yaml and every record file itself (not through the store's
parsing; only files it found sound before and that have not changed since come from
the index, see below) and returns one `Problem` per thing wrong: `{file, field,
problem, fixable}`. `fix(...)` repairs only what cannot lose or invent data:

- stray temp files left by a write that was killed are removed: only those crm
  names (`.NAME.PID-N.tmp` beside a record or one of crm's own files at the root)
  whose process has ended and that are STALE_SECONDS old, under the writer lock;
  any other `.tmp` file is only reported;
- a file that is valid but not in canonical form (key order, layout, an `id` that
  does not match the file name) is rewritten canonically, unless it holds YAML
  comments that a rewrite would drop. A key its kind does not define is a note,
  `unknown key 'contacts' (kept as written)`, not a problem; a file that is out of
  canonical form only in such keys (where they stand, how they are laid out) is
  left as written;
- a link (`customer`, `lead`, `deal`, activity `on`) to a merged record's tombstone
  is re-pointed to the record it was merged into.

Never fixed, only reported: broken YAML (a key twice, an anchor: see yamlio), fields
of the wrong type, links to records that do not exist (the record may come back with
`git pull` or `crm undo`; dropping the link would lose which one it was), duplicate
e-mails/phones (merging is a person's call), unknown stages, task recurrences (`every`)
that cannot repeat, merge conflicts, tombstones pointing nowhere, a lead whose import
batch has no timeline entry (running the same import again writes it), crm.yaml.

At scale: a file found sound on its own is marked in the index (Store.mark_checked);
while it keeps its stat signature the next run takes its record from the index
instead of reading, parsing and re-dumping the file (Store.checked). A file with a
note (an unknown key) is never marked, so its note is printed on every run.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from crmcli.store import DERIVED_DIR, ID_RE, Store

# Kinds an activity's `on` may point at.
TIMELINE_KINDS = ("customer", "lead", "deal", "task")
_CONFLICT_MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The version of the checks record_file makes: raise it when they find something new,
# so files an older doctor found sound (marked in the index) are read again.
RULES = 1
# The temp file of a write (store._temp_file): `.NAME.PID-N.tmp` beside NAME.
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]{1,10})-[0-9]+\.tmp$")
# Files crm writes at the CRM's root (besides the records in their folders).
_ROOT_FILES = (SETTINGS_FILE, ".gitignore", ".gitattributes")
# A temp file written to this recently may belong to a write still running (on another
# machine sharing the folder, or in another container, whose processes this one cannot see).
STALE_SECONDS = 600
# Fields of a record that the checks across records and kind_checks read.
_CHECKED_FIELDS = ("id", "name", "title", *models.LINKS, "on", "emails", "phones", "every",
                   "stage", "close_date", "batches", "kind", "text")  # fmt: skip


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
    note: bool = False  # worth knowing, not wrong: doctor still exits 0

    def as_dict(self) -> dict[str, Any]:
        """Its JSON: every field but `repair` (the one kept out of repr)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}

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
        self.fields = {k: _fields(k) for k in KINDS}  # what the checks across records read

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
        self.temp_files(self.root, lambda name: name in _ROOT_FILES)
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
            self.temp_files(directory, _is_record_name)
            self.folder(kind, directory, entries)
        self.links()
        self.tombstone_targets()
        self.import_entries()
        for kind in ("customer", "lead"):
            self.duplicates(kind)

    def folder(self, kind: str, directory: Path, entries: list[os.DirEntry]) -> None:
        """Every file of one kind's folder. A file the index says is unchanged since an
        earlier run found it sound is not read again: its record comes from the index
        (the fields the checks across records need) and only kind_checks run on it."""
        known = self.store.checked(kind, self.fields[kind], RULES)
        trusted = {r["id"]: r for r in known[0]} if known else {}
        sigs = known[1] if known else {}
        sound: dict[str, int] = {}
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if not name.endswith(".yaml"):  # odd entries named so: record_file names them
                self.add(directory / name, None, "not a record file (crm ignores it)")
                continue
            self.files += 1
            rec = trusted.get(name[: -len(".yaml")])
            if rec is not None:
                self.present[kind].add(rec["id"])
                self.records[kind][rec["id"]] = rec
                self.kind_checks(kind, f"{KINDS[kind]}/{name}", rec)
            elif self.record_file(kind, directory / name) and name in sigs:
                sound[name] = sigs[name]
        self.store.mark_checked(kind, sound, RULES)

    def tracked_derived(self) -> None:
        """.crm/ is this machine's derived data: git must not carry it to other clones."""
        from crmcli.git.run import git

        try:
            proc = git(self.root, "ls-files", "-z", "--", DERIVED_DIR, check=False)
        except CrmError:
            return  # no git
        tracked = [n for n in proc.stdout.split("\0") if n] if proc.returncode == 0 else []
        if tracked:
            self.add(f"{DERIVED_DIR}/", None, f"git tracks {len(tracked)} file(s) of crm's derived "
                     f"data; untrack them with: git rm -r --cached {DERIVED_DIR}")  # fmt: skip

    def temp_files(self, directory: Path, beside: Callable[[str], bool]) -> None:
        """Hidden `.tmp` files. Only one that crm names (`.NAME.PID-N.tmp` beside a
        file `beside` accepts) is ever removed, and only when no write can still be
        making it (see _in_use); any other is reported and left alone."""
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            path = directory / name
            m = _TEMP_RE.match(name)
            if m is None or not beside(m["name"]):
                self.add(path, None, "a temp file crm did not make (crm doctor --fix leaves it; "
                         "remove it by hand if nothing is writing it)")  # fmt: skip
                continue
            busy = _in_use(path, int(m["pid"]))
            if busy:
                self.add(path, None, f"temp file of a write that may still be running ({busy}); "
                         f"crm doctor --fix removes it once process {m['pid']} has ended and "
                         f"it is {STALE_SECONDS // 60} minutes old")  # fmt: skip
            else:
                self.add(path, None, "stray temp file left by an interrupted write",
                         _remove(path, int(m["pid"])))  # fmt: skip

    def record_file(self, kind: str, path: Path) -> bool:
        """Check one file; True when nothing is wrong with the file on its own (what
        kind_checks finds depends on crm.yaml, so it does not count)."""
        from crmcli import yamlio

        start = len(self.problems)
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
            return False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.add(path, None, f"not UTF-8 text (byte {e.start})")
            return False
        if _CONFLICT_MARKER.search(text):
            self.add(path, None, "git conflict markers (<<<<<<< >>>>>>>) left by a merge; "
                     "edit the file to keep one side")  # fmt: skip
            return False
        try:
            data = yamlio.loads(text)
        except yamlio.YAMLError as e:
            self.add(path, None, f"not valid YAML: {yamlio.describe(e)}")
            return False
        if not isinstance(data, dict):
            self.add(path, None, "the file must hold a mapping of fields")
            return False
        self.conflicts(path, data.get("conflicts"))
        if "merged_into" in data:
            self.tombstone(kind, path, stem, data)
            return False  # (few: always checked again)
        unknown = [k for k in models.unknown_keys(kind, data) if k not in models.CRM_KEYS]
        for key in unknown:
            note = Problem(self.store.rel(path), None, f"unknown key '{key}' (kept as written)")
            note.note = True
            self.problems.append(note)
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
            return False
        rec = models.normalize(kind, {**data, "id": stem})
        by_kind = 0
        if valid_name:
            self.records[kind][stem] = {f: rec.get(f) for f in self.fields[kind]}
            before = len(self.problems)
            self.kind_checks(kind, path, rec)
            by_kind = len(self.problems) - before
        if not self.canonical(kind, path, raw, rec, unknown, id_problem, valid_name):
            return False
        return len(self.problems) - start == by_kind

    def canonical(
        self,
        kind: str,
        path: Path,
        raw: bytes,
        rec: Record,
        unknown: list[str],
        id_problem: str | None,
        valid_name: bool,
    ) -> bool:
        """Whether the file's bytes `raw` are what store.write_record would write for
        `rec`; a problem (rewrite offered) when not. False also when only keys crm does
        not define (`unknown`) are not canonical: they are left as written."""
        from crmcli import yamlio
        from crmcli.store import encode_record

        rel = self.store.rel(path)
        canonical = encode_record(rel, rec)
        if canonical == raw:
            return True
        if unknown and not id_problem:
            known = {k: v for k, v in rec.items() if k not in unknown}
            text = raw.decode("utf-8")
            if encode_record(rel, known) == yamlio.without_keys(text, unknown).encode("utf-8"):
                return False
        comments = raw.count(b"#") > canonical.count(b"#")
        repair = None if comments or not valid_name else _rewrite(self.store, kind, path)
        why = " (it has comments a rewrite would drop: tidy it by hand)" if comments else ""
        if id_problem:
            self.add(path, "id", id_problem + why, repair)
        else:
            self.add(path, None, "not in canonical form (key order or layout)" + why, repair)
        return True

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
            how = f"crm resolve {path.stem} {c['field']}" if isinstance(c, dict) else "crm resolve"
            self.add(path, "conflicts", f"{text}; settle it with: {how} --keep ours|theirs|VALUE")

    def tombstone(self, kind: str, path: Path, stem: str, data: dict[str, Any]) -> None:
        target = data["merged_into"]
        if not isinstance(target, str) or not ID_RE.match(target):
            self.add(path, "merged_into", f"{_show(target)} is not a valid id")
            return
        if data.get("id") not in (None, stem):
            self.add(path, "id", f"{_show(data['id'])} does not match the file name")
        self.tombstones[kind][stem] = target

    def kind_checks(self, kind: str, path: Path | str, rec: Record) -> None:
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
                if kind == "activity":
                    self.activity_link(rid, rec)
                    if rec.get("deal") is not None:  # an e-mail entry's deal
                        self.link(kind, rid, "deal", "deal", rec["deal"])
                    continue
                for name, target in models.LINKS.items():
                    if name in fields and name != kind and rec.get(name) is not None:
                        self.link(kind, rid, name, target, rec[name])

    def link(self, kind: str, rid: str, name: str, target: str, value: str) -> None:
        path = _rel(kind, rid)
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
                         _repoint(self.store, kind, rid, name, value, live))  # fmt: skip

    def activity_link(self, rid: str, rec: Record) -> None:
        path = _rel("activity", rid)
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
                         _repoint(self.store, "activity", rid, "on", value, live))  # fmt: skip

    def tombstone_targets(self) -> None:
        for kind, stones in self.tombstones.items():
            for rid, target in stones.items():
                live, why = self.follow(kind, target)
                if live is None:
                    self.add(
                        _rel(kind, rid),
                        "merged_into",
                        f"points to {target}, which leads nowhere: {why}",
                    )

    def import_entries(self) -> None:
        """A lead's every batch has the timeline entry its import writes after the lead
        (an import stopped in between leaves none; running it again writes it)."""
        from crmcli.importers.engine import logged_batches

        logged = logged_batches(self.records["activity"].values())
        for rid, rec in sorted(self.records["lead"].items()):
            for batch in rec.get("batches") or []:
                if batch not in logged.get(rid, ()):
                    self.add(_rel("lead", rid), "batches", f"{batch}: no timeline "
                             "entry of that import (it was stopped before writing one); run "
                             "the same import again to complete it")  # fmt: skip

    def duplicates(self, kind: str) -> None:
        from crmcli.contactinfo import phone_key

        seen_email: dict[str, str] = {}
        seen_phone: dict[str, str] = {}
        for rid, rec in sorted(self.records[kind].items()):
            path = _rel(kind, rid)
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


def _rel(kind: str, rid: str) -> str:
    """A record's file, as problems name it (a Path costs more, 100,000 times)."""
    return f"{KINDS[kind]}/{rid}.yaml"


def _fields(kind: str) -> tuple[str, ...]:
    schema = dict(models.SCHEMAS[kind])
    return tuple(f for f in _CHECKED_FIELDS if f in schema)


def _printable(text: str) -> str:
    """One line a terminal shows as is: control characters (a newline, an escape
    sequence hidden in a name) written as escapes."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def _show(value: Any) -> str:
    from crmcli.encode import to_json

    text = repr(value) if isinstance(value, str) else to_json(value, indent=None)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_record_name(name: str) -> bool:
    return name.endswith(".yaml") and bool(ID_RE.match(name[: -len(".yaml")]))


def _in_use(path: Path, pid: int) -> str | None:
    """Why the temp file at `path`, made by process `pid`, may belong to a write still
    running; None when it cannot. Its age is measured against the real clock (time.time,
    not CRM_NOW: the file system stamps mtimes with the real one)."""
    import time

    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
    if age < STALE_SECONDS:
        return f"written {max(int(age), 0)} s ago"
    if os.name == "posix" and pid > 0:
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return None
        except (OverflowError, ValueError):  # no such process id on this system
            return None
        except OSError:  # PermissionError: it exists, as another user's
            pass
        return f"process {pid} is running"
    return None


# ----- repairs (each re-reads the file, so they can run in any order) ------------------------


def _remove(path: Path, pid: int) -> Callable[[], str]:
    def repair() -> str:
        busy = _in_use(path, pid)  # again, under the lock: it may have changed since the check
        if busy:
            raise CrmError(f"in use since the check ({busy})")
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
        store.write(kind, {**data, "id": path.stem}, old=raw)
        return "rewrote it in canonical form (same data)"

    return repair


def _repoint(store: Store, kind: str, rid: str, name: str, old: str, new: str) -> Callable[[], str]:
    def repair() -> str:
        rec = store.read_file(kind, store.path(kind, rid))
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
