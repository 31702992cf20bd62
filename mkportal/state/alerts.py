"""State of /admin/alerts (incidents, filterable) and /admin/alerts/[incident_id]."""

from __future__ import annotations

import reflex as rx

from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound
from mkportal.services.metrics import incident_admin
from mkportal.state.format import row, rows
from mkportal.state.guard import authed
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState

STATUS_FILTERS = ["all", "open", "acknowledged", "resolved"]


class AlertsState(PagedMixin, SessionState):
    """Operators: incidents from Alertmanager, newest first."""

    items: list[dict] = []
    status_filter: str = "open"

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the current page of incidents with the chosen status."""
        page = incident_admin.list_incidents(actor, self.status_filter, self.page)
        self.items = rows(self._paged(page))

    @rx.event
    def set_status_filter(self, value: str):  # noqa: ANN201
        """Show incidents of one status ("all": every incident)."""
        self.status_filter = value if value in STATUS_FILTERS else "all"
        self.page = 1
        return AlertsState.load


class AlertState(SessionState):
    """Operators: one incident with its timeline; acknowledge, resolve, comment."""

    incident: dict = {}
    events: list[dict] = []
    missing: bool = False
    comment_text: str = ""
    field_errors: dict[str, str] = {}

    @rx.var
    def runbook_href(self) -> str:
        """Return the path of the incident's runbook ("" without one)."""
        slug = self.incident.get("runbook", "")
        return f"/admin/runbooks/{slug}" if slug else ""

    def _show(self, detail: incident_admin.IncidentDetail) -> None:
        self.incident = row(detail.incident)
        self.events = rows(detail.events)

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the incident named in the URL."""
        self.missing, self.field_errors = False, {}
        try:
            self._show(incident_admin.get(actor, self.router.page.params.get("incident_id", "")))
        except NotFound:
            self.missing, self.incident, self.events = True, {}, []

    @rx.event
    @authed
    def acknowledge(self, actor: Actor):  # noqa: ANN201
        """Acknowledge the incident (on-call is working on it)."""
        self._show(incident_admin.acknowledge(actor, self.incident.get("id", "")))
        return rx.toast.success("Incident acknowledged.")

    @rx.event
    @authed
    def resolve(self, actor: Actor):  # noqa: ANN201
        """Resolve the incident by hand."""
        self._show(incident_admin.resolve(actor, self.incident.get("id", "")))
        return rx.toast.success("Incident resolved.")

    @rx.event
    def set_comment_text(self, value: str) -> None:
        """Keep the comment being typed."""
        self.comment_text = value

    @rx.event
    @authed
    def add_comment(self, actor: Actor, form: dict):  # noqa: ANN201
        """Add the typed comment to the timeline."""
        self.field_errors = {}
        self._show(incident_admin.comment(actor, self.incident.get("id", ""), form.get("text", "")))
        self.comment_text = ""
        return rx.toast.success("Comment added.")
