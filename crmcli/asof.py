"""The CRM as it stood at a past moment, as a source of records: a Store whose
`query` answers over the past records, so every report runs on it unchanged.

- In a git CRM (`Snapshot`): the record files of the last commit at or before the
  moment, read through git (crmcli.git.tree: one `ls-tree`, one `cat-file --batch`
  per kind asked for) and parsed by Store.parse_record, the one record reader;
  the settings are that commit's crm.yaml.
- Without git (`Rewound`): today's records wound back by what they carry: records
  created after the moment are left out, a deal's stage and status are the last
  stage_history entry at or before it, a task done after it is open, timeline
  entries after it are left out. What the records do not carry is listed in
  `unknown` (amounts, close dates and owners are today's).

Also what `crm report changes` reads: the deals at two commits and every version
of the deals changed in between.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from crmcli.errors import CrmError
from crmcli.models import Record
from crmcli.store import Store

UNKNOWN_WITHOUT_GIT = [
    "deals' amounts, close dates, owners and other fields are as they are now",
    "leads' status and customers' fields are as they are now",
    "tasks cancelled since then count as cancelled",
    "records deleted since then are missing",
]


def _context(live: Store, settings: dict[str, Any], when: datetime) -> Any:
    from crmcli.context import Context
    from crmcli.dates import iso

    return Context(
        zone=settings.get("timezone"),
        date_order=settings.get("date_order"),
        fixed_now=iso(when),
        given_user=live.ctx.given_user,
        root=live.root,
    )


class _Past(Store):
    """A read-only Store over records of the past (no index, no writes)."""

    as_of: dict[str, Any]

    def __init__(self, live: Store, settings: dict[str, Any], when: datetime) -> None:
        super().__init__(live.root, warn=live.warn, settings=settings,
                         ctx=_context(live, settings, when))  # fmt: skip
        self._index = False  # query reads _all, which holds the past records

    def _records(self, kind: str) -> list[Record]:
        raise NotImplementedError

    def _all(self, kind: str, *, tombstones: bool = False) -> list[Record]:
        if kind not in self._cache:
            self._cache[kind] = self._records(kind)
        return super()._all(kind, tombstones=tombstones)

    def save(self, kind: str, rec: Record, *, create: bool = False) -> Record:
        raise CrmError("a past state of the CRM cannot be changed (leave out --as-of)")

    def delete(self, kind: str, rid: str) -> None:
        raise CrmError("a past state of the CRM cannot be changed (leave out --as-of)")


class Snapshot(_Past):
    """The records of one commit."""

    def __init__(self, live: Store, tree: Any, when: datetime) -> None:
        from crmcli import settings as settings_mod
        from crmcli.dates import iso
        from crmcli.git.tree import cat_blobs

        self.tree, self.live = tree, live
        settings = live.settings
        if tree.settings_blob:
            text = (cat_blobs(tree.top, [tree.settings_blob])[0] or b"").decode("utf-8", "replace")
            try:
                settings = settings_mod.parse(text, f"crm.yaml at {tree.commit[:7]}")
            except CrmError as e:
                live.warn(f"{e.message}; using today's settings")
        super().__init__(live, settings, when)
        self.as_of = {"at": iso(when), "commit": tree.commit, "commit_date": tree.date,
                      "unknown": []}  # fmt: skip

    def _records(self, kind: str) -> list[Record]:
        """The records of the commit's files of `kind`: those whose blob is the work
        tree's (as git's index says) are today's records (read once, through the
        derived index); only the others are read from git and parsed."""
        from crmcli.git.tree import unchanged_files

        current = unchanged_files(self.tree, kind)
        same = {name for name, sha in self.tree.files(kind) if current.get(name) == sha}
        # today's records and tombstones, read once for every snapshot of this store
        records = [r for r in self.live._all(kind) if f"{r['id']}.yaml" in same]
        records += [r for r in self.live._all(kind, tombstones=True) if f"{r['id']}.yaml" in same]
        entries = [(n, sha) for n, sha in self.tree.files(kind) if n not in same]
        parsed = self.parse_blobs(kind, entries, warn=True)
        records += [dict(parsed[sha], id=n[:-5]) for n, sha in entries if sha in parsed]
        return sorted(records, key=lambda r: r["id"])

    def parse_blobs(
        self, kind: str, entries: list[tuple[str, str]], *, warn: bool = False
    ) -> dict[str, Record]:
        """{blob sha: record} of record files (file name, blob sha) of `kind`: parsed
        by Store.parse_record from one `git cat-file --batch`, or as parsed before
        (kept in the derived index: a blob never changes). A file that cannot be
        read is left out (`warn`: with a warning). Set `id` from the file name."""
        import sqlite3

        from crmcli.git.tree import cat_blobs
        from crmcli.models import KINDS

        index = self.live._get_index()
        found: dict[str, Record] = {}
        with contextlib.suppress(sqlite3.Error, OSError):
            found = index.parsed_blobs(kind, sorted({s for _n, s in entries})) if index else {}
        first: dict[str, str] = {}  # sha -> the first file name with it
        for name, sha in entries:
            first.setdefault(sha, name)
        todo = [(name, sha) for sha, name in first.items() if sha not in found]
        new: dict[str, Record] = {}
        for (name, sha), data in zip(todo, cat_blobs(self.tree.top, [s for _n, s in todo]),
                                     strict=True):  # fmt: skip
            rel = f"{KINDS[kind]}/{name} at {self.tree.commit[:7]}"
            try:
                if data is None:
                    raise CrmError(f"{rel}: not in git's object store")
                new[sha] = self.parse_record(kind, rel, name[:-5], data)
            except CrmError as e:
                if warn:
                    self.warn(f"skipping {e.message}")
        if index and new:
            with contextlib.suppress(sqlite3.Error, OSError):
                index.keep_blobs(kind, new)
        return {**found, **new}


class Rewound(_Past):
    """Today's records wound back to `when` by what they carry (no git)."""

    def __init__(self, live: Store, when: datetime) -> None:
        from crmcli.dates import iso

        super().__init__(live, live.settings, when)
        self.live, self.when = live, when
        self.as_of = {"at": iso(when), "commit": None, "commit_date": None,
                      "unknown": UNKNOWN_WITHOUT_GIT}  # fmt: skip

    def _then(self, value: Any) -> datetime | None:
        from crmcli.reports.base import timestamp

        return timestamp(value, self.ctx.tz)

    def _records(self, kind: str) -> list[Record]:
        out = self.live.query(kind, {"merged": True})  # merge tombstones: as they are
        for rec in self.live.query(kind):
            key = "at" if kind == "activity" else "created"
            made = self._then(rec.get(key))
            if made is None or made > self.when:
                continue
            if kind == "deal":
                rec = self._deal(rec)
            elif kind == "task" and rec.get("status") == "done":
                done = self._then(rec.get("done_at"))
                if done is not None and done > self.when:
                    rec = {**rec, "status": "open", "done_at": None}
            out.append(rec)
        return out

    def _deal(self, rec: Record) -> Record:
        history = [
            e
            for e in rec.get("stage_history") or []
            if isinstance(e, dict) and (at := self._then(e.get("at"))) is not None
            and at <= self.when
        ]  # fmt: skip
        if not history:
            return rec
        stage = history[-1].get("stage")
        status = stage if stage in ("won", "lost") else "open"
        return {
            **rec,
            "stage": stage,
            "status": status,
            "stage_history": history,
            "closed_at": rec.get("closed_at") if status != "open" else None,
            "lost_reason": rec.get("lost_reason") if status == "lost" else None,
        }

    def first_created(self) -> datetime | None:
        """When the first record was created (None: no records)."""
        from crmcli.models import KINDS

        found = [
            t
            for kind in KINDS
            for rec in self.live.query(kind)
            if (t := self._then(rec.get("at" if kind == "activity" else "created")))
        ]
        return min(found, default=None)


def past(store: Store, when: datetime, text: str) -> _Past:
    """The CRM as it stood at `when` (`text`: how the user wrote it, for errors)."""
    from crmcli.dates import iso
    from crmcli.git import tree

    repo = tree.repository(store.root)
    if repo is None:
        rewound = Rewound(store, when)
        first = rewound.first_created()
        if first is None or first > when:
            since = f" (the first: {iso(first)})" if first else ""
            raise CrmError(f"--as-of {text}: before any record was created{since}")
        return rewound
    found = tree.commit_at(store.root, when)
    snap = tree.read_tree(store.root, *found, repo) if found else None
    if snap is None or snap.settings_blob is None:
        first = tree.first_commit_date(store.root)
        raise CrmError(f"--as-of {text} ({iso(when)}): before the CRM's first commit ({first})")
    return Snapshot(store, snap, when)


# ----- report changes -------------------------------------------------------------------


def deal_changes(
    store: Store, since: datetime, until: datetime | None
) -> tuple[dict[str, Record], dict[str, Record], dict[str, list[Any]], dict[str, str | None]]:
    """(deals at `since`, deals at `until` (None: HEAD), {deal id: [(author, date,
    record or None)] oldest first} of the deals changed in between, {start, end}
    commits). CrmError when the CRM is not in git."""
    from crmcli.git import tree

    repo = tree.repository(store.root)
    if repo is None:
        raise CrmError(
            "report changes reads the CRM's git history, and this CRM has none "
            "(no repository or no commit yet); set one up with: crm init --git"
        )
    start = tree.commit_at(store.root, since)
    end = tree.commit_at(store.root, until) if until is not None else None
    if until is not None and end is None:
        first = tree.first_commit_date(store.root)
        raise CrmError(f"--until {until.isoformat()}: before the CRM's first commit ({first})")
    if end is None:
        end = tree.head(store.root)
    start_tree = tree.read_tree(store.root, *start, repo) if start else None
    end_tree = tree.read_tree(store.root, *end, repo)
    before = Snapshot(store, start_tree, since) if start_tree else None
    after = Snapshot(store, end_tree, until or since)
    old = {d["id"]: d for d in before.query("deal")} if before else {}
    new = {d["id"]: d for d in after.query("deal")}
    known = {}  # blob sha -> record, for the versions that are the start's or the end's
    for records, listed in ((old, start_tree), (new, end_tree)):
        for name, sha in listed.files("deal") if listed else []:
            if name[:-5] in records:
                known[sha] = records[name[:-5]]
    versions = _versions(start[0] if start else None, after, known)
    commits = {"start": start[0] if start else None, "end": end[0]}
    return old, new, versions, commits


def _versions(
    start: str | None, reader: Snapshot, known: dict[str, Record]
) -> dict[str, list[Any]]:
    """{deal id: [(author, date, record or None)]} of the deals changed after `start`
    up to `reader`'s commit; only the blobs that are not `known` are parsed (a
    version that cannot be read counts as none)."""
    from crmcli.git.tree import file_versions

    changed = file_versions(start, reader.tree, "deal")
    entries = [(name, v.blob) for name, vs in changed.items() for v in vs
               if v.blob and v.blob not in known]  # fmt: skip
    parsed = {**reader.parse_blobs("deal", entries), **known}
    out: dict[str, list[Any]] = {}
    for name, vs in changed.items():
        rid = name[:-5]
        out[rid] = [
            (v.author, v.date, dict(parsed[v.blob], id=rid) if v.blob in parsed else None)
            for v in vs
        ]
    return out
