"""/login: sign in with email and password."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
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
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Sign in to mkportal", size="6"),
                    rx.text("Managed Kubernetes, self-service.", color_scheme="gray"),
                    rx.cond(
                        LoginState.error != "",
                        rx.callout(
                            LoginState.error,
                            icon="triangle_alert",
                            color_scheme="red",
                            role="alert",
                            width="100%",
                        ),
                    ),
                    rx.el.label("Email", html_for="email", class_name="mk-label"),
                    rx.input(
                        id="email",
                        name="email",
                        type="email",
                        placeholder="you@example.com",
                        required=True,
                        auto_complete="username",
                        width="100%",
                    ),
                    rx.el.label("Password", html_for="password", class_name="mk-label"),
                    rx.input(
                        id="password",
                        name="password",
                        type="password",
                        required=True,
                        auto_complete="current-password",
                        width="100%",
                    ),
                    rx.button("Sign in", type="submit", width="100%", size="3"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=LoginState.submit,
                reset_on_submit=False,
            ),
            width="24rem",
            size="4",
        ),
        min_height="100vh",
        background="var(--gray-2)",
    )
