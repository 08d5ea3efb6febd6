"""Time the main `crm` commands as whole processes against their targets.

    python bench/run.py [--sizes 10000 100000] [--runs 5] [--cache DIR] [--update BENCHMARKS.md]
    python bench/run.py --quick          # a tiny CRM, one run each: checks the script works

For each size N it generates (once, cached under --cache) a CRM of N records of
every kind and one of N tasks, then runs each command --runs times after one
warm-up run and reports the median wall time and the peak memory (the maximum
resident set size of the process, from os.wait4) against the targets. Every run
has CRM_NOW, CRM_USER, NO_COLOR and CRM_DIR set. `crm task add` runs on the cached
CRM and its new files are removed after each run; `crm lead import` of a CSV of
business cards (with duplicates of leads already there) runs --import-runs times,
each on a fresh copy: into an empty CRM and into the N-record one; `crm mail import`
of an mbox of 10,000 messages with 2,000 customers (of a generated CRM of 20,000
records; bench/mailgen.py) into a fresh copy, and again into a copy that has it
(which must change no file), once whatever the sizes. A command that
does not exist yet (exit 2 "No such command", or "not built yet") is "n/a".

Prints a markdown table; --update FILE rewrites the results section of FILE
(between the bench:results markers), --json FILE saves every run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import harness
from harness import Run, size_label

MEMORY_MB = 150
SEARCH = "schmidt"
FIND = "quote friday"  # crm search: every word, in notes (about one note in eight)


def task_list_target(tasks: int) -> float:
    """0.18 s at 10,000 tasks and 0.8 s at 100,000; linear between, proportional above."""
    if tasks <= 10_000:
        return 0.18
    if tasks <= 100_000:
        return 0.18 + (0.8 - 0.18) * (tasks - 10_000) / 90_000
    return 0.8 * tasks / 100_000


def doctor_target(records: int) -> float:
    """5 s at 100,000 records, proportional above; 1 s at 20,000 and below."""
    return max(1.0, 5.0 * records / 100_000)


@dataclass
class Case:
    """One command on one CRM, with its time target in seconds."""

    name: str
    args: list[str]
    crm: str  # a label: "10k records", "10k tasks", "empty", "-"
    target: float | None
    target_text: str = ""
    root: Path | None = None
    runs: int = 5
    warmup: bool = True
    before: Callable[[], Path | None] | None = None  # a fresh CRM per run, or None
    after: Callable[[Path | None], None] | None = None
    check: Callable[[Run, Path | None], str] | None = None
    codes: tuple[int, ...] = (0,)  # the exits of a run that did its work


@dataclass
class Result:
    case: Case
    runs: list[Run] = field(default_factory=list)
    status: str = ""
    note: str = ""

    @property
    def median(self) -> float | None:
        return harness.median([r.seconds for r in self.runs]) if self.runs else None

    @property
    def cpu(self) -> float | None:
        return harness.median([r.cpu for r in self.runs]) if self.runs else None

    @property
    def peak(self) -> float | None:
        return max(r.peak_mb for r in self.runs) if self.runs else None


def measure(case: Case, crm: list[str], cwd: Path, log, timeout: float) -> Result:
    res = Result(case)
    total = case.runs + (1 if case.warmup else 0)
    for i in range(total):
        root = case.root
        try:
            root = case.before() if case.before else case.root
            env = harness.bench_env(crm_dir=root)
            run = harness.timed(
                [*crm, *case.args], env, cwd, timeout=timeout, keep_out=case.check is not None
            )
            note = case.check(run, root) if case.check and run.code in case.codes else ""
        except Exception as e:  # noqa: BLE001 - the harness failed: report it, go on
            res.status, res.note = "error", f"harness: {type(e).__name__}: {e}"[:160]
            return res
        finally:
            if case.after:
                case.after(root)  # errors here are the harness's own bugs: let them show
        why = harness.missing(run)
        if why:
            res.status, res.note = "n/a", why
            return res
        if run.timed_out:
            res.status, res.note = "timeout", f"killed after {timeout:.0f} s"
            return res
        if run.code not in case.codes:
            res.status, res.note = "error", harness.first_error(run)
            return res
        if note:
            res.note = note
        if case.warmup and i == 0:
            continue
        res.runs.append(run)
        log(f"  {case.name} [{case.crm}] run {len(res.runs)}: {run.seconds:.3f} s")
    med, peak = res.median, res.peak
    assert med is not None and peak is not None
    fails = []
    if case.target is not None and med > case.target:
        fails.append("time")
    if peak > MEMORY_MB:
        fails.append("memory")
    res.status = "FAIL (" + ", ".join(fails) + ")" if fails else "pass"
    return res


# ----- checks of what a command printed (is it doing the real work?) ------------------------


def expect_count(expected: int, what: str) -> Callable[[Run, Path | None], str]:
    def check(run: Run, root: Path | None) -> str:
        try:
            got = len(json.loads(run.out))
        except (ValueError, TypeError):
            return "output is not a JSON list"
        return f"{got} {what}" + ("" if got == expected else f" (expected {expected})")

    return check


def json_count(what: str) -> Callable[[Run, Path | None], str]:
    def check(run: Run, root: Path | None) -> str:
        try:
            return f"{len(json.loads(run.out))} {what}"
        except (ValueError, TypeError):
            return "output is not a JSON list"

    return check


def table_rows(what: str) -> Callable[[Run, Path | None], str]:
    """How many rows a table printed (its header and rule aside), and what it said
    about the rest (`N more not shown`)."""

    def check(run: Run, root: Path | None) -> str:
        rows = max(0, len(run.out.splitlines()) - 2)
        more = [line for line in run.err.splitlines() if "more not shown" in line]
        return f"{rows} {what}" + (f", {more[0].split(' more')[0]} more" if more else "")

    return check


def summary_line(run: Run, root: Path | None) -> str:
    """What `crm doctor` said in the end (how many problems it found)."""
    lines = run.err.strip().splitlines()
    return lines[-1].removeprefix("Error: ") if lines else ""


def page_written(page: Path) -> Callable[[Run, Path | None], str]:
    """How big the dashboard page is and how many charts it has (then removes it)."""

    def check(run: Run, root: Path | None) -> str:
        if not page.is_file():
            return "no page written"
        text = page.read_text(encoding="utf-8")
        page.unlink()
        return f"{len(text) // 1024} KB, {text.count('<svg id=')} charts"

    return check


def leads_added(before: int) -> Callable[[Run, Path | None], str]:
    def check(run: Run, root: Path | None) -> str:
        assert root is not None
        now = sum(1 for p in (root / "leads").iterdir() if p.suffix == ".yaml")
        return f"+{now - before} leads"

    return check


class KeepFiles:
    """Runs on a cached CRM that must not grow: the record files a run adds are removed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: set[str] = set()

    def before(self) -> Path:
        self.files = harness.record_files(self.root)
        return self.root

    def added(self, run: Run, root: Path | None) -> str:
        new = sorted(harness.record_files(self.root) - self.files)
        return f"adds {', '.join(x.split('/')[0] for x in new) or 'nothing'}"

    def after(self, root: Path | None) -> None:
        for rel in harness.record_files(self.root) - self.files:
            (self.root / rel).unlink()


class FreshCopy:
    """Each run on a fresh copy of a CRM (made outside the timed part), removed after.

    The copy is made as the CRM it copies was: its files on disk (synced, so the
    timed command does not wait for the copy's writes) and its index in step (a copy
    has new inodes, so the index it carries would be rebuilt: `warm` runs the
    untimed reads that bring it up to date, as any earlier command would have)."""

    def __init__(self, src: Path, copies: Path, crm: list[str], warm: list[list[str]]) -> None:
        self.src, self.copies, self.crm, self.warm = src, copies, crm, warm

    def before(self) -> Path:
        if self.copies.exists():
            shutil.rmtree(self.copies)
        self.copies.mkdir(parents=True)
        root = harness.copy_crm(self.src, self.copies / self.src.name)
        for argv in self.warm:
            harness.run_crm(self.crm, argv, root)
        os.sync()
        return root

    def after(self, root: Path | None) -> None:
        shutil.rmtree(self.copies, ignore_errors=True)


class Restore(KeepFiles):
    """Runs that change one record (`task done`): its file is put back as it was and
    the files a run adds are removed."""

    def __init__(self, root: Path, rel: str) -> None:
        super().__init__(root)
        self.rel = rel
        self.data = (root / rel).read_bytes()

    def after(self, root: Path | None) -> None:
        super().after(root)
        (self.root / self.rel).write_bytes(self.data)


def ref_examples(root: Path) -> dict[str, str]:
    """REFs the REF rows use, found in a generated CRM by crmcli itself: a customer's
    id, its exact name, a unique part of the name (that no exact or prefix step
    finds), a misspelt name that matches nothing, an open one-off task's unique part
    of its title and a misspelt title."""
    from crmcli import refs
    from crmcli.errors import CrmError
    from crmcli.store import Store

    store = Store(root)

    def part_of(kind: str, rec: dict, key: str) -> str | None:
        text = rec[key]
        for part in (text[2:-2], text[1:-1], text[:-1]):
            try:
                m = refs.match(store, kind, part, suggest=False)
            except CrmError:
                continue
            if m.level == refs.SUBSTRING and m.record["id"] == rec["id"]:
                return part
        return None

    def misspelt(kind: str, text: str) -> str | None:
        """`text` with two letters swapped, if that then matches nothing."""
        typo = text[:3] + text[4] + text[3] + text[5:]
        try:
            refs.resolve(store, kind, typo)
        except refs.NotFoundError:
            return typo
        except CrmError:
            pass
        return None

    out: dict[str, str] = {}
    for c in store.query("customer", fields=("id", "name")):
        part = part_of("customer", c, "name")
        typo = part and misspelt("customer", c["name"])
        if typo and refs.resolve(store, "customer", c["name"])["id"] == c["id"]:
            out.update(id=c["id"], name=c["name"], part=part, typo=typo)
            break
    for t in store.query("task", {"status": "open"}, fields=("id", "title", "every")):
        part = None if t["every"] else part_of("task", t, "title")
        typo = part and misspelt("task", t["title"])
        if typo:
            out.update(task=t["id"], task_part=part, task_typo=typo)
            break
    return out


def near_names(run: Run, root: Path | None) -> str:
    """How many names a no-match error offered under "Did you mean:"."""
    lines = run.err.splitlines()
    if "Did you mean:" not in lines:
        return "no near names"
    return f"{len(lines) - lines.index('Did you mean:') - 1} near names"


def ref_cases(timed: Callable[..., Case], mixed: Path, label: str) -> list[Case]:
    """The rows of commands that take a REF (crmcli/refs.py), on the N-record CRM."""
    ex = ref_examples(mixed)
    if "task" not in ex or "id" not in ex:
        return []
    done = Restore(mixed, f"tasks/{ex['task']}.yaml")
    show = ["customer", "show"]
    # no match: every name of the kind is read for "did you mean"
    missed = partial(timed, crm=label, target=1.0, root=mixed, codes=(1,), check=near_names)
    return [
        timed("crm customer show ID", [*show, ex["id"]], label, 1.0, root=mixed),
        timed("crm customer show NAME", [*show, ex["name"]], label, 1.0, root=mixed),
        timed("crm customer show PART-OF-NAME", [*show, ex["part"]], label, 1.0, root=mixed),
        missed("crm customer show MISSPELT (no match)", [*show, ex["typo"]]),
        missed("crm task show MISSPELT (no match)", ["task", "show", ex["task_typo"]]),
        timed(
            "crm task done PART-OF-TITLE",
            ["task", "done", ex["task_part"]],
            label,
            0.5,
            root=mixed,
            before=done.before,
            after=done.after,
            check=done.added,
        ),
    ]


# ----- the plan ----------------------------------------------------------------------------


HISTORY_COMMITS = 2000


def changes_note(run: Run, root: Path | None) -> str:
    """What `report changes --format json` found: deals changed, and that the waterfall adds up."""
    from decimal import Decimal

    try:
        data = json.loads(run.out, parse_float=Decimal)
    except ValueError:
        return "output is not JSON"
    ok = all(
        sum((Decimal(str(s["amount"])) for s in steps[:-1]), Decimal(0))
        == Decimal(str(steps[-1]["amount"]))
        for steps in data["waterfall"].values()
    )
    return f"{len(data['deals'])} deals changed, waterfall {'adds up' if ok else 'DOES NOT ADD UP'}"


def history_cases(args: argparse.Namespace, n: int, label: str, timed: Any, log: Any) -> list[Case]:
    """`report funnel --as-of` 6 months back, `report changes --since` 30 days and
    `report dashboard`, on the N-record CRM in git with HISTORY_COMMITS commits over
    the year before now."""
    root = harness.cached_crm(
        args.cache, n, seed=args.seed, now=harness.NOW, history=HISTORY_COMMITS, log=log
    )
    git_label = f"{label}, {HISTORY_COMMITS:,} commits"
    page = Path(tempfile.gettempdir()) / f"crm-bench-dashboard-{os.getpid()}.html"
    return [
        timed(
            'crm report funnel --as-of "6 months ago"',
            ["report", "funnel", "--as-of", "6 months ago", "--format", "json"],
            git_label,
            5.0,
            root=root,
        ),
        timed(
            'crm report changes --since "30 days ago"',
            ["report", "changes", "--since", "30 days ago", "--format", "json"],
            git_label,
            5.0,
            root=root,
            check=changes_note,
        ),
        timed(  # every report, the changes of 30 days from the history, 7 charts
            "crm report dashboard -o FILE.html",
            ["report", "dashboard", "-o", str(page)],
            git_label,
            15.0,
            root=root,
            check=page_written(page),
        ),
    ]


def plan(args: argparse.Namespace, work: Path, log) -> list[Case]:
    """The cases in the order they run (imports last: their copies then hold the
    derived data that the earlier runs built)."""
    timed = partial(Case, runs=args.runs, warmup=not args.quick)
    imported = partial(Case, runs=args.import_runs, warmup=False)
    overdue = ["task", "list", "--overdue", "--format", "json"]
    search = ["customer", "list", "--search", SEARCH, "--format", "json"]
    cases = [
        timed("crm --version", ["--version"], "-", 0.10),
        timed("crm --help", ["--help"], "-", 0.15),
    ]
    template = harness.empty_crm(work / "empty-template")
    for n in args.sizes:
        mixed = harness.cached_crm(args.cache, n, seed=args.seed, now=harness.NOW, log=log)
        counts = harness.generate.counts_for(n)
        label = f"{size_label(n)} records"
        if not args.quick:  # N tasks: the task-list targets are set for 10k and 100k tasks
            tasks = harness.cached_crm(
                args.cache, n, seed=args.seed, now=harness.NOW, tasks_only=True, log=log
            )
            tlabel, keep = f"{size_label(n)} tasks", KeepFiles(tasks)
            cases += [
                timed(
                    "crm task list --overdue --format json",
                    overdue,
                    tlabel,
                    task_list_target(n),
                    root=tasks,
                    check=expect_count(round(n * 0.30), "tasks"),
                ),
                timed(
                    'crm task add "x"',
                    ["task", "add", "x"],
                    tlabel,
                    0.2,
                    root=tasks,
                    before=keep.before,
                    after=keep.after,
                    check=keep.added,
                ),
            ]
        keep = KeepFiles(mixed)
        cases += [
            timed(
                f"crm customer list --search {SEARCH} --format json",
                search,
                label,
                1.0,
                root=mixed,
                check=json_count("customers"),
            ),
            timed(
                f'crm search "{FIND}"',
                ["search", FIND],
                label,
                0.5,
                root=mixed,
                check=table_rows("hits"),
            ),
            timed(
                "crm task list --overdue --format json",
                overdue,
                label,
                task_list_target(counts["task"]),
                root=mixed,
                check=expect_count(round(counts["task"] * 0.30), "tasks"),
            ),
            timed("crm task remind", ["task", "remind"], label, 1.0, root=mixed),
            timed("crm today", ["today"], label, 1.0, root=mixed),
            timed("crm report funnel", ["report", "funnel"], label, 1.5, root=mixed),
            timed(  # on the files as they are: its warm-up run is the one that reads them all
                "crm doctor",
                ["doctor"],
                label,
                doctor_target(n),
                root=mixed,
                codes=(0, 1),  # 1: problems found (the generated CRMs have duplicate e-mails)
                check=summary_line,
            ),
            timed(
                'crm task add "x"',
                ["task", "add", "x"],
                label,
                0.2,
                root=mixed,
                before=keep.before,
                after=keep.after,
                check=keep.added,
            ),
        ]
        cases += ref_cases(timed, mixed, label)
        if not args.quick:  # the same CRM with a year of git history: reports over time
            cases += history_cases(args, n, label, timed, log)
        csv = harness.cached_csv(args.cache, args.import_rows, crm=mixed, seed=args.seed)
        argv = ["lead", "import", str(csv), *args.import_args]
        name = f"crm lead import ({size_label(args.import_rows)} rows CSV)"
        copies = work / f"copies-{n}"
        crm = harness.crm_command(args.crm)
        warm = [["lead", "list", "--limit", "1"], ["customer", "list", "--limit", "1"]]
        into_empty = FreshCopy(template, copies, crm, warm)
        into_mixed = FreshCopy(mixed, copies, crm, warm)
        cases += [
            imported(
                name,
                argv,
                "empty",
                10.0,
                before=into_empty.before,
                after=into_empty.after,
                check=leads_added(0),
            ),
            imported(
                name,
                argv,
                label,
                None,  # twice the empty import's median, set when that is known
                target_text="≤2× empty",
                before=into_mixed.before,
                after=into_mixed.after,
                check=leads_added(counts["lead"]),
            ),
        ]
    cases += mail_cases(args, work, imported)
    if args.only:
        cases = [c for c in cases if any(o in c.name for o in args.only)]
    return cases


def mail_cases(args: argparse.Namespace, work: Path, imported: Callable[..., Case]) -> list[Case]:
    """`crm mail import` of an mbox of --mail-messages messages (10,000) with 2,000
    customers matched, each run into a fresh copy: ≤20 s; and importing it again into
    a copy that has it already, which must change no file: ≤5 s."""
    n, customers = args.mail_messages, args.mail_customers
    root, mbox = harness.cached_mail(args.cache, n, customers, seed=args.seed, now=harness.NOW)
    crm = harness.crm_command(args.crm)
    warm = [["customer", "list", "--limit", "1"], ["lead", "list", "--limit", "1"],
            ["deal", "list", "--limit", "1"], ["task", "remind"]]  # fmt: skip
    fresh = FreshCopy(root, work / "mail-copies", crm, warm)
    argv = ["mail", "import", str(mbox), "--format", "json"]
    label = f"{size_label(customers)} customers"
    state: dict[str, dict] = {}

    def imported_before() -> Path:
        copy = fresh.before()
        harness.run_crm(crm, argv, copy)  # the first import: untimed
        os.sync()
        state["before"] = harness.files_state(copy)
        return copy

    def unchanged(run: Run, root: Path | None) -> str:
        assert root is not None
        said = mail_summary(run, root)
        same = harness.files_state(root) == state["before"]
        return said + ("; no file changed" if same else "; FILES CHANGED")

    name = f"crm mail import ({size_label(n)} messages mbox)"
    return [
        imported(name, argv, label, 20.0, before=fresh.before, after=fresh.after,
                 check=mail_summary),
        imported(f"{name} again", argv, label, 5.0, before=imported_before, after=fresh.after,
                 check=unchanged),
    ]  # fmt: skip


def mail_summary(run: Run, root: Path | None) -> str:
    """What `crm mail import --format json` counted."""
    try:
        d = json.loads(run.out)
    except (ValueError, TypeError):
        return "output is not JSON"
    return (f"{d['logged']} logged ({d['entries']} entries), {d['already']} already, "
            f"{d['unknown']} unknown, {d['internal']} internal")  # fmt: skip


# ----- output --------------------------------------------------------------------------------


def fmt_s(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}" if x < 10 else f"{x:.1f}"


def table(results: list[Result]) -> str:
    head = "| command | CRM | runs | median s | cpu s | peak MB | target | result | notes |"
    lines = [head, "|---|---|--:|--:|--:|--:|---|---|---|"]
    for r in results:
        c = r.case
        target = c.target_text or ("—" if c.target is None else f"≤{c.target:.3g} s")
        if c.target_text and c.target is not None:
            target = f"{c.target_text} = ≤{c.target:.3g} s"
        peak = "—" if r.peak is None else f"{r.peak:.0f}"
        note = r.note.replace("|", "\\|")
        lines.append(
            f"| `{c.name}` | {c.crm} | {len(r.runs) or '—'} | {fmt_s(r.median)} | {fmt_s(r.cpu)} | {peak} "
            f"| {target} | {r.status} | {note} |"
        )
    return "\n".join(lines)


def report(results: list[Result], args: argparse.Namespace, took: float) -> str:
    m = harness.machine()
    moved = "" if m["commit"] == args.code_before else f" (started at {args.code_before})"
    counted = [r for r in results if r.runs]
    passed = sum(1 for r in counted if r.status == "pass")
    na = sum(1 for r in results if r.status == "n/a")
    sizes = ", ".join(size_label(n) for n in args.sizes)
    return "\n".join(
        [
            f"Run on {time.strftime('%Y-%m-%d')} at commit {m['commit']}{moved}: {m['cpus']} CPUs "
            f"({m['cpu']}), Python {m['python']}, {m['os']}. Sizes {sizes}, seed {args.seed}, "
            f"median of {args.runs} runs{'' if args.quick else ' after a warm-up'} "
            f"(imports: {args.import_runs} runs "
            f"on fresh copies); peak memory target ≤{MEMORY_MB} MB for every command. "
            f"{passed} of {len(counted)} measured pass, {na} n/a; the whole run took "
            f"{took / 60:.1f} min, load average {args.load_before} before, {harness.load()} after.",
            "",
            table(results),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], metavar="N")
    p.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    p.add_argument("--import-runs", type=int, default=3, help="runs of lead import (default 3)")
    p.add_argument("--import-rows", type=int, default=10_000, help="rows of the CSV (10000)")
    p.add_argument(
        "--import-args", default="", help="extra arguments for `crm lead import`, e.g. '--yes'"
    )
    p.add_argument("--mail-messages", type=int, default=10_000, help="messages of the mbox (10000)")
    p.add_argument(
        "--mail-customers", type=int, default=2000, help="customers the mbox matches (2000)"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cache", type=Path, default=harness.DEFAULT_CACHE, help="generated CRMs")
    p.add_argument("--crm", help="the command to time (default: crm of this venv)")
    p.add_argument("--only", nargs="+", metavar="TEXT", help="only commands containing TEXT")
    p.add_argument("--timeout", type=float, default=600, help="seconds before a run is killed")
    p.add_argument("--quick", action="store_true", help="200 records, one run each, no warm-up")
    p.add_argument("--update", type=Path, metavar="FILE", help="rewrite FILE's results section")
    p.add_argument("--json", type=Path, metavar="FILE", help="save every run as JSON")
    args = p.parse_args(argv)
    args.import_args = args.import_args.split()
    if args.quick:
        args.sizes, args.runs, args.import_runs, args.import_rows = [200], 1, 1, 50
        args.mail_messages, args.mail_customers = 100, 20
    if args.runs < 1 or args.import_runs < 1:
        p.error("--runs and --import-runs must be at least 1")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    crm = harness.crm_command(args.crm)
    args.load_before = harness.load()
    args.code_before = harness.code_version()
    start = time.perf_counter()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as tmp:
        work = Path(tmp)
        cwd = work / "cwd"  # not inside any CRM
        cwd.mkdir()
        cases = plan(args, work, log)
        empty_import: Result | None = None
        for case in cases:
            if case.target_text and empty_import is not None and empty_import.median:
                case.target = 2 * empty_import.median
            log(f"{case.name} [{case.crm}]")
            res = measure(case, crm, cwd, log, args.timeout)
            if case.crm == "empty":
                empty_import = res
            log(f"  -> {res.status} {fmt_s(res.median)} s {res.note}")
            results.append(res)
    text = report(results, args, time.perf_counter() - start)
    print(text)
    if args.update:
        harness.update_section(args.update, "bench:results", text)
    if args.json:
        data = [
            {
                "command": r.case.name,
                "crm": r.case.crm,
                "target": r.case.target,
                "status": r.status,
                "note": r.note,
                "seconds": [x.seconds for x in r.runs],
                "cpu": [x.cpu for x in r.runs],
                "peak_mb": [x.peak_mb for x in r.runs],
            }
            for r in results
        ]
        args.json.write_text(json.dumps({"machine": harness.machine(), "results": data}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
