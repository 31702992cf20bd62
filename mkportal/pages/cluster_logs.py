"""The Logs tab of /clusters/[cluster_id]: collection, retention, search, histogram, live tail."""

from __future__ import annotations

import reflex as rx

from mkportal.components.collection_card import CardText, collection_card
from mkportal.components.log_view import (
    context_dialog,
    filters,
    histogram,
    log_lines,
    results,
    retention_form,
)
from mkportal.components.ui import empty_state
from mkportal.state.cluster_logs import ClusterLogsState as L

COLLECTION_TEXT = CardText(
    title="Log collection",
    icon="radio-tower",
    on_prefix="Shipping the logs of ",
    off_text="Collection is off: enable it to ship this cluster's logs. A log agent is "
    "installed in the cluster and sends every container's output here.",
    enable_label="Enable collection",
    disable_label="Disable collection",
    disable_title="Turn log collection off?",
    disable_description="The agent is removed from the cluster and no new lines arrive. "
    "Lines already stored stay until they expire.",
    input_label="Namespaces (optional)",
    input_id="log-namespaces",
    status_testid="collection-status",
)


def _collection() -> rx.Component:
    return collection_card(
        L, COLLECTION_TEXT, on_enable=L.enable_collection, on_disable=L.disable_collection
    )


def _retention() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon("calendar-clock", size=16),
            rx.heading("Retention", size="3"),
            align="center",
        ),
        rx.text(
            "Your organisation's application logs are kept for ",
            rx.text.strong(L.retention_days, " days", data_testid="log-retention"),
            ". A change applies to lines that arrive afterwards. Stored: ",
            rx.text.strong(L.quota_used, data_testid="log-quota"),
            ".",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            L.quota_reached,
            rx.callout(
                "The log quota is reached: far over it, new lines are refused until retention "
                "frees space. Shorten the retention or ask your operator for a larger quota.",
                icon="triangle_alert",
                color_scheme="orange",
                role="alert",
            ),
        ),
        rx.cond(
            L.can_set_retention,
            rx.box(
                retention_form(
                    L,
                    "Retention (days, 1-90)",
                    "log-retention-days",
                    "retention_days",
                    L.retention_days,
                    "app_retention_days",
                    L.save_retention,
                    L.retention_days,
                ),
                margin_top="0.5rem",
            ),
            rx.text("Owners of the organisation can change it.", size="1", color_scheme="gray"),
        ),
        width="100%",
    )


def _tail() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.badge(rx.icon("radio", size=12), "live", color_scheme="green", variant="soft"),
            rx.text(
                "New lines appear at the bottom as they arrive (the last 500 are kept); "
                "click one to see its context.",
                size="2",
                color_scheme="gray",
            ),
            align="center",
            margin_top="0.75rem",
        ),
        rx.box(
            rx.cond(
                L.tail_lines.length() > 0,
                log_lines(
                    L.tail_lines,
                    on_select=L.show_context,
                    selected=L.context_for,
                    test_id="log-tail",
                ),
                rx.text("Waiting for new lines…", size="2", color_scheme="gray", padding="0.5rem"),
            ),
            display="flex",
            flex_direction="column-reverse",
            max_height="32rem",
            overflow_y="auto",
            width="100%",
            border="1px solid var(--gray-5)",
            border_radius="var(--radius-2)",
            padding="0.25rem",
        ),
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.cond(
        L.collection["enabled"] == "yes",
        empty_state(
            "scroll-text",
            "No matching lines",
            "Nothing in this time range matches: widen the range, clear the filters, or "
            "start the live tail to watch new lines arrive.",
        ),
        empty_state(
            "scroll-text",
            "No logs yet",
            "Collection is off: enable it to ship this cluster's logs.",
        ),
    )


def _browser() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon("scroll-text", size=16),
            rx.heading("Logs", size="3"),
            rx.spacer(),
            rx.cond(
                L.tailing,
                rx.button(
                    rx.icon("square", size=14),
                    "Stop live tail",
                    color_scheme="red",
                    on_click=L.stop_tail,
                ),
                rx.button(rx.icon("play", size=14), "Live tail", on_click=L.start_tail),
            ),
            align="center",
            width="100%",
        ),
        rx.cond(
            L.cp_allowed,
            rx.hstack(
                rx.button(
                    "Application logs",
                    size="1",
                    variant=rx.cond(L.stream == "app", "solid", "soft"),
                    on_click=L.set_stream("app"),
                ),
                rx.button(
                    "Control-plane logs",
                    size="1",
                    variant=rx.cond(L.stream == "control-plane", "solid", "soft"),
                    on_click=L.set_stream("control-plane"),
                ),
                spacing="1",
            ),
        ),
        filters(L),
        rx.cond(
            L.tailing,
            _tail(),
            rx.vstack(histogram(L), results(L, _empty()), width="100%", margin_top="0.75rem"),
        ),
        context_dialog(L),
        width="100%",
    )


def logs_tab() -> rx.Component:
    """Render the cluster's Logs tab (it loads when shown and stops the tail when left)."""
    return rx.vstack(
        rx.cond(
            L.ready,
            rx.cond(
                L.missing,
                empty_state(
                    "search-x", "Cluster not found", "It does not exist, or belongs to another org."
                ),
                rx.vstack(_collection(), _retention(), _browser(), width="100%", spacing="3"),
            ),
            rx.hstack(rx.spinner(), rx.text("Reading the logs…", size="2"), role="status"),
        ),
        on_mount=L.load,
        on_unmount=L.leave,
        width="100%",
    )
