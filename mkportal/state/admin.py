"""State of the operator console: /admin, /admin/audit, /admin/outbox."""

from __future__ import annotations

import reflex as rx

from mkportal.services import admin, audit, mail, provider_credentials
from mkportal.services.actor import Actor
from mkportal.state.format import row, rows
from mkportal.state.guard import authed
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState


class AdminState(SessionState):
    """The fleet in numbers, and the cloud providers' stored credentials."""

    stats: list[dict] = []
    providers: list[dict] = []
    provider_choice: str = "eks"
    field_errors: dict[str, str] = {}

    @rx.var
    def provider_fields(self) -> list[dict]:
        """Return the keys of the chosen provider's configuration (secrets masked)."""
        return [
            {"key": k, "secret": k in provider_credentials.SECRET_FIELDS}
            for k in provider_credentials.FIELDS.get(self.provider_choice, ())
        ]

    def _show_providers(self, actor: Actor) -> None:
        self.providers = [
            {
                "provider": p.provider,
                "enabled": "yes" if p.enabled else "no (add it to PROVIDERS)",
                "keys": ", ".join(p.configured_keys) or "none (settings only)",
                "updated": f"{p.updated_by} {p.updated_at:%Y-%m-%d %H:%M}" if p.updated_at else "",
            }
            for p in provider_credentials.status(actor)
        ]

    @rx.event
    def choose_provider(self, value: str) -> None:
        """Pick the provider whose credentials the form edits."""
        if value in provider_credentials.FIELDS:
            self.provider_choice = value
            self.field_errors = {}

    @rx.event
    @authed
    def save_provider(self, actor: Actor, form: dict):  # noqa: ANN201
        """Store the chosen provider's configuration, encrypted (empty fields are left out)."""
        self.field_errors = {}
        data = {k: str(v).strip() for k, v in form.items() if str(v).strip()}
        if "subnet_ids" in data:
            data["subnet_ids"] = [x.strip() for x in data["subnet_ids"].split(",") if x.strip()]
        provider_credentials.set_credentials(actor, self.provider_choice, data)
        self._show_providers(actor)
        return rx.toast.success(f"Stored the {self.provider_choice} credentials (encrypted).")

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
        self._show_providers(actor)


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
