"""Live pages: a background task that refreshes a page's data while something runs.

A page state mixes in `LiveMixin`, implements `_fetch` (runs in a thread, outside the
state lock, and must check authorization itself) and `_apply` (runs under the lock and
says whether something is changing), and starts `watch` from its on_load. While something
changes the page refreshes every second; when nothing does, it stops, or keeps a slow
refresh when `_idle_seconds` says so (e.g. autoscaling can change a running cluster at any
time). The loop also stops when the page's key changes (the user went elsewhere), on
unmount, and after an hour of idle refreshes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from mkportal.services.errors import ServiceError

POLL_SECONDS = 1.0
MAX_POLLS = 4 * 3600
IDLE_LIMIT_SECONDS = 3600.0


class LiveMixin(rx.State, mixin=True):
    """Adds `watch`/`stop_watching` to a page state."""

    live_key: str = ""
    _watched: str = ""

    def _fetch(self, token: str, key: str) -> Any:
        raise NotImplementedError

    def _apply(self, data: Any) -> bool:
        raise NotImplementedError

    def _idle_seconds(self) -> float:
        """Return the refresh interval while nothing changes (0 stops the loop)."""
        return 0.0

    @rx.event
    def stop_watching(self) -> None:
        """Stop the refresh loop (the page was left)."""
        self._watched = ""
        self.live_key = ""

    @rx.event(background=True)
    async def watch(self):
        """Refresh the page about once a second until `_apply` returns False."""
        async with self:
            if not self.live_key or self._watched == self.live_key:
                return
            key, token = self.live_key, self.session_token
            self._watched = key
        idle_for = 0.0
        try:
            for _ in range(MAX_POLLS):
                try:
                    data = await asyncio.to_thread(self._fetch, token, key)
                except ServiceError:
                    return
                async with self:
                    if self._watched != key or self.live_key != key:
                        return
                    busy = self._apply(data)
                    idle = self._idle_seconds()
                if busy:
                    idle_for = 0.0
                    await asyncio.sleep(POLL_SECONDS)
                elif idle and idle_for < IDLE_LIMIT_SECONDS:
                    idle_for += idle
                    await asyncio.sleep(idle)
                else:
                    return
        finally:
            async with self:
                if self._watched == key:
                    self._watched = ""
