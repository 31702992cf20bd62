"""State of /settings: profile, password, API tokens and notification preferences."""

from __future__ import annotations

import reflex as rx

from mkportal.services import auth, tokens, users
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid
from mkportal.state.format import rows
from mkportal.state.guard import authed
from mkportal.state.session import SessionState


class SettingsState(SessionState):
    """The signed-in user's own settings."""

    name: str = ""
    notifications: list[dict] = []
    tokens: list[dict] = []
    new_token: str = ""
    field_errors: dict[str, str] = {}

    def _show(self, profile: users.Profile) -> None:
        self.name = profile.name
        self.notifications = [
            {"key": k, "label": label, "on": profile.notifications.get(k, True)}
            for k, label in users.NOTIFICATION_EVENTS.items()
        ]

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the profile and tokens."""
        self._show(users.get_profile(actor))
        self.tokens = rows(tokens.list_tokens(actor))
        self.new_token = ""
        self.field_errors = {}

    @rx.event
    @authed
    def save_profile(self, actor: Actor, form: dict):  # noqa: ANN201
        """Change the display name."""
        self._show(users.update_profile(actor, name=str(form.get("name", ""))))
        return rx.toast.success("Profile saved.")

    @rx.event
    @authed
    def change_password(self, actor: Actor, form: dict):  # noqa: ANN201
        """Change the password; other sessions are signed out."""
        self.field_errors = {}
        new = str(form.get("new_password", ""))
        if new != str(form.get("confirm_password", "")):
            raise Invalid({"confirm_password": "The two new passwords differ."})
        auth.change_password(
            actor, str(form.get("current_password", "")), new, keep_token=self.session_token
        )
        return [rx.toast.success("Password changed; your other sessions were signed out.")]

    @rx.event
    @authed
    def create_token(self, actor: Actor, form: dict):  # noqa: ANN201
        """Create an API token and show it once."""
        self.field_errors = {}
        days = str(form.get("expires_days", "")).strip()
        if days and not days.isdigit():
            raise Invalid({"expires_days": "Enter a whole number of days, or leave it empty."})
        plain, _ = tokens.create_token(
            actor, str(form.get("token_name", "")), expires_days=int(days) if days else None
        )
        self.new_token = plain
        self.tokens = rows(tokens.list_tokens(actor))
        return rx.toast.success("Token created. Copy it now: it is not shown again.")

    @rx.event
    @authed
    def revoke_token(self, actor: Actor, token_id: str):  # noqa: ANN201
        """Revoke one of the user's tokens."""
        tokens.revoke_token(actor, str(token_id))
        self.tokens = rows(tokens.list_tokens(actor))
        return rx.toast.success("Token revoked.")

    @rx.event
    @authed
    def set_notification(self, actor: Actor, key: str, on: bool) -> None:
        """Switch one notification on or off."""
        self._show(users.set_notifications(actor, {str(key): bool(on)}))

    @rx.event
    def dismiss_token(self) -> None:
        """Forget the once-shown token."""
        self.new_token = ""
