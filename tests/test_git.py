"""Team use over git: init --git, autocommit, history, undo, sync with the merge
driver between two clones of one CRM (a bare repository as the remote)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import NOW, run

from crmcli import yamlio
from crmcli.git import autocommit as gitcommit
from crmcli.git import setup as gitsetup
from crmcli.store import Store


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr}")
    return proc.stdout


def _git_env(mp, home: Path) -> None:
    """git with no user or system config, a known identity, and no prompts."""
    home.mkdir(exist_ok=True)
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GIT_TERMINAL_PROMPT", "0")
    for who in ("AUTHOR", "COMMITTER"):
        mp.setenv(f"GIT_{who}_NAME", "Alice")
        mp.setenv(f"GIT_{who}_EMAIL", "alice@example.com")


@pytest.fixture
def gitenv(tmp_path, monkeypatch):
    _git_env(monkeypatch, tmp_path / "home")
    return monkeypatch


class Clock:
    """CRM_NOW moving one minute per command, so `updated` tells changes apart."""

    def __init__(self, monkeypatch, start: str = "2026-11-23T10:00:00+08:00") -> None:
        self.t = datetime.fromisoformat(start)
        self.mp = monkeypatch

    def tick(self) -> None:
        self.t += timedelta(minutes=1)
        self.mp.setenv("CRM_NOW", self.t.isoformat())


class Clone:
    def __init__(self, root: Path, user: str, mp, clock: Clock) -> None:
        self.root, self.user, self.mp, self.clock = root, user, mp, clock

    def crm(self, *args: str, ok: bool = True):
        self.clock.tick()
        self.mp.setenv("CRM_USER", self.user.lower())
        for who in ("AUTHOR", "COMMITTER"):
            self.mp.setenv(f"GIT_{who}_NAME", self.user)
            self.mp.setenv(f"GIT_{who}_EMAIL", f"{self.user.lower()}@example.com")
        r = run("--dir", str(self.root), *args)
        if ok:
            assert r.code == 0, r.err
        return r

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.root, *args, check=check)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def files_in_head(self) -> list[str]:
        out = self.git("show", "--name-only", "--format=", "HEAD")
        return sorted(line for line in out.splitlines() if line)

    def subject(self) -> str:
        return self.git("log", "-1", "--format=%s").strip()

    def load(self, kind_folder: str, rid: str) -> dict:
        return yamlio.loads((self.root / kind_folder / f"{rid}.yaml").read_text("utf-8"))

    def tree(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and not ({".git", ".crm"} & set(p.relative_to(self.root).parts))
        }


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch, "2026-11-23T11:00:00+08:00")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """Built once: Alice's CRM (git, branch main, autocommit on, one customer)
    pushed to a bare remote, and Bob's clone of it set up with crm init --git.
    Remote URLs are relative, so a copy of the folder is a team of its own."""
    base = tmp_path_factory.mktemp("team")
    with pytest.MonkeyPatch.context() as mp:
        _git_env(mp, base / "home")
        mp.setenv("NO_COLOR", "1")
        mp.delenv("CRM_DIR", raising=False)
        clock = Clock(mp, "2026-11-23T09:00:00+08:00")
        root = base / "alice"
        git(base, "init", "-q", "-b", "main", str(root))
        a = Clone(root, "Alice", mp, clock)
        r = a.crm("init", str(root), "--name", "Team CRM", "--git")
        assert "merge driver registered" in r.out
        text = (root / "crm.yaml").read_text("utf-8")
        text = re.sub(r"(?m)^timezone:.*$", "timezone: Asia/Shanghai", text)
        (root / "crm.yaml").write_text(text, encoding="utf-8")
        a.git("commit", "-qam", "timezone")
        a.crm("customer", "add", "Acme GmbH", "--email", "info@acme.de", "--tag", "vip")
        git(base, "init", "-q", "--bare", "-b", "main", "remote.git")
        a.git("remote", "add", "origin", "../remote.git")
        r = a.crm("sync")
        assert "pushed" in r.out
        git(base, "clone", "-q", "remote.git", "bob")
        b = Clone(base / "bob", "Bob", mp, clock)
        b.git("remote", "set-url", "origin", "../remote.git")
        before = b.tree()
        r = b.crm("init", str(b.root), "--git")
        assert "merge driver registered" in r.out
        assert b.tree() == before  # crm init --git in a clone touches nothing
    return base


@pytest.fixture
def team(template, tmp_path, gitenv, clock) -> tuple[Clone, Clone]:
    dest = tmp_path / "team"
    shutil.copytree(template, dest, symlinks=True, ignore=shutil.ignore_patterns(".crm"))
    return Clone(dest / "alice", "Alice", gitenv, clock), Clone(dest / "bob", "Bob", gitenv, clock)


@pytest.fixture
def alice(team) -> Clone:
    return team[0]


def acme_id(clone: Clone) -> str:
    return clone.crm("customer", "show", "Acme GmbH", "--format", "json").json()["id"]


# ----- init --git ---------------------------------------------------------------------


def test_init_git_registers_driver_autocommit_and_commits_setup(alice):
    root = alice.root
    attrs = (root / ".gitattributes").read_text()
    for folder in ("customers", "leads", "deals", "tasks", "activities"):
        assert f"{folder}/*.yaml merge=crm" in attrs
    driver = alice.git("config", "--get", "merge.crm.driver").strip()
    assert driver.endswith("-m crmcli merge-driver %O %A %B %P")
    text = (root / "crm.yaml").read_text()
    assert "git: {autocommit: true}" in text
    assert "# default currency for amounts" in text  # comments kept
    setup_files = alice.git("show", "--name-only", "--format=", "HEAD~2").split()
    assert {"crm.yaml", ".gitattributes", ".gitignore", "customers/.gitkeep"} <= set(setup_files)
    assert alice.git("status", "--porcelain") == ""


def test_init_git_on_an_existing_crm_commits_its_records(tmp_path, gitenv):
    assert run("init", str(tmp_path / "old")).code == 0
    assert run("--dir", str(tmp_path / "old"), "customer", "add", "Old Corp").code == 0
    r = run("init", str(tmp_path / "old"), "--git")
    assert r.code == 0, r.err
    assert not r.out.startswith("Created")
    tracked = git(tmp_path / "old", "ls-files").split()
    assert any(f.startswith("customers/") and f.endswith(".yaml") for f in tracked)
    assert git(tmp_path / "old", "status", "--porcelain") == ""


def test_init_git_in_new_directory_makes_the_repository(tmp_path, gitenv):
    r = run("init", str(tmp_path / "fresh"), "--git")
    assert r.code == 0, r.err
    assert "made a git repository" in r.out
    assert git(tmp_path / "fresh", "log", "--format=%s").strip() == "crm: set up the CRM for git"
    r = run("init", str(tmp_path / "fresh"))  # without --git it still refuses
    assert r.code == 1 and r.err.startswith("Error:") and "already" in r.err


def test_init_inside_a_work_tree_sets_up_git_without_the_flag(tmp_path, gitenv):
    git(tmp_path, "init", "-q", "-b", "main", "proj")
    r = run("init", str(tmp_path / "proj" / "sales"))
    assert r.code == 0, r.err
    root = tmp_path / "proj" / "sales"
    assert "customers/*.yaml merge=crm" in (root / ".gitattributes").read_text()
    assert "autocommit: true" in (root / "crm.yaml").read_text()
    assert git(root, "config", "--get", "merge.crm.driver")
    assert git(root, "rev-parse", "-q", "--verify", "HEAD", check=False) == ""  # no commit
    assert "Commit crm.yaml" in r.out


def test_init_outside_git_leaves_git_alone(tmp_path, gitenv):
    r = run("init", str(tmp_path / "plain"))
    assert r.code == 0, r.err
    assert not (tmp_path / "plain" / ".gitattributes").exists()
    assert "autocommit: false" in (tmp_path / "plain" / "crm.yaml").read_text()


@pytest.mark.parametrize(
    "before, after",
    [
        ("git: {autocommit: false}  # keep\n", "git: {autocommit: true}  # keep\n"),
        ("git: {remote: origin}\n", "git: {autocommit: true, remote: origin}\n"),
        ("git:\n  autocommit: no  # x\nname: a\n", "git:\n  autocommit: true  # x\nname: a\n"),
        ("name: a\n", "name: a\ngit: {autocommit: true}\n"),
    ],
)
def test_autocommit_setting_is_edited_in_the_text(before, after):
    assert gitsetup.autocommit_text(before) == after


# ----- autocommit ------------------------------------------------------------------------


def test_autocommit_commits_exactly_the_changed_files_with_the_message(alice):
    (alice.root / "unrelated.txt").write_text("staged by hand\n")
    alice.git("add", "unrelated.txt")
    alice.crm("deal", "add", "Pump order", "--customer", "Acme GmbH", "--amount", "1200")
    deal = alice.crm("deal", "show", "Pump order", "--format", "json").json()
    assert alice.subject() == 'deal: add "Pump order"' or alice.subject().startswith("deal: add")
    assert alice.files_in_head() == [f"deals/{deal['id']}.yaml"]

    alice.crm("deal", "move", "Pump order", "negotiation")
    files = alice.files_in_head()
    assert f"deals/{deal['id']}.yaml" in files
    assert len(files) == 2 and files[0].startswith("activities/")  # the stage-change entry
    assert alice.subject().startswith("deal: move") and "negotiation" in alice.subject()
    body = alice.git("log", "-1", "--format=%B")
    assert "Crm-Command: crm deal move 'Pump order' negotiation\n" in body
    # what was staged by hand stays staged and uncommitted
    assert alice.git("status", "--porcelain", "unrelated.txt").startswith("A ")


def test_autocommit_without_a_message_falls_back_to_the_command(alice):
    cid = acme_id(alice)
    alice.crm("customer", "edit", "Acme GmbH", "--industry", "pumps")
    assert alice.files_in_head() == [f"customers/{cid}.yaml"]
    subject = alice.subject()  # customer commands may say what they did, else the command
    assert subject.startswith("customer:") or (
        subject == "crm customer edit 'Acme GmbH' --industry pumps"
    )


def test_autocommit_uses_note_change_and_commits_a_batch_at_once(alice):
    store = Store(alice.root)
    made = [store.create("lead", name=f"Lead {i}") for i in range(3)]
    store.note_change("lead: import 3 leads from fair.csv")
    sha = gitcommit.autocommit(store, ["lead", "import", "fair.csv"])
    assert sha == alice.head()
    assert alice.subject() == "lead: import 3 leads from fair.csv"
    assert alice.files_in_head() == sorted(f"leads/{m['id']}.yaml" for m in made)
    # a read-only command commits nothing
    before = alice.head()
    alice.crm("customer", "list")
    assert alice.head() == before


def test_commit_message_of_several_changes():
    msg = gitcommit.commit_message(["a: one", "b: two", "a: one"], ["x"])
    assert msg.splitlines()[0] == "a: one (+1 more)"
    assert "- b: two" in msg
    assert gitcommit.commit_message([], ["customer", "note", "acme", "two\nlines"]) == (
        "crm customer note acme 'two lines'"
    )
    assert gitcommit.command_text(["--dir", "/x/y", "customer", "rm", "--dir"]) == (
        "crm customer rm --dir"
    )
    assert gitcommit.command_text(["--dir=/x", "undo"]) == "crm undo"


def test_failing_commit_keeps_the_change_and_warns(alice):
    hook = alice.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'lint says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = alice.head()
    r = alice.crm("customer", "add", "Beta Ltd")
    assert r.code == 0
    assert "Warning:" in r.err and "not committed" in r.err and "customers/" in r.err
    assert alice.head() == before
    data = alice.crm("customer", "list", "--format", "json").json()
    assert "Beta Ltd" in [c["name"] for c in data]


def test_autocommit_off_commits_nothing(alice):
    text = (alice.root / "crm.yaml").read_text().replace("autocommit: true", "autocommit: false")
    (alice.root / "crm.yaml").write_text(text)
    before = alice.head()
    alice.crm("customer", "add", "Beta Ltd")
    assert alice.head() == before


def test_autocommit_outside_git_warns_once_and_keeps_the_change(tmp_path, gitenv):
    root = tmp_path / "nogit"
    assert run("init", str(root)).code == 0
    (root / "crm.yaml").write_text(
        (root / "crm.yaml").read_text().replace("autocommit: false", "autocommit: true")
    )
    r = run("--dir", str(root), "customer", "add", "Beta Ltd")
    assert r.code == 0
    assert "not in a git repository" in r.err
    assert list((root / "customers").glob("*.yaml"))


# ----- history ----------------------------------------------------------------------------


def test_history_shows_field_changes_who_and_when_newest_first(team):
    alice, bob = team
    cid = acme_id(alice)
    alice.crm("customer", "edit", "Acme GmbH", "--industry", "pumps", "--add-tag", "key")
    alice.crm("customer", "edit", "Acme GmbH", "--industry", "valves", "--field", "size=50")
    data = alice.crm("history", "Acme GmbH", "--format", "json").json()
    assert [e["action"] for e in data] == ["changed", "changed", "created"]
    newest = data[0]
    assert newest["author"] == "Alice"
    assert newest["date"].startswith("2026-11-23T11:")
    assert {"field": "industry", "change": "changed", "old": "pumps", "new": "valves"} in newest[
        "changes"
    ]
    assert {"field": "fields.size", "change": "added", "old": None, "new": "50"} in newest[
        "changes"
    ]
    tags = next(c for c in data[1]["changes"] if c["field"] == "tags")
    assert tags["old"] == ["vip"] and tags["new"] == ["key", "vip"]
    assert all(c["field"] != "updated" for e in data for c in e["changes"])

    r = alice.crm("history", cid[:5])
    assert f"History of customer {cid}: Acme GmbH" in r.out
    assert "pumps → valves" in r.out
    assert "Alice" in r.out
    assert all(len(line) <= 80 for line in r.out.splitlines())


def test_history_across_kinds_is_ambiguous_unless_kind_given(alice):
    alice.crm("lead", "add", "Acme GmbH")
    r = alice.crm("history", "Acme GmbH", ok=False)
    assert r.code == 1
    assert r.err.startswith("Error: 'Acme GmbH' matches records of several kinds")
    assert "customer" in r.err and "lead" in r.err
    r = alice.crm("history", "Acme GmbH", "--kind", "lead", "--format", "json")
    assert r.json()[0]["action"] == "created"
    r = alice.crm("history", "nobody", ok=False)
    assert r.code == 1 and r.err.startswith("Error: no customer, lead, deal or task matches")


def test_history_of_a_removed_record_by_id(alice):
    alice.crm("customer", "add", "Gone Ltd")
    gid = alice.crm("customer", "show", "Gone Ltd", "--format", "json").json()["id"]
    alice.crm("customer", "rm", "Gone Ltd")
    data = alice.crm("history", gid, "--format", "json").json()
    assert [e["action"] for e in data] == ["deleted", "created"]


def test_history_shows_uncommitted_changes_first(alice):
    path = next((alice.root / "customers").glob("*.yaml"))
    path.write_text(path.read_text().replace("industry: null", "industry: mining"))
    data = alice.crm("history", "Acme GmbH", "--format", "json").json()
    assert data[0]["commit"] is None
    assert data[0]["changes"] == [
        {"field": "industry", "change": "added", "old": None, "new": "mining"}
    ]


# ----- undo --------------------------------------------------------------------------------


def test_undo_reverts_the_last_crm_commit_then_the_one_before(alice):
    cid = acme_id(alice)
    alice.crm("customer", "edit", "Acme GmbH", "--industry", "pumps")
    alice.crm("customer", "note", "Acme GmbH", "called")
    assert len(list((alice.root / "activities").glob("*.yaml"))) == 1
    r = alice.crm("undo")
    assert r.out.startswith("Undid ") and "note" in r.out
    assert list((alice.root / "activities").glob("*.yaml")) == []
    assert alice.subject().startswith("undo: ")
    assert "Crm-Undo: " in alice.git("log", "-1", "--format=%B")
    r = alice.crm("undo")
    assert 'customer: edit "Acme GmbH"' in r.out
    assert alice.load("customers", cid)["industry"] is None
    assert alice.git("status", "--porcelain") == ""


def test_undo_of_an_import_reverts_the_whole_batch(tmp_path, alice):
    cards = tmp_path / "cards.csv"
    cards.write_text("Name,Email,Company\nLi Wei,li@a.cn,A\nWang Fang,wf@b.cn,B\n")
    alice.crm("lead", "import", str(cards))
    assert len([f for f in alice.files_in_head() if f.startswith("leads/")]) == 2
    r = alice.crm("undo")
    assert r.out.startswith("Undid ")
    assert list((alice.root / "leads").glob("*.yaml")) == []
    assert alice.crm("lead", "list", "--format", "json").json() == []
    assert alice.git("status", "--porcelain") == ""


def test_undo_refuses_when_a_newer_commit_touches_the_files(alice):
    cid = acme_id(alice)
    alice.crm("customer", "edit", "Acme GmbH", "--industry", "pumps")
    path = alice.root / "customers" / f"{cid}.yaml"
    path.write_text(path.read_text().replace("pumps", "valves"))
    alice.git("commit", "-qam", "fix industry by hand")
    before = path.read_bytes()
    head = alice.head()
    r = alice.crm("undo", ok=False)
    assert r.code == 1
    assert r.err.startswith("Error: cannot undo ")
    assert "fix industry by hand" in r.err and f"customers/{cid}.yaml" in r.err
    assert path.read_bytes() == before and alice.head() == head


def test_undo_refuses_over_uncommitted_changes_and_when_nothing_to_undo(tmp_path, alice):
    cid = acme_id(alice)
    path = alice.root / "customers" / f"{cid}.yaml"
    path.write_text(path.read_text().replace("industry: null", "industry: x"))
    r = alice.crm("undo", ok=False)
    assert r.code == 1 and "uncommitted changes" in r.err
    git(tmp_path, "init", "-q", "-b", "main", "empty")
    assert run("init", str(tmp_path / "empty")).code == 0
    r = run("--dir", str(tmp_path / "empty"), "undo")
    assert r.code == 1 and r.err.startswith("Error: nothing to undo")


# ----- sync ---------------------------------------------------------------------------------


def test_sync_without_remote_or_repo_or_network_says_so(tmp_path, alice, gitenv):
    alice.git("remote", "remove", "origin")
    r = alice.crm("sync", ok=False)
    assert r.code == 1
    assert r.err.startswith("Error: no git remote to sync with")
    assert len(r.err.strip().splitlines()) == 1

    alice.git("remote", "add", "origin", str(tmp_path / "nowhere.git"))
    r = alice.crm("sync", ok=False)
    assert r.code == 1 and r.err.startswith("Error: cannot reach git remote 'origin'")

    assert run("init", str(tmp_path / "solo")).code == 0
    r = run("--dir", str(tmp_path / "solo"), "sync")
    assert r.code == 1 and "not in a git repository" in r.err


def test_two_clones_change_records_and_both_end_identical(team):
    alice, bob = team
    cid = acme_id(alice)
    alice.crm("deal", "add", "Pump order", "--customer", "Acme GmbH", "--amount", "1200")
    alice.crm("sync")
    bob.crm("sync")
    deal_id = bob.crm("deal", "show", "Pump order", "--format", "json").json()["id"]

    # different fields of one record; the same field; list fields; notes; new records
    alice.crm("customer", "edit", "Acme GmbH", "--industry", "pumps", "--add-tag", "a-tag")
    bob.crm("customer", "edit", "Acme GmbH", "--website", "acme.de", "--add-tag", "b-tag")
    alice.crm("customer", "edit", "Acme GmbH", "--owner", "carol")
    bob.crm("customer", "edit", "Acme GmbH", "--owner", "dave")  # later: wins
    alice.crm("customer", "note", "Acme GmbH", "note from alice")
    bob.crm("customer", "note", "Acme GmbH", "note from bob")
    alice.crm("customer", "add", "Alpha AG")
    bob.crm("customer", "add", "Bravo SA")
    alice.crm("deal", "move", "Pump order", "qualified")
    bob.crm("deal", "move", "Pump order", "proposal")  # later: wins

    r = alice.crm("sync")
    assert "pushed" in r.out
    r = bob.crm("sync")
    assert "pulled" in r.out and "pushed" in r.out, r.out
    alice.crm("sync")

    assert alice.head() == bob.head()
    assert alice.tree() == bob.tree()
    for clone in (alice, bob):
        assert clone.git("status", "--porcelain") == ""
        for name, data in clone.tree().items():
            assert b"<<<<<<<" not in data and b">>>>>>>" not in data, name

    acme = alice.load("customers", cid)
    assert acme["industry"] == "pumps" and acme["website"] == "acme.de"
    assert acme["tags"] == ["a-tag", "b-tag", "vip"]
    assert acme["owner"] == "dave"
    assert {k: v for k, v in acme["conflicts"][0].items() if k != "from"} == {
        "field": "owner",
        "value": "carol",
    }
    names = [c["name"] for c in alice.crm("customer", "list", "--format", "json").json()]
    assert sorted(names) == ["Acme GmbH", "Alpha AG", "Bravo SA"]
    notes = [a["text"] for a in alice.crm("customer", "show", cid, "--format", "json").json()[
        "timeline"]]  # fmt: skip
    assert {"note from alice", "note from bob"} <= set(notes)

    deal = alice.load("deals", deal_id)
    assert deal["stage"] == "proposal"
    stages = [h["stage"] for h in deal["stage_history"]]
    assert stages == ["new", "qualified", "proposal"]
    assert [h["at"] for h in deal["stage_history"]] == sorted(
        h["at"] for h in deal["stage_history"]
    )
    assert {"field": "stage", "value": "qualified"} in [
        {k: v for k, v in c.items() if k != "from"} for c in deal["conflicts"]
    ]
    # the files are still canonical: crm reads them back and saving changes nothing
    r = bob.crm("doctor", ok=False)
    assert "Traceback" not in r.err


def test_sync_stops_at_a_conflict_only_a_person_can_solve(team):
    alice, bob = team
    cid = acme_id(alice)
    path = alice.root / "customers" / f"{cid}.yaml"
    path.write_text("name: [broken\n")
    alice.git("commit", "-qam", "broken by hand")
    alice.crm("sync")
    bob.crm("customer", "edit", "Acme GmbH", "--industry", "pumps")
    r = bob.crm("sync", ok=False)
    assert r.code == 1
    err = r.err.strip().splitlines()
    assert err[0].startswith("Error: sync stopped at a conflict")
    assert f"customers/{cid}.yaml" in err[0]
    assert "git rebase --continue" in err[0]
    assert "<<<<<<<" not in (bob.root / "customers" / f"{cid}.yaml").read_text()
    assert "rebase" in bob.git("status")
    r = bob.crm("sync", ok=False)
    assert r.code == 1 and "rebase is still in progress" in r.err


def test_sync_registers_a_missing_merge_driver(team):
    alice, bob = team
    bob.git("config", "--unset", "merge.crm.driver")
    r = bob.crm("sync")
    assert "registered crm's merge driver" in r.err
    assert "Already in sync" in r.out
    assert bob.git("config", "--get", "merge.crm.driver").strip().endswith("%O %A %B %P")


# ----- a CRM inside a larger repository ----------------------------------------------------


@pytest.fixture
def nested(tmp_path, gitenv) -> tuple[Path, Path]:
    """repo/ with src/app.py and the CRM in repo/crm (all committed), one customer
    Acme added with autocommit on."""
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", "repo")
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("print(1)\n")
    assert run("init", str(repo / "crm")).code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "app and crm")
    gitenv.setenv("CRM_DIR", str(repo / "crm"))
    assert run("customer", "add", "Acme").code == 0
    return repo, repo / "crm"


def _commits(repo: Path, since: str) -> list[tuple[str, str, list[str]]]:
    """(sha, Crm-Command trailer, files) of the commits after `since`, oldest first."""
    out = git(repo, "log", "--reverse", "--format=%H%x1f%(trailers:key=Crm-Command,valueonly)",
              f"{since}..HEAD").strip().splitlines()  # fmt: skip
    found = []
    for line in filter(None, out):
        sha, command = line.split("\x1f")
        files = git(repo, "diff-tree", "--no-commit-id", "-r", "--name-only", sha).split()
        found.append((sha, command.strip(), files))
    return found


def _writer(root: Path, w: int, n: int) -> list[subprocess.CompletedProcess]:
    """Writer `w`: n commands in a row, edits of Acme's field w{w} and notes on it."""
    import os
    import sys

    env = dict(os.environ, CRM_DIR=str(root))
    done = []
    for i in range(n):
        if i % 2 == 0:
            args = ["customer", "edit", "Acme", "--field", f"w{w}={i}"]
        else:
            args = ["customer", "note", "Acme", f"w{w} note {i}"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "crmcli", *args], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = proc.communicate()
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


def test_concurrent_writers_each_commit_exactly_their_own_change(nested):
    from concurrent.futures import ThreadPoolExecutor

    repo, root = nested
    writers, n = 4, 20  # 4 x 40 takes 55 s of CPU: over the ~30 s budget on 2 cores
    (repo / "src" / "app.py").write_text("print(2)\n")
    git(repo, "add", "src/app.py")  # the user's own staged change, outside the CRM
    start = git(repo, "rev-parse", "HEAD").strip()
    with ThreadPoolExecutor(writers) as pool:
        runs = [p for ps in pool.map(lambda w: _writer(root, w, n), range(writers)) for p in ps]
    assert [p.returncode for p in runs] == [0] * (writers * n), [p.stderr for p in runs]
    assert [p.stderr for p in runs if p.stderr] == []  # every one committed
    cid = next((root / "customers").glob("*.yaml")).stem
    record = f"crm/customers/{cid}.yaml"
    commits = _commits(repo, start)
    assert sorted(c for _, c, _ in commits) == sorted(
        gitcommit.command_text(p.args) for p in runs
    )  # one commit per command
    for sha, command, files in commits:
        if " edit " in command:
            key, value = command.rsplit(" ", 1)[1].split("=")
            assert files == [record], command
            old = yamlio.loads(git(repo, "show", f"{sha}^:{record}"))["fields"]
            new = yamlio.loads(git(repo, "show", f"{sha}:{record}"))["fields"]
            assert new == {**old, key: value}, command  # this edit, and nothing else
        else:
            assert len(files) == 1 and files[0].startswith("crm/activities/"), command
            entry = yamlio.loads(git(repo, "show", f"{sha}:{files[0]}"))
            assert command.endswith(f"'{entry['text']}'")
    fields = yamlio.loads((root / "customers" / f"{cid}.yaml").read_text())["fields"]
    assert fields == {f"w{w}": str(n - 2) for w in range(writers)}  # each one's last edit
    timeline = run("customer", "show", "Acme", "--format", "json").json()["timeline"]
    assert len(timeline) == writers * n // 2
    assert not (repo / ".git" / "index.lock").exists()
    assert git(repo, "status", "--porcelain") == "M  src/app.py\n"  # still staged, only that
    assert git(repo, "diff", "--name-only", start, "HEAD", "--", "src") == ""
    # another git holding the index: saved, not committed, and said so
    (repo / ".git" / "index.lock").write_text("")
    r = run("customer", "edit", "Acme", "--field", "w0=last")
    assert r.code == 0 and r.err.startswith(f"Warning: the change is saved in customers/{cid}.yaml")
    assert "not committed" in r.err and "index.lock" in r.err
    assert "w0: last" in (root / "customers" / f"{cid}.yaml").read_text()


def test_undo_in_a_larger_repository_refuses_a_commit_outside_the_crm(nested):
    repo, root = nested
    cid = next((root / "customers").glob("*.yaml")).stem
    assert run("customer", "edit", "Acme", "--industry", "pumps").code == 0
    (repo / "src" / "app.py").write_text("print(2)\n")
    git(repo, "add", "src/app.py")
    r = run("undo")  # the user's staged change outside the CRM stays staged, uncommitted
    assert r.code == 0 and r.out.startswith("Undid "), r.err
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [
        f"crm/customers/{cid}.yaml"
    ]
    assert git(repo, "status", "--porcelain") == "M  src/app.py\n"

    # a commit that claims to be crm's but also changed the application
    record = root / "customers" / f"{cid}.yaml"
    record.write_text(record.read_text().replace("industry: null", "industry: valves"))
    git(repo, "commit", "-qam", 'customer: edit "Acme"', "-m", "Crm-Command: crm customer edit")
    sha = git(repo, "rev-parse", "--short=7", "HEAD").strip()
    before = (record.read_bytes(), (repo / "src" / "app.py").read_bytes())
    r = run("undo")
    assert r.code == 1 and r.err.count("\n") == 1
    assert r.err.startswith(
        f'Error: cannot undo {sha} "customer: edit "Acme"": it also changed src/app.py'
    )
    assert "outside the CRM (crm/)" in r.err
    assert (record.read_bytes(), (repo / "src" / "app.py").read_bytes()) == before
    assert git(repo, "rev-parse", "--short=7", "HEAD").strip() == sha


def test_history_in_a_larger_repository_stays_inside_the_crm(nested):
    repo, root = nested
    (repo / "src" / "app.py").write_text("print(2)\n")
    git(repo, "commit", "-qam", "app only")  # not the record's
    old = (root / "customers").glob("*.yaml").__next__().read_text()
    (repo / "src" / "seed.yaml").write_text(old.replace("Acme", "Seed Co").replace("id: ", "id: s"))
    git(repo, "add", "src/seed.yaml")
    git(repo, "commit", "-qm", "seed data in the app")
    sid = yamlio.loads((repo / "src" / "seed.yaml").read_text())["id"]
    git(repo, "mv", "src/seed.yaml", f"crm/customers/{sid}.yaml")
    git(repo, "commit", "-qm", "seed moved into the crm")
    data = run("history", "Seed Co", "--format", "json").json()
    assert [(e["message"], e["action"]) for e in data] == [("seed moved into the crm", "created")]
    data = run("history", "Acme", "--format", "json").json()
    assert [e["message"] for e in data] == ['customer: add "Acme"']


# ----- conflicts: listed by sync, settled by resolve -------------------------------------


def test_sync_lists_the_conflicts_it_kept_and_resolve_settles_them(team):
    alice, bob = team
    cid = acme_id(alice)
    alice.crm("customer", "edit", "Acme GmbH", "--owner", "carol", "--industry", "pumps")
    bob.crm("customer", "edit", "Acme GmbH", "--owner", "dave", "--industry", "valves")
    alice.crm("sync")
    r = bob.crm("sync")
    lines = r.out.splitlines()
    assert (
        lines[1]
        == "2 conflict(s) kept; settle each: crm resolve REF FIELD --keep ours|theirs|VALUE"
    )
    assert lines[2:] == [
        f'  customer {cid} "Acme GmbH" industry: ours "valves" (kept), theirs "pumps"',
        f'  customer {cid} "Acme GmbH" owner: ours "dave" (kept), theirs "carol"',
    ]
    r = alice.crm("sync")  # they reach Alice too: listed there as well
    assert f'  customer {cid} "Acme GmbH" owner: ours "dave" (kept), theirs "carol"' in r.out

    r = alice.crm("resolve", "Acme GmbH", "owner", "--keep", "theirs")
    assert (
        r.out == f'Resolved owner of customer {cid} "Acme GmbH": kept "carol"; 1 conflict(s) left\n'
    )
    acme = alice.load("customers", cid)
    assert acme["owner"] == "carol"
    assert [c["field"] for c in acme["conflicts"]] == ["industry"]
    assert alice.subject() == 'customer: resolve owner of "Acme GmbH" (kept "carol")'
    assert alice.files_in_head() == [f"customers/{cid}.yaml"]
    r = alice.crm("resolve", cid[:5], "industry", "--keep", "ours")
    assert r.out.endswith(': kept "valves"\n')
    acme = alice.load("customers", cid)
    assert acme["industry"] == "valves" and "conflicts" not in acme
    assert "merge conflict" not in alice.crm("doctor").out
    r = alice.crm("sync")
    assert "conflict" not in r.out
    r = bob.crm("sync")
    assert "conflict" not in r.out  # settled ones are not listed again
    assert bob.load("customers", cid) == acme


def test_one_recurring_task_completed_on_two_clones_is_one_completion(team):
    alice, bob = team
    alice.crm("task", "add", "Weekly call", "--due", "2026-11-23", "--every", "1w")
    alice.crm("sync")
    bob.crm("sync")
    tid = alice.crm("task", "list", "--format", "json").json()[0]["id"]
    alice.crm("task", "done", "Weekly call")
    bob.crm("task", "done", "Weekly call")  # a minute later
    done_at = alice.load("tasks", tid)["done_at"]
    alice.crm("sync")
    r = bob.crm("sync")
    assert "pulled 1" in r.out and "conflict" not in r.out
    alice.crm("sync")
    assert alice.tree() == bob.tree()
    tasks = {p.stem: alice.load("tasks", p.stem) for p in (alice.root / "tasks").glob("*.yaml")}
    assert sorted(tasks) == sorted([tid, f"{tid}-20261130"])
    assert tasks[tid]["status"] == "done" and tasks[tid]["done_at"] == done_at  # the earlier
    nxt = tasks[f"{tid}-20261130"]
    assert nxt["status"] == "open" and nxt["created"] == done_at
    assert not any("conflicts" in t for t in tasks.values())
    assert "merge conflict" not in alice.crm("doctor").out


def _with_conflicts(root: Path, folder: str, rid: str, conflicts: list[dict], **values) -> Path:
    path = root / folder / f"{rid}.yaml"
    data = yamlio.loads(path.read_text("utf-8"))
    data.update(values, conflicts=conflicts)
    path.write_text(yamlio.dumps(data), encoding="utf-8")
    return path


def test_resolve_takes_a_value_of_the_field_s_type_and_refuses_what_is_not_there(crm):
    from decimal import Decimal

    assert run("customer", "add", "Acme").code == 0
    assert run("deal", "add", "Acme", "--customer", "Acme", "--amount", "1200").code == 0
    deal = run("deal", "show", "Acme", "--format", "json").json()
    path = _with_conflicts(crm, "deals", deal["id"], [
        {"field": "amount", "value": Decimal("1300"), "from": NOW},
        {"field": "owner", "value": "carol", "from": NOW},
        {"field": "owner", "value": "erin", "from": NOW},
        {"field": "fields.size", "value": "50", "from": NOW},
    ])  # fmt: skip
    before = path.read_bytes()
    r = run("resolve", "Acme", "amount", "--keep", "1500")
    assert r.code == 1 and r.err.startswith("Error: 'Acme' matches records of several kinds")
    r = run("resolve", "Acme", "stage", "--kind", "deal", "--keep", "ours")
    assert r.code == 1
    assert r.err == (
        f"Error: deals/{deal['id']}.yaml: no conflict on 'stage' (its conflicts are on "
        "amount, owner, fields.size)\n"
    )
    r = run("resolve", "Acme", "owner", "-k", "deal", "--keep", "theirs")
    assert r.code == 1 and '\'owner\' has 2 values set aside ("carol", "erin")' in r.err
    r = run("resolve", "Acme", "amount", "-k", "deal", "--keep", "[1")
    assert r.code == 1 and r.err.startswith(f"Error: deals/{deal['id']}.yaml: --keep '[1' is not")
    r = run("resolve", "Acme", "amount", "-k", "deal", "--keep", "lots")
    assert r.code == 1 and r.err.startswith(f"Error: deals/{deal['id']}.yaml: amount")
    assert path.read_bytes() == before
    r = run("resolve", "Acme", "amount", "-k", "deal", "--keep", "1500")
    assert r.code == 0, r.err
    r = run("resolve", "Acme", "owner", "-k", "deal", "--keep", "erin")
    assert r.code == 0, r.err
    r = run("resolve", "Acme", "fields.size", "-k", "deal", "--keep", "theirs")
    assert r.out.endswith(': kept "50"\n')
    data = yamlio.loads(path.read_text("utf-8"))
    assert data["amount"] == Decimal("1500") and data["owner"] == "erin"
    assert data["fields"] == {"size": "50"} and "conflicts" not in data
    r = run("resolve", "nobody", "owner", "--keep", "ours")
    assert r.code == 1 and r.err.startswith("Error: no customer, lead, deal or task matches")


def test_sync_lists_edits_kept_on_a_record_merged_away(team):
    alice, bob = team
    alice.crm("customer", "add", "Acme Germany")
    alice.crm("sync")
    bob.crm("sync")
    dup = alice.crm("customer", "show", "Acme Germany", "--format", "json").json()["id"]
    alice.crm("customer", "merge", "Acme GmbH", "Acme Germany")
    bob.crm("customer", "edit", "Acme Germany", "--industry", "pumps")
    alice.crm("sync")
    r = bob.crm("sync")
    assert (
        f'  customer {dup} (merged into {acme_id(bob)}) industry: theirs "pumps" '
        "(set aside; carry it over by hand)"
    ) in r.out.splitlines()


def test_git_code_lives_in_one_module_per_concern():
    import importlib
    import importlib.util

    for module, name in [("run", "git"), ("setup", "setup"), ("autocommit", "autocommit"),
                         ("history", "record_history"), ("undo", "plan_undo"), ("sync", "sync")]:  # fmt: skip
        assert callable(getattr(importlib.import_module(f"crmcli.git.{module}"), name))
    assert importlib.util.find_spec("crmcli.gitops") is None
    from crmcli.app import COMMANDS

    assert {c: COMMANDS[c][0] for c in ("history", "undo", "sync", "resolve")} == {
        "history": "history", "undo": "history", "sync": "sync", "resolve": "sync"
    }  # fmt: skip
