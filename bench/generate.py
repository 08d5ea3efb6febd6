"""Generate a realistic CRM of about N records for benchmarks.

    python bench/generate.py DIR --records N [--seed S] [--now ISO] [--tasks-only]
                                 [--history COMMITS] [--csv FILE --csv-rows R]

A fresh CRM (crmcli.store.init, then settings for owners, products, region and
time zone) whose record files are written directly with crmcli.yamlio.dumps and
crmcli.models.new_record, so 100,000 records take seconds rather than the hours
that 100,000 `crm` processes would.

The default mix (of N): 10% customers (companies with English and Chinese
contacts, and people), 15% leads from every source (15% converted, linked to a
customer and a deal), 10% deals over the pipeline with stage histories (20% won,
15% lost, with closed_at), 35% tasks (30% of them open and overdue relative to
"now", 3% complaints) and 30% timeline notes. `--tasks-only` makes N tasks plus
the few customers and deals (1% and 0.5% of N) that they link to, to time the
task-list targets at 10,000 and 100,000 tasks.

"now" is --now, else env CRM_NOW, else NOW below; the benchmark scripts pass the
same value to every `crm` run as CRM_NOW. Ids are 8 characters of [a-z0-9] from
a random.Random(seed): the same arguments give the same bytes.

`--csv FILE` also writes a CSV of business cards for `crm lead import`
(--csv-rows rows, default 10,000): about 10% of the rows repeat the e-mail of a
lead already in this CRM, 3% repeat an earlier row of the file.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script from a checkout: find crmcli beside bench/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crmcli import models, yamlio  # noqa: E402
from crmcli.store import init as init_store  # noqa: E402

NOW = "2026-11-23T09:00:00+08:00"
TIMEZONE = "Asia/Shanghai"
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
VERSION = 1  # bump when the output changes, so cached CRMs are made again

MIX = {"customer": 0.10, "lead": 0.15, "deal": 0.10, "task": 0.35, "activity": 0.30}
TASKS_ONLY_SUPPORT = {"customer": 0.01, "deal": 0.005}


def _w(text: str) -> list[str]:
    """Words of `text` (keeps the word lists below compact)."""
    return text.split()


def _pairs(a: str, b: str) -> list[tuple[str, str]]:
    return list(zip(_w(a), _w(b), strict=True))


OWNERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
APPROVERS = ["alice", "bob"]
SOURCES = ["website", "referral", "trade-show", "email", "phone", "event"]
PIPELINE = ["new", "qualified", "proposal", "negotiation"]
PRODUCTS = [
    ("PUMP-100", "Centrifugal pump", "1200.00", "1000.00"),
    ("PUMP-250", "Booster pump set", "4800.00", "4100.00"),
    ("VALVE-20", "Ball valve DN20", "85.50", "70.00"),
    ("CTRL-1", "Pump controller", "650.00", "540.00"),
    ("SVC-Y", "Service contract, one year", "2400.00", "2000.00"),
]

FIRST_EN = _w(
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth Anna Lukas "
    "Sophie Jonas Emma Noah Olivia Liam Mia Ethan Lena Felix Clara Oskar Chloé José "
    "Zoë Søren Ines Mateo"
)
LAST_EN = _w(
    "Smith Johnson Williams Brown Jones Miller Davis Schmidt Müller Schneider Fischer "
    "Weber Garcia Martin Rossi Dubois Novak Andersen Kowalski Jansen Bauer Wagner "
    "Moreau Lefèvre Costa Silva Nakamura Kim Patel O'Brien"
)
SURNAMES = _pairs(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 罗 高",
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo gao",
)
GIVEN = _pairs(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 华 平 建华 晓明 俊杰 雪",
    "wei fang na min jing li qiang lei jun yang yong yan jie juan tao ming chao "
    "xiuying hua ping jianhua xiaoming junjie xue",
)
CO_EN_A = _w(
    "Acme Northwind Globex Initech Apex Pioneer Summit Vertex Nordic Alpine Harbor "
    "Crescent Evergreen Redwood Ironclad Silverline Bluewater Keystone Meridian Orion"
)
CO_EN_B = _w(
    "Pumps Valves Engineering Logistics Robotics Systems Hydraulics Foods Textiles "
    "Energy Water Medical Automation Plastics Metals"
)
# legal form and the top-level domain of the company's mail
CO_EN_C = _pairs("GmbH AG Ltd Inc. LLC S.A. B.V. Oy", "de de co.uk com com es nl fi")
CITIES = _pairs(
    "上海 北京 深圳 广州 杭州 苏州 南京 天津 成都 武汉 宁波 青岛 厦门 重庆 西安",
    "sh bj sz gz hz suzhou nj tj cd wh nb qd xm cq xa",
)
CO_CN_WORD = _pairs(
    "宏达 华泰 东方 恒信 金源 新世纪 永兴 联合 天成 博远 鑫盛 中科 瑞丰 佳禾 安泰",
    "hongda huatai dongfang hengxin jinyuan xinshiji yongxing lianhe tiancheng "
    "boyuan xinsheng zhongke ruifeng jiahe antai",
)
CO_CN_IND = _w("机械 泵业 科技 贸易 电子 物流 化工 食品 纺织 能源")
INDUSTRIES = [
    "manufacturing",
    "water utilities",
    "food processing",
    "chemicals",
    "construction",
    "energy",
    "logistics",
    "healthcare",
]
TITLES = [
    "Purchasing Manager",
    "CTO",
    "Plant Engineer",
    "Managing Director",
    "Head of Operations",
    "Buyer",
    "采购经理",
    "总经理",
    "工程师",
    "技术总监",
]
TAGS = ["vip", "key-account", "distributor", "oem", "export", "trade-show-2026", "重点客户"]
TASK_TITLES_EN = [
    "Call {who} about the quote",
    "Send proposal to {co}",
    "Follow up with {who}",
    "Book a site visit at {co}",
    "Chase payment from {co}",
    "Prepare demo for {co}",
    "Email price list to {who}",
]
TASK_TITLES_CN = ["跟进{co}报价", "给{who}打电话", "准备{co}的合同", "拜访{co}"]
COMPLAINTS = [
    "Complaint: pump leaking at {co}",
    "Complaint: late delivery to {co}",
    "Complaint: wrong invoice for {co}",
    "投诉：{co}交货延迟",
    "投诉：{co}设备噪音大",
]
NOTES = [
    "Called {who}; wants a quote by Friday.",
    "Met {who} at the trade show, interested in PUMP-250.",
    "Sent the price list.",
    "They compare us with a cheaper supplier; stress service and delivery time.",
    "Budget approved for Q1.",
    "和{who}通话，对方希望下周收到报价。",
    "客户对交货期有顾虑。",
    "Visited the plant, three old pumps to replace.\nFollow-up: send a proposal.",
]
LOST_REASONS = ["price", "went with a competitor", "no budget", "project cancelled", "no answer"]


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _country(rec: dict[str, Any]) -> str:
    phone = (rec.get("phones") or ["+86"])[0]
    return "cn" if phone.startswith("+86") else "de" if phone.startswith("+49") else "us"


class Gen:
    """Builds the records of one CRM from a seeded RNG."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.ids: set[str] = set()
        self.names: set[str] = set()

    # ----- small pieces --------------------------------------------------------------

    def new_id(self) -> str:
        while True:
            rid = "".join(self.rng.choices(ALPHABET, k=8))
            if rid not in self.ids:
                self.ids.add(rid)
                return rid

    def ago(self, max_days: float, min_days: float = 0.0) -> datetime:
        """A time between `max_days` and `min_days` before now, to the second."""
        seconds = self.rng.uniform(min_days * 86400, max_days * 86400)
        return self.now - timedelta(seconds=int(seconds))

    def between(self, start: datetime, end: datetime) -> datetime:
        span = max(0, int((end - start).total_seconds()))
        return start + timedelta(seconds=self.rng.randint(0, span))

    def person(self) -> tuple[str, str]:
        """A name and the e-mail local part: 60% English, 40% Chinese."""
        r = self.rng
        if r.random() < 0.6:
            first, last = r.choice(FIRST_EN), r.choice(LAST_EN)
            local = f"{first}.{last}".lower()
            for a, b in (("ü", "ue"), ("é", "e"), ("è", "e"), ("ë", "e"), ("ø", "o"), ("'", "")):
                local = local.replace(a, b)
            return f"{first} {last}", local
        (sur, sur_py), (given, given_py) = r.choice(SURNAMES), r.choice(GIVEN)
        if r.random() < 0.3:  # written in pinyin, family name last
            return f"{given_py.title()} {sur_py.title()}", f"{given_py}.{sur_py}"
        return f"{sur}{given}", f"{sur_py}.{given_py}"

    def phone(self, country: str) -> str:
        r = self.rng
        if country == "cn":
            return f"+861{r.choice('3589')}{r.randint(0, 999_999_999):09d}"
        if country == "de":
            return f"+4930{r.randint(10_000_000, 99_999_999)}"
        return f"+1212{r.randint(2_000_000, 9_999_999)}"

    def company(self) -> tuple[str, str, str]:
        """A company name, its mail domain and country (cn, de or us)."""
        r = self.rng
        if r.random() < 0.5:
            (city, city_py), (word, word_py) = r.choice(CITIES), r.choice(CO_CN_WORD)
            base = f"{city}{word}{r.choice(CO_CN_IND)}有限公司"
            domain, country = f"{city_py}-{word_py}.cn", "cn"
        else:
            a, b, (suffix, tld) = r.choice(CO_EN_A), r.choice(CO_EN_B), r.choice(CO_EN_C)
            base = f"{a} {b} {suffix}"
            domain = f"{a}-{b}.{tld}".lower()
            country = "de" if tld == "de" else "us"
        name, n = base, 1
        while name in self.names:  # branches of a group: distinct names, as people keep them
            n += 1
            name = f"{base} ({n})"
        self.names.add(name)
        if n > 1:
            domain = f"{n}.{domain}"
        return name, domain, country

    def money(self, low: int, high: int) -> Decimal:
        cents = self.rng.choice(["00", "00", "00", "50", "90"])
        return Decimal(f"{self.rng.randint(low, high)}.{cents}")

    # ----- records ---------------------------------------------------------------------

    def customer(self) -> dict[str, Any]:
        r = self.rng
        created = self.ago(720, 30)
        updated = self.between(created, self.now)
        tags = r.sample(TAGS, k=r.choice([0, 0, 1, 1, 2]))
        common = dict(
            id=self.new_id(),
            owner=r.choice(OWNERS),
            source=r.choice(SOURCES),
            tags=tags,
            tier=r.choice(["A", "B", "B", "C", "C", None]),
            created=iso(created),
            updated=iso(updated),
        )
        if r.random() < 0.3:  # a person
            name, local = self.person()
            country = "cn" if local.split(".")[0] in dict(SURNAMES).values() else "de"
            return models.new_record(
                "customer",
                name=name,
                kind="person",
                emails=[f"{local}@{r.choice(['gmail.com', 'outlook.com', 'qq.com', '163.com'])}"],
                phones=[self.phone(country)],
                **common,
            )
        name, domain, country = self.company()
        contacts = []
        for _ in range(r.choice([0, 1, 1, 2, 2, 3])):
            cname, local = self.person()
            if any(c["name"] == cname for c in contacts):
                continue
            contacts.append(
                {
                    "name": cname,
                    "title": r.choice(TITLES),
                    "emails": [f"{local}@{domain}"],
                    "phones": [self.phone(country)] if r.random() < 0.7 else [],
                }
            )
        return models.new_record(
            "customer",
            name=name,
            kind="company",
            emails=[f"info@{domain}"],
            phones=[self.phone(country)],
            website=f"https://www.{domain}",
            industry=r.choice(INDUSTRIES),
            contacts=contacts,
            fields={"employees": r.choice([10, 50, 200, 1000])} if r.random() < 0.2 else {},
            **common,
        )

    def deal(self, customer: dict[str, Any] | None) -> dict[str, Any]:
        r = self.rng
        owner = customer["owner"] if customer and r.random() < 0.8 else r.choice(OWNERS)
        created = self.ago(400, 1)
        roll = r.random()
        outcome = "won" if roll < 0.20 else "lost" if roll < 0.35 else "open"
        if outcome == "open":
            final = r.choice(PIPELINE)
            path = PIPELINE[: PIPELINE.index(final) + 1]
        else:
            reached = r.randint(1, len(PIPELINE))
            path = [*PIPELINE[:reached], outcome]
        history, at = [], created
        for i, stage in enumerate(path):
            if i:
                at = self.between(at, min(self.now, at + timedelta(days=45)))
            history.append({"stage": stage, "at": iso(at), "by": owner})
        qty = r.choice([1, 1, 2, 3, 5, 10, 20])
        sku, pname, price, _floor = r.choice(PRODUCTS)
        amount = Decimal(price) * qty
        if r.random() < 0.1:  # a big project
            amount = self.money(100_000, 900_000)
        co = customer["name"] if customer else "walk-in"
        title = f"{pname} for {co}" if r.random() < 0.6 else f"{co} {pname}订单"
        if outcome == "open":
            close = (self.now + timedelta(days=r.randint(-20, 120))).date().isoformat()
            closed_at = None
        else:
            close = datetime.fromisoformat(history[-1]["at"]).date().isoformat()
            closed_at = history[-1]["at"]
        needs_approval = r.random() < 0.03
        approvals = []
        if needs_approval and r.random() < 0.5:
            approvals = [
                {"by": r.choice(APPROVERS), "at": history[-1]["at"], "note": "strategic account"}
            ]
        return models.new_record(
            "deal",
            id=self.new_id(),
            title=title,
            customer=customer["id"] if customer else None,
            amount=amount,
            currency="CNY",
            stage=path[-1],
            status=outcome,
            close_date=close,
            owner=owner,
            stage_history=history,
            needs_approval=needs_approval,
            approvals=approvals,
            lost_reason=r.choice(LOST_REASONS) if outcome == "lost" else None,
            tags=[sku.split("-")[0].lower()],
            created=iso(created),
            updated=history[-1]["at"],
            closed_at=closed_at,
        )

    def lead(self, status: str, customer: dict | None, deal: dict | None) -> dict[str, Any]:
        r = self.rng
        name, local = self.person()
        co_name, domain, country = (
            (customer["name"], customer["emails"][0].split("@")[1], _country(customer))
            if customer and customer["kind"] == "company"
            else self.company()
        )
        created = self.ago(500, 1)
        return models.new_record(
            "lead",
            id=self.new_id(),
            name=name,
            company=co_name,
            title=r.choice(TITLES),
            emails=[f"{local}@{domain}"],
            phones=[self.phone(country)] if r.random() < 0.8 else [],
            source=r.choice(SOURCES),
            status=status,
            owner=r.choice(OWNERS),
            tags=["trade-show-2026"] if r.random() < 0.2 else [],
            customer=customer["id"] if customer else None,
            deal=deal["id"] if deal else None,
            created=iso(created),
            updated=iso(self.between(created, self.now)),
        )

    def task(self, state: str, customer: dict | None, deal: dict | None) -> dict[str, Any]:
        """`state`: overdue, upcoming, undated (open), done or cancelled."""
        r = self.rng
        now = self.now
        co = customer["name"] if customer else "Acme"
        who = customer["contacts"][0]["name"] if customer and customer["contacts"] else co
        complaint = r.random() < 0.03
        if complaint:
            title = r.choice(COMPLAINTS).format(co=co)
        elif r.random() < 0.7:
            title = r.choice(TASK_TITLES_EN).format(co=co, who=who)
        else:
            title = r.choice(TASK_TITLES_CN).format(co=co, who=who)
        # Overdue and upcoming stay at least a day clear of now, so every reading of
        # "overdue" (before now, before today) picks the same tasks.
        due_at: datetime | None
        if state == "overdue":
            due_at = now - timedelta(days=r.randint(1, 60), hours=r.randint(0, 23))
            created = due_at - timedelta(days=r.randint(0, 30), hours=r.randint(0, 23))
        elif state == "upcoming":
            due_at = now + timedelta(days=r.randint(1, 60), hours=r.randint(0, 23))
            created = self.ago(30, 0.1)
        elif state == "undated":
            due_at, created = None, self.ago(90, 0.1)
        else:
            due_at = self.ago(400, 1)
            created = due_at - timedelta(days=r.randint(0, 30), hours=r.randint(0, 23))
        if due_at is not None:
            due_at = due_at.replace(minute=0, second=0)
            created = min(created, due_at)
        done_at = None
        if state == "done":
            done_at = self.between(created, min(now, due_at + timedelta(days=5)))
        updated = done_at or self.between(created, now)
        return models.new_record(
            "task",
            id=self.new_id(),
            title=title,
            due=iso(due_at) if due_at else None,
            status="done" if state == "done" else "cancelled" if state == "cancelled" else "open",
            priority=(
                r.choice(["high", "urgent"])
                if complaint
                else r.choice(["low", "normal", "normal", "normal", "high"])
            ),
            kind="complaint"
            if complaint
            else r.choice(["todo", "call", "call", "email", "meeting"]),
            severity=r.choice(models.SEVERITIES) if complaint else None,
            customer=customer["id"] if customer else None,
            deal=deal["id"] if deal else None,
            owner=(customer or {}).get("owner") or r.choice(OWNERS),
            every=r.choice(["1w", "2w", "1m"]) if r.random() < 0.02 and state != "done" else None,
            done_at=iso(done_at) if done_at else None,
            created=iso(created),
            updated=iso(updated),
        )

    def activity(self, on: dict, on_kind: str) -> dict[str, Any]:
        r = self.rng
        who = on.get("name") or on.get("title") or "them"
        start = datetime.fromisoformat(on["created"])
        return models.new_record(
            "activity",
            id=self.new_id(),
            on=on["id"],
            kind=r.choice(["note", "note", "call", "email", "meeting"]),
            text=r.choice(NOTES).format(who=who),
            by=on.get("owner") or r.choice(OWNERS),
            at=iso(self.between(start, self.now)),
        )


def counts_for(records: int, tasks_only: bool = False) -> dict[str, int]:
    """How many records of each kind make `records` (see the module help)."""
    if tasks_only:
        support = {k: max(1, round(records * f)) for k, f in TASKS_ONLY_SUPPORT.items()}
        return {
            "customer": support["customer"],
            "lead": 0,
            "deal": support["deal"],
            "task": records,
            "activity": 0,
        }
    counts = {k: int(records * f) for k, f in MIX.items()}
    counts["activity"] += records - sum(counts.values())
    return counts


def _states(rng: random.Random, n: int, shares: list[tuple[str, float]]) -> list[str]:
    """Exactly round(n*share) of each state (the rest in the last), shuffled."""
    out: list[str] = []
    for state, share in shares[:-1]:
        out += [state] * round(n * share)
    out += [shares[-1][0]] * max(0, n - len(out))
    out = out[:n]
    rng.shuffle(out)
    return out


TASK_STATES = [
    ("overdue", 0.30),
    ("upcoming", 0.20),
    ("undated", 0.05),
    ("cancelled", 0.07),
    ("done", 0.38),
]
LEAD_STATES = [
    ("converted", 0.15),
    ("contacted", 0.25),
    ("qualified", 0.15),
    ("disqualified", 0.10),
    ("new", 0.35),
]


def write_settings(root: Path, name: str) -> None:
    """Settings of a generated CRM: owners, approvers, products, region, zone."""
    import json

    path = root / "crm.yaml"
    products = "products:\n" + "".join(
        f"  - {{sku: {sku}, name: {json.dumps(pname)}, price: {price}, floor: {floor}}}\n"
        for sku, pname, price, floor in PRODUCTS
    )
    values = {
        "name": f"name: {json.dumps(name)}",
        "currency": "currency: CNY",
        "timezone": f"timezone: {TIMEZONE}",
        "default_region": "default_region: CN",
        "owners": f"owners: [{', '.join(OWNERS)}]",
        "approvers": f"approvers: [{', '.join(APPROVERS)}]",
        "sources": f"sources: [{', '.join(SOURCES)}]",
        "products": products.rstrip("\n"),
    }
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key = line.split(":", 1)[0]
        lines.append(values.get(key, line) if not line.startswith((" ", "#")) else line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_batch(root: Path, batch: list[tuple[str, dict[str, Any]]]) -> None:
    """Write records as their files (new files only; no fsync: a benchmark fixture)."""
    for kind, rec in batch:
        data = yamlio.dumps(rec).encode("utf-8")
        path = root / models.KINDS[kind] / f"{rec['id']}.yaml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


class Writer:
    """Serialises and writes records, in worker processes for big CRMs: YAML dumping
    and file creation dominate, the records themselves come from one seeded RNG."""

    BATCH = 500

    def __init__(self, root: Path, total: int, jobs: int | None = None) -> None:
        self.root = root
        self.batch: list[tuple[str, dict[str, Any]]] = []
        self.futures: list[Any] = []
        jobs = jobs if jobs is not None else (os.cpu_count() or 1)
        self.pool = None
        if jobs > 1 and total >= 4 * self.BATCH:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self.pool = ProcessPoolExecutor(jobs, mp_context=context)

    def add(self, kind: str, rec: dict[str, Any]) -> None:
        self.batch.append((kind, rec))
        if len(self.batch) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        if self.pool is None:
            _write_batch(self.root, self.batch)
        else:
            self.futures.append(self.pool.submit(_write_batch, self.root, self.batch))
        self.batch = []

    def close(self) -> None:
        self.flush()
        if self.pool is not None:
            try:
                for f in self.futures:
                    f.result()  # raises a worker's error here
            finally:
                self.pool.shutdown(cancel_futures=True)


def generate(
    root: Path,
    records: int,
    *,
    seed: int = 1,
    now: str | None = None,
    tasks_only: bool = False,
    jobs: int | None = None,
    history: int = 0,
) -> dict[str, int]:
    """Make a CRM at `root` (which must not hold one) and return the count per kind.

    `jobs`: worker processes that write the files (default: one per CPU); `history`:
    put it in a git repository with about that many commits over the last year
    (bench/history.py)."""
    root = Path(root)
    moment = datetime.fromisoformat(now or os.environ.get("CRM_NOW") or NOW)
    counts = counts_for(records, tasks_only)
    init_store(root, "Bench CRM")
    label = f"{records} {'tasks' if tasks_only else 'records'}, seed {seed}"
    write_settings(root, f"Bench CRM ({label})")
    g = Gen(seed, moment)
    out = Writer(root, sum(counts.values()), jobs)
    try:
        customers = [g.customer() for _ in range(counts["customer"])]
        for c in customers:
            out.add("customer", c)

        deals = []
        deals_of: dict[str, list[dict]] = {}
        for _ in range(counts["deal"]):
            cust = g.rng.choice(customers) if customers else None
            d = g.deal(cust)
            deals.append(d)
            if cust:
                deals_of.setdefault(cust["id"], []).append(d)
            out.add("deal", d)

        leads = []
        with_deals = [c for c in customers if c["id"] in deals_of]
        for state in _states(g.rng, counts["lead"], LEAD_STATES):
            cust = deal = None
            if state == "converted" and with_deals:
                cust = g.rng.choice(with_deals)
                deal = g.rng.choice(deals_of[cust["id"]])
            elif state == "converted":
                state = "qualified"
            lead = g.lead(state, cust, deal)
            leads.append(lead)
            out.add("lead", lead)

        customer_by_id = {c["id"]: c for c in customers}
        for state in _states(g.rng, counts["task"], TASK_STATES):
            cust = deal = None
            roll = g.rng.random()
            if deals and roll < 0.4:
                deal = g.rng.choice(deals)
                cust = customer_by_id.get(deal["customer"])
            elif customers and roll < 0.85:
                cust = g.rng.choice(customers)
            out.add("task", g.task(state, cust, deal))

        targets = [("customer", customers), ("deal", deals), ("lead", leads)]
        weights = [0.5 if customers else 0, 0.3 if deals else 0, 0.2 if leads else 0]
        for _ in range(counts["activity"]):
            kind, pool_ = g.rng.choices(targets, weights=weights)[0]
            out.add("activity", g.activity(g.rng.choice(pool_), kind))
    finally:
        out.close()
    if history:
        from history import make_history

        make_history(root, history, moment, seed=seed)
    return counts


def write_import_csv(
    path: Path, rows: int, *, seed: int = 1, crm: Path | None = None
) -> dict[str, int]:
    """A CSV of business cards (Name, Company, Title, Email, Phone) for `crm lead import`.

    About 10% of rows repeat a lead of the CRM at `crm` (same e-mail, the name as
    typed on the card), 3% repeat an earlier row of this file; the rest are new.
    """
    rng = random.Random(seed * 7919 + rows)
    g = Gen(seed * 7919 + rows + 1, datetime.fromisoformat(NOW))
    existing: list[tuple[str, str, str, str, str]] = []
    if crm is not None:
        folder = Path(crm) / "leads"
        names = (
            sorted(n for n in os.listdir(folder) if n.endswith(".yaml")) if folder.is_dir() else []
        )
        for name in rng.sample(names, k=min(len(names), max(1, rows // 10))) if names else []:
            rec = yamlio.loads((folder / name).read_text(encoding="utf-8"))
            phone = rec["phones"][0] if rec.get("phones") else ""
            existing.append(
                (
                    rec["name"],
                    rec.get("company") or "",
                    rec.get("title") or "",
                    rec["emails"][0],
                    phone,
                )
            )
    out: list[tuple[str, str, str, str, str]] = []
    stats = {"rows": rows, "existing": 0, "repeated": 0, "new": 0}
    for i in range(rows):
        roll = rng.random()
        if existing and roll < 0.10:
            out.append(rng.choice(existing))
            stats["existing"] += 1
        elif out and roll < 0.13:
            out.append(out[rng.randrange(len(out))])
            stats["repeated"] += 1
        else:
            name, local = g.person()
            company, domain, country = g.company()
            if i % 3 == 0:  # a private address on the card
                domain = rng.choice(["gmail.com", "outlook.com", "qq.com", "163.com"])
            phone = g.phone(country) if rng.random() < 0.8 else ""
            if phone.startswith("+86"):  # as printed on a card
                phone = f"+86 {phone[3:6]} {phone[6:10]} {phone[10:]}"
            out.append((name, company, rng.choice(TITLES), f"{local}{i}@{domain}", phone))
            stats["new"] += 1
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Name", "Company", "Title", "Email", "Phone"])
        w.writerows(out)
    return stats


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir", type=Path, help="where to create the CRM (must not hold one)")
    p.add_argument("--records", "-n", type=int, required=True, help="about this many records")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--now", help=f"the time the data is relative to (default env CRM_NOW or {NOW})")
    p.add_argument(
        "--tasks-only", action="store_true", help="N tasks plus the few records they link to"
    )
    p.add_argument(
        "--history", type=int, default=0, help="a git history of about N commits over a year"
    )
    p.add_argument("--csv", type=Path, help="also write a CSV of business cards for lead import")
    p.add_argument("--csv-rows", type=int, default=10_000, help="rows of --csv (default 10000)")
    p.add_argument("--mbox", type=Path, help="also write an mbox of mail with its customers")
    p.add_argument(
        "--mbox-messages", type=int, default=10_000, help="messages of --mbox (default 10000)"
    )
    args = p.parse_args(argv)
    if args.records < 0:
        p.error("--records must be at least 0")
    start = time.perf_counter()
    try:
        counts = generate(
            args.dir,
            args.records,
            seed=args.seed,
            now=args.now,
            tasks_only=args.tasks_only,
            history=args.history,
        )
    except Exception as e:  # noqa: BLE001 - one line, not a traceback
        print(f"Error: {getattr(e, 'message', e)}", file=sys.stderr)
        return 1
    took = time.perf_counter() - start
    summary = ", ".join(f"{n} {models.KINDS[k]}" for k, n in counts.items())
    print(
        f"{args.dir}: {sum(counts.values())} records ({summary}) in {took:.1f} s", file=sys.stderr
    )
    if args.csv:
        stats = write_import_csv(args.csv, args.csv_rows, seed=args.seed, crm=args.dir)
        print(
            f"{args.csv}: {stats['rows']} rows ({stats['existing']} of existing leads, "
            f"{stats['repeated']} repeated, {stats['new']} new)",
            file=sys.stderr,
        )
    if args.mbox:
        write_mail(args.dir, args.mbox, args.mbox_messages, seed=args.seed)
    return 0


def write_mail(
    crm: Path, mbox: Path, messages: int, *, seed: int = 1, customers: int = 2000
) -> dict[str, int]:
    """An mbox of `messages` messages with `customers` of the CRM's customers
    (bench/mailgen.py), and the CRM's settings `mail` (our addresses and domain)."""
    import mailgen

    path = Path(crm) / "crm.yaml"
    text = path.read_text(encoding="utf-8")
    if "\nmail:" in text:  # crm init's commented defaults: replaced by the generator's
        text = text.split("\nmail:", 1)[0] + "\n"
        text += "".join(line + "\n" for line in _after_mail(path.read_text(encoding="utf-8")))
    path.write_text(text + mailgen.SETTINGS, encoding="utf-8")
    stats = mailgen.write_mbox(mbox, messages, crm=crm, seed=seed, customers=customers)
    print(f"{mbox}: {messages} messages ({', '.join(f'{n} {k}' for k, n in stats.items())})",
          file=sys.stderr)  # fmt: skip
    return stats


def _after_mail(text: str) -> list[str]:
    """The lines of crm.yaml after its `mail:` block."""
    lines = text.split("\nmail:", 1)[1].splitlines()[1:]
    i = 0
    while i < len(lines) and lines[i].startswith((" ", "#")) and not lines[i].startswith("# "):
        i += 1
    return lines[i:]


if __name__ == "__main__":
    sys.exit(main())
