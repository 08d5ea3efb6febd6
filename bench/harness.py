"""What the benchmark scripts share: the `crm` to run, its environment, generated
CRMs cached by size and seed, and one timed process with its peak memory."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import generate  # noqa: E402

NOW = generate.NOW
USER = "alice"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "crm-bench"


def crm_command(given: str | None = None) -> list[str]:
    """`crm` of this venv (beside sys.executable), else on PATH, else `python -m crmcli`."""
    if given:
        return shlex.split(given)
    beside = Path(sys.executable).parent / "crm"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("crm")
    if found:
        return [found]
    return [sys.executable, "-m", "crmcli"]


def bench_env(now: str = NOW, crm_dir: Path | None = None) -> dict[str, str]:
    """The environment of every timed run: fixed clock and user, no colour."""
    # PYTHONDONTWRITEBYTECODE (set on some sandboxes) would recompile crm's modules on
    # every run, which no installed crm does: timings leave it out.
    dropped = ("CRM_DIR", "CRM_DEBUG", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(CRM_NOW=now, CRM_USER=USER, NO_COLOR="1", COLUMNS="80", LC_ALL="C.UTF-8")
    if crm_dir is not None:
        env["CRM_DIR"] = str(crm_dir)
    return env


def run_crm(crm: list[str], argv: list[str], root: Path) -> None:
    """Run crm once, untimed, on the CRM at `root` (output discarded)."""
    subprocess.run(
        [*crm, *argv],
        env=bench_env(crm_dir=root),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )


def size_label(n: int) -> str:
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


# ----- cached CRMs ------------------------------------------------------------------------


def _stamp(**params: object) -> str:
    """What a cached CRM was made from: the generator's source and the arguments."""
    source = (HERE / "generate.py").read_bytes()
    if params.get("history"):
        source += (HERE / "history.py").read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    return f"generate.py {digest} " + " ".join(f"{k}={v}" for k, v in sorted(params.items()))


def cached_crm(
    cache: Path,
    records: int,
    *,
    seed: int,
    now: str,
    tasks_only: bool = False,
    history: int = 0,
    log=print,
) -> Path:
    """A generated CRM under `cache`, made again when the generator or arguments changed
    (`history`: in git, with about that many commits)."""
    name = f"{'tasks' if tasks_only else 'mixed'}-{records}-s{seed}"
    if history:
        name += f"-git{history}"
    root = cache / name
    marker = cache / f"{name}.ok"
    stamp = _stamp(records=records, seed=seed, now=now, tasks_only=tasks_only, history=history)
    if root.is_dir() and marker.is_file() and marker.read_text() == stamp:
        return root
    if root.exists():
        shutil.rmtree(root)
    marker.unlink(missing_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    counts = generate.generate(
        root, records, seed=seed, now=now, tasks_only=tasks_only, history=history
    )
    took = time.perf_counter() - start
    log(f"generated {root}: {sum(counts.values())} records in {took:.1f} s")
    marker.write_text(stamp)
    return root


def cached_csv(cache: Path, rows: int, *, crm: Path, seed: int) -> Path:
    """The business-card CSV for `crm lead import` whose duplicates come from `crm`."""
    path = cache / f"import-{rows}-{crm.name}.csv"
    marker = path.with_suffix(".ok")
    stamp = _stamp(rows=rows, crm=crm.name, seed=seed)
    if path.is_file() and marker.is_file() and marker.read_text() == stamp:
        return path
    generate.write_import_csv(path, rows, seed=seed, crm=crm)
    marker.write_text(stamp)
    return path


def cached_mail(
    cache: Path, messages: int, customers: int, *, seed: int, now: str, log=print
) -> tuple[Path, Path]:
    """A CRM of `customers` customers (a generated CRM of ten times as many records,
    settings `mail` for its own addresses) and an mbox of `messages` messages with
    them (bench/mailgen.py)."""
    name = f"mail-{customers}-s{seed}"
    root, mbox = cache / name, cache / f"{name}-{messages}.mbox"
    marker = cache / f"{name}-{messages}.ok"
    stamp = _stamp(customers=customers, messages=messages, seed=seed, now=now)
    if root.is_dir() and mbox.is_file() and marker.is_file() and marker.read_text() == stamp:
        return root, mbox
    if root.exists():
        shutil.rmtree(root)
    marker.unlink(missing_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    generate.generate(root, customers * 10, seed=seed, now=now)
    generate.write_mail(root, mbox, messages, seed=seed, customers=customers)
    log(f"generated {root} and {mbox.name} in {time.perf_counter() - start:.1f} s")
    marker.write_text(stamp)
    return root, mbox


def files_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every record file's (size, mtime_ns) and crm.yaml's: what `changes nothing` keeps."""
    out = {}
    for rel in sorted(record_files(root)) + ["crm.yaml"]:
        st = os.stat(root / rel)
        out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def empty_crm(path: Path) -> Path:
    """A fresh CRM with the generated CRMs' settings and no records."""
    from crmcli.store import init

    init(path, "Bench CRM")
    generate.write_settings(path, "Bench CRM (empty)")
    return path


def copy_crm(src: Path, dst: Path) -> Path:
    """A copy of a CRM (records, settings and any derived .crm/ data)."""
    if shutil.which("cp"):
        subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    else:
        shutil.copytree(src, dst, symlinks=True)
    return dst


def record_files(root: Path) -> set[str]:
    """The record files of a CRM, as kind/name."""
    out = set()
    for folder in generate.models.KINDS.values():
        with os.scandir(root / folder) as it:
            out.update(f"{folder}/{e.name}" for e in it if e.name.endswith(".yaml"))
    return out


# ----- one timed process -------------------------------------------------------------------


@dataclass
class Run:
    seconds: float  # wall time
    peak_mb: float
    code: int
    cpu: float = 0.0  # user + system time of the process
    out: bytes = b""
    err: str = ""
    timed_out: bool = False


def timed(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    timeout: float = 600,
    keep_out: bool = False,
) -> Run:
    """Run `argv` once through bench/spawn.py: wall time around the whole process,
    CPU time, and its own peak RSS (see spawn.py for why not from this process).
    Output goes to temporary files, so a big JSON list costs what a redirect costs."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory(prefix="crm-bench-run-") as tmp,
    ):
        result = Path(tmp) / "result.json"
        launcher = [sys.executable, "-I", "-S", str(HERE / "spawn.py"), str(result), str(timeout)]
        proc = subprocess.run(
            [*launcher, "--", *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=cwd,
        )
        out.seek(0)
        err.seek(0)
        errors = err.read().decode("utf-8", "replace")
        if proc.returncode != 0 or not result.is_file():
            raise RuntimeError(f"bench/spawn.py failed (exit {proc.returncode}): {errors[-500:]}")
        r = json.loads(result.read_text())
        return Run(
            seconds=r["seconds"],
            peak_mb=r["peak_mb"],
            code=r["code"],
            cpu=r["cpu"],
            out=out.read() if keep_out else b"",
            err=errors,
            timed_out=r["timed_out"],
        )


def missing(run: Run) -> str | None:
    """Why a command counts as not there yet (n/a), or None when it ran."""
    if run.code == 0:
        return None
    text = run.err
    for needle in ("No such command", "No such option", "not built yet", "Got unexpected extra"):
        if needle in text:
            line = next((x for x in text.splitlines() if needle in x), needle)
            return line.strip().strip("│|").strip()
    return None


def first_error(run: Run) -> str:
    lines = [x.strip() for x in run.err.splitlines() if x.strip()]
    pick = next((x for x in lines if x.startswith("Error")), lines[-1] if lines else "")
    return f"exit {run.code}: {pick}"[:120]


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def update_section(path: Path, marker: str, text: str) -> None:
    """Replace what is between <!-- MARKER --> and <!-- /MARKER --> in `path` with
    `text` (appending the section when the markers are missing)."""
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    body = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{start}\n{text}\n{end}"
    if start in body and end in body:
        a, b = body.index(start), body.index(end) + len(end)
        body = body[:a] + block + body[b:]
    else:
        body = body.rstrip("\n") + ("\n\n" if body else "") + block + "\n"
    path.write_text(body, encoding="utf-8")


# ----- the machine ---------------------------------------------------------------------------


def load() -> str:
    """The 1-minute load average: other work on the machine slows the wall times."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def code_version() -> str:
    """HEAD's short hash, with a note when crmcli/ has uncommitted changes."""
    try:
        git = ["git", "-C", str(REPO)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "crmcli"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return f"{head} (+ uncommitted changes in crmcli/)" if dirty else head


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = code_version()
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "commit": commit,
    }
