"""The Metrics tab of /clusters/[cluster_id]: health summary, charts, explorer, collection."""

from __future__ import annotations

import reflex as rx

from mkportal.components.charts import chart
from mkportal.components.metrics_collection import collection_card
from mkportal.components.metrics_explorer import explorer_card
from mkportal.components.ui import empty_state
from mkportal.state.cluster_metrics import ClusterMetricsState as M

RANGES = [("15m", "15 min"), ("1h", "1 h"), ("6h", "6 h"), ("24h", "24 h"), ("7d", "7 d"),
          ("30d", "30 d")]  # fmt: skip


def _pressed(active: rx.Var) -> dict:
    return {
        "variant": rx.cond(active, "solid", "soft"),
        "aria_pressed": rx.cond(active, "true", "false"),
    }


def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.el.label("Time range", class_name="mk-label"),
            rx.hstack(
                *[
                    rx.button(label, size="1", on_click=M.set_range(v), **_pressed(M.range_ == v))
                    for v, label in RANGES
                ],
                spacing="1",
            ),
            spacing="1",
        ),
        rx.vstack(
            rx.el.label("CPU and memory", class_name="mk-label"),
            rx.hstack(
                rx.button(
                    "Per node",
                    size="1",
                    on_click=M.set_group("node"),
                    **_pressed(M.group == "node"),
                ),
                rx.button(
                    "Per pool",
                    size="1",
                    on_click=M.set_group("pool"),
                    **_pressed(M.group == "pool"),
                ),
                spacing="1",
            ),  # fmt: skip
            spacing="1",
        ),
        rx.spacer(),
        rx.vstack(
            rx.text(
                "Updated ",
                M.updated,
                " · refreshes automatically",
                size="1",
                color_scheme="gray",
                data_testid="metrics-updated",
            ),
            rx.button(
                rx.icon("refresh-cw", size=14),
                "Refresh",
                size="1",
                variant="soft",
                on_click=M.refresh,
            ),
            align="end",
            spacing="1",
        ),  # fmt: skip
        width="100%",
        align="end",
        wrap="wrap",
    )


def _tile(t: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(t["label"], size="1", color_scheme="gray"),
            rx.text(t["value"], size="5", weight="bold", color_scheme=t["tone"].to(str)),
            spacing="1",
        ),
        data_testid="metrics-tile",
        min_width="9rem",
        flex="1",
    )


def _chart_card(title: str, figure: rx.Var, test_id: str) -> rx.Component:
    return rx.card(
        rx.heading(title, size="2", margin_bottom="0.25rem"),
        chart(figure, test_id, title),
        width="100%",
    )


def _dashboard() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.foreach(M.health, _tile),
            width="100%",
            wrap="wrap",
            spacing="2",
            data_testid="metrics-health",
        ),  # fmt: skip
        rx.grid(
            _chart_card("CPU utilisation", M.cpu, "chart-cpu"),
            _chart_card("Memory utilisation", M.memory, "chart-memory"),
            _chart_card("API requests per second by code", M.requests, "chart-requests"),
            _chart_card("API server error ratio", M.errors, "chart-errors"),
            _chart_card("API latency (p50, p99)", M.latency, "chart-latency"),
            _chart_card("Pods by phase", M.pods, "chart-pods"),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        spacing="3",
    )


def _unavailable() -> rx.Component:
    return rx.callout(
        rx.text(rx.text.strong("Metrics are not available. "), M.unavailable),
        icon="circle-alert",
        color_scheme="orange",
        role="status",
        width="100%",
        data_testid="metrics-unavailable",
    )


def _slots() -> list[rx.Component]:
    # The PromQL explorer (components/metrics_explorer.py) and the app metrics
    # collection card (components/metrics_collection.py) sit below the dashboard.
    return [
        rx.box(explorer_card(), width="100%", data_testid="slot-metrics-explorer"),
        rx.box(collection_card(), width="100%", data_testid="slot-metrics-collection"),
    ]


def metrics_tab() -> rx.Component:
    """Render the cluster's Metrics tab (it loads when shown and stops refreshing when left)."""
    return rx.vstack(
        rx.cond(
            M.ready,
            rx.cond(
                M.missing,
                empty_state(
                    "search-x", "Cluster not found", "It does not exist, or belongs to another org."
                ),
                rx.vstack(
                    _toolbar(),
                    rx.cond(M.unavailable != "", _unavailable(), _dashboard()),
                    *_slots(),
                    width="100%",
                    spacing="3",
                ),
            ),
            rx.hstack(rx.spinner(), rx.text("Reading the metrics…", size="2"), role="status"),
        ),
        on_mount=M.load,
        on_unmount=M.leave,
        width="100%",
    )
