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
each on a fresh copy: into an empty CRM and into the N-record one. A command that
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


# ----- the plan ----------------------------------------------------------------------------


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
    if args.only:
        cases = [c for c in cases if any(o in c.name for o in args.only)]
    return cases


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
