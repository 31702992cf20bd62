"""Pagination for list pages: `page`/`pages`/`total` and previous/next events."""

from __future__ import annotations

import reflex as rx

from mkportal.services.pagination import Page


class PagedMixin(rx.State, mixin=True):
    """Mix into a state that has a `load` event reading `self.page`."""

    page: int = 1
    pages: int = 1
    total: int = 0

    def _paged(self, page: Page) -> list:
        self.page, self.pages, self.total = page.page, page.pages, page.total
        return page.items

    @rx.event
    def next_page(self):  # noqa: ANN201
        """Show the next page."""
        self.page = min(self.page + 1, self.pages)
        return type(self).load

    @rx.event
    def prev_page(self):  # noqa: ANN201
        """Show the previous page."""
        self.page = max(self.page - 1, 1)
        return type(self).load
