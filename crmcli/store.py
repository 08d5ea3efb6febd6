"""The record store that every kind shares: finding the CRM, paths, load, list,
canonical atomic save, delete, the writer lock, links (REFs: crmcli/refs.py).

The core never prints: problems with single files met while listing go to
`Store.warn` (the CLI prints them on stderr), errors are raised as CrmError.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from crmcli import fresh, models
from crmcli.errors import (
    CrmError,
    NoCrmError,
    NotFoundError,
    RecordError,
)
from crmcli.models import KINDS, Record
from crmcli.settings import DEFAULT_MAX_RECORD_BYTES, SETTINGS_FILE

if TYPE_CHECKING:
    from crmcli.context import Context

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 8
DERIVED_DIR = ".crm"
# .crm/: derived data; .*.tmp: the temp file of a write that was killed (doctor --fix)
GITIGNORE = (".crm/", ".*.tmp")
# Record files are opened without following a link and without blocking (a FIFO)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def user_path(text: str, what: str) -> Path:
    """The path `text` names, `~` and `~user` expanded; CrmError naming `what` when
    that user is unknown."""
    try:
        return Path(text).expanduser()
    except RuntimeError:  # ~nouser/...: no such user, no home directory
        raise CrmError(f"{what} '{text}': cannot find that user's home directory") from None


def locate(dir_option: str | None = None, cwd: Path | None = None) -> Path:
    """The CRM root: --dir, else env CRM_DIR, else the nearest ancestor with crm.yaml."""
    given = dir_option or os.environ.get("CRM_DIR")
    if given:
        root = user_path(given, "--dir" if dir_option else "CRM_DIR")
        if not (root / SETTINGS_FILE).is_file():
            raise NoCrmError(
                f"no CRM at '{given}' (no {SETTINGS_FILE} there); create one with: crm init {given}"
            )
        return root
    start = (cwd or Path.cwd()).resolve()
    for d in (start, *start.parents):
        if (d / SETTINGS_FILE).is_file():
            return d
    raise NoCrmError(
        f"no CRM found in '{start}' or any parent directory; "
        "create one with 'crm init', or pass --dir PATH or set CRM_DIR"
    )


def new_id() -> str:
    """A random id: 8 characters of [0-9a-z] (41 bits), so two clones never collide."""
    n = secrets.randbelow(len(ID_ALPHABET) ** ID_LENGTH)
    chars = []
    for _ in range(ID_LENGTH):
        n, r = divmod(n, len(ID_ALPHABET))
        chars.append(ID_ALPHABET[r])
    return "".join(chars)


def fold(text: str) -> str:
    """Text folded for search: case- and accent-insensitive (CJK left as is)."""
    if text.isascii():  # (NFKD leaves ASCII as it is, and casefold is lower there)
        return text.lower()
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_temp_count = 0


def _temp_file(path: Path) -> tuple[int, str]:
    """A new hidden temp file beside `path` (`.NAME.PID-N.tmp`), opened exclusively."""
    global _temp_count
    while True:
        _temp_count += 1
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}-{_temp_count}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done (where the platform can)."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    deferred = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def atomic_write(
    path: Path, data: bytes | Iterable[bytes], *, exclusive: bool = False, sync: bool = True
) -> None:
    """Write `data` (bytes, or parts of it in turn) to `path` whole or not at all:
    temp file, fsync, rename.

    With `exclusive`, an existing file is never replaced (FileExistsError).
    Without `sync` the file is still replaced atomically (an interrupted process
    leaves the old or the new file, whole) but not forced to disk: see Store.bulk.
    A read still checking the index (crmcli.fresh) settles first.
    """
    fresh.settle()
    with _signals_deferred():  # Ctrl-C or kill lands after the write, never inside it
        try:
            fd, tmp = _temp_file(path)
        except FileNotFoundError:  # the first record of its kind, say
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _temp_file(path)
        try:
            with os.fdopen(fd, "wb") as f:
                if isinstance(data, bytes):
                    f.write(data)
                else:
                    for part in data:
                        f.write(part)
                f.flush()
                if sync:
                    os.fsync(f.fileno())
            if exclusive:
                os.link(tmp, path)
                os.unlink(tmp)
            else:
                os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    if not sync:
        return
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


# query()'s `where` keys; `on` is the index's link_on column (an activity's record)
WHERE = ("id", "id_prefix", "status", "kind", "owner", "on", "customer", "lead", "deal",
         "due_before", "text", "words", "merged")  # fmt: skip
_EQ_COLUMNS = {"owner": "owner", "on": "link_on", "customer": "customer", "lead": "lead",
               "deal": "deal"}  # fmt: skip
# What a merge tombstone holds (query where={"merged": True}): the old name (title)
# and e-mails are kept so that they still lead to the record kept (refs.resolve);
# tombstones written before that have only the first three (the others read None)
TOMBSTONE_FIELDS = frozenset({"id", "merged_into", "updated", "name", "title", "emails"})
# The kinds whose list order is not id order (index.ORDER: tasks most urgent first)
LIST_ORDERED = frozenset({"task"})


class _Conditions(NamedTuple):
    """query()'s `where`, checked: as SQL for the index and as a test of one record
    (its index columns) for the files; a None value is no condition."""

    statuses: list[str] | None = None
    eq: dict[str, str] = {}  # noqa: RUF012 - index column -> value (never changed)
    due_before: float | None = None
    needle: str | None = None
    words: tuple[str, ...] = ()
    merged: bool = False
    ids: frozenset[str] | None = None
    id_prefix: str | None = None

    @classmethod
    def of(cls, kind: str, where: dict[str, Any] | None) -> _Conditions:
        where = {k: v for k, v in (where or {}).items() if v is not None}
        unknown = sorted(set(where) - set(WHERE))
        if unknown:
            raise ValueError(
                f"query({kind!r}): no condition {', '.join(unknown)} (use {', '.join(WHERE)})"
            )
        merged = bool(where.pop("merged", False))
        ids = where.pop("id", None)
        prefix = where.pop("id_prefix", None)
        if merged and where:
            raise ValueError(f"query({kind!r}): merged takes no other condition but id")
        if prefix is not None and not ID_RE.match(prefix):
            raise ValueError(f"query({kind!r}): id_prefix {prefix!r} is not the start of an id")
        status = where.pop("status", None)
        if "kind" in where:  # an activity's kind: kept in the status column (index.columns)
            if kind != "activity" or status is not None:
                raise ValueError(f"query({kind!r}): kind is a condition of activities only")
            status = where.pop("kind")
        due = where.pop("due_before", None)
        text = where.pop("text", None)
        words = where.pop("words", None)
        return cls(
            [status] if isinstance(status, str) else status,
            {_EQ_COLUMNS[k]: v for k, v in where.items()},
            None if due is None else due.timestamp(),
            fold(text) if text else None,
            tuple(fold(words).split()) if words else (),
            merged,
            None if ids is None else frozenset([ids] if isinstance(ids, str) else ids),
            prefix,
        )

    def sql(self) -> tuple[str, tuple]:
        where, params = [], []
        if self.ids is not None:  # (one parameter however many: SQLite limits them)
            import json

            where.append("name IN (SELECT value FROM json_each(?))")
            params.append(json.dumps([f"{i}.yaml" for i in sorted(self.ids)]))
        if self.id_prefix:  # (an id holds no GLOB wildcard: the primary key answers it)
            where.append("name GLOB ?")
            params.append(self.id_prefix + "*")
        if self.statuses is not None:
            where.append(f"status IN ({','.join('?' * len(self.statuses))})")
            params += self.statuses
        for col, value in self.eq.items():
            if isinstance(value, (list, tuple, set, frozenset)):  # one of these ids
                import json

                where.append(f"{col} IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(sorted(value)))
            else:
                where.append(f"{col}=?")
                params.append(value)
        if self.due_before is not None:
            where.append("due IS NOT NULL AND due < ?")
            params.append(self.due_before)
        if self.needle:
            where.append("instr(text, ?) > 0")
            params.append(self.needle)
        # words: the full-text index finds those of 3+ characters (trigrams), a scan
        # of the folded text the shorter ones
        long = [w for w in self.words if len(w) >= 3]
        if long:
            where.append("rowid IN (SELECT rowid FROM fts WHERE fts MATCH ?)")
            params.append(" AND ".join('"' + w.replace('"', '""') + '"' for w in long))
        for w in self.words:
            if len(w) < 3:
                where.append("instr(words, ?) > 0")
                params.append(w)
        return " AND ".join(where), tuple(params)

    def matches(self, rid: str, cols: tuple) -> bool:
        """Whether the record `rid` with these index columns (index.columns) passes."""
        if self.ids is not None and rid not in self.ids:
            return False
        if self.id_prefix and not rid.startswith(self.id_prefix):
            return False
        st, ow, due, txt, _sort, link_on, cu, le, de, words = cols
        row = {"owner": ow, "link_on": link_on, "customer": cu, "lead": le, "deal": de}
        if self.statuses is not None and st not in self.statuses:
            return False
        for k, v in self.eq.items():
            if row[k] not in v if isinstance(v, (list, tuple, set, frozenset)) else row[k] != v:
                return False
        if self.due_before is not None and (due is None or due >= self.due_before):
            return False
        if self.words and (words is None or not all(w in words for w in self.words)):
            return False
        return not (self.needle and (txt is None or self.needle not in txt))

    @property
    def empty(self) -> bool:
        return self == _Conditions(merged=self.merged)

    @property
    def picks(self) -> bool:
        """Does it name the rows wanted: ids, or a list of links (index.rows picks)?"""
        lists = (list, tuple, set, frozenset)
        return self.ids is not None or any(isinstance(v, lists) for v in self.eq.values())


def _check_fields(kind: str, fields: tuple[str, ...] | None, merged: bool, json: bool) -> None:
    """A projection asks only for fields the kind has (ValueError otherwise)."""
    if fields is None:
        return
    if json:
        raise ValueError("query(json=True) gives whole records: no fields")
    known = TOMBSTONE_FIELDS if merged else models.FIELDS[kind]
    unknown = [f for f in fields if f not in known]
    if unknown:
        what = "a merge tombstone" if merged else f"a {kind}"
        raise ValueError(f"{what} has no field {', '.join(unknown)}")


def _column(kind: str, fields: tuple[str, ...] | None, merged: bool) -> str:
    """The index column a projection reads: the small `lite` one when it holds them
    (a tombstone has none)."""
    if not merged and fields is not None and set(fields) <= set(models.LIGHT_FIELDS[kind]):
        return "lite"
    return "blob"


class Store:
    """One CRM directory. Records are plain dicts (see models)."""

    def __init__(
        self,
        root: Path,
        warn: Callable[[str], None] | None = None,
        settings: dict[str, Any] | None = None,
        ctx: Context | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        from crmcli import context
        from crmcli import settings as settings_mod

        self.root = Path(root)
        # `settings` given: use them instead of reading crm.yaml (crm doctor, when it is broken)
        self.settings: dict[str, Any] = (
            settings if settings is not None else settings_mod.load(self.root)
        )
        # zone, date order, clock and user: from the settings and env unless given
        self.ctx: Context = ctx or context.load(self.settings, self.root)
        self.warnings: list[str] = []
        self.warn: Callable[[str], None] = warn or self.warnings.append
        # what a person should know but nothing is wrong (a REF that led through a merge)
        self.notices: list[str] = []
        self.notice: Callable[[str], None] = notice or self.notices.append
        self.changed: list[Path] = []  # files written or removed by this process
        self.messages: list[str] = []  # what the changes were, for a commit message
        self._cache: dict[str, list[Record]] = {}
        self._index: Any = None  # None: not opened yet; False: unusable
        self._bulk = False  # inside bulk(): no fsync per file, one sync at the end
        self._locked = False  # inside lock()

    # ----- paths -------------------------------------------------------------------

    def folder(self, kind: str) -> Path:
        return self.root / KINDS[kind]

    def path(self, kind: str, rid: str) -> Path:
        """The file of record `rid`; ids that could form a path are refused."""
        if not isinstance(rid, str) or not ID_RE.match(rid):
            raise CrmError(f"'{rid}' is not a valid {kind} id (only a-z, 0-9 and -)")
        return self.folder(kind) / f"{rid}.yaml"

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    # ----- reading -----------------------------------------------------------------

    def read_bytes(self, path: Path) -> bytes:
        """The bytes of one record file. Only a regular file within settings
        `max_record_bytes` is read: a symbolic link is never followed and a FIFO,
        device or directory never opened (a FIFO would block); each is a RecordError
        naming the file."""
        limit = self.settings.get("max_record_bytes", DEFAULT_MAX_RECORD_BYTES)
        try:
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_size <= limit:
                fd = os.open(path, _READ_FLAGS)
                try:
                    st = os.fstat(fd)  # (replaced since the lstat?)
                    if stat.S_ISREG(st.st_mode):
                        data = _read(fd, st.st_size + 1)
                        if st.st_size < len(data) <= limit:  # it grew since the fstat
                            data += _read(fd, limit + 1 - len(data))
                        if len(data) <= limit:
                            return data
                finally:
                    os.close(fd)
        except FileNotFoundError:
            raise NotFoundError(f"{self.rel(path)}: no such record") from None
        except OSError as e:
            if e.errno == errno.ELOOP:  # O_NOFOLLOW: it became a link since the lstat
                raise RecordError(f"{self.rel(path)}: {_not_a_file(stat.S_IFLNK)}") from None
            raise RecordError(f"{self.rel(path)}: cannot read: {e.strerror}") from None
        if stat.S_ISREG(st.st_mode):
            raise RecordError(
                f"{self.rel(path)}: is over {limit:,} bytes, too big for a record "
                "(settings max_record_bytes); not read"
            )
        raise RecordError(f"{self.rel(path)}: {_not_a_file(st.st_mode)}")

    def read_file(self, kind: str, path: Path) -> Record:
        """Parse and check one record file; RecordError names the file and field."""
        return self.parse_record(kind, self.rel(path), path.stem, self.read_bytes(path))

    def parse_record(self, kind: str, rel: str, rid: str, data: bytes) -> Record:
        """Parse and check the bytes of record file `rel` (id `rid`): the one reader
        of record files, for the work tree and for past commits (crmcli.asof)."""
        from crmcli import yamlio

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RecordError(f"{rel}: not UTF-8 text (byte {e.start})") from None
        try:
            rec = yamlio.loads(text)
        except yamlio.YAMLError as e:
            raise RecordError(f"{rel}: not valid YAML: {yamlio.describe(e)}") from None
        if isinstance(rec, dict) and "merged_into" in rec:
            target = rec["merged_into"]
            if not isinstance(target, str) or not ID_RE.match(target):
                raise RecordError(f"{rel}: merged_into: {target!r} is not a valid {kind} id")
            rec["id"] = rid
            return rec  # a tombstone left by a merge
        problems = models.validate(kind, rec)
        if problems:
            raise RecordError(f"{rel}: {problems[0]}", problems[1:])
        rec["id"] = rid  # the file name is the truth
        return models.normalize(kind, rec)

    def _load_raw(self, kind: str, rid: str) -> Record:
        return self.read_file(kind, self.path(kind, rid))

    def load(self, kind: str, rid: str) -> Record:
        """The record with id `rid`, following merge tombstones."""
        rec = self._load_raw(kind, rid)
        seen = {rid}
        while "merged_into" in rec:
            target = rec["merged_into"]
            if target in seen:
                raise RecordError(f"{KINDS[kind]}/{rid}.yaml: merge tombstones form a loop")
            seen.add(target)
            rec = self._load_raw(kind, target)
        return rec

    def exists(self, kind: str, rid: str) -> bool:
        return bool(ID_RE.match(rid)) and self.path(kind, rid).is_file()

    def _parse(self, kind: str, path: Path) -> tuple[int, Any]:
        """(1, record), (2, tombstone) or (0, (message, details)) for one file."""
        try:
            rec = self.read_file(kind, path)
        except CrmError as e:
            return 0, (e.message, e.details)
        return (2 if "merged_into" in rec else 1), rec

    def _columns(self, kind: str) -> Callable[[Record], tuple]:
        from crmcli import index
        from crmcli.dates import parse_iso

        tz = self.ctx.tz
        return lambda rec: index.columns(kind, rec, fold, lambda v: parse_iso(v, tz).timestamp())

    def _get_index(self) -> Any:
        """The derived index, or None when it cannot be used or CRM_NO_INDEX is set
        (the files are read directly)."""
        if os.environ.get("CRM_NO_INDEX") is not None:
            return None
        if self._index is None:
            import hashlib

            from crmcli import __version__, index

            key = hashlib.sha1(
                repr(
                    (
                        __version__,
                        sys.version_info[:2],
                        models.SCHEMAS,
                        models.LIGHT_FIELDS,
                        # (sorted: a frozenset's repr changes with each process's hash seed)
                        sorted((k, sorted(v)) for k, v in models.SPARSE.items()),
                        models.ITEM_SCHEMAS,
                        self.settings.get("timezone"),
                        self.settings.get("max_record_bytes"),  # what read_bytes refuses
                    )
                ).encode()
            ).hexdigest()[:10]
            self._index = index.Index(self.root, key)
        return self._index or None

    def _row_parts(self, kind: str) -> tuple[Callable, Callable, Callable]:
        """What an index row of `kind` is made of (Index.sync and put take them): its
        columns, its light fields and its JSON line."""
        from crmcli.encode import record_json

        fields = models.LIGHT_FIELDS[kind]
        return self._columns(kind), lambda rec: {f: rec.get(f) for f in fields}, record_json

    def _query_index(self, kind: str, query: Callable[[Any], Any], stale_ok: bool = False) -> Any:
        """`query(index)` once the index is in step with `kind`'s files (`stale_ok`: as
        it was last brought in step, when it ever was); None if the index cannot be
        used. Broken files of the kind are warned about once."""
        import sqlite3

        idx = self._get_index()
        if not idx:
            return None
        try:
            if kind not in idx.synced and not (stale_ok and idx.seen(kind)):
                idx.sync(kind, self.folder(kind), lambda p: self._parse(kind, p),
                         *self._row_parts(kind))  # fmt: skip
                for message, _details in idx.rows(kind, ok=(0,)):
                    self.warn(f"skipping {message}")
            return query(idx)
        except (sqlite3.Error, OSError) as e:
            idx.close()
            if isinstance(e, sqlite3.DatabaseError) and not isinstance(e, sqlite3.OperationalError):
                with contextlib.suppress(OSError):  # corrupt: built again by the next command
                    idx.discard()
            self._index = False  # fall back to reading the files
            return None

    def index_written(self, kind: str, records: list[Record]) -> None:
        """Put records this process has just written into the index (Index.put), so the
        next command need not parse their files: after an import of thousands. Nothing
        is lost when it cannot: the next read parses the files."""
        import sqlite3

        idx = self._get_index()
        if not idx or not records:
            return
        try:
            idx.put(kind, self.folder(kind), records, *self._row_parts(kind))
        except (sqlite3.Error, OSError):
            idx.close()
            self._index = False

    def query(
        self,
        kind: str,
        where: dict[str, Any] | None = None,
        *,
        fields: tuple[str, ...] | None = None,
        order: str | None = None,
        limit: int | None = None,
        json: bool = False,
        stale_ok: bool = False,
    ) -> list[Any]:
        """The one way to read records of `kind`: the live records matching every
        condition of `where`, in id order (`order="list"`: the kind's list order,
        tasks most urgent first, index.ORDER), the first `limit` of them (None: all).

        `where` keys (see WHERE): id (an id or a list of them), id_prefix (ids that
        start with it), status (a value or a list), kind (an activity's kind: a value
        or a list), owner, on (an activity's record), customer, lead, deal (each a
        value, or a list or set of ids: any of them),
        due_before (a datetime: tasks due before it,
        deals whose close date's midnight in the CRM's zone is before it), text (a
        case/accent-insensitive substring of names, e-mails, phones, contacts; titles),
        words (text whose every word, case and accents aside, is in what `crm search`
        looks in: search.pieces),
        merged (True: the kind's merge tombstones instead, TOMBSTONE_FIELDS; with no
        other condition but id and id_prefix). An unknown key is a ValueError.

        `fields`: only those fields of each record (a projection, from the index
        without loading whole records); a field the kind does not have (models.FIELDS)
        is a ValueError, never a silent None. `json`: each record as the JSON text a
        list prints (encode.record_json) instead, straight from the index.
        `stale_ok`: the index's rows as the last command brought them in step, without
        checking every file again (0.5 s at 100,000 files): for advice only, such as
        the warning that a name is taken, which may then miss a file changed since.

        Answered by the index when it can, by reading the files when it cannot (or
        when this process has read the kind whole): the same answer either way."""
        cond = _Conditions.of(kind, where)
        _check_fields(kind, fields, cond.merged, json)
        if order not in (None, "id", "list"):
            raise ValueError(f"order {order!r}: use None, 'id' or 'list'")
        ordered = order == "list" and kind in LIST_ORDERED
        if kind not in self._cache:
            found = self._query_index(
                kind,
                lambda idx: idx.rows(
                    kind,
                    (*cond.sql(), cond.picks),  # (index.Where)
                    ok=(2,) if cond.merged else (1,),
                    column="json" if json else _column(kind, fields, cond.merged),
                    fields=fields,
                    order=ordered,
                    limit=limit,
                ),
                stale_ok,
            )
            if found is not None:
                return found
        records = self._all(kind, tombstones=cond.merged)
        if not cond.empty or ordered:
            cols = self._columns(kind)
            keyed = [(c, r) for r in records if cond.matches(r["id"], c := cols(r))]
            if ordered:  # as index.ORDER
                from crmcli.index import list_key

                keyed.sort(key=lambda cr: list_key(cr[0][2], cr[0][4]))
            records = [r for _c, r in keyed]
        if limit is not None:
            records = records[:limit]
        if json:
            from crmcli.encode import record_json

            return [record_json(r) for r in records]
        if fields is not None:
            return [{f: r.get(f) for f in fields} for r in records]
        return records

    def _all(self, kind: str, *, tombstones: bool = False) -> list[Record]:
        """Every readable record of `kind` (`tombstones`: only the merge tombstones),
        held for the rest of the process (until a write); broken files are skipped
        with a warning. For query's fallback (when the index cannot answer)."""
        if kind not in self._cache:
            records = self._query_index(kind, lambda idx: idx.rows(kind, ok=(1, 2)))
            if records is None:
                records = []
                folder = self.folder(kind)
                try:
                    names = sorted(
                        e.name
                        for e in os.scandir(folder)
                        if e.name.endswith(".yaml") and not e.name.startswith(".")
                    )
                except FileNotFoundError:
                    names = []
                for name in names:
                    ok, value = self._parse(kind, folder / name)
                    if ok:
                        records.append(value)
                    else:
                        self.warn(f"skipping {value[0]}")
            self._cache[kind] = records
        return [r for r in self._cache[kind] if ("merged_into" in r) == tombstones]

    def checked(
        self, kind: str, fields: tuple[str, ...], rules: int
    ) -> tuple[list[Record], dict[str, int]] | None:
        """For crm doctor: the records (only `fields`) of `kind`'s files it marked sound
        (mark_checked) that have not changed since, and {file name: signature} of the
        other records' files; None when the index cannot answer. Broken files are not
        warned about: doctor names them itself."""

        def query(idx: Any) -> tuple[list[Record], dict[str, int]]:
            sound = idx.rows(kind, ("checked=?", (rules,)), fields=fields)
            return sound, idx.unchecked(kind, rules)

        warn, self.warn = self.warn, lambda _message: None
        try:
            return self._query_index(kind, query)
        finally:
            self.warn = warn

    def mark_checked(self, kind: str, sigs: dict[str, int], rules: int) -> None:
        """Mark files of `kind` that crm doctor found sound ({file name: the signature
        checked() gave}); a mark holds until the file changes."""
        if sigs:
            self._query_index(kind, lambda idx: idx.mark_checked(kind, sigs, rules))

    def invalidate(self, kind: str | None = None) -> None:
        """Forget what this process has read (of `kind`, or all): files changed."""
        if kind is None:
            self._cache.clear()
        else:
            self._cache.pop(kind, None)
        if self._index:
            if kind is None:
                self._index.synced.clear()
            else:
                self._index.synced.discard(kind)

    # ----- writing -------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float = 30) -> Iterator[None]:
        """The writer lock (.crm/lock): commands that change records hold it. When the
        body succeeds, what it changed is committed before the lock is let go
        (settings git.autocommit), so no other writer's file slips into the commit.
        Nested: only the outermost one locks and commits."""
        from filelock import FileLock, Timeout

        if self._locked:
            yield
            return
        fresh.settle()  # nothing is changed on rows that may be stale
        derived = self.root / DERIVED_DIR
        try:
            derived.mkdir(exist_ok=True)
        except OSError as e:
            raise CrmError(f"cannot create {derived}: {e.strerror}") from None
        lock = FileLock(str(derived / "lock"))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise CrmError(
                f"another crm command holds the lock {DERIVED_DIR}/lock; try again"
            ) from None
        except OSError as e:  # a read-only folder, a lock file of another user
            raise CrmError(f"cannot take the lock {DERIVED_DIR}/lock: {e.strerror}") from None
        self._locked = True
        try:
            self.invalidate()  # another process may have written while we waited
            yield
            self.commit_changes()
        finally:
            self._locked = False
            lock.release()

    def autocommits(self) -> bool:
        """Is settings git.autocommit on?"""
        git = self.settings.get("git")
        return isinstance(git, dict) and git.get("autocommit") is True

    def commit_changes(self) -> None:
        """Commit the files changed so far (settings git.autocommit), with what the
        command said it did; hold the lock. Never raises: the files are saved
        whatever git does, and a failure is a warning."""
        if not self.changed or not self.autocommits():
            return  # (crmcli.git is not even imported: start-up time)
        from crmcli.git.autocommit import autocommit

        try:
            autocommit(self, sys.argv[1:])
        except Exception as e:  # noqa: BLE001 - never lose or fail a saved change over git
            if os.environ.get("CRM_DEBUG"):
                raise
            self.warn(f"the change is saved but not committed: {e}")
        finally:
            self.changed.clear()
            self.messages.clear()

    def save(self, kind: str, rec: Record, *, create: bool = False) -> Record:
        """Write `rec` canonically and atomically; returns what was written.

        A new record (`create`) gets `created`/`updated` and never replaces a file.
        An existing one gets a new `updated` only when something else changed:
        saving an unchanged record leaves the file's bytes as they are.
        """
        rec = models.normalize(kind, rec)
        path = self.path(kind, rec["id"])
        has_times = "updated" in dict(models.SCHEMAS[kind])
        if create:
            if has_times:
                stamp = self.ctx.now_iso()
                rec["created"] = rec.get("created") or stamp
                rec["updated"] = rec.get("updated") or stamp
        elif path.is_file():
            try:
                old = self._load_raw(kind, rec["id"])
            except NotFoundError:
                old = None
            except RecordError as e:  # a hand edit crm cannot read: never saved over
                raise RecordError(f"{e.message}; nothing written (fix the file first)") from None
            if has_times and old is not None and _same_but_updated(old, rec):
                return old
            if has_times:
                rec["updated"] = self.ctx.now_iso()
        if kind == "customer":
            rec = models.with_contact_ids(rec)
        return self.write(kind, rec, create=create)

    def write(
        self, kind: str, rec: Record, *, create: bool = False, old: bytes | None = None
    ) -> Record:
        """The store's one way to put a record (or tombstone) in its file, through
        write_record, and to forget what it read of `kind`; see write_record for
        `create` (its `exclusive`) and `old`."""
        path = self.path(kind, rec["id"])
        rel = self.rel(path)
        try:
            written = write_record(
                path, kind, rec, rel=rel, exclusive=create, sync=not self._bulk, old=old
            )
        except FileExistsError:
            raise CrmError(f"{rel} already exists") from None
        except OSError as e:
            raise CrmError(f"cannot write {rel}: {e.strerror}") from None
        if written is not None:
            self.changed.append(path)
            self.invalidate(kind)
            if not self._bulk and "merged_into" not in written:  # (imports put theirs at once)
                self.index_written(kind, [written])  # its row, for stale_ok readers
        return written or rec

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Many writes in a row (an import): every file is still replaced atomically,
        so an interrupted command leaves only whole records, but the files reach the
        disk with one sync at the end instead of an fsync each (thousands of fsyncs
        take minutes)."""
        outer = self._bulk
        self._bulk = True
        try:
            yield
        finally:
            self._bulk = outer
            if not outer and hasattr(os, "sync"):
                os.sync()

    def note_change(self, message: str) -> None:
        """Say in words what this command changed (`deal: move "Pump order" to
        negotiation`); git autocommit uses it as the commit message."""
        self.messages.append(message)

    def write_tombstone(
        self, kind: str, rid: str, merged_into: str, old: Record | None = None
    ) -> None:
        """Leave a tombstone in record `rid`'s file: it was merged into `merged_into`.
        It keeps the `old` record's name (title) and e-mails, which lead on to the one
        kept (refs.resolve)."""
        stone: Record = {"id": rid, "merged_into": merged_into}
        for key in (models.NAME_FIELD[kind], "emails"):
            if old and old.get(key) and key in TOMBSTONE_FIELDS:
                stone[key] = old[key]
        self.write(kind, {**stone, "updated": self.ctx.now_iso()})

    def delete(self, kind: str, rid: str) -> None:
        path = self.path(kind, rid)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFoundError(f"{self.rel(path)}: no such record") from None
        except OSError as e:
            raise CrmError(f"cannot remove {self.rel(path)}: {e.strerror}") from None
        self.changed.append(path)
        self.invalidate(kind)

    def create(self, kind: str, /, **values: Any) -> Record:
        """Make and save a new record of `kind` with a fresh id."""
        rec = models.new_record(kind, id=values.pop("id", None) or new_id(), **values)
        return self.save(kind, rec, create=True)

    # ----- links and timeline ----------------------------------------------------------

    def referrers(self, rid: str, *, activities: bool = False) -> list[tuple[str, Record, str]]:
        """(kind, record, field) for every record whose link field holds `rid`."""
        found = []
        for kind in ("customer", "lead", "deal", "task"):
            for field in models.LINKS:
                if field != kind:
                    found += [(kind, r, field) for r in self.query(kind, {field: rid})]
        if activities:
            found += [("activity", a, "on") for a in self.query("activity", {"on": rid})]
        return found

    def timeline(self, rid: str) -> list[Record]:
        """The activities on record `rid`, newest first."""
        return self.timelines([rid])

    def add_activity(
        self,
        on: str,
        kind: str,
        text: str,
        by: str | None = None,
        *,
        at: str | None = None,
        outcome: str | None = None,
    ) -> Record:
        """Append a timeline entry (its own file, so notes from two clones merge), made
        now unless `at` (an ISO timestamp) says when it happened."""
        return self.create(
            "activity",
            on=on,
            kind=kind,
            text=text,
            outcome=outcome,
            by=by or self.ctx.user,
            at=at or self.ctx.now_iso(),
        )

    def timelines(self, ids: Iterable[str]) -> list[Record]:
        """The activities on any of the records `ids`, newest first (one query)."""
        from crmcli.dates import parse_iso

        wanted = set(ids)
        entries = self.query("activity", {"on": wanted}) if wanted else []
        return sorted(
            entries, key=lambda a: (parse_iso(a["at"], self.ctx.tz), a["id"]), reverse=True
        )


def _read(fd: int, n: int) -> bytes:
    """Up to `n` bytes of `fd`: fewer only at its end (os.read allocates `n` first)."""
    data = os.read(fd, n)
    while len(data) < n:
        more = os.read(fd, n - len(data))
        if not more:
            break
        data += more
    return data


def _not_a_file(mode: int) -> str:
    """Why an entry named like a record is not read."""
    if stat.S_ISLNK(mode):
        return "is a symbolic link; crm does not follow links in record folders (not read)"
    what = (
        "a directory" if stat.S_ISDIR(mode)
        else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket" if stat.S_ISSOCK(mode)
        else "a special file"
    )  # fmt: skip
    return f"is {what}, not a record file (not read)"


def write_record(
    path: Path,
    kind: str | None,
    rec: Record,
    *,
    rel: str | None = None,
    exclusive: bool = False,
    sync: bool = True,
    old: bytes | None = None,
    check: bool = True,
) -> Record | None:
    """The one writer of record files (Store.write, and the merge driver, which has
    no Store): a record of a known `kind` is normalised and, with `check`, validated
    (a tombstone, `merged_into`, or a file of no known kind is written as it is),
    dumped with yamlio and written atomically (atomic_write: `exclusive`, `sync`).

    Returns what was written; None when the bytes equal `old` (the file's bytes as
    the caller read them), which are then not written again. Raises RecordError,
    naming the file as `rel`, for a record that is not valid; OSError as it comes.
    """
    rel = rel or str(path)
    if kind and "merged_into" not in rec:
        rec = models.normalize(kind, rec)
        problems = models.validate(kind, rec) if check else []
        if problems:
            raise RecordError(f"{rel}: {problems[0]}", problems[1:])
    data = encode_record(rel, rec)
    if data == old:
        return None
    atomic_write(path, data, exclusive=exclusive, sync=sync)
    return rec


def encode_record(rel: str, rec: Record) -> bytes:
    """A record file's bytes (what write_record writes; doctor compares a file with
    them to find one not in canonical form); text that cannot be UTF-8 (bytes smuggled in from a non-UTF-8
    argument or stdin) is an error naming the field, never a half-written file."""
    from crmcli import yamlio

    try:
        return yamlio.dumps(rec).encode("utf-8")
    except UnicodeEncodeError:
        bad = next((k for k, v in rec.items() if not _utf8_ok(v)), "a field")
        raise RecordError(f"{rel}: {bad}: the text is not valid UTF-8; nothing written") from None


def _utf8_ok(value: Any) -> bool:
    from crmcli import yamlio

    try:
        yamlio.dumps(value).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _same_but_updated(a: Record, b: Record) -> bool:
    return {k: v for k, v in a.items() if k != "updated"} == {
        k: v for k, v in b.items() if k != "updated"
    }


def init(path: Path, name: str | None = None) -> Path:
    """Create a CRM at `path`: crm.yaml with commented defaults, the record folders,
    and a .gitignore for the derived .crm/ folder. Refuses to overwrite one."""
    from crmcli import settings as settings_mod

    path = Path(path)
    target = path / SETTINGS_FILE
    if target.exists():
        raise CrmError(f"{target} already exists: there is a CRM here already")
    try:
        path.mkdir(parents=True, exist_ok=True)
        text = settings_mod.init_text(
            name or path.resolve().name or "My CRM", settings_mod.detect_timezone()
        )
        atomic_write(target, text.encode("utf-8"), exclusive=True)
        for folder in KINDS.values():
            (path / folder).mkdir(exist_ok=True)
            keep = path / folder / ".gitkeep"
            if not keep.exists():
                keep.write_bytes(b"")
        gi = path / ".gitignore"
        existing = gi.read_text(encoding="utf-8") if gi.exists() else ""
        missing = [line for line in GITIGNORE if line not in existing.split()]
        if missing:
            sep = "" if not existing or existing.endswith("\n") else "\n"
            text = existing + sep + "".join(f"{line}\n" for line in missing)
            atomic_write(gi, text.encode("utf-8"))
    except FileExistsError:
        raise CrmError(f"{target} already exists: there is a CRM here already") from None
    except OSError as e:
        raise CrmError(f"cannot create a CRM in {path}: {e.strerror}") from None
    return path
