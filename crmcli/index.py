"""The derived index: parsed records cached in SQLite under .crm/, never stale.

The YAML files stay the only truth. Parsing YAML costs about 0.1 ms a record,
so reading 100,000 files on every command would take seconds; the index keeps
each file's parsed record (as JSON: plain data, never objects that loading could
run) beside the file's stat signature (mtime_ns, ctime_ns, size, inode). Every
read stats every file of the kind it needs and re-parses those whose signature
changed, so an edit by hand, by git checkout/pull/merge, an added or deleted file
is seen by the very next command.

A read command of crmcli.fresh.READS does the stat calls in forked processes
instead (Index._check_later) while it works from the rows as they were, and its
output is held until they report (fresh.settle): a stale answer is never printed.

Racy files: a file modified within RACY_NS of being indexed could be modified
again without its signature changing (coarse file-system clocks), so such
entries get no signature and are re-parsed on every read until they are old
enough (the same trick git uses for its index).

Deleting .crm/ loses nothing: the index is rebuilt on the next read. Only an
index this user's crm made here is used: a `meta` row written when the file is
created holds the schema version, the CRM root's device and inode, the file's own
inode and the uid. A file that git checked out, that was copied or made by another
user, from another CRM, of another schema, truncated or garbage fails that check
(or any SQLite error) and is deleted and built again. Other SQLite trouble (a
read-only directory) makes the store read the files directly instead.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from crmcli import fresh, models, search
from crmcli.models import Record

RACY_NS = 3_000_000_000
VERSION = 12  # 12: an activity's kind in the status column; 11: words and the fts table (crm search); 10: records as JSON, doctor marks

# A parsed file: (0, error message, details) or (1, record) or (2, tombstone)
Parsed = tuple[int, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rec (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    sig INTEGER,
    ok INTEGER,
    status TEXT, owner TEXT, due REAL, text TEXT, sort TEXT,
    link_on TEXT, customer TEXT, lead TEXT, deal TEXT,
    words TEXT,
    json TEXT,
    lite TEXT,
    blob TEXT,
    checked INTEGER,
    PRIMARY KEY (kind, name)
);
CREATE INDEX IF NOT EXISTS rec_sig ON rec (kind, name, sig);
CREATE INDEX IF NOT EXISTS rec_ok ON rec (kind, ok);
CREATE INDEX IF NOT EXISTS rec_on ON rec (kind, link_on);
CREATE INDEX IF NOT EXISTS rec_customer ON rec (kind, customer);
CREATE INDEX IF NOT EXISTS rec_status ON rec (kind, status, due);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(words, content='rec',
    content_rowid='rowid', tokenize='trigram case_sensitive 1', columnsize=0);
CREATE TABLE IF NOT EXISTS folder (kind TEXT PRIMARY KEY, digest INTEGER);
CREATE TABLE IF NOT EXISTS meta (version INTEGER, root_dev INTEGER, root_ino INTEGER,
    db_ino INTEGER, uid INTEGER);
"""
# `json` is the record as a JSON list prints it (encode.record_json), `lite` the
# record's few fields that lists of names and links need (see models.LIGHT_FIELDS),
# `blob` the whole record; both as `dumps` writes them. `sort` orders a kind's list
# after `due` (tasks: priority rank, created and id; see ORDER). The blob comes last: SQLite
# reads the small columns of a row without walking the blob's overflow pages;
# rec_sig and rec_ok cover the freshness check and the broken-file query without
# reading the table. `sig` is the file's stat
# signature (a 64-bit hash of mtime_ns, ctime_ns, size and inode), null while racy.
# `folder.digest` is one hash of every file name and signature of a kind's folder
# as last synced (null while any file is racy): when the folder still hashes the
# same, nothing changed and the rows need not be compared one by one.
# `words` is the text `crm search` looks in (search.pieces: names, e-mails, phones,
# contacts, titles, a note's text), folded (store.fold), and `fts` its full-text index
# (SQLite's FTS5, trigrams of the folded text: any substring of 3+ characters, CJK
# inside longer words too), which reads the text from `rec` itself; a row of `fts` has
# the rowid of its `rec` row and goes and comes with it in `sync`.
# `checked` is crm doctor's mark (the version of its rules) on a file it found nothing
# wrong with on its own (Index.mark_checked); a row written by sync has none, so the
# mark goes as soon as the file changes.

# The order of a kind's list, as SQL: tasks most urgent first, as tasks.by_urgency
# sorts them (no due last, then by due, priority, created, id); the rest by id.
ORDER = {"task": "due IS NULL, due, sort"}


def list_key(due: float | None, sort: str | None) -> tuple:
    """ORDER as a Python sort key, from a row's `due` and `sort` (their columns)."""
    return (due is None, due or 0.0, sort or "")


def columns(kind: str, rec: Record, fold: Callable[[str], str], due_ts: Callable) -> tuple:
    """The indexed columns of one record."""
    rec = {k: v for k, v in rec.items() if k in models.FIELDS[kind]}  # unknown keys: no field
    status = rec.get("kind" if kind == "activity" else "status")  # an entry's kind: its status
    owner = rec.get("owner")
    due = None
    when = rec.get("due") if kind == "task" else rec.get("close_date") if kind == "deal" else None
    if when:  # a deal's close date: its midnight in the CRM's zone
        try:
            due = due_ts(when if kind == "task" else str(when)[:10])
        except (ValueError, OverflowError):
            due = None
    parts: list[str] = []
    if kind in ("customer", "lead"):
        parts = [rec.get("name") or "", rec.get("company") or "", *rec.get("emails", []),
                 *rec.get("phones", [])]  # fmt: skip
        for c in rec.get("contacts", []):
            parts += [str(c.get("name") or ""), *(c.get("emails") or []), *(c.get("phones") or [])]
    elif kind in ("deal", "task"):
        parts = [rec.get("title") or ""]
    text = fold("\n".join(str(p) for p in parts)) if parts else None
    words = fold("\n".join(text for _field, text in search.pieces(kind, rec)))
    sort = None
    if kind == "task":  # tab sorts before any character of a date or an id
        rank = models.PRIORITY_RANK.get(rec.get("priority"), 9)  # type: ignore[arg-type]
        sort = f"{rank}\t{rec.get('created') or ''}\t{rec.get('id')}"
    return (
        status if isinstance(status, str) else None,
        owner if isinstance(owner, str) else None,
        due,
        text,
        sort,
        rec.get("on") if kind == "activity" else None,
        rec.get("customer"),
        rec.get("lead"),
        rec.get("deal"),
        words,
    )


def signature(st: os.stat_result) -> tuple[int, int]:
    """A file's stat signature (a hash of mtime_ns, ctime_ns, size and inode) and the
    newer of its mtime and ctime."""
    m, c = st.st_mtime_ns, st.st_ctime_ns
    return hash((m, c, st.st_size, st.st_ino)), m if m > c else c


def scan(folder: Path) -> dict[str, tuple[int, int]]:
    """{file name: (signature, newest of mtime and ctime)} of the record files in
    `folder` (none when it is missing)."""
    current: dict[str, tuple[int, int]] = {}
    fd = None
    try:
        if os.scandir in os.supports_fd:  # stat by name in the folder: no path walk
            fd = os.open(folder, os.O_RDONLY)
        with os.scandir(folder if fd is None else fd) as it:
            for e in it:
                n = e.name
                if n.endswith(".yaml") and n[0] != ".":
                    try:  # a link's own signature: read_file never follows one
                        st = e.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    current[n] = signature(st)
    except (FileNotFoundError, NotADirectoryError):
        pass
    finally:
        if fd is not None:
            os.close(fd)
    return current


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


def _first(row: tuple) -> Any:
    return row[0]


def _digest(current: dict[str, tuple[int, int]]) -> int:
    """One 64-bit hash of every name and signature (hash() of a str differs per process)."""
    import hashlib
    from array import array

    sigs = array("q", [sig for sig, _t in current.values()]).tobytes()
    h = hashlib.blake2b("/".join(current).encode("utf-8", "surrogateescape"), digest_size=8)
    h.update(sigs)
    return int.from_bytes(h.digest(), "big", signed=True)


# ----- records as plain data: JSON -------------------------------------------------------
# A record holds str, int, bool, None, lists, mappings with text keys and Decimals (now
# and then a float: .inf, .nan). `dumps` writes JSON that json.loads with Decimal for
# fractions reads back exactly: a Decimal is written as its own text, always with a
# point or an exponent (`1.50`, `1.0E+2`, `100E0`), so it reads back as the same
# Decimal and an int stays an int. A record that this cannot carry exactly (a float,
# a key that is not text, a NUL in a text, an infinite Decimal) is written tagged
# instead (`~` then every mapping and number spelled out) and read back walking it.

_DEC = "\x00dec:"
_DEC_MARK = "\\u0000dec:"
_DEC_RE = re.compile(r'"\\u0000dec:([-0-9.E+]+)"')


def _decimal_text(obj: Any) -> str:
    if type(obj) is not Decimal:
        raise TypeError(f"cannot write {type(obj).__name__} in the index")
    text = str(obj)
    return _DEC + (text if "." in text or "E" in text else text + "E0")


_encode = json.JSONEncoder(ensure_ascii=False, default=_decimal_text).encode
# The decoder's C scanner itself: decode() adds two regex matches a row (a third more)
_scan = json.JSONDecoder(parse_float=Decimal).scan_once


def _plain(v: Any) -> bool:
    """Whether plain JSON (with Decimals as numbers) carries `v` exactly."""
    t = type(v)
    if t is str:
        return "\x00" not in v
    if t is dict:
        return all(type(k) is str and "\x00" not in k and _plain(x) for k, x in v.items())
    if t is list:
        return all(map(_plain, v))
    if t is Decimal:
        return v.is_finite()
    return t is int or t is bool or v is None


def _tag(v: Any) -> Any:
    t = type(v)
    if t is dict:
        return {"m": [[_tag(k), _tag(x)] for k, x in v.items()]}
    if t is list or t is tuple:
        return [_tag(x) for x in v]
    if t is Decimal:
        return {"d": str(v)}
    if t is float:
        return {"f": repr(v)}
    return v


def _untag(v: Any) -> Any:
    if type(v) is list:
        return [_untag(x) for x in v]
    if type(v) is dict:
        if "m" in v:
            return {_untag(k): _untag(x) for k, x in v["m"]}
        return Decimal(v["d"]) if "d" in v else float(v["f"])
    return v


def dumps(value: Any) -> str:
    """`value` (a record, a part of one, or a broken file's message) as JSON text."""
    if _plain(value):
        text = _encode(value)
        return _DEC_RE.sub(r"\1", text) if _DEC_MARK in text else text
    return "~" + json.dumps(_tag(value), ensure_ascii=False)


def loads(text: str) -> Any:
    """The value that `dumps` wrote, exactly."""
    if text[:1] == "~":
        return _untag(json.loads(text[1:]))
    try:
        return _scan(text, 0)[0]
    except StopIteration:  # (the scanner's way to say "no JSON value here")
        raise ValueError(f"not a value of the index: {text[:40]!r}") from None


class Where(NamedTuple):
    """A condition on a kind's rows (Index.rows): SQL text and its parameters;
    `picks`: it names the few rows wanted (a list of ids or links), so SQLite looks
    them up by it rather than walking every row of the kind by `ok`."""

    sql: str = ""
    params: tuple = ()
    picks: bool = False


def _row(
    kind: str,
    name: str,
    sig: int | None,
    ok: int,
    value: Any,
    cols: Callable[[Record], tuple],
    lite: Callable[[Record], Record],
    encode: Callable[[Record], str],
) -> tuple:
    """The `rec` row of one parsed file (ok: see Parsed), as its columns are ordered."""
    if ok == 1:
        cols_, json_, lite_ = cols(value), encode(value), dumps(lite(value))
    else:
        cols_, json_, lite_ = (None,) * 10, None, None
    return (kind, name, sig, ok, *cols_, json_, lite_, dumps(value))


def _write(db: sqlite3.Connection, kind: str, rows: list[tuple], gone: list[str],
           changed: list[str]) -> None:  # fmt: skip
    """Inside a transaction: the rows of `gone` files removed, `rows` written (those of
    `changed` files replaced), with their full-text rows: those of the files gone or
    changed go first (an external content table is told the text it indexed), those
    of the new rows after."""
    old = [(kind, n) for n in [*gone, *changed]]
    db.executemany(
        "INSERT INTO fts(fts, rowid, words) SELECT 'delete', rowid, words FROM rec"
        " WHERE kind=? AND name=? AND words IS NOT NULL",
        old,
    )
    db.executemany("DELETE FROM rec WHERE kind=? AND name=?", [(kind, n) for n in gone])
    db.executemany(
        "INSERT OR REPLACE INTO rec VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL)", rows
    )
    db.executemany(
        "INSERT INTO fts(rowid, words) SELECT rowid, words FROM rec"
        " WHERE kind=? AND name=? AND words IS NOT NULL",
        [(kind, r[1]) for r in rows],
    )


class Index:
    """One CRM's index file. Use `sync(kind)` before any query of that kind."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.path = root / ".crm" / f"index-v{VERSION}-{key}.sqlite"
        self.db: sqlite3.Connection | None = None
        self.synced: set[str] = set()
        # the forked processes hashing folders whose rows sync took as they were
        # (fresh.background): (kind, digest last synced, pid, pipe)
        self.checks: list[tuple[str, int, int, int]] = []

    def connect(self) -> sqlite3.Connection:
        if self.db is None:
            if (self.root / ".crm").is_symlink():  # never write where a link points
                raise OSError(f"{self.root / '.crm'} is a symbolic link")
            self.path.parent.mkdir(exist_ok=True)
            db = self._open_trusted()
            if db is None:  # not this user's own index of this CRM: never trusted
                self.discard()
                db = self._create()
            self.db = db
        return self.db

    def _meta(self, db_ino: int) -> tuple[int, ...]:
        """What the meta row of an index that crm made here as this user holds."""
        root = os.stat(self.root)
        return (VERSION, root.st_dev, root.st_ino, db_ino, _uid())

    def _open_trusted(self) -> sqlite3.Connection | None:
        """The index file if this user's crm made it for this CRM; else None."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_uid != _uid():
            return None
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA trusted_schema=OFF")
            row = db.execute("SELECT * FROM meta").fetchall()
            if row == [self._meta(st.st_ino)]:
                db.execute("PRAGMA synchronous=OFF")
                return db
        except sqlite3.Error:
            pass  # garbage, truncated, another schema
        db.close()
        return None

    def _create(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            meta = ", ".join(str(int(v)) for v in self._meta(os.stat(self.path).st_ino))
            script = f"{_SCHEMA} DELETE FROM meta; INSERT INTO meta VALUES ({meta});"
            db.executescript(f"BEGIN IMMEDIATE; {script} COMMIT;")  # one transaction
        except BaseException:
            db.close()
            raise
        return db

    def discard(self) -> None:
        """Delete the index file (derived data: the next read builds it again)."""
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def seen(self, kind: str) -> bool:
        """Whether `kind`'s folder was ever synced into this index (its rows may be
        behind the files since)."""
        row = self.connect().execute("SELECT 1 FROM folder WHERE kind=?", (kind,)).fetchone()
        return row is not None

    def sync(
        self,
        kind: str,
        folder: Path,
        parse: Callable[[Path], Parsed],
        cols: Callable[[Record], tuple],
        lite: Callable[[Record], Record],
        encode: Callable[[Record], str],
    ) -> None:
        """Bring `kind`'s rows up to date with the files in `folder`."""
        db = self.connect()
        row = db.execute("SELECT digest FROM folder WHERE kind=?", (kind,)).fetchone()
        last = row[0] if row is not None else None
        if last is not None and fresh.background() and self._check_later(kind, folder, last):
            self.synced.add(kind)  # as they are: fresh.settle waits for the check
            return
        current = scan(folder)
        digest = _digest(current)
        if last == digest:
            self.synced.add(kind)
            return
        known: dict[str, int] = dict(db.execute("SELECT name, sig FROM rec WHERE kind=?", (kind,)))
        stale = [n for n, (sig, _t) in current.items() if known.get(n) != sig]
        gone = [n for n in known if n not in current]
        now_ns = time.time_ns()
        rows = []
        racy = False  # (a racy row's null signature never matches: it is always stale)
        for n in stale:
            sig, changed_ns = current[n]
            ok, value = parse(folder / n)
            if now_ns - changed_ns < RACY_NS:
                sig = None  # racy: could change again unseen within the clock's grain
                racy = True
            rows.append(_row(kind, n, sig, ok, value, cols, lite, encode))
        db.execute("BEGIN IMMEDIATE")
        try:
            _write(db, kind, rows, gone, [n for n in stale if n in known])
            db.execute(
                "INSERT OR REPLACE INTO folder VALUES (?, ?)", (kind, None if racy else digest)
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.synced.add(kind)

    def _check_later(self, kind: str, folder: Path, last: int) -> bool:
        """Fork a process that hashes `folder` as sync does and writes the digest to a
        pipe; False when none can be started."""
        try:
            r, w = os.pipe()
        except OSError:
            return False
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return False
        if pid == 0:  # the child: stat calls and a hash, then out, whatever happens
            code = 1
            try:
                os.close(r)
                os.nice(10)  # the command itself comes first when CPUs are short
                os.write(w, str(_digest(scan(folder))).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self.checks.append((kind, last, pid, r))
        fresh.watch(self)
        return True

    def stale(self) -> list[str]:
        """The kinds that sync took as they were whose folders no longer hash the same
        (or could not be hashed), once the processes checking them are done."""
        out = []
        checks, self.checks = self.checks, []
        for kind, last, pid, r in checks:
            with os.fdopen(r, "rb") as f:
                text = f.read()
            _pid, status = os.waitpid(pid, 0)
            if status != 0 or text != str(last).encode():
                out.append(kind)
        return out

    def put(
        self,
        kind: str,
        folder: Path,
        records: list[Record],
        cols: Callable[[Record], tuple],
        lite: Callable[[Record], Record],
        encode: Callable[[Record], str],
    ) -> None:
        """Rows for records this process has just written to their files (each as
        sync would have parsed it), so that the next sync need not parse thousands
        of new files (an import). A file changed within RACY_NS gets no signature and
        is parsed again, as in sync; the folder's digest is cleared, so the next sync
        compares the rows one by one."""
        db = self.connect()
        now_ns = time.time_ns()
        rows = []
        for rec in records:
            n = f"{rec['id']}.yaml"
            try:
                sig, changed_ns = signature(os.stat(folder / n, follow_symlinks=False))
            except FileNotFoundError:
                continue
            if now_ns - changed_ns < RACY_NS:
                sig = None
            rows.append(_row(kind, n, sig, 1, rec, cols, lite, encode))
        db.execute("BEGIN IMMEDIATE")
        try:
            _write(db, kind, rows, [], [r[1] for r in rows])
            db.execute("UPDATE folder SET digest=NULL WHERE kind=?", (kind,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def rows(
        self,
        kind: str,
        where: tuple = ("", ()),
        *,
        ok: Iterable[int] = (1,),
        column: str = "blob",
        fields: tuple[str, ...] | None = None,
        order: bool = False,
        limit: int | None = None,
    ) -> list[Any]:
        """The values of `kind`'s rows matching a condition (`where`, a Where or a
        tuple of its fields), in file-name order (`order`: the kind's list order,
        ORDER), the first `limit` of them. A value is the `column` read back: "blob"
        the whole record (with `fields` only those: each whole record is dropped as
        soon as it is read), "lite" its light fields, "json" the JSON text a list
        prints, as it is."""
        if column not in ("blob", "lite", "json"):
            raise ValueError(f"no column {column!r}")
        order = order and kind in ORDER
        if column == "lite" and fields == models.LIGHT_FIELDS[kind]:
            fields = None  # the lite column holds just those
        condition, params, picks = Where(*where)
        oks = ",".join(str(int(o)) for o in ok)
        key = "due, sort" if order else "name"  # what the rows are sorted by
        by_ok = "+ok" if picks else "ok"  # (+: not by the rec_ok index)
        sql = f"SELECT {key}, {column} FROM rec WHERE kind=? AND {by_ok} IN ({oks})"
        if condition:
            sql += f" AND ({condition})"
        sql_order = order and column == "json"  # (a sort in SQL would carry every blob)
        if sql_order:
            sql += f" ORDER BY {ORDER[kind]}"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
        rows = self.connect().execute(sql, (kind, *params))
        if order:
            rows = ((list_key(d, s), b) for d, s, b in rows)
        if column == "json":
            found = list(rows)
        elif fields is None:
            found = [(n, loads(b)) for n, b in rows]
        else:
            found = []
            for n, b in rows:
                r = loads(b)
                found.append((n, {f: r.get(f) for f in fields}))
        if not sql_order:
            # Sorted here, not by ORDER BY: that makes SQLite walk the whole kind in
            # name order instead of using the index that answers the condition.
            found.sort(key=_first)
        if limit is not None:
            found = found[:limit]
        return [v for _n, v in found]

    # ----- records parsed from git blobs (crmcli.asof) ----------------------------------

    # A blob's bytes never change, so its parsed record (without its id: the file name
    # gives that) is kept for good. Made when first used: no schema version to bump.
    _GITBLOB = "CREATE TABLE IF NOT EXISTS gitblob (kind TEXT, sha TEXT, blob TEXT, "
    _GITBLOB += "PRIMARY KEY (kind, sha))"

    def parsed_blobs(self, kind: str, shas: list[str]) -> dict[str, Any]:
        """{sha: record} of the blobs of `kind` parsed before (keep_blobs)."""
        db = self.connect()
        db.execute(self._GITBLOB)
        found: dict[str, Any] = {}
        for i in range(0, len(shas), 500):
            part = shas[i : i + 500]
            sql = f"SELECT sha, blob FROM gitblob WHERE kind=? AND sha IN ({','.join('?' * len(part))})"
            found.update((sha, loads(b)) for sha, b in db.execute(sql, (kind, *part)))
        return found

    def keep_blobs(self, kind: str, records: dict[str, Any]) -> None:
        """Keep records parsed from git blobs ({sha: record}) for parsed_blobs."""
        db = self.connect()
        db.execute(self._GITBLOB)
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR IGNORE INTO gitblob VALUES (?, ?, ?)",
                [(kind, sha, dumps(rec)) for sha, rec in records.items()],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # ----- crm doctor's marks (the `checked` column) -------------------------------------

    def unchecked(self, kind: str, rules: int) -> dict[str, int]:
        """{file name: signature} of `kind`'s records that have no mark of `rules` (racy
        rows, which have no signature, are left out: they are never marked)."""
        sql = "SELECT name, sig FROM rec WHERE kind=? AND ok=1 AND sig IS NOT NULL"
        sql += " AND checked IS NOT ?"
        return dict(self.connect().execute(sql, (kind, rules)))

    def mark_checked(self, kind: str, sigs: dict[str, int], rules: int) -> None:
        """Mark files as found sound, each only while its row has the signature given."""
        db = self.connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "UPDATE rec SET checked=? WHERE kind=? AND name=? AND sig=?",
                [(rules, kind, n, sig) for n, sig in sigs.items()],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
