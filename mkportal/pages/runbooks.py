"""/admin/runbooks (searchable list) and /admin/runbooks/[slug] (rendered Markdown)."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.layout import shell
from mkportal.components.ui import empty_state
from mkportal.pages.admin_alerts import SEVERITY_COLORS
from mkportal.state.runbooks import RunbooksState, RunbookState


def _card(b: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.link(
                    rx.heading(b["title"], size="3"), href="/admin/runbooks/" + b["slug"].to(str)
                ),
                rx.badge(
                    b["severity"],
                    variant="soft",
                    color_scheme=rx.match(b["severity"].to(str), *SEVERITY_COLORS, "gray"),
                ),  # fmt: skip
                align="center",
            ),
            rx.text(b["summary"], size="2"),
            rx.text("Alert: ", b["alertname"], size="1", color_scheme="gray"),
            spacing="1",
        ),
        width="100%",
    )


def runbooks_page() -> rx.Component:
    """Render the runbook list with its search box."""
    return shell(
        "Runbooks",
        rx.form(
            rx.hstack(
                rx.el.label("Search runbooks", html_for="runbook-q", class_name="mk-label"),
                rx.input(
                    id="runbook-q",
                    name="q",
                    default_value=RunbooksState.query,
                    placeholder="e.g. certificate, kubectl drain",
                    width="20rem",
                ),  # fmt: skip
                rx.button("Search", type="submit"),
                rx.cond(
                    RunbooksState.query != "",
                    rx.button("Clear", type="button", variant="soft", on_click=RunbooksState.clear),
                ),  # fmt: skip
                align="center",
                spacing="2",
            ),
            on_submit=RunbooksState.search,
        ),
        rx.cond(
            RunbooksState.items.length() > 0,
            rx.vstack(rx.foreach(RunbooksState.items, _card), spacing="2", width="100%"),
            empty_state(
                "book-open",
                "No runbook matches",
                "Try fewer or other words: the search covers titles and text.",
            ),  # fmt: skip
        ),
    )


def runbook_page() -> rx.Component:
    """Render one runbook."""
    return shell(
        rx.cond(RunbookState.missing, "Runbook", RunbookState.book["title"].to(str)),
        rx.link("← All runbooks", href=routes.ADMIN_RUNBOOKS, size="2"),
        rx.cond(
            RunbookState.missing,
            empty_state("search-x", "Runbook not found", "There is no runbook by that name."),
            rx.card(rx.markdown(RunbookState.markdown), width="100%", class_name="mk-runbook"),
        ),
    )
