"""README's Tour runs as written (issue 14 item 8): its shell blocks, in order, on a
fresh `crm init`, each command exiting 0; so the Tour cannot drift from the code.

`crm` runs in this process (as tests do everywhere, for speed); other commands (git,
cat) through a shell. A line is a list of simple commands joined by `&&` or `;`, each
perhaps fed by a pipe or writing to a file with `>`: all the Tour uses."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from conftest import FIXTURES, run, set_settings

from crmcli import yamlio

README = Path(__file__).resolve().parents[1] / "README.md"
NOW = "2026-11-23T10:00:00+08:00"  # a Monday


def tour_steps(text: str) -> list[tuple[str, str]]:
    """The Tour (from `## Tour` to the next `## `) as steps: ("sh", a command line) for
    each line of its shell blocks, ("yaml", settings) for a block to put in crm.yaml."""
    tour = text.split("\n## Tour\n", 1)[1].split("\n## ", 1)[0]
    steps = []
    for lang, body in re.findall(r"^```(sh|yaml)\n(.*?)^```", tour, flags=re.S | re.M):
        if lang == "yaml":
            steps.append(("yaml", body))
        else:
            steps += [("sh", line) for line in body.splitlines() if line.strip()]
    return steps


def _segments(line: str) -> list[list[str]]:
    """`a && b; c | d > f` as [[a], [b], [c, '|', d, '>', f]]: words, operators apart."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|>")
    lex.whitespace_split = True
    lex.commenters = "#"
    out: list[list[str]] = [[]]
    for word in lex:
        if word in ("&&", ";"):
            out.append([])
        else:
            out[-1].append(word)
    return [s for s in out if s]


def _shell(words: list[str], stdin: str | None, home: Path) -> tuple[int, str, str]:
    try:
        p = subprocess.run(words, input=stdin, capture_output=True, text=True, cwd=os.getcwd())
    except FileNotFoundError:
        return 127, "", f"{words[0]}: command not found"
    return p.returncode, p.stdout, p.stderr


def _run_segment(words: list[str], home: Path) -> tuple[int, str]:
    """Run one `cmd [| cmd]... [> file]`; its exit code and what it said on failure."""
    words = [str(home) + w[1:] if w.startswith("~") else w for w in words]
    target = None
    if ">" in words:
        words, target = words[: words.index(">")], words[words.index(">") + 1]
    if words[0] == "cd":
        os.chdir(words[1])
        return 0, ""
    data: str | None = None
    while words:
        cmd = words[: words.index("|")] if "|" in words else words
        words = words[len(cmd) + 1 :]
        if cmd[0] == "crm":
            r = run(*cmd[1:], input=data)
            code, data, err = r.code, r.out, r.err
        else:
            code, data, err = _shell(cmd, data, home)
        if code:
            return code, err
    if target:
        Path(target).write_text(data or "", encoding="utf-8")
    return 0, ""


def test_tour_lines_parse_as_the_shell_does():
    assert _segments('crm a "b c"   # note') == [["crm", "a", "b c"]]
    assert _segments("cd x && echo 'y z' | crm n - > f; crm m") == [
        ["cd", "x"], ["echo", "y z", "|", "crm", "n", "-", ">", "f"], ["crm", "m"]
    ]  # fmt: skip


def test_readme_tour_runs_in_order_on_a_fresh_crm(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above
    monkeypatch.setenv("CRM_NOW", NOW)
    for key in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{key}_NAME", "Alice")
        monkeypatch.setenv(f"GIT_{key}_EMAIL", "alice@ourco.example")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("EDITOR", "true")  # `edit --editor`: saved as it was shown
    monkeypatch.delenv("VISUAL", raising=False)
    crm = home / "crm"
    assert run("init", str(crm)).code == 0
    # The files a user brings to `lead import`: the Tour names them, the fixtures hold them.
    for name, data in TOUR_FILES.items():
        (crm / name).write_bytes(
            data if isinstance(data, bytes) else (FIXTURES / data).read_bytes()
        )
    monkeypatch.chdir(crm)
    steps = tour_steps(README.read_text(encoding="utf-8"))
    assert len(steps) > 60
    failed = []
    for kind, line in steps:
        if kind == "yaml":
            set_settings(Path.cwd(), **yamlio.loads(line))
            continue
        for words in _segments(line):
            code, err = _run_segment(words, home)
            if code:
                failed.append(f"`{line}` exited {code}: {err.strip()}")
                break
    assert not failed, "README Tour:\n" + "\n".join(failed)


TOUR_FILES = {
    "cards.vcf": "cards_v3.vcf",
    "contacts.csv": "outlook_export.csv",
    "linkedin.csv": "linkedin_connections.csv",
    "odd.csv": "odd_headers.csv",
    "bare.csv": b"Eva Klein,Klein KG,eva@klein.de\nTom Berg,Berg AG,tom@berg.de\n",
    "old.vcf": "BEGIN:VCARD\nVERSION:3.0\nFN:山田太郎\nORG:山田商事\nEND:VCARD\n".encode(
        "shift_jis"
    ),
    "expo.vcf": "cards_v3.vcf",
    "cards.csv": "outlook_export.csv",
}
