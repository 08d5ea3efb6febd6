"""Make docs/dashboard.png: the demo CRM's dashboard (a copy in git, for the changes
panel) as Debian's headless chromium shows it (README shows it).

    python docs/screenshot.py            # from the repository, with crm installed

The clock is fixed (CRM_NOW), so the picture changes only when the dashboard or the
demo does. tests/test_dashboard.py opens dashboards with the same `chromium` helper.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOW = "2026-11-23T10:00:00+08:00"
WIDTH = 1200
# No network, no background services, no profile of the user's: a page opened as is.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-extensions", "--hide-scrollbars"]  # fmt: skip


def chromium(page: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run headless chromium on `page` (a local file) with `args` (--dump-dom,
    --screenshot=FILE ...) in a throwaway profile; FileNotFoundError without chromium."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="crm-chromium-") as profile:
        argv = [exe, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def ink_rows(png: Path) -> int:
    """The number of the picture's rows, from the top, down to its last one that is not
    all white (a screenshot taller than the page ends in white)."""
    from PIL import Image, ImageOps

    with Image.open(png) as img:
        box = ImageOps.invert(img.convert("L")).getbbox()
    return box[3] if box else 0


def demo_in_git(folder: Path) -> Path:
    """A copy of examples/demo in a git repository of one commit, made when its
    records were (2026-11-02), so the changes panel has a history to read."""
    shutil.copytree(REPO / "examples" / "demo", folder)
    when = "2026-11-02T09:00:00+08:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    git = ["git", "-C", str(folder), "-c", "user.name=alice", "-c", "user.email=alice@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "demo"]):
        subprocess.run([*git, *args], env=env, check=True)
    return folder


def main() -> int:
    out = REPO / "docs" / "dashboard.png"
    env = {**os.environ, "CRM_NOW": NOW, "CRM_USER": "alice", "NO_COLOR": "1",
           "CRM_DIR": str(REPO / "examples" / "demo")}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="crm-dashboard-") as tmp:
        env["CRM_DIR"] = str(demo_in_git(Path(tmp) / "demo"))
        page = Path(tmp) / "dashboard.html"
        crm = [sys.executable, "-m", "crmcli", "report", "dashboard", "-o", str(page)]
        subprocess.run(crm, env=env, check=True)
        shot = Path(tmp) / "shot.png"
        done = chromium(page, f"--screenshot={shot}", f"--window-size={WIDTH},6000")
        if not shot.is_file():
            sys.exit(f"chromium made no screenshot: {done.stderr.strip()[-500:]}")
        from PIL import Image

        with Image.open(shot) as img:
            img.crop((0, 0, WIDTH, min(img.height, ink_rows(shot) + 24))).save(out, optimize=True)
    print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
