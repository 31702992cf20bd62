"""The Alerts tab of /clusters/[cluster_id]: what the operator's monitoring saw, and alarms."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.table import data_table
from mkportal.components.ui import empty_state
from mkportal.state.cluster_alerts import ClusterAlertsState as A

STATUS_COLORS = {"open": "red", "acknowledged": "orange", "resolved": "green"}


def _row(i: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(i["alert"], weight="medium"), rx.text(i["summary"], size="1")),
        rx.table.cell(rx.badge(i["priority"], variant="soft"), " ", i["severity"]),
        rx.table.cell(
            rx.badge(
                i["status"], color_scheme=rx.match(i["status"], *STATUS_COLORS.items(), "gray")
            )
        ),
        rx.table.cell(i["started"]),
        rx.table.cell(i["ended"]),
    )


def alerts_tab() -> rx.Component:
    """Render the cluster's incidents (read-only) with pointers to alarms and SLO reports."""
    return rx.vstack(
        rx.text(
            "The operator's monitoring watches this cluster's API, nodes and certificates around "
            "the clock and is alerted on every incident below. For your own conditions on your "
            "metrics, create ",
            rx.link("alarms", href=routes.ALARMS),
            "; availability per month is in the ",
            rx.link("SLO reports", href=routes.SLO),
            ".",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            A.incidents.length() > 0,
            data_table(["Alert", "Priority", "Status", "Started", "Ended"], A.incidents, _row),
            rx.cond(
                A.loaded,
                empty_state(
                    "shield-check",
                    "No incidents",
                    "Nothing has alerted on this cluster. Incidents appear here as soon as the "
                    "operator's monitoring raises one.",
                ),
                rx.spinner(),
            ),
        ),
        width="100%",
        spacing="3",
        on_mount=A.load,
    )
