"""State of /slo (an organisation's SLO reports) and /admin/slo (every organisation's)."""

from __future__ import annotations

from datetime import UTC, datetime

import reflex as rx

from mkportal.services import org_directory
from mkportal.services.actor import Actor
from mkportal.services.metrics import slo, slo_reports
from mkportal.state.format import row, rows
from mkportal.state.guard import authed
from mkportal.state.session import SessionState

MONTHS_SHOWN = 13
ALL_ORGS = "all"


def recent_periods(now: datetime | None = None, count: int = MONTHS_SHOWN) -> list[str]:
    """Return the current month and the ones before it, newest first (``YYYY-MM``)."""
    now = now or datetime.now(UTC)
    year, month = now.year, now.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


class SloMixin(rx.State, mixin=True):
    """A month's reports with roll-ups and a CSV download."""

    periods: list[str] = []
    period: str = ""
    reports: list[dict] = []
    org_rollups: list[dict] = []
    fleet: dict = {}

    def _scope(self, actor: Actor) -> str | None:
        return actor.org_id

    def _read(self, actor: Actor) -> None:
        self.periods = recent_periods()
        if self.period not in self.periods:
            self.period = self.periods[0]
        data = slo_reports.summary(actor, self.period, self._scope(actor))
        self.reports = rows(data.rows)
        self.org_rollups = rows(data.orgs)
        self.fleet = row(data.fleet)

    @rx.event
    @authed
    def choose_period(self, actor: Actor, value: str) -> None:
        """Show another month."""
        self.period = value
        self._read(actor)

    @rx.event
    @authed
    def download_csv(self, actor: Actor):  # noqa: ANN201
        """Download the month's reports as CSV."""
        text = slo_reports.export_csv(actor, self.period, self._scope(actor))
        return rx.download(data=text, filename=f"slo-{self.period}.csv")


class SloState(SloMixin, SessionState):
    """Members: their organisation's clusters."""

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the chosen month's reports."""
        self._read(actor)


class AdminSloState(SloMixin, SessionState):
    """Operators: every organisation (or one), with per-org and fleet roll-ups."""

    org_options: list[dict[str, str]] = []
    org_filter: str = ALL_ORGS

    def _scope(self, actor: Actor) -> str | None:
        return None if self.org_filter == ALL_ORGS else self.org_filter

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """List the organisations and read the month's reports."""
        actor.require_operator()
        self.org_options = [{"value": ALL_ORGS, "label": "All organisations"}] + [
            {"value": o.id, "label": o.name} for o in org_directory.organisations(actor)
        ]
        if self.org_filter not in [o["value"] for o in self.org_options]:
            self.org_filter = ALL_ORGS
        self._read(actor)

    @rx.event
    @authed
    def choose_org(self, actor: Actor, value: str) -> None:
        """Show one organisation's reports (or every organisation's)."""
        self.org_filter = value or ALL_ORGS
        self._read(actor)

    @rx.event
    @authed
    def regenerate(self, actor: Actor):  # noqa: ANN201
        """Recompute the month's reports now (Prometheus, else incidents)."""
        result = slo.generate_safely(actor, self.period, self._scope(actor))
        self._read(actor)
        sources = f"{result.prometheus} from Prometheus, {result.incidents} from incidents"
        return rx.toast.success(f"{result.written} reports written ({sources}).")
