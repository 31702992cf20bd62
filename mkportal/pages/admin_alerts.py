"""/admin/alerts (incidents from Alertmanager) and /admin/alerts/[incident_id]."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import confirm_button, empty_state, field_error, pager
from mkportal.state.alerts import STATUS_FILTERS, AlertsState, AlertState

INCIDENT_COLORS = [("open", "red"), ("acknowledged", "orange"), ("resolved", "green")]
SEVERITY_COLORS = [("critical", "red"), ("warning", "orange"), ("info", "blue")]


def incident_badge(status: rx.Var) -> rx.Component:
    """Render an incident status badge."""
    return rx.badge(status, color_scheme=rx.match(status, *INCIDENT_COLORS, "gray"),
                    variant="soft", data_status=status)  # fmt: skip


def severity_badge(severity: rx.Var, priority: rx.Var) -> rx.Component:
    """Render the priority and severity of an alert."""
    return rx.hstack(
        rx.badge(priority, variant="solid", color_scheme=rx.match(
            priority, ("P1", "red"), ("P2", "orange"), "gray")),
        rx.badge(severity, variant="soft", color_scheme=rx.match(severity, *SEVERITY_COLORS, "gray")),
        spacing="1",
    )  # fmt: skip


def _runbook_link(slug: rx.Var) -> rx.Component:
    return rx.cond(slug != "", rx.link("Runbook", href="/admin/runbooks/" + slug), rx.text("-"))


def _row(i: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(i["alertname"], href="/admin/alerts/" + i["id"].to(str))),
        rx.table.cell(severity_badge(i["severity"], i["priority"])),
        rx.table.cell(incident_badge(i["status"])),
        rx.table.cell(
            rx.vstack(
                rx.text(i["cluster_name"]),
                rx.text(i["org_name"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),  # fmt: skip
        rx.table.cell(rx.text(i["summary"], size="2")),
        rx.table.cell(i["starts_at"]),
        rx.table.cell(_runbook_link(i["runbook"].to(str))),
    )


def alerts_page() -> rx.Component:
    """Render the incident list."""
    return shell(
        "Alerts",
        rx.hstack(
            rx.el.label("Status", html_for="alert-status", class_name="mk-label"),
            rx.select(
                STATUS_FILTERS,
                value=AlertsState.status_filter,
                id="alert-status",
                on_change=AlertsState.set_status_filter,
                size="1",
            ),  # fmt: skip
            rx.spacer(),
            rx.button(
                rx.icon("refresh-cw", size=14), "Refresh", variant="soft", on_click=AlertsState.load
            ),  # fmt: skip
            align="center",
            spacing="3",
            width="100%",
        ),
        rx.cond(
            AlertsState.items.length() > 0,
            rx.vstack(
                data_table(
                    ["Alert", "Priority", "Status", "Cluster", "Summary", "Started", "Runbook"],
                    AlertsState.items,
                    _row,
                ),  # fmt: skip
                pager(AlertsState),
                width="100%",
            ),
            empty_state(
                "siren",
                "No incidents",
                "Alerts that Alertmanager sends to the portal's webhook become incidents "
                "here: open until acknowledged, resolved when the alert clears.",
            ),
        ),
    )


def _event(e: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.badge(e["kind"], variant="outline"),
        rx.vstack(
            rx.text(e["message"], size="2"),
            rx.text(e["at"], " · ", e["actor"], size="1", color_scheme="gray"),
            spacing="0",
        ),
        align="start",
        spacing="3",
        width="100%",
    )


def _facts() -> rx.Component:
    i = AlertState.incident
    return rx.card(
        rx.vstack(
            rx.hstack(
                incident_badge(i["status"].to(str)),
                severity_badge(i["severity"].to(str), i["priority"].to(str)),
            ),  # fmt: skip
            rx.text(i["summary"].to(str), weight="medium"),
            rx.text(i["description"].to(str), size="2"),
            rx.text("Cluster: ", i["cluster_name"].to(str), " · ", i["org_name"].to(str), size="2"),
            rx.text("Started: ", i["starts_at"].to(str), size="2"),
            rx.cond(
                i["acknowledged_by"].to(str) != "",
                rx.text(
                    "Acknowledged by ",
                    i["acknowledged_by"].to(str),
                    " at ",
                    i["acknowledged_at"].to(str),
                    size="2",
                ),
            ),  # fmt: skip
            rx.cond(
                i["resolved_at"].to(str) != "",
                rx.text(
                    "Resolved by ",
                    i["resolved_by"].to(str),
                    " at ",
                    i["resolved_at"].to(str),
                    size="2",
                ),
            ),  # fmt: skip
            rx.cond(
                AlertState.runbook_href != "",
                rx.link(
                    rx.hstack(
                        rx.icon("book-open", size=14),
                        "Open the runbook",
                        align="center",
                        spacing="1",
                    ),
                    href=AlertState.runbook_href,
                ),
            ),  # fmt: skip
            spacing="2",
        ),
        width="100%",
    )


def _actions() -> rx.Component:
    status = AlertState.incident["status"].to(str)
    return rx.hstack(
        rx.cond(status == "open", rx.button("Acknowledge", on_click=AlertState.acknowledge)),
        rx.cond(
            status != "resolved",
            confirm_button(
                "Resolve",
                title="Resolve this incident?",
                color="green",
                description="Resolve it by hand; a new alert opens a new incident.",
                on_confirm=AlertState.resolve,
            ),  # fmt: skip
        ),
        spacing="3",
    )


def _comment_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.label("Comment", html_for="incident-comment", class_name="mk-label"),
            rx.text_area(
                id="incident-comment",
                name="text",
                value=AlertState.comment_text,
                on_change=AlertState.set_comment_text,
                width="100%",
                max_length=2000,
            ),  # fmt: skip
            field_error(AlertState, "text"),
            rx.button("Add comment", type="submit"),
            spacing="2",
            width="100%",
        ),
        on_submit=AlertState.add_comment,
        width="100%",
    )


def alert_page() -> rx.Component:
    """Render one incident: facts, actions, timeline and a comment box."""
    return shell(
        rx.cond(AlertState.missing, "Incident", AlertState.incident["alertname"].to(str)),
        rx.link("← All alerts", href=routes.ADMIN_ALERTS, size="2"),
        rx.cond(
            AlertState.missing,
            empty_state("search-x", "Incident not found", "It does not exist."),
            rx.cond(
                AlertState.incident.contains("id"),
                rx.vstack(
                    _facts(),
                    _actions(),
                    rx.heading("Timeline", size="4"),
                    rx.vstack(rx.foreach(AlertState.events, _event), spacing="3", width="100%"),
                    _comment_form(),
                    spacing="4",
                    width="100%",
                ),
                rx.spinner(),
            ),
        ),
    )
