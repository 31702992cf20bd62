"""State of the billing-contact card on /billing: where invoices are emailed."""

from __future__ import annotations

import reflex as rx

from mkportal.services.actor import Actor
from mkportal.services.billing import notices
from mkportal.state.guard import authed
from mkportal.state.session import SessionState


class BillingContactState(SessionState):
    """The organisation's billing email (owners change it) and who receives invoices now."""

    billing_email: str = ""
    recipients: str = ""
    field_errors: dict[str, str] = {}

    def _show(self, contact: notices.BillingContact) -> None:
        self.billing_email = contact.billing_email
        self.recipients = ", ".join(contact.recipients) or "nobody yet"

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the caller's organisation's billing contact."""
        self.field_errors = {}
        self._show(notices.get_billing_contact(actor))

    @rx.event
    @authed
    def save(self, actor: Actor, form: dict):  # noqa: ANN201
        """Set or clear the billing email (owners only)."""
        self.field_errors = {}
        self._show(notices.set_billing_email(actor, str(form.get("billing_email", ""))[:254]))
        return rx.toast.success(f"Invoices now go to {self.recipients}.")
