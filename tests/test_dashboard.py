"""The dashboard and --chart: the numbers behind each chart are the JSON reports'
numbers, the page needs no network, charts are valid SVG and PNG with CJK names, and
a real headless chromium renders every chart with no script error.

The CRM is test_report's fixture (USD and EUR deals, CJK customer names, stalled
and snoozed deals, leads from several sources), now = 2026-11-23 10:00 +08:00.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal as D
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import NOW, _write_tz, refused, run, set_settings
from test_report import T, build

from crmcli.store import Store, init

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
from screenshot import chromium, ink_rows  # noqa: E402

KEYS = ["funnel", "forecast", "won_by_month", "changes", "sources", "customers", "stalled"]
CJK = "北京机械有限公司"
TARGETS = {"team": {"2026-11": 2000, "2026-12": 3000, "2026-Q4": 8000}, "alice": {"2026-Q4": 5000}}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The fixture CRM and its dashboard, made once (matplotlib drawing is the slow part)."""
    root = tmp_path_factory.mktemp("dash") / "crm"
    page = root.parent / "dashboard.html"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"CRM_NOW": NOW, "CRM_USER": "alice", "NO_COLOR": "1",
                           "CRM_DIR": str(root)}.items():  # fmt: skip
            mp.setenv(key, value)
        init(root, "Test CRM")
        _write_tz(root)
        set_settings(root, owners=["alice", "bob", "carol"], currency="USD", targets=TARGETS)
        store = Store(root)
        c, d = build(store)
        hooli = store.create("customer", name="Hooli", source="event", owner="bob")
        store.create(
            "deal",
            title="Hooli pumps",
            customer=hooli["id"],
            owner="bob",
            amount=D(300),
            currency="USD",
            status="won",
            stage="new",
            created=T("11-02T10:00"),
            closed_at=T("11-15T10:00"),
        )  # fmt: skip  (no lead: its customer's source)
        commit(root, "2026-10-01T09:00:00+08:00", new=True)
        assert run("deal", "edit", d[4], "--amount", "2500").code == 0  # Big install raised
        commit(root, "2026-11-20T09:00:00+08:00")
        r = run("report", "dashboard", "-o", str(page))
    assert r.code == 0, r.err
    assert r.err.strip() == f"Dashboard -> {page}"
    return root, page, page.read_text(encoding="utf-8")


def commit(root: Path, when: str, new: bool = False) -> None:
    """Commit every file of the CRM as bob at `when` (`new`: make the repository first)."""
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    git = ["git", "-C", str(root), "-c", "user.name=bob", "-c", "user.email=bob@example.com"]
    steps = [["init", "-q"]] if new else []
    for args in [*steps, ["add", "-A"], ["commit", "-q", "-m", f"at {when}"]]:
        subprocess.run([*git, *args], env=env, check=True, capture_output=True)


@pytest.fixture
def dash(made, monkeypatch):
    root, page, html = made
    monkeypatch.setenv("CRM_DIR", str(root))
    return page, html


class _Scripts(HTMLParser):
    """The JSON data scripts of a page, by id."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, object] = {}
        self._id: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("type") == "application/json":
            self._id = a["id"]

    def handle_data(self, data):
        if self._id:
            self.data[self._id] = json.loads(data, parse_float=D)
            self._id = None


def embedded(html: str) -> dict[str, object]:
    p = _Scripts()
    p.feed(html)
    return p.data


def report_json(*args: str):
    r = run("report", *args, "--format", "json")
    assert r.code == 0, r.err
    return json.loads(r.out, parse_float=D)


# ----- the numbers -------------------------------------------------------------------------


def test_every_chart_has_its_data_and_they_are_the_reports(dash):
    _, html = dash
    data = embedded(html)
    assert sorted(data) == sorted(f"data-{k}" for k in KEYS)
    assert data["data-funnel"] == report_json("funnel")
    assert data["data-forecast"] == report_json("forecast", "--months", "6")
    assert data["data-sources"] == report_json("sources")
    assert data["data-customers"] == report_json("customers", "--limit", "0")
    assert data["data-stalled"] == report_json("stalled", "--limit", "0")
    assert data["data-changes"] == report_json("changes", "--since", "-30d")
    # hand-checked, so that a report and the dashboard wrong alike still fail
    assert data["data-funnel"]["won"] == {"count": 4, "amount": {"EUR": 800, "USD": 1900}}
    event = next(s for s in data["data-sources"]["sources"] if s["source"] == "event")
    assert event["from_customers"] == {"count": 1, "amount": {"USD": 300}}  # Hooli's source
    ranked = data["data-customers"]["customers"]
    assert [(c["name"], c["tier"]) for c in ranked[:3]] == [("Acme", "A"), ("Initech", "A"),
                                                            (CJK, "A")]  # fmt: skip


def test_changes_waterfall_of_the_last_30_days(dash):
    _, html = dash
    steps = embedded(html)["data-changes"]["waterfall"]["USD"]
    moved = {s["step"]: s["amount"] for s in steps if s["amount"]}
    # Big install raised from 2000 to 2500 on 11-20; the rest was there on 10-01 already
    assert moved == {"start": 3850, "changed": 500, "end": 4350}
    assert "4,350.00" in re.search(r'id="changes".*?</table>', html, re.S).group(0)


def test_as_of_every_panel_as_the_crm_stood_then(made, monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_DIR", str(made[0]))
    page = tmp_path / "then.html"
    r = run("report", "dashboard", "--as-of", "2026-11-21", "-o", str(page))
    assert r.code == 0, r.err
    data = embedded(page.read_text(encoding="utf-8"))
    then = ("--as-of", "2026-11-21")
    assert data["data-funnel"] == report_json("funnel", *then)
    assert data["data-stalled"] == report_json("stalled", "--limit", "0", *then)
    assert data["data-forecast"]["months"][0]["month"] == "2026-11"
    changes = data["data-changes"]
    assert (changes["since"], changes["until"]) == ("2026-10-22T00:00:00+08:00",
                                                    "2026-11-21T00:00:00+08:00")  # fmt: skip
    assert changes == report_json("changes", "--since", changes["since"], "--until",
                                  changes["until"])  # fmt: skip
    assert [s["amount"] for s in changes["waterfall"]["USD"] if s["step"] == "changed"] == [500]


def test_changes_panel_without_git_says_so(crm, tmp_path):
    page = tmp_path / "d.html"
    assert run("report", "dashboard", "-o", str(page)).code == 0
    html = page.read_text(encoding="utf-8")
    assert embedded(html)["data-changes"]["error"].startswith("report changes reads the CRM's git")
    assert "Not available: report changes reads" in html
    assert '<svg id="chart-changes"' in html


def test_forecast_against_targets(dash):
    _, html = dash
    data = embedded(html)["data-forecast"]
    assert [m["target"] for m in data["months"]] == [2000, 3000, None, None, None, None]
    q4 = next(t for t in data["targets"] if t["period"] == "2026-Q4")
    # won in Q4 in USD: D1 1000 (10-01), D2 600 (10-21), Hooli 300 (11-15); open USD deals closing from today
    # to the end of the quarter: D5 400 (proposal 50%, 11-30), D4 2500 (negotiation 75%, 12-15)
    assert (q4["won"], q4["attainment"], q4["weighted"]) == (1900, D("23.8"), 2075)
    panel = re.search(r'<section class="panel" id="forecast".*?</section>', html, re.S).group(0)
    assert "Forecast by month against target" in panel
    assert "8,000.00" in panel and "23.8%" in panel  # the targets table, exact
    svg = re.search(r'<svg id="chart-forecast".*?</svg>', panel, re.S).group(0)
    assert "Team targets" in svg and "2026-Q4 (USD)" in svg


def test_owners_chart_shows_targets(made, monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_DIR", str(made[0]))
    assert run("report", "owners", "--chart", str(tmp_path / "o.svg")).code == 0
    svg = (tmp_path / "o.svg").read_text(encoding="utf-8")
    assert "alice 2026-Q4 (USD)" in svg and "team 2026-11 (USD)" in svg


def test_won_per_month_is_report_owners_of_each_month(dash):
    _, html = dash
    months = embedded(html)["data-won_by_month"]["months"]
    assert [m["month"] for m in months] == ["2025-12", *(f"2026-{i:02d}" for i in range(1, 12))]
    for m in months:
        total = report_json("owners", "--since", m["since"], "--until", m["until"])["total"]
        assert (m["won"], m["won_amount"]) == (total["won"], total["won_amount"]), m["month"]
    by_month = {m["month"]: m["won_amount"] for m in months}
    assert by_month["2026-10"] == {"USD": 1600}  # D1 1000 on 10-01, D2 600 on 10-21
    assert by_month["2026-11"] == {"EUR": 800, "USD": 300}
    assert by_month["2026-09"] == {}


def test_tables_show_money_exactly_and_cjk_names(dash):
    _, html = dash
    assert "1,600.00" in html  # won USD in the funnel table
    assert "2,500.00" in html  # Big install, in negotiation (raised from 2000)
    assert CJK in html  # customers table and stalled deals


# ----- self-contained ---------------------------------------------------------------------


def test_page_needs_no_network_and_prints(dash):
    _, html = dash
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:|//)", html, re.I)
    assert not re.search(r"<(link|img|iframe|object|embed)\b|@import|@font-face", html, re.I)
    assert not re.search(r"<script\b[^>]*\bsrc=", html, re.I)
    assert "@media print" in html and "@page" in html
    for key in KEYS:
        assert f'<svg id="chart-{key}"' in html
        assert f'id="data-{key}"' in html


def test_charts_draw_cjk_names_with_a_cjk_font(dash):
    _, html = dash
    svg = re.search(r'<svg id="chart-stalled".*?</svg>', html, re.S).group(0)
    ET.fromstring(svg)  # well-formed
    assert CJK in svg  # matplotlib notes the text it drew as paths
    assert "NotoSansCJK" in svg  # its glyphs come from the CJK font, not empty boxes
    assert "<text" not in svg  # text as paths: the viewer needs no font


def test_a_record_cannot_end_the_data_script(crm):
    from crmcli.dashboard import json_script

    out = json_script("x", {"name": "</script><script>alert(1)</script>"})
    assert out.count("</script>") == 1
    assert json.loads(out.split(">", 1)[1].rsplit("<", 1)[0])["name"].startswith("</script>")


# ----- --chart -----------------------------------------------------------------------------


@pytest.mark.parametrize("report", ["funnel", "forecast", "owners", "customers", "sources",
                                    "stalled", "changes --since -30d"])  # fmt: skip
def test_chart_svg_of_every_report(made, monkeypatch, tmp_path, report):
    monkeypatch.setenv("CRM_DIR", str(made[0]))
    plain = run("report", *report.split(), "--format", "json")
    r = run("report", *report.split(), "--format", "json", "--chart", str(tmp_path / "c.svg"))
    assert r.code == 0, r.err
    assert r.out == plain.out  # the report prints as it did
    root = ET.parse(tmp_path / "c.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) > 10


def test_demo_crm_dashboard(monkeypatch, tmp_path):
    """The demo CRM (one currency, no targets, a git history of one commit): the
    dashboard, every chart drawn, as docs/screenshot.py makes it."""
    from screenshot import demo_in_git

    monkeypatch.setenv("CRM_DIR", str(demo_in_git(tmp_path / "demo")))
    r = run("report", "dashboard", "-o", str(tmp_path / "d.html"))
    assert r.code == 0, r.err
    html = (tmp_path / "d.html").read_text(encoding="utf-8")
    for key in KEYS:
        ET.fromstring(re.search(f'<svg id="chart-{key}".*?</svg>', html, re.S).group(0))
    data = embedded(html)
    steps = {s["step"]: s["amount"] for s in data["data-changes"]["waterfall"]["CNY"]}
    assert (steps["start"], steps["end"]) == (0, D("108400.00"))  # all added since
    assert data["data-forecast"]["targets"] == []


def test_chart_png(made, monkeypatch, tmp_path):
    from PIL import Image

    monkeypatch.setenv("CRM_DIR", str(made[0]))
    out = tmp_path / "stalled.png"
    r = run("report", "stalled", "--chart", str(out))
    assert r.code == 0, r.err
    assert f"Chart -> {out}" in r.err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as img:
        assert img.width > 500 and img.height > 200
        ink = sum(img.convert("L").histogram()[:200])  # pixels darker than light grey
    assert ink > img.width * img.height * 0.02


def test_chart_bad_names_and_places(crm, tmp_path):
    refused(run("report", "funnel", "--chart", str(tmp_path / "f.jpg")), "--chart", ".svg or .png")
    refused(run("report", "funnel", "--chart", str(tmp_path / "f")), "--chart")
    (tmp_path / "file").write_text("not a folder")
    refused(run("report", "funnel", "--chart", str(tmp_path / "file" / "f.svg")), "cannot write")
    refused(run("report", "dashboard", "-o", str(tmp_path / "file" / "d.html")), "cannot write")
    refused(run("report", "dashboard", "-o", str(tmp_path / "d.pdf")), "--output", ".html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm", "file"]


def test_no_cjk_font_warns_and_draws(crm, monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_FONT", str(tmp_path / "missing.ttf"))
    code = (
        "import sys; from crmcli.app import main; sys.argv=['crm', 'report', 'funnel', "
        f"'--chart', {str(tmp_path / 'f.svg')!r}]\ntry: main()\nexcept SystemExit as e: "
        "sys.exit(e.code)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Warning: CRM_FONT" in done.stderr and "fonts-noto-cjk" in done.stderr
    ET.parse(tmp_path / "f.svg")


def test_matplotlib_only_for_charts(crm):
    """crm --version, crm task list and a report without --chart start as fast as before:
    no matplotlib, no charts."""
    code = (
        "import sys; from crmcli.app import main\n"
        "for argv in (['--version'], ['task', 'list'], ['report', 'funnel']):\n"
        "    sys.argv = ['crm', *argv]\n    try: main()\n    except SystemExit: pass\n"
        "print(sorted(m for m in ('matplotlib', 'numpy', 'crmcli.charts', 'crmcli.dashboard') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


# ----- in a real browser ------------------------------------------------------------------


def _browser(page: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        done = chromium(page, *args)
    except FileNotFoundError as e:
        pytest.skip(f"{e} (.ci/run installs it)")
    if done.returncode != 0 and not done.stdout:
        pytest.skip(f"chromium cannot start: {done.stderr.strip()[-400:]}")
    return done


def test_chromium_renders_every_chart_without_errors(dash, tmp_path):
    page, _ = dash
    done = _browser(page, "--dump-dom")
    dom = done.stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-ok="yes"' in body and 'data-problems=""' in body, (body, done.stderr[-2000:])
    for key in KEYS:
        assert f'id="chart-{key}"' in dom

    # the page's check reports a script error and a chart that is not drawn
    broken = tmp_path / "broken.html"
    html = page.read_text(encoding="utf-8").replace('<svg id="chart-funnel"', '<svg id="gone"', 1)
    broken.write_text(html.replace("</header>", "</header><script>noSuchThing()</script>", 1))
    body = re.search(r"<body[^>]*>", _browser(broken, "--dump-dom").stdout).group(0)
    assert 'data-ok="no"' in body and "script error" in body and "funnel: no chart" in body

    shot = tmp_path / "shot.png"
    _browser(page, f"--screenshot={shot}", "--window-size=1200,2400")
    from PIL import Image

    with Image.open(shot) as img:
        assert img.size == (1200, 2400)
        ink = sum(img.convert("L").histogram()[:200])
    assert ink > 1200 * 2400 * 0.03  # charts and tables, not a blank page
    assert ink_rows(shot) > 2000  # drawn down the page
