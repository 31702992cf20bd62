"""State of /admin/runbooks (searchable list) and /admin/runbooks/[slug] (one, rendered)."""

from __future__ import annotations

import reflex as rx

from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound
from mkportal.services.metrics import runbooks
from mkportal.state.format import row, rows
from mkportal.state.guard import authed
from mkportal.state.session import SessionState


class RunbooksState(SessionState):
    """Operators: every alert's runbook, searchable."""

    items: list[dict] = []
    query: str = ""

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """List the runbooks matching the search."""
        self.items = rows(runbooks.list_runbooks(actor, self.query))

    @rx.event
    def search(self, form: dict):  # noqa: ANN201
        """Search the runbooks for every word typed."""
        self.query = str(form.get("q", ""))[: runbooks.MAX_QUERY]
        return RunbooksState.load

    @rx.event
    def clear(self):  # noqa: ANN201
        """Show every runbook again."""
        self.query = ""
        return RunbooksState.load


class RunbookState(SessionState):
    """Operators: one runbook, rendered from Markdown."""

    book: dict = {}
    markdown: str = ""
    missing: bool = False

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the runbook named in the URL."""
        try:
            book = runbooks.get(actor, self.router.page.params.get("slug", ""))
        except NotFound:
            self.missing, self.book, self.markdown = True, {}, ""
            return
        self.missing = False
        self.book = {k: v for k, v in row(book).items() if k != "markdown"}
        lines = book.markdown.splitlines()
        body = lines[1:] if lines and lines[0].startswith("# ") else lines
        self.markdown = "\n".join(body).strip()  # the title is the page heading
