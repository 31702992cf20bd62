"""/: send signed-in users to their clusters, everyone else to /login."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.state.session import SessionState


class HomeState(SessionState):
    """The landing redirect."""

    @rx.event
    def go(self):  # noqa: ANN201
        """Redirect to the first useful page."""
        if self.actor() is None:
            return rx.redirect(routes.LOGIN)
        return rx.redirect(routes.CLUSTERS)


def home_page() -> rx.Component:
    """Render a spinner while the redirect happens."""
    return rx.center(rx.spinner(size="3"), min_height="100vh")
