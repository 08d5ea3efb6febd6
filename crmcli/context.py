"""The context a command runs in: the CRM's time zone and date order, the clock
(env CRM_NOW) and the acting user (env CRM_USER). Built once per Store by `load`,
passed explicitly: nothing here is process-wide, so two CRMs in one process each
keep their own zone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Any


@dataclass
class Context:
    """The zone (settings timezone), slash-date order (settings date_order), a fixed
    time (None: env CRM_NOW as it is when now() is asked, else the clock) and the user
    as given (CRM_USER, else settings user; None: asked of git, then the login name,
    when first needed)."""

    zone: str | None = None
    date_order: str | None = None
    fixed_now: str | None = None
    given_user: str | None = None
    root: Path | None = field(default=None, repr=False)  # where `git config` is asked

    @cached_property
    def tz(self) -> tzinfo:
        from crmcli.dates import get_tz

        return get_tz(self.zone)

    def now(self) -> datetime:
        """The current time in the CRM's zone: CRM_NOW when set, else the clock."""
        from crmcli.dates import now

        return now(self.tz, self.fixed_now or os.environ.get("CRM_NOW"))

    def now_iso(self) -> str:
        from crmcli.dates import iso

        return iso(self.now())

    def parse_iso(self, value: str | datetime | date) -> datetime:
        """A stored timestamp; one written without an offset is in the CRM's zone."""
        from crmcli.dates import parse_iso

        return parse_iso(value, self.tz)

    def parse_when(self, text: str, *, end_of_day: bool = False) -> datetime:
        """A WHEN the user typed, relative to now, in the CRM's zone and date order."""
        from crmcli.dates import parse_when

        return parse_when(text, self.now(), end_of_day=end_of_day, date_order=self.date_order)

    @cached_property
    def user(self) -> str:
        """The acting user: env CRM_USER, settings user, git user.name, login name."""
        return self.given_user or _git_user(self.root) or _login_name()


def load(settings: dict[str, Any], root: Path | None = None) -> Context:
    """The context of the CRM with these settings (and env CRM_USER); the clock,
    env CRM_NOW, is read by Context.now each time, so a test may move it."""
    return Context(
        zone=settings.get("timezone"),
        date_order=settings.get("date_order"),
        given_user=os.environ.get("CRM_USER") or settings.get("user") or None,
        root=root,
    )


def _git_user(root: Path | None) -> str:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "config", "user.name"], cwd=root, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name on this system
        return "unknown"
