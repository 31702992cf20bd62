"""State of the operator console: /admin, /admin/audit, /admin/outbox."""

from __future__ import annotations

import reflex as rx

from mkportal.services import admin, audit, mail
from mkportal.services.actor import Actor
from mkportal.state.format import row, rows
from mkportal.state.guard import authed
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState


class AdminState(SessionState):
    """The fleet in numbers."""

    stats: list[dict] = []

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Count the fleet."""
        o = admin.overview(actor)
        self.stats = [
            {"label": "Organisations", "value": str(o.organizations)},
            {"label": "Users", "value": str(o.users)},
            {"label": "Clusters", "value": str(sum(o.clusters_by_status.values()))},
            *[
                {"label": f"Clusters {k}", "value": str(v)}
                for k, v in sorted(o.clusters_by_status.items())
            ],
            *[
                {"label": f"Operations {k}", "value": str(v)}
                for k, v in sorted(o.operations_by_status.items())
            ],
            {"label": "Queue depth", "value": str(o.queue_depth)},
        ]


class AuditState(PagedMixin, SessionState):
    """The audit log, filterable, newest first."""

    events: list[dict] = []
    f_action: str = ""
    f_actor: str = ""
    f_org: str = ""

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the current page with the current filters."""
        p = audit.list_events(
            actor,
            action=self.f_action,
            actor_email=self.f_actor,
            org_id=self.f_org,
            page=self.page,
        )
        self.events = [{**r, "detail": str(r["detail"])} for r in rows(self._paged(p))]

    @rx.event
    def filter(self, form: dict):  # noqa: ANN201
        """Apply the filter form."""
        self.f_action = str(form.get("action", "")).strip()[:100]
        self.f_actor = str(form.get("actor", "")).strip()[:200]
        self.f_org = str(form.get("org", "")).strip()[:64]
        self.page = 1
        return AuditState.load


class OutboxState(PagedMixin, SessionState):
    """Emails written to var/outbox when no SMTP server is configured."""

    mails: list[dict] = []
    selected: dict = {}

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the current page of the outbox."""
        p = mail.list_outbox(actor, page=self.page)
        self.mails = rows(self._paged(p))

    @rx.event
    @authed
    def open_mail(self, actor: Actor, name: str) -> None:
        """Show one email."""
        self.selected = row(mail.read_outbox(actor, str(name)))

    @rx.event
    def close_mail(self) -> None:
        """Back to the list."""
        self.selected = {}
