"""The metrics explorer card: a PromQL field, a time range, a chart and a value table.

Placed on a cluster's Metrics tab; queries only ever see the organisation's series of
that cluster (the service rewrites every selector).
"""

from __future__ import annotations

import reflex as rx

from mkportal.components.charts import chart
from mkportal.components.ui import field_error
from mkportal.state.metrics_explorer import EXAMPLES
from mkportal.state.metrics_explorer import MetricsExplorerState as E

RANGE_LABELS = (
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
)


def range_select(value: rx.Var, on_change: rx.EventHandler, html_id: str) -> rx.Component:
    """Render a labelled time-range picker (15 minutes to 30 days)."""
    return rx.vstack(
        rx.el.label("Time range", html_for=html_id, class_name="mk-label"),
        rx.select.root(
            rx.select.trigger(id=html_id, aria_label="Time range"),
            rx.select.content(*[rx.select.item(label, value=v) for v, label in RANGE_LABELS]),
            value=value,
            on_change=on_change,
        ),
        spacing="1",
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row["name"], size="1", word_break="break-all")),
        rx.table.cell(row["value"], text_align="right"),
    )


def explorer_card() -> rx.Component:
    """Render the explorer (uses the page's `cluster_id` parameter)."""
    return rx.card(
        rx.vstack(
            rx.heading("Explore metrics", size="4"),
            rx.text(
                "Write PromQL over this cluster's series. Queries are limited to your "
                "organisation and this cluster.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    rx.el.label("PromQL query", html_for="explorer-query", class_name="mk-label"),
                    rx.text_area(
                        id="explorer-query",
                        name="query",
                        default_value=E.query,
                        key=E.example_runs,
                        placeholder=EXAMPLES[0],
                        rows="3",
                        width="100%",
                        font_family="monospace",
                    ),
                    field_error(E, "query"),
                    rx.hstack(
                        rx.text("Examples:", size="1", color_scheme="gray"),
                        *[
                            rx.button(
                                q,
                                size="1",
                                variant="ghost",
                                type="button",
                                on_click=E.use_example(q),
                            )
                            for q in EXAMPLES
                        ],
                        wrap="wrap",
                        spacing="2",
                    ),
                    rx.hstack(
                        range_select(E.range_, E.set_range, "explorer-range"),
                        rx.button("Run query", type="submit"),
                        align="end",
                        spacing="3",
                    ),
                    spacing="2",
                    width="100%",
                ),
                on_submit=E.run,
                width="100%",
            ),
            rx.cond(
                E.unavailable != "",
                rx.callout(E.unavailable, icon="info", color_scheme="amber", width="100%"),
            ),
            rx.cond(
                E.ran,
                rx.vstack(
                    rx.cond(
                        E.truncated,
                        rx.text(
                            "Only the first 50 series are shown.", size="1", color_scheme="gray"
                        ),
                    ),
                    chart(E.figure, "explorer-chart", "Query result over time"),
                    rx.cond(
                        E.rows.length() > 0,
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    rx.table.column_header_cell("Series"),
                                    rx.table.column_header_cell("Value now", text_align="right"),
                                )
                            ),
                            rx.table.body(rx.foreach(E.rows, _row)),
                            size="1",
                            width="100%",
                        ),
                        rx.text("The query returned no series.", size="2", color_scheme="gray"),
                    ),
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="metrics-explorer",
    )
