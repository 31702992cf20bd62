"""The panels of a custom dashboard: the chart card and the add/edit form."""

from __future__ import annotations

import reflex as rx

from mkportal.components.charts import chart
from mkportal.components.ui import confirm_button, field_error
from mkportal.services.metrics.dashboard_schema import CHARTS
from mkportal.state.dashboards import ALL_CLUSTERS
from mkportal.state.dashboards import DashboardState as D


def labelled(label: str, html_id: str, control: rx.Component, *below: rx.Component) -> rx.Component:
    """Render a control under its <label>, with optional content below."""
    return rx.vstack(
        rx.el.label(label, html_for=html_id, class_name="mk-label"),
        control,
        *below,
        spacing="1",
        width="100%",
    )


def panel_form() -> rx.Component:
    """Render the form adding a panel or editing `DashboardState.editing`."""
    charts = [rx.select.item(c.capitalize(), value=c) for c in CHARTS]
    clusters = [
        rx.select.item("All clusters of the organisation", value=ALL_CLUSTERS),
        rx.foreach(D.clusters, lambda c: rx.select.item(c["label"], value=c["value"])),
    ]

    def select(label: str, name: str, items: list) -> rx.Component:
        return labelled(
            label,
            f"panel-{name}",
            rx.select.root(
                rx.select.trigger(id=f"panel-{name}", aria_label=label, width="100%"),
                rx.select.content(*items),
                name=name,
                default_value=D.form[name],
            ),
            field_error(D, f"panel.{name}"),
        )

    def text(label: str, name: str, hint: str = "", **props) -> rx.Component:
        return labelled(
            label,
            f"panel-{name}",
            rx.input(
                id=f"panel-{name}", name=name, default_value=D.form[name], width="100%", **props
            ),
            *([rx.text(hint, size="1", color_scheme="gray")] if hint else []),
            field_error(D, f"panel.{name}"),
        )

    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(rx.cond(D.editing < 0, "New panel", "Edit panel"), size="3"),
                text("Title", "title"),
                labelled(
                    "PromQL query",
                    "panel-query",
                    rx.text_area(
                        id="panel-query",
                        name="query",
                        default_value=D.form["query"],
                        rows="3",
                        width="100%",
                        font_family="monospace",
                    ),
                    field_error(D, "panel.query"),
                ),
                rx.grid(
                    select("Chart", "chart", charts),
                    select("Cluster", "cluster_id", clusters),
                    text("Unit", "unit", "Shown on the axis, e.g. % or req/s"),
                    text("Thresholds", "thresholds", "value and colour, e.g. 0.8 orange, 0.95 red"),
                    columns="2",
                    spacing="3",
                    width="100%",
                ),
                rx.hstack(
                    rx.button("Save panel", type="submit"),
                    rx.button(
                        "Cancel",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=D.close_form,
                    ),
                    spacing="2",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=D.save_panel,
            reset_on_submit=False,
            key=D.editing,
        ),
        width="100%",
        data_testid="panel-form",
    )


def panel_card(p: rx.Var, i: rx.Var) -> rx.Component:
    """Render panel `p` (its figure is `DashboardState.figures[i]`) with its tools."""
    tools = rx.hstack(
        rx.button(
            "Move up",
            size="1",
            variant="ghost",
            on_click=D.move_panel(p["index"], "up"),
            disabled=p["index"] == 0,
        ),
        rx.button(
            "Move down",
            size="1",
            variant="ghost",
            on_click=D.move_panel(p["index"], "down"),
            disabled=p["last"],
        ),
        rx.button("Edit", size="1", variant="ghost", on_click=D.edit_panel(p["index"])),
        confirm_button(
            "Remove",
            title="Remove this panel?",
            description=p["title"],
            on_confirm=D.remove_panel(p["index"]),
            size="1",
            variant="ghost",
        ),
        spacing="2",
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.heading(p["title"], size="3"),
                    rx.text(p["scope"], size="1", color_scheme="gray"),
                    spacing="0",
                ),
                rx.spacer(),
                rx.cond(D.writable, tools),
                width="100%",
                align="start",
            ),
            rx.cond(
                p["error"] != "",
                rx.callout(p["error"], icon="triangle_alert", color_scheme="red", width="100%"),
                rx.cond(
                    p["empty"],
                    rx.text("No data for this range.", size="2", color_scheme="gray"),
                    chart(D.figures[i], "dashboard-panel-chart", p["title"]),
                ),
            ),
            rx.code(p["query"], size="1", color_scheme="gray", word_break="break-all"),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="dashboard-panel",
    )
