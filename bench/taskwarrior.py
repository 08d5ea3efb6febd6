"""`crm task list --overdue` beside taskwarrior's `task +OVERDUE list` on the same tasks.

    python bench/taskwarrior.py [--sizes 10000 100000] [--runs 5] [--cache DIR]
    python bench/taskwarrior.py --quick

For each size N: the cached CRM of N tasks (bench/generate.py --tasks-only), its
tasks exported to taskwarrior's JSON and loaded with `task import` into a
throwaway TASKDATA/TASKRC, then, in the same run and alternating, the median of
--runs timed runs (after a warm-up) of

    crm task list --overdue --format json                 (CRM_NOW fixed)
    task rc.verbose=nothing rc.color=off rc.gc=off +OVERDUE list
    task rc.verbose=nothing rc.color=off rc.gc=off +OVERDUE export   (JSON, like crm's)

Taskwarrior's "now" is the real clock and cannot be set, so every date is shifted
by (real now - CRM_NOW) on the way in: the same 30% of tasks are overdue for both
(the script checks the counts agree). Done tasks go in as completed, cancelled as
deleted; recurrence is left out (taskwarrior would expand it into more tasks).
Skipped with a message when `task` is not on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import harness
from harness import size_label

TW_RC = ["rc.verbose=nothing", "rc.color=off", "rc.gc=off", "rc.hooks=off", "rc.recurrence=off"]
PRIORITY = {"low": "L", "normal": None, "high": "H", "urgent": "H"}
STATUS = {"open": "pending", "done": "completed", "cancelled": "deleted"}


def read_tasks(root: Path) -> list[dict]:
    """Every task of the CRM, read as crm reads them."""
    from crmcli.store import Store

    store = Store(root)
    tasks = store.query("task")
    if store.warnings:
        raise SystemExit(f"{root}: {store.warnings[0]}")
    return tasks


def to_taskwarrior(tasks: list[dict], shift_seconds: float) -> list[dict]:
    """Taskwarrior's import JSON for `tasks`, every time moved by `shift_seconds`."""
    from datetime import timedelta

    from crmcli.dates import parse_iso

    shift = timedelta(seconds=shift_seconds)

    def when(text: str | None) -> str | None:
        if not text:
            return None
        moved = parse_iso(text).astimezone(timezone.utc) + shift
        return moved.strftime("%Y%m%dT%H%M%SZ")

    out = []
    for t in tasks:
        item = {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm:task:{t['id']}")),
            "description": t["title"],
            "status": STATUS[t["status"]],
            "entry": when(t["created"]),
            "modified": when(t["updated"]),
            "tags": [t["kind"]],
        }
        if t.get("owner"):
            item["project"] = t["owner"]
        if t.get("due"):
            item["due"] = when(t["due"])
        if PRIORITY.get(t["priority"]):
            item["priority"] = PRIORITY[t["priority"]]
        if t["status"] != "open":
            item["end"] = when(t.get("done_at") or t["updated"])
        out.append(item)
    return out


def load_taskwarrior(data: Path, items: list[dict]) -> dict[str, str]:
    """A throwaway taskwarrior holding `items`; returns its environment."""
    data.mkdir(parents=True)
    rc = data / "taskrc"
    rc.write_text(f"data.location={data}\nconfirmation=off\nhooks=off\nnews.version=2.6.2\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASK")}
    env.update(TASKRC=str(rc), TASKDATA=str(data))
    src = data / "import.json"
    src.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    subprocess.run(
        ["task", "rc.verbose=nothing", "import", str(src)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    src.unlink()
    return env


def count(argv: list[str], env: dict[str, str], cwd: Path) -> int:
    run = harness.timed(argv, env, cwd, keep_out=True)
    if run.code != 0:
        raise RuntimeError(harness.first_error(run))
    return len(json.loads(run.out))


def compare(root: Path, n: int, runs: int, crm: list[str], work: Path, log) -> dict:
    tasks = read_tasks(root)
    crm_now = datetime.fromisoformat(harness.NOW)
    shift = (datetime.now(timezone.utc) - crm_now).total_seconds()
    env_tw = load_taskwarrior(work / f"tw-{n}", to_taskwarrior(tasks, shift))
    env_crm = harness.bench_env(crm_dir=root)
    cwd = work
    argv = {
        "crm task list --overdue --format json": (
            [*crm, "task", "list", "--overdue", "--format", "json"],
            env_crm,
        ),
        "task +OVERDUE list": (["task", *TW_RC, "+OVERDUE", "list"], env_tw),
        "task +OVERDUE export": (
            ["task", *TW_RC, "rc.json.array=on", "+OVERDUE", "export"],
            env_tw,
        ),
    }
    first = harness.timed(argv["crm task list --overdue --format json"][0], env_crm, cwd)
    why = harness.missing(first) or (harness.first_error(first) if first.code else None)
    if why:
        log(f"crm task list --overdue: {why}")
        argv.pop("crm task list --overdue --format json")
    counts = {
        "taskwarrior": count(argv["task +OVERDUE export"][0], env_tw, cwd),
    }
    if "crm task list --overdue --format json" in argv:
        counts["crm"] = count(argv["crm task list --overdue --format json"][0], env_crm, cwd)
    times: dict[str, list[float]] = {k: [] for k in argv}
    peaks: dict[str, list[float]] = {k: [] for k in argv}
    cpus: dict[str, list[float]] = {k: [] for k in argv}
    for i in range(runs + 1):  # the first round warms up; rounds alternate the tools
        for name, (args, env) in argv.items():
            run = harness.timed(args, env, cwd)
            if run.code != 0:
                raise RuntimeError(f"{name}: {harness.first_error(run)}")
            if i:
                times[name].append(run.seconds)
                peaks[name].append(run.peak_mb)
                cpus[name].append(run.cpu)
        if i:
            log(f"  {size_label(n)} round {i}: " + ", ".join(f"{times[k][-1]:.3f}" for k in times))
    return {
        "tasks": n,
        "counts": counts,
        "median": {k: harness.median(v) for k, v in times.items()},
        "cpu": {k: harness.median(v) for k, v in cpus.items()},
        "peak_mb": {k: max(v) for k, v in peaks.items()},
    }


def table(results: list[dict]) -> str:
    lines = [
        "| tasks | overdue (crm / task) | crm s (cpu) | task list s (cpu) | task export s (cpu) "
        "| crm ÷ task list | crm ÷ task export | peak MB (crm / task) |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    key = "crm task list --overdue --format json"
    for r in results:
        med, peak, c, cpu = r["median"], r["peak_mb"], r["counts"], r["cpu"]
        crm_s = med.get(key)
        tl, te = med["task +OVERDUE list"], med["task +OVERDUE export"]

        def both(name: str, med=med, cpu=cpu) -> str:
            return f"{med[name]:.3f} ({cpu[name]:.3f})" if name in med else "n/a"

        cells = [
            size_label(r["tasks"]),
            f"{c.get('crm', 'n/a')} / {c['taskwarrior']}",
            both(key),
            both("task +OVERDUE list"),
            both("task +OVERDUE export"),
            "n/a" if crm_s is None else f"{crm_s / tl:.2f}",
            "n/a" if crm_s is None else f"{crm_s / te:.2f}",
            f"{peak[key]:.0f}" if key in peak else "n/a",
        ]
        cells[-1] += f" / {peak['task +OVERDUE list']:.0f}"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], metavar="N")
    p.add_argument("--runs", type=int, default=5, help="timed rounds (default 5)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cache", type=Path, default=harness.DEFAULT_CACHE, help="generated CRMs")
    p.add_argument("--crm", help="the command to time (default: crm of this venv)")
    p.add_argument("--quick", action="store_true", help="200 tasks, one round")
    p.add_argument("--update", type=Path, metavar="FILE", help="rewrite FILE's taskwarrior section")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = [200], 1

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if not shutil.which("task"):
        log("taskwarrior is not installed (no `task` on PATH): skipped.")
        log("Install it (Debian/Ubuntu: apt-get install taskwarrior) to compare.")
        return 0
    crm = harness.crm_command(args.crm)
    load_before = harness.load()
    code_before = harness.code_version()
    results = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-tw-") as tmp:
        for n in args.sizes:
            root = harness.cached_crm(
                args.cache, n, seed=args.seed, now=harness.NOW, tasks_only=True, log=log
            )
            log(f"{size_label(n)} tasks: loading taskwarrior")
            results.append(compare(root, n, args.runs, crm, Path(tmp), log))
    m = harness.machine()
    if m["commit"] != code_before:
        m["commit"] += f" (started at {code_before})"
    version = subprocess.run(["task", "--version"], capture_output=True, text=True).stdout.strip()
    text = (
        f"Run on {time.strftime('%Y-%m-%d')} at commit {m['commit']}: {m['cpus']} CPUs "
        f"({m['cpu']}), Python {m['python']}, taskwarrior {version}, {m['os']}; median of "
        f"{args.runs} alternating rounds after a warm-up, load average {load_before} before, "
        f"{harness.load()} after.\n\n" + table(results)
    )
    print(text)
    if args.update:
        harness.update_section(args.update, "bench:taskwarrior", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
