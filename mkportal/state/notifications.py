"""State of the bell in the page header: the unread count and the latest notices."""

from __future__ import annotations

import reflex as rx

from mkportal.services import auth, notifications
from mkportal.services.actor import Actor
from mkportal.services.pagination import Page
from mkportal.state.format import rows
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.session import SessionState

LATEST = 10
REFRESH_SECONDS = 5.0


class NotificationsState(LiveMixin, SessionState):
    """The signed-in user's inbox, refreshed every few seconds while a page is open."""

    unread: int = 0
    latest: list[dict] = []

    def _fetch(self, token: str, key: str) -> tuple[int, Page]:
        return self._read(auth.session_actor(token))

    @staticmethod
    def _read(actor: Actor) -> tuple[int, Page]:
        return notifications.unread_count(actor), notifications.list_notifications(actor, 1, LATEST)

    def _apply(self, data: tuple[int, Page]) -> bool:
        self.unread = data[0]
        self.latest = rows(data[1].items)
        return False

    def _idle_seconds(self) -> float:
        return REFRESH_SECONDS

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read the unread count and latest notices, then keep them fresh."""
        self._apply(self._read(actor))
        self.live_key = f"bell:{actor.user_id}:{actor.org_id}"
        return NotificationsState.watch

    @rx.event
    @authed
    def mark_all_read(self, actor: Actor) -> None:
        """Mark every notice read."""
        notifications.mark_read(actor)
        self._apply(self._read(actor))

    @rx.event
    @authed
    def open_notice(self, actor: Actor, notice_id: str, link: str):  # noqa: ANN201
        """Mark one notice read and follow its link (portal paths only)."""
        notifications.mark_read(actor, [notice_id])
        self._apply(self._read(actor))
        if link.startswith("/") and not link.startswith("//"):
            return rx.redirect(link)
        return None
