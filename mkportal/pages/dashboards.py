"""/dashboards (list, create, import) and /dashboards/[dashboard_id] (custom panels)."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.dashboard_panels import labelled, panel_card, panel_form
from mkportal.components.layout import shell
from mkportal.components.metrics_explorer import range_select
from mkportal.components.ui import confirm_button, copy_box, empty_state, field_error
from mkportal.state.dashboards import DashboardsState as L
from mkportal.state.dashboards import DashboardState as D


def _card(item: rx.Var) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.heading(item["name"], size="3"),
                rx.text(item["description"], size="2", color_scheme="gray"),
                rx.text(
                    f"{item['panels']} panels · updated {item['updated']}",
                    size="1",
                    color_scheme="gray",
                ),
                spacing="1",
            ),
            width="100%",
        ),
        href=item["href"],
        underline="none",
        width="100%",
    )


def _create_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("New dashboard", size="3"),
                labelled(
                    "Name",
                    "dash-name",
                    rx.input(id="dash-name", name="name", width="100%"),
                    field_error(L, "name"),
                ),
                labelled(
                    "Description",
                    "dash-description",
                    rx.input(id="dash-description", name="description", width="100%"),
                    field_error(L, "description"),
                ),
                rx.button("Create dashboard", type="submit"),
                spacing="2",
                width="100%",
            ),
            on_submit=L.create,
            reset_on_submit=False,
        ),
        width="100%",
    )


def _import_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Import a dashboard", size="3"),
                labelled(
                    "Exported JSON",
                    "dash-import",
                    rx.text_area(
                        id="dash-import",
                        name="document",
                        rows="4",
                        width="100%",
                        font_family="monospace",
                    ),
                    field_error(L, "document"),
                    field_error(L, "name"),
                ),
                rx.button("Import dashboard", type="submit", variant="soft"),
                spacing="2",
                width="100%",
            ),
            on_submit=L.import_json,
            reset_on_submit=False,
        ),
        width="100%",
    )


def dashboards_page() -> rx.Component:
    """Render the organisation's custom dashboards."""
    return shell(
        "Dashboards",
        rx.text(
            "Charts of your own PromQL queries over your organisation's clusters. Everyone "
            "in the organisation sees them; members and owners change them.",
            color_scheme="gray",
            size="2",
        ),
        rx.cond(
            L.items.length() > 0,
            rx.grid(rx.foreach(L.items, _card), columns="2", spacing="3", width="100%"),
            empty_state(
                "layout-dashboard",
                "No dashboards yet",
                "Create a dashboard, then add panels with PromQL queries.",
            ),
        ),
        rx.cond(
            L.writable,
            rx.grid(_create_form(), _import_form(), columns="2", spacing="3", width="100%"),
        ),
    )


def _header_tools() -> list[rx.Component]:
    return [
        range_select(D.range_, D.set_range, "dashboard-range"),
        rx.button("Refresh", variant="soft", on_click=D.refresh),
        rx.button("Export", variant="soft", on_click=D.export),
    ]


def _settings() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Dashboard settings", size="3"),
                labelled(
                    "Name",
                    "dash-edit-name",
                    rx.input(id="dash-edit-name", name="name", default_value=D.name, width="100%"),
                    field_error(D, "name"),
                ),
                labelled(
                    "Description",
                    "dash-edit-description",
                    rx.input(
                        id="dash-edit-description",
                        name="description",
                        default_value=D.description,
                        width="100%",
                    ),
                    field_error(D, "description"),
                ),
                rx.hstack(
                    rx.button("Save settings", type="submit", variant="soft"),
                    confirm_button(
                        "Delete dashboard",
                        title="Delete this dashboard?",
                        description=D.name,
                        on_confirm=D.delete,
                    ),
                    spacing="2",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=D.rename,
            reset_on_submit=False,
            key=D.name,
        ),
        width="100%",
    )


def dashboard_page() -> rx.Component:
    """Render one custom dashboard; its URL is the share link."""
    body = rx.vstack(
        rx.hstack(*_header_tools(), align="end", spacing="3", wrap="wrap"),
        rx.cond(D.description != "", rx.text(D.description, color_scheme="gray", size="2")),
        rx.cond(
            D.unavailable != "",
            rx.callout(D.unavailable, icon="info", color_scheme="amber", width="100%"),
        ),
        rx.cond(
            D.export_text != "",
            rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.heading("Export", size="3"),
                        rx.spacer(),
                        rx.button("Hide export", size="1", variant="soft", on_click=D.hide_export),
                        width="100%",
                    ),
                    copy_box(D.export_text, "Copy JSON"),
                    width="100%",
                ),
                width="100%",
            ),
        ),
        rx.cond(
            D.panels.length() > 0,
            rx.grid(rx.foreach(D.panels, panel_card), columns="2", spacing="3", width="100%"),
            empty_state(
                "chart-line",
                "No panels yet",
                "Add a panel with a PromQL query over your clusters' metrics.",
            ),
        ),
        rx.cond(
            D.writable,
            rx.vstack(
                rx.cond(D.form_open, panel_form(), rx.button("Add panel", on_click=D.new_panel)),
                _settings(),
                width="100%",
                spacing="3",
            ),
        ),
        spacing="3",
        width="100%",
    )
    return shell(
        rx.cond(D.missing, "Dashboard not found", D.name),
        rx.cond(
            D.missing,
            empty_state(
                "search-x",
                "Dashboard not found",
                "It was deleted, or it belongs to another organisation.",
                rx.link("All dashboards", href=routes.DASHBOARDS),
            ),
            body,
        ),
    )
