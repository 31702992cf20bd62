"""The signed-in session, shared by every page.

The browser holds only an opaque session token in a cookie; the server looks it up on
every event (`actor()`), so a handler never trusts who the client claims to be.
"""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.services import auth, orgs
from mkportal.services.actor import Actor
from mkportal.services.errors import ServiceError, Unauthenticated


class SessionState(rx.State):
    """Who is signed in, and the organisation they act in."""

    session_token: str = rx.Cookie("", name="mkp_session", same_site="strict", max_age=12 * 3600)
    email: str = ""
    is_operator: bool = False
    org_id: str = ""
    org_name: str = ""
    role: str = ""
    orgs: list[dict[str, str]] = []

    def client_ip(self) -> str:
        """Return the browser's address, for the audit log."""
        return self.router.session.client_ip or ""

    def actor(self) -> Actor | None:
        """Return the Actor of this browser session, or None when signed out."""
        try:
            return auth.session_actor(self.session_token, ip=self.client_ip())
        except Unauthenticated:
            return None

    def _remember(self, actor: Actor) -> None:
        self.email = actor.email
        self.is_operator = actor.is_operator
        self.role = actor.role or ("operator" if actor.is_operator else "")
        mine = orgs.list_my_orgs(actor)
        self.orgs = [{"id": o.id, "name": o.name, "role": o.role or ""} for o in mine]
        self.org_id = actor.org_id or ""
        self.org_name = next((o.name for o in mine if o.id == actor.org_id), "")

    @rx.event
    def require_login(self):  # noqa: ANN201
        """On-load guard of every signed-in page: refresh the identity or go to /login."""
        actor = self.actor()
        if actor is None:
            self.email = ""
            return rx.redirect(f"{routes.LOGIN}?next={self.router.url.path}")
        self._remember(actor)
        return None

    @rx.event
    def require_operator(self):  # noqa: ANN201
        """On-load guard of /admin pages: operators only."""
        actor = self.actor()
        if actor is None:
            return rx.redirect(routes.LOGIN)
        self._remember(actor)
        if not actor.is_operator:
            return rx.redirect(routes.HOME)
        return None

    @rx.event
    def switch_org(self, org_id: str):  # noqa: ANN201
        """Act in another of the user's organisations."""
        actor = self.actor()
        if actor is None:
            return rx.redirect(routes.LOGIN)
        try:
            actor = auth.switch_org(self.session_token, actor, org_id)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        self._remember(actor)
        return rx.redirect(self.router.url.path)

    @rx.event
    def logout(self):  # noqa: ANN201
        """End the session on the server and forget the cookie."""
        auth.logout(self.session_token, ip=self.client_ip())
        self.session_token = ""
        self.email = ""
        return rx.redirect(routes.LOGIN)
