"""The "App metrics collection" card of a cluster's Metrics tab."""

from __future__ import annotations

import reflex as rx

from mkportal.components.ui import confirm_button, field_error, labelled_input
from mkportal.state.metrics_collection import MetricsCollectionState as M


def _form(enabled: rx.Var) -> rx.Component:
    c = M.collection
    return rx.form(
        rx.hstack(
            rx.box(
                labelled_input(
                    "Namespaces to scrape (optional)",
                    "metrics-namespaces",
                    name="namespaces",
                    default_value=c["namespaces_input"],
                    placeholder="e.g. shop, payments; empty for every namespace",
                    below=field_error(M, "namespaces"),
                ),
                flex="1",
                max_width="32rem",
            ),
            rx.button(
                rx.cond(enabled, "Update namespaces", "Enable app metrics"),
                type="submit",
            ),
            align="end",
            width="100%",
        ),
        on_submit=M.enable,
        reset_on_submit=False,
        key=c["namespaces_input"],
        margin_top="0.5rem",
    )


def collection_card() -> rx.Component:
    """Render the app metrics collection card (it loads itself for the page's cluster)."""
    c = M.collection
    enabled = c["enabled"] == "yes"
    return rx.card(
        rx.hstack(
            rx.icon("activity", size=16),
            rx.heading("App metrics collection", size="3"),
            rx.badge(
                rx.cond(enabled, "on", "off"),
                color_scheme=rx.cond(enabled, "green", "gray"),
                variant="soft",
                data_testid="metrics-collection-status",
            ),
            rx.spacer(),
            rx.cond(
                enabled & M.can_collect,
                confirm_button(
                    "Disable app metrics",
                    title="Turn app metrics collection off?",
                    description="The Prometheus agent is removed from the cluster and no new "
                    "samples arrive. Series already stored stay queryable.",
                    on_confirm=M.disable,
                    size="1",
                ),
            ),
            align="center",
            width="100%",
        ),
        rx.cond(
            enabled,
            rx.text(
                "Scraping annotated pods of ",
                rx.text.strong(c["namespaces"]),
                " (agent: ",
                c["agent"],
                "). Enabled by ",
                c["enabled_by"],
                " on ",
                c["enabled_at"],
                ".",
                size="2",
                color_scheme="gray",
            ),
            rx.text(
                "Collection is off. Enable it to install a Prometheus agent that scrapes pods "
                'annotated prometheus.io/scrape: "true" (prometheus.io/port and '
                "prometheus.io/path choose where) and sends the series here, for dashboards "
                "and alarms.",
                size="2",
                color_scheme="gray",
            ),
        ),
        rx.cond(c["message"] != "", rx.text(c["message"], size="2", color_scheme="orange")),
        rx.cond(
            M.can_collect,
            _form(enabled),
            rx.text(
                "Members and owners of the organisation can turn collection on or off.",
                size="1",
                color_scheme="gray",
            ),
        ),
        width="100%",
        on_mount=M.load,
        data_testid="metrics-collection-card",
    )
