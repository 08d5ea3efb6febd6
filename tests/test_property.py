"""Random sequences of commands and hand edits (issue 16, item 10): no record is lost, no
traceback appears, a failing command changes no file, a broken file never stops the others.

A hypothesis state machine runs crm commands in-process on a fresh CRM and edits the record
files by hand as a person (or git) would, while a model keeps which records exist and what a
few of their fields hold. After every step each kind is listed with and without the index
and compared with the model. CRM_PROPERTY_EXAMPLES=200 (and CRM_PROPERTY_STEPS=60) search
deeper than the quick default."""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path

from conftest import Result, run, snapshot
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from crmcli import models, store, yamlio
from crmcli.errors import CrmError
from crmcli.store import ID_ALPHABET, ID_LENGTH, Store, init

EXAMPLES = int(os.environ.get("CRM_PROPERTY_EXAMPLES", "10"))
STEPS = int(os.environ.get("CRM_PROPERTY_STEPS", "50"))

KINDS = ("customer", "lead", "deal", "task")
TRACKED = {
    "customer": ("name",),
    "lead": ("name", "status"),
    "deal": ("title", "status", "stage"),
    "task": ("title", "status"),
}
TITLE = {"customer": "name", "lead": "name", "deal": "title", "task": "title"}
LISTS = {
    "customer": ["customer", "list"],
    "lead": ["lead", "list"],
    "deal": ["deal", "list", "--status", "all"],
    "task": ["task", "list", "--status", "all"],
}
READS = [  # read commands that answer whatever the files hold
    ("task", "remind"),
    ("task", "list", "--overdue"),
    ("report", "forecast", "--format", "json"),
    ("report", "funnel"),
    ("report", "customers"),
    ("report", "sources"),
    ("report", "stalled"),
    ("report", "owners"),
    ("deal", "stages"),
    ("customer", "list", "--search", "acme", "--format", "csv"),
]
STAGES = ["new", "qualified", "proposal", "negotiation"]  # crm init's pipeline

NAMES = st.sampled_from(
    ["Acme", "acme", "ACME GmbH", "王芳", "Li Wei", "O'Brien & Co", "Zoë", "x" * 200, " Pad "]
)
EMAILS = st.sampled_from(["", "a@acme.de", "A@ACME.DE", "li@example.cn", "bad@", "x@y.zz"])
TEXTS = st.sampled_from(["Called", "中文 note", "-", "line one\nline two", "# not a comment"])
PICK = st.integers(min_value=0, max_value=1000)

# Hand edits that leave a file crm must refuse: (what replaces the file or is appended).
INVALID_YAML = [
    b"name: [unclosed\n",
    b"\tname: tab-indented\n",
    b"- a list\n- not a mapping\n",
    b"\xff\xfe not UTF-8\n",
    b"",
    b"null\n",
    b"name: 'open quote\n",
    b"just a scalar\n",
]
GARBAGE = [
    b"}{\n",
    b"\x00\x01",
    b"\n[\n",
    b"\xff",
    b"\nname\n",
    b"\n  - stray: [\n",
    b"<<<<<<< HEAD\n",
]
BAD_VALUES = {  # field -> value (YAML text) the kind's schema refuses
    "customer": [("kind", "robot"), ("emails", "5"), ("created", "yesterday-ish"), ("name", "")],
    "lead": [("status", "bogus"), ("tags", "{a: 1}"), ("name", "null"), ("updated", "[]")],
    "deal": [("status", "maybe"), ("amount", "lots"), ("title", "''"), ("stage_history", "7")],
    "task": [("status", "later"), ("priority", "whenever"), ("title", "~"), ("due", "[1, 2]")],
}
# Keys no kind defines (a key of another kind, such as `contacts:` on a lead, is item 2's).
UNKNOWN_KEYS = [("nickname", "Bob"), ("x-note", "kept by hand"), ("zz_rating", "5")]
# Non-record files a person, an editor or git leaves in a record folder: never read as a
# record, never warned about as a broken record, never touched.
STRAYS = [
    ("notes.txt", b"name: [not yaml\n"),
    ("README.md", b"# customers\n"),
    (".abcd.yaml.swp", b"\x00\x01\x02vim swap"),
    ("abcd1234.yaml~", b"id: abcd1234\n"),
    ("abcd1234.yaml.orig", b"<<<<<<< HEAD\n"),
]
# A .yaml file with a valid id as its name but no record inside: a broken record file.
BROKEN_STRAYS = [("zz-stray.yaml", b"::: garbage :::\n"), ("zz-empty.yaml", b"")]


def _ended(data: bytes) -> bytes:
    """`data` ending with a newline, as an editor leaves a file before one types more."""
    return data if data.endswith(b"\n") or not data else data + b"\n"


def answered_cleanly(r: Result, args: tuple[str, ...]) -> None:
    """Exit 0, 1 or 2; on 1 an `Error:` line; never a traceback or an internal error."""
    where = f"crm {' '.join(args)}\n{r.err}"
    assert r.code in (0, 1, 2), where
    assert "Traceback" not in r.err + r.out, where
    assert "Error: unexpected" not in r.err, where  # main's line for a bug
    if r.code == 1:
        assert any(line.startswith("Error: ") for line in r.err.splitlines()), where


class CrmMachine(RuleBasedStateMachine):
    base: Path  # set by the test: where each run's CRM is made
    ids = random.Random()

    @classmethod
    def new_id(cls) -> str:
        """Ids as crm makes them, from a seeded generator instead of `secrets`."""
        return "".join(cls.ids.choice(ID_ALPHABET) for _ in range(ID_LENGTH))

    def __init__(self) -> None:
        super().__init__()
        self.ids.seed(0)  # the same ids on every run: a failure replays and shrinks
        self.root = Path(tempfile.mkdtemp(dir=self.base)) / "crm"
        init(self.root, "Property CRM")
        os.environ["CRM_DIR"] = str(self.root)  # the test's monkeypatch restores it
        self.live: dict[str, dict[str, dict]] = {k: {} for k in KINDS}
        self.gone: dict[str, set[str]] = {k: set() for k in KINDS}  # removed or broken ids
        self.merged: dict[str, str] = {}  # customer id -> the customer it was merged into
        self.broken: dict[str, bytes] = {}  # rel path -> bytes of a file broken by hand
        self.good: dict[str, tuple[bytes, dict]] = {}  # rel path -> last good bytes, fields
        self.strays: dict[str, bytes] = {}  # rel path -> bytes of a non-record file
        self.unknown: dict[str, tuple[str, str]] = {}  # rel path -> unknown key kept in it
        self.no_index = False

    # ----- running crm --------------------------------------------------------------

    def crm(self, *args: str, input: str | None = None, repairs: bool = False) -> Result:
        """Run one command and check what every command promises (`repairs`: doctor --fix,
        which exits 1 for the problems it leaves after repairing what it can)."""
        before = snapshot(self.root)
        if self.no_index:
            os.environ["CRM_NO_INDEX"] = "1"
        try:
            r = run(*args, input=input)
        finally:
            os.environ.pop("CRM_NO_INDEX", None)
        answered_cleanly(r, args)
        with open("/tmp/prop.log", "a") as log:
            log.write(f"{r.code} {args[:2]} {r.err.splitlines()[-1:] if r.code else ''}\n")
        after = snapshot(self.root)
        if r.code != 0 and not repairs:
            assert after == before, f"crm {' '.join(args)} failed and changed files"
        for rel, data in {**self.broken, **self.strays}.items():
            assert after.get(rel) == data, f"crm {' '.join(args)} changed {rel}"
        if r.code == 0:
            self._discover(before, after)
        return r

    def _discover(self, before: dict[str, bytes], after: dict[str, bytes]) -> None:
        """Records a command created (a converted lead's customer, a task's next
        occurrence) join the model as they were written."""
        for rel in sorted(set(after) - set(before)):
            folder, _, name = rel.partition("/")
            kind = next((k for k in KINDS if models.KINDS[k] == folder), None)
            if kind is None or not name.endswith(".yaml"):
                continue
            data = yamlio.loads(after[rel].decode("utf-8"))
            if "merged_into" not in data:
                self.live[kind][name[: -len(".yaml")]] = {f: data.get(f) for f in TRACKED[kind]}

    def _follow(self, kind: str, rid: str) -> str | None:
        """The live record id `rid` is or was merged into; None if there is none."""
        seen = set()
        while kind == "customer" and rid in self.merged and rid not in seen:
            seen.add(rid)
            rid = self.merged[rid]
        return rid if rid in self.live[kind] else None

    def target(self, kind: str, ref: str) -> str | None:
        """The live record `ref` (an id, or a unique prefix of ids) names, as REFs are
        resolved (a task's next occurrence `ID-DATE` is found by ID once ID is gone)."""
        if (self.root / models.KINDS[kind] / f"{ref}.yaml").is_file() or len(ref) < 4:
            return self._follow(kind, ref)
        merged = set(self.merged) if kind == "customer" else set()
        ends = {self._follow(kind, i) for i in self.live[kind].keys() | merged if i.startswith(ref)}
        return ends.pop() if len(ends) == 1 else None

    def ref(self, kind: str, n: int) -> str:
        """An id to refer to: mostly a live record, now and then a removed or broken one."""
        live = sorted(self.live[kind])
        others = sorted(self.gone[kind] | (set(self.merged) if kind == "customer" else set()))
        if others and (not live or n % 6 == 0):
            return others[n % len(others)]
        return live[n % len(live)] if live else "nosuch1"

    def on(self, kind: str, ref: str, *args: str, **values: object) -> tuple[Result, str | None]:
        """Run a command on record `ref`; on success the model takes `values` for it."""
        rid = self.target(kind, ref)
        r = self.crm(*args, input="from stdin")
        if r.code == 0:
            assert rid is not None, f"crm {' '.join(args)} succeeded on a record the model lacks"
            self.live[kind][rid].update(values)
        return r, rid

    @initialize()
    def seed(self) -> None:
        """A few records of each kind to start from, written through the store."""
        s = Store(self.root)
        acme = s.create("customer", name="Acme", emails=["info@acme.de"])
        wang = s.create("customer", name="王芳", kind="person")
        s.create("lead", name="Li Wei", company="Acme", status="new")
        s.create("lead", name="Zoë", status="contacted")
        s.create("deal", title="Pump order", customer=acme["id"], stage="new")
        s.create("deal", title="Service", customer=wang["id"], stage="proposal")
        s.create("task", title="Call back", customer=acme["id"], every="1w")
        s.create("task", title="Send quote")
        s.add_activity(acme["id"], "note", "Met at the fair")
        self._discover({}, snapshot(self.root))

    # ----- commands -----------------------------------------------------------------

    @rule(name=NAMES, email=EMAILS)
    def customer_add(self, name: str, email: str) -> None:
        r = self.crm("customer", "add", name, *(["--email", email] * bool(email)), "-f", "json")
        if r.code == 0:
            rec = r.json()
            assert self.live["customer"][rec["id"]] == {"name": name.strip()}

    @rule(n=PICK, name=NAMES, email=EMAILS)
    def customer_edit(self, n: int, name: str, email: str) -> None:
        ref = self.ref("customer", n)
        email_opt = ["--email", email] if email else []
        self.on(
            "customer", ref, "customer", "edit", ref, "--name", name, *email_opt, name=name.strip()
        )

    @rule(n=PICK, text=TEXTS)
    def customer_note(self, n: int, text: str) -> None:
        ref = self.ref("customer", n)
        self.on("customer", ref, "customer", "note", ref, text)

    @rule(n=PICK, force=st.booleans())
    def customer_rm(self, n: int, force: bool) -> None:
        ref = self.ref("customer", n)
        r, rid = self.on("customer", ref, "customer", "rm", ref, *(["--force"] * force))
        if r.code == 0:
            del self.live["customer"][rid]
            self.gone["customer"].add(rid)

    @rule(a=PICK, b=PICK, dry=st.booleans())
    def customer_merge(self, a: int, b: int, dry: bool) -> None:
        keep, other = self.ref("customer", a), self.ref("customer", b)
        kept, folded = self.target("customer", keep), self.target("customer", other)
        r = self.crm("customer", "merge", keep, other, *(["--dry-run"] * dry))
        if r.code == 0 and not dry:
            assert kept is not None and folded is not None and kept != folded, (keep, other)
            del self.live["customer"][folded]
            self.merged[folded] = kept

    @rule(name=NAMES, company=st.sampled_from(["", "Acme", "王芳", "New Co"]), email=EMAILS)
    def lead_add(self, name: str, company: str, email: str) -> None:
        extra = [*(["--company", company] * bool(company)), *(["--email", email] * bool(email))]
        r = self.crm("lead", "add", name, *extra, "-f", "json")
        if r.code == 0:
            rec = r.json()
            assert self.live["lead"][rec["id"]] == {"name": name.strip(), "status": "new"}

    @rule(n=PICK, name=NAMES)
    def lead_edit(self, n: int, name: str) -> None:
        ref = self.ref("lead", n)
        self.on("lead", ref, "lead", "edit", ref, "--name", name, name=name.strip())

    @rule(n=PICK, status=st.sampled_from(["new", "contacted", "qualified", "disqualified", "x"]))
    def lead_status(self, n: int, status: str) -> None:
        ref = self.ref("lead", n)
        was = self.live["lead"].get(self.target("lead", ref) or "", {}).get("status")
        r, _ = self.on("lead", ref, "lead", "status", ref, status, "--note", "why", status=status)
        assert r.code != 0 or was != "converted", "a converted lead's status changed"

    @rule(n=PICK, c=PICK, to_customer=st.booleans(), deal=st.sampled_from(["", "Pump order"]))
    def lead_convert(self, n: int, c: int, to_customer: bool, deal: str) -> None:
        ref = self.ref("lead", n)
        extra = ["--customer", self.ref("customer", c)] if to_customer else []
        extra += ["--deal", deal, "--amount", "1200.50"] if deal else []
        customer = self.target("customer", extra[1]) if to_customer else None
        r, _ = self.on(
            "lead", ref, "lead", "convert", ref, *extra, "-f", "json", status="converted"
        )
        if r.code == 0 and to_customer:
            assert customer is not None, f"converted to {extra[1]}, which the model lacks"
        if r.code == 0 and deal:
            out = r.json()["deal"]
            assert self.live["deal"][out["id"]] == {
                "title": deal,
                "status": "open",
                "stage": "new",
            }

    @rule(title=NAMES, c=PICK, stage=st.sampled_from(["", *STAGES, "won", "nope"]))
    def deal_add(self, title: str, c: int, stage: str) -> None:
        stage_opt = ["--stage", stage] if stage else []
        customer = self.ref("customer", c)
        live = self.target("customer", customer) is not None
        r = self.crm("deal", "add", title, "--customer", customer, *stage_opt, "-f", "json")
        if r.code == 0:
            assert live, f"a deal added to {customer}, which the model lacks"
            expected = {"title": title.strip(), "status": "open", "stage": stage or "new"}
            assert self.live["deal"][r.json()["id"]] == expected

    @rule(n=PICK, stage=st.sampled_from([*STAGES, "won", "nope"]))
    def deal_move(self, n: int, stage: str) -> None:
        ref = self.ref("deal", n)
        self.on("deal", ref, "deal", "move", ref, stage, stage=stage)

    @rule(n=PICK)
    def deal_won(self, n: int) -> None:
        ref = self.ref("deal", n)
        self.on("deal", ref, "deal", "won", ref, status="won", stage="won")

    @rule(n=PICK)
    def deal_lost(self, n: int) -> None:
        ref = self.ref("deal", n)
        self.on("deal", ref, "deal", "lost", ref, "--reason", "price", status="lost", stage="lost")

    @rule(
        title=NAMES,
        c=PICK,
        link=st.booleans(),
        due=st.sampled_from(["", "tomorrow", "+1w", "2026-12-01T14:00", "not a date"]),
        every=st.sampled_from(["", "1w", "1m", "0d"]),
    )
    def task_add(self, title: str, c: int, link: bool, due: str, every: str) -> None:
        extra = ["--customer", self.ref("customer", c)] if link else []
        extra += [*(["--due", due] * bool(due)), *(["--every", every] * bool(every))]
        r = self.crm("task", "add", title, *extra, "-f", "json")
        if r.code == 0:
            expected = {"title": title.strip(), "status": "open"}
            assert self.live["task"][r.json()["id"]] == expected

    @rule(n=PICK)
    def task_done(self, n: int) -> None:
        ref = self.ref("task", n)
        self.on("task", ref, "task", "done", ref, status="done")

    @rule(n=PICK)
    def task_cancel(self, n: int) -> None:
        ref = self.ref("task", n)
        self.on("task", ref, "task", "cancel", ref, status="cancelled")

    @rule(fix=st.booleans())
    def doctor(self, fix: bool) -> None:
        r = self.crm("doctor", *(["--fix"] * fix), repairs=fix)
        out = r.out + r.err
        for rel in self.broken:
            assert rel in out, f"doctor did not name {rel}"

    @rule(fmt=st.sampled_from(["jsonl", "csv", "vcf"]), kind=st.sampled_from(KINDS))
    def export(self, fmt: str, kind: str) -> None:
        r = self.crm("export", "--format", fmt, *(["--kind", kind] * (fmt == "csv")))
        if fmt == "jsonl":
            assert r.code == 0, r.err
            exported = {(line["kind"], line["id"]) for line in map(json.loads, r.out.splitlines())}
            for k in KINDS:
                missing = {(k, rid) for rid in self.live[k]} - exported
                assert not missing, f"export lost {missing}"

    @rule(kind=st.sampled_from(KINDS), n=PICK, fmt=st.sampled_from(["table", "json"]))
    def show(self, kind: str, n: int, fmt: str) -> None:
        ref = self.ref(kind, n)
        rid = self.target(kind, ref)
        r = self.crm(kind, "show", ref, "--format", fmt)
        assert (r.code == 0) == (rid is not None), f"{kind} show {ref}: exit {r.code}"
        if fmt == "json" and rid:
            assert r.json()["id"] == rid

    @rule(which=st.sampled_from(READS))
    def read(self, which: tuple[str, ...]) -> None:
        r = self.crm(*which)
        assert r.code == 0, r.err

    @rule()
    def toggle_index(self) -> None:
        self.no_index = not self.no_index

    # ----- hand edits ---------------------------------------------------------------

    def _file(self, kind: str, n: int) -> tuple[str, Path] | None:
        live = sorted(self.live[kind])
        if not live:
            return None
        rid = live[n % len(live)]
        return rid, self.root / models.KINDS[kind] / f"{rid}.yaml"

    def _break(
        self, kind: str, rid: str, path: Path, data: bytes, original: bytes | None = None
    ) -> None:
        """The file of a live record now holds `data`, which crm must refuse."""
        rel = path.relative_to(self.root).as_posix()
        self.good[rel] = (original or path.read_bytes(), self.live[kind].pop(rid))
        path.write_bytes(data)
        self.broken[rel] = data
        self.gone[kind].add(rid)

    def _rewrite(self, path: Path, key: str, value: str) -> bytes:
        """The file with the line of `key` replaced by `key: value` (YAML text)."""
        lines = path.read_bytes().decode("utf-8").splitlines(keepends=True)
        out = [f"{key}: {value}\n" if line.startswith(f"{key}:") else line for line in lines]
        return "".join(out).encode("utf-8")

    @rule(kind=st.sampled_from(KINDS), n=PICK, name=NAMES.filter(lambda s: s == s.strip()))
    def hand_rename(self, kind: str, n: int, name: str) -> None:
        found = self._file(kind, n)
        if found:
            rid, path = found
            path.write_bytes(self._rewrite(path, TITLE[kind], json.dumps(name, ensure_ascii=False)))
            self.live[kind][rid][TITLE[kind]] = name

    @rule(n=PICK, status=st.sampled_from(["new", "contacted", "qualified", "disqualified"]))
    def hand_lead_status(self, n: int, status: str) -> None:
        found = self._file("lead", n)
        if found:
            rid, path = found
            path.write_bytes(self._rewrite(path, "status", status))
            self.live["lead"][rid]["status"] = status

    @rule(kind=st.sampled_from(KINDS), n=PICK, which=PICK)
    def hand_bad_value(self, kind: str, n: int, which: int) -> None:
        found = self._file(kind, n)
        if found:
            rid, path = found
            key, value = BAD_VALUES[kind][which % len(BAD_VALUES[kind])]
            data = self._rewrite(path, key, value)
            if data != path.read_bytes():
                self._break(kind, rid, path, data)

    @rule(kind=st.sampled_from(KINDS), n=PICK, which=PICK)
    def hand_invalid_yaml(self, kind: str, n: int, which: int) -> None:
        found = self._file(kind, n)
        if found:
            self._break(kind, *found, INVALID_YAML[which % len(INVALID_YAML)])

    @rule(kind=st.sampled_from(KINDS), n=PICK, which=PICK)
    def hand_append_garbage(self, kind: str, n: int, which: int) -> None:
        found = self._file(kind, n)
        if found:
            rid, path = found
            self._break(kind, rid, path, _ended(path.read_bytes()) + GARBAGE[which % len(GARBAGE)])

    @rule(kind=st.sampled_from(KINDS), n=PICK, which=PICK)
    def hand_unknown_key(self, kind: str, n: int, which: int) -> None:
        found = self._file(kind, n)
        if found:
            rid, path = found
            key, value = UNKNOWN_KEYS[which % len(UNKNOWN_KEYS)]
            if key.encode() not in path.read_bytes():
                path.write_bytes(_ended(path.read_bytes()) + f"{key}: {value}\n".encode())
                self.unknown[path.relative_to(self.root).as_posix()] = (key, value)

    @rule(kind=st.sampled_from(KINDS), n=PICK)
    def hand_duplicate_key(self, kind: str, n: int) -> None:
        """Both sides of a git conflict kept: the same key twice is a broken file."""
        found = self._file(kind, n)
        if found:
            rid, path = found
            self._break(
                kind, rid, path, _ended(path.read_bytes()) + b"%s: Other\n" % TITLE[kind].encode()
            )

    @rule(kind=st.sampled_from(KINDS), n=PICK, cut=st.floats(min_value=0, max_value=0.999))
    def hand_truncate(self, kind: str, n: int, cut: float) -> None:
        found = self._file(kind, n)
        if not found:
            return
        rid, path = found
        original = path.read_bytes()
        data = original[: int(len(original) * cut)]
        path.write_bytes(data)
        try:  # whether what is left is still a record is for crm's core parser to say
            rec = Store(self.root).read_file(kind, path)
        except CrmError:
            self._break(kind, rid, path, data, original)
            return
        self.live[kind][rid] = {f: rec.get(f) for f in TRACKED[kind]}
        rel = path.relative_to(self.root).as_posix()
        if rel in self.unknown:  # the cut may have shortened or dropped it
            key = self.unknown[rel][0]
            if key in rec:
                self.unknown[rel] = (key, str(rec[key]))
            else:
                del self.unknown[rel]

    @rule(kind=st.sampled_from(KINDS), n=PICK)
    def hand_delete(self, kind: str, n: int) -> None:
        found = self._file(kind, n)
        if found:
            rid, path = found
            path.unlink()
            del self.live[kind][rid]
            self.gone[kind].add(rid)
            self.unknown.pop(path.relative_to(self.root).as_posix(), None)

    @rule(kind=st.sampled_from(KINDS), n=PICK)
    def hand_copy(self, kind: str, n: int) -> None:
        """A copy of a record under another id-like name (a backup, a git checkout)."""
        found = self._file(kind, n)
        if found:
            rid, path = found
            copy = path.with_name(f"{rid}-copy.yaml")
            if not copy.exists():
                copy.write_bytes(path.read_bytes())
                self.live[kind][copy.stem] = dict(self.live[kind][rid])

    @rule(kind=st.sampled_from(KINDS), which=PICK, broken=st.booleans())
    def hand_stray(self, kind: str, which: int, broken: bool) -> None:
        pool = BROKEN_STRAYS if broken else STRAYS
        name, data = pool[which % len(pool)]
        rel = f"{models.KINDS[kind]}/{name}"
        (self.root / rel).write_bytes(data)
        (self.broken if broken else self.strays)[rel] = data

    @precondition(lambda self: self.broken)
    @rule(n=PICK)
    def hand_restore(self, n: int) -> None:
        """A broken file put back as it was (git checkout): its record lists again."""
        rel = sorted(self.broken)[n % len(self.broken)]
        if rel not in self.good:
            return
        folder, _, name = rel.partition("/")
        kind = next(k for k in KINDS if models.KINDS[k] == folder)
        data, fields = self.good.pop(rel)
        (self.root / rel).write_bytes(data)
        del self.broken[rel]
        rid = name[: -len(".yaml")]
        self.gone[kind].discard(rid)
        self.live[kind][rid] = fields

    # ----- what holds after every step ----------------------------------------------

    @invariant()
    def every_record_lists(self) -> None:
        files = snapshot(self.root)
        for kind in KINDS:
            for no_index in (False, True):
                self._check_list(kind, no_index)
        assert snapshot(self.root) == files, "a list changed files"
        for rel, (key, value) in self.unknown.items():
            folder, _, name = rel.partition("/")
            kind = next(k for k in KINDS if models.KINDS[k] == folder)
            if name[: -len(".yaml")] not in self.live[kind]:
                continue  # removed, merged or broken since
            data = yamlio.loads(files[rel].decode("utf-8"))
            assert str(data.get(key)) == value, f"{rel} lost its {key}"

    def _check_list(self, kind: str, no_index: bool) -> None:
        if no_index:
            os.environ["CRM_NO_INDEX"] = "1"
        try:
            r = run(*LISTS[kind], "--format", "json")
        finally:
            os.environ.pop("CRM_NO_INDEX", None)
        answered_cleanly(r, tuple(LISTS[kind]))
        assert r.code == 0, r.err
        listed = {rec["id"]: {f: rec.get(f) for f in TRACKED[kind]} for rec in r.json()}
        assert listed == self.live[kind], f"{kind} list (no index: {no_index})"
        folder = models.KINDS[kind] + "/"
        for rel in self.broken:
            if rel.startswith(folder):
                assert f"Warning: skipping {rel}" in r.err, f"{kind} list did not warn of {rel}"


def test_random_commands_and_hand_edits_lose_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(CrmMachine, "base", tmp_path, raising=False)
    monkeypatch.setenv("CRM_DIR", str(tmp_path))  # restored after the machine sets its own
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # durability is tested elsewhere; speed
    monkeypatch.setattr(store, "new_id", CrmMachine.new_id)
    run_state_machine_as_test(
        CrmMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
