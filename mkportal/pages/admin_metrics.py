"""/admin/metrics: the metrics backend, every cluster's health, sandbox fault injection."""

from __future__ import annotations

import reflex as rx

from mkportal.components.cluster_form import labelled_select
from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import empty_state, field_error, labelled_input
from mkportal.state.admin_metrics import AdminMetricsState as A

HEALTH_COLORS = [("healthy", "green"), ("degraded", "orange"), ("down", "red")]


def _backend() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon("activity", size=16),
            rx.heading("Metrics backend", size="3"),
            rx.badge(
                A.backend_mode,
                color_scheme=rx.cond(A.backend_mode == "not installed", "orange", "green"),
                variant="soft",
                data_testid="metrics-backend-mode",
            ),
            align="center",
        ),
        rx.text(A.backend_message, size="2", color_scheme="gray"),
        width="100%",
    )


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(r["name"], href="/clusters/" + r["id"].to(str))),
        rx.table.cell(r["org"]),
        rx.table.cell(r["provider"]),
        rx.table.cell(r["service_level"]),
        rx.table.cell(
            rx.badge(
                r["health"],
                color_scheme=rx.match(r["health"], *HEALTH_COLORS, "gray"),
                variant="soft",
                data_health=r["health"],
            )
        ),
        rx.table.cell(r["error_ratio"]),
        rx.table.cell(r["latency"]),
        rx.table.cell(r["nodes"]),
        rx.table.cell(r["alerts"]),
        data_testid="fleet-row",
    )


def _fleet() -> rx.Component:
    return rx.card(
        rx.heading("Fleet", size="3", margin_bottom="0.5rem"),
        rx.cond(
            A.fleet_message != "",
            rx.callout(A.fleet_message, icon="circle-alert", color_scheme="orange", role="status"),
        ),
        rx.cond(
            A.rows.length() > 0,
            data_table(
                [
                    "Cluster",
                    "Organisation",
                    "Provider",
                    "Service level",
                    "Health",
                    "Error ratio",
                    "p99 latency",
                    "Nodes ready",
                    "Firing alerts",
                ],
                A.rows,
                _row,
            ),  # fmt: skip
            empty_state("server", "No clusters", "Clusters appear here once they are created."),
        ),
        width="100%",
    )


def _checkbox(label: str, name: str) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.checkbox(name=name, default_checked=A.fault_values[name] == "yes"),
            rx.text(label, size="2"),
            align="center",
        ),
    )


def _number(label: str, name: str, hint: str) -> rx.Component:
    return rx.box(
        labelled_input(
            label,
            f"fault-{name.replace('_', '-')}",
            name=name,
            default_value=A.fault_values[name],
            type="number",
            step="any",
            min="0",
            below=rx.fragment(rx.text(hint, size="1", color_scheme="gray"), field_error(A, name)),
        ),
        width="12rem",
    )


def _faults() -> rx.Component:
    return rx.card(
        rx.heading("Sandbox fault injection", size="3"),
        rx.text(
            "Make a sandbox cluster's simulated metrics misbehave to try alerts, incidents "
            "and SLO reports. Changes are audited.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            A.sandbox_options.length() > 0,
            rx.vstack(
                rx.box(
                    labelled_select(
                        "Sandbox cluster",
                        "fault-cluster",
                        A.sandbox_options,
                        A.fault_cluster,
                        A.choose_cluster,
                    ),
                    width="24rem",
                ),  # fmt: skip
                rx.form(
                    rx.vstack(
                        rx.hstack(
                            _checkbox("API server down", "api_down"),
                            _checkbox("Backups stale", "backup_stale"),
                            spacing="5",
                        ),
                        rx.hstack(
                            _number("Error ratio (0-0.95)", "error_ratio", "Share of 5xx."),
                            _number("Latency (seconds)", "latency_seconds", "p99; 0 is normal."),
                            _number("Nodes not ready", "nodes_not_ready", "Count of nodes."),
                            _number("Certificate expiry (days)", "cert_expiry_days", "Empty: 1 y."),
                            wrap="wrap",
                            spacing="3",
                        ),
                        field_error(A, "faults"),
                        rx.hstack(
                            rx.button("Apply faults", type="submit"),
                            rx.button(
                                "Clear faults",
                                type="button",
                                variant="soft",
                                color_scheme="gray",
                                on_click=A.clear_faults,
                            ),
                        ),  # fmt: skip
                        spacing="3",
                    ),
                    key=A.fault_cluster + A.fault_values.to_string(),
                    on_submit=A.apply_faults,
                ),
                spacing="3",
                width="100%",
            ),
            rx.text("There are no sandbox clusters.", size="2"),
        ),
        width="100%",
    )


def admin_metrics_page() -> rx.Component:
    """Render /admin/metrics."""
    return shell(
        "Metrics",
        rx.vstack(_backend(), _fleet(), _faults(), width="100%", spacing="4"),
        on_unmount=A.leave,
    )
