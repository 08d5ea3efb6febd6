"""Every test gets a throwaway CRM, a fixed clock (CRM_NOW) and a fixed user."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crmcli.app import main
from crmcli.store import Store, init

NOW = "2026-11-23T10:00:00+08:00"
SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        import json

        return json.loads(self.out)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """Fixed clock and user, no colour, no stray CRM from the environment."""
    monkeypatch.setenv("CRM_NOW", NOW)
    monkeypatch.setenv("CRM_USER", "alice")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("CRM_DIR", raising=False)
    monkeypatch.delenv("CRM_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)


def _write_tz(root: Path, tz: str = "Asia/Shanghai") -> None:
    path = root / "crm.yaml"
    text = path.read_text(encoding="utf-8")
    lines = [
        f"timezone: {tz}" if line.startswith("timezone:") else line for line in text.splitlines()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def crm(tmp_path, monkeypatch) -> Path:
    """A fresh CRM (timezone Asia/Shanghai) that commands find through CRM_DIR."""
    root = tmp_path / "crm"
    init(root, "Test CRM")
    _write_tz(root)
    monkeypatch.setenv("CRM_DIR", str(root))
    return root


@pytest.fixture(params=["index", "no index"])
def index(request, crm, monkeypatch) -> Iterator[bool]:
    """Run the test twice: reading through the index, and with it off (CRM_NO_INDEX=1,
    the index an earlier fixture built removed); after it, the index is there or not."""
    on = request.param == "index"
    if not on:
        monkeypatch.setenv("CRM_NO_INDEX", "1")
        for path in crm.glob(".crm/index-*"):
            path.unlink()
    yield on
    assert bool(list(crm.glob(".crm/index-*.sqlite"))) == on


@pytest.fixture
def store(crm) -> Store:
    return Store(crm)


def set_settings(root: Path, **values) -> None:
    """Replace top-level keys of crm.yaml (tests of settings-driven behaviour)."""
    from crmcli import yamlio

    path = root / "crm.yaml"
    data = yamlio.loads(path.read_text(encoding="utf-8")) or {}
    data.update(values)
    path.write_text(yamlio.dumps(data), encoding="utf-8")


def run(*args: str, input: str | None = None) -> Result:
    """Run `crm ARGS...` in this process, as the console script would."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    old_argv, old_stdin = sys.argv, sys.stdin
    sys.argv = ["crm", *args]
    sys.stdin = io.StringIO(input or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv, sys.stdin = old_argv, old_stdin
    return Result(code, out.getvalue(), err.getvalue())


def snapshot(root: Path, pattern: str = "**/*") -> dict[str, bytes]:
    """The bytes of every file under `root` that matches `pattern`, by its path, the
    derived .crm/ folder left out: what a refused command must leave as it was."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.glob(pattern))
        if p.is_file() and ".crm" not in p.relative_to(root).parts
    }


def refused(r: Result, *words: str) -> None:
    """The command failed as a user error: exit 1, one `Error: ...` line naming `words`."""
    assert r.code == 1, (r.out, r.err)
    assert r.err.startswith("Error: "), r.err
    assert "Traceback" not in r.err
    for w in words:
        assert w in r.err.splitlines()[0], r.err


def added(kind: str, *args: str) -> dict:
    """`crm KIND add ARGS... --format json` succeeded; the record it printed."""
    r = run(kind, "add", *args, "--format", "json")
    assert r.code == 0, r.err
    return r.json()


@pytest.fixture
def cli():
    return run
