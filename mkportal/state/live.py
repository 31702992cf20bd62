"""Live pages: a background task that refreshes a page's data while something runs.

A page state mixes in `LiveMixin`, implements `_fetch` (runs in a thread, outside the
state lock, and must check authorization itself) and `_apply` (runs under the lock and
says whether to keep watching), and starts `watch` from its on_load. The loop stops when
`_apply` says so, when the page's key changes (the user went elsewhere) or on unmount.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from mkportal.services.errors import ServiceError

POLL_SECONDS = 1.0
MAX_POLLS = 4 * 3600


class LiveMixin(rx.State, mixin=True):
    """Adds `watch`/`stop_watching` to a page state."""

    live_key: str = ""
    _watched: str = ""

    def _fetch(self, token: str, key: str) -> Any:
        raise NotImplementedError

    def _apply(self, data: Any) -> bool:
        raise NotImplementedError

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
        try:
            for _ in range(MAX_POLLS):
                try:
                    data = await asyncio.to_thread(self._fetch, token, key)
                except ServiceError:
                    return
                async with self:
                    if self._watched != key or self.live_key != key:
                        return
                    if not self._apply(data):
                        return
                await asyncio.sleep(POLL_SECONDS)
        finally:
            async with self:
                if self._watched == key:
                    self._watched = ""
