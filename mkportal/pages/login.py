"""/login: sign in with email and password."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.ui import auth_card, error_callout, labelled_input
from mkportal.services import auth
from mkportal.services.errors import ServiceError
from mkportal.state.session import SessionState


class LoginState(SessionState):
    """The sign-in form."""

    error: str = ""
    busy: bool = False

    @rx.event
    def on_load(self):  # noqa: ANN201
        """Skip the form when already signed in."""
        self.error = ""
        if self.actor() is not None:
            return rx.redirect(routes.HOME)
        return None

    @rx.event
    def submit(self, form: dict):  # noqa: ANN201
        """Sign in; the same message for every kind of failure."""
        try:
            signed = auth.login(
                str(form.get("email", "")),
                str(form.get("password", "")),
                ip=self.client_ip(),
                user_agent=self.router.headers.user_agent,
            )
        except ServiceError as exc:
            self.error = exc.message
            return None
        self.error = ""
        self.session_token = signed.token
        target = self.router.url.query_parameters.get("next", routes.HOME)
        return rx.redirect(
            target if target.startswith("/") and not target.startswith("//") else "/"
        )


def login_page() -> rx.Component:
    """Render the sign-in form."""
    return auth_card(
        rx.form(
            rx.vstack(
                rx.heading("Sign in to mkportal", size="6"),
                rx.text("Managed Kubernetes, self-service.", color_scheme="gray"),
                error_callout(LoginState.error),
                labelled_input(
                    "Email",
                    "email",
                    name="email",
                    type="email",
                    placeholder="you@example.com",
                    required=True,
                    auto_complete="username",
                ),
                labelled_input(
                    "Password",
                    "password",
                    name="password",
                    type="password",
                    required=True,
                    auto_complete="current-password",
                ),
                rx.button(
                    "Sign in",
                    type="submit",
                    width="100%",
                    size="3",
                    # Until the page's on_load has run, a submit could be overtaken by it.
                    disabled=~LoginState.is_hydrated,
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=LoginState.submit,
            reset_on_submit=False,
        ),
    )
