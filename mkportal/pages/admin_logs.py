"""/admin/logs: control-plane logs of any cluster, audit events, retention and access."""

from __future__ import annotations

import reflex as rx

from mkportal.components.cluster_form import labelled_select
from mkportal.components.layout import shell
from mkportal.components.log_view import (
    context_dialog,
    filters,
    histogram,
    level_badge,
    results,
    retention_form,
)
from mkportal.components.table import data_table
from mkportal.components.ui import empty_state
from mkportal.services.logs.store import COMPONENTS
from mkportal.state.admin_logs import AdminLogsState as A


def _choose() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.box(
                labelled_select("Organisation", "cp-org", A.org_options, A.org_id, A.choose_org),
                width="18rem",
            ),
            rx.box(
                labelled_select(
                    "Cluster", "cp-cluster", A.cluster_options, A.cluster_id, A.choose_cluster
                ),
                width="18rem",
            ),
            spacing="4",
            align="end",
            wrap="wrap",
        ),
        width="100%",
    )


def _settings() -> rx.Component:
    return rx.card(
        rx.heading("Retention and access", size="3"),
        rx.hstack(
            retention_form(
                A,
                "Control-plane retention (days, 1-90)",
                "cp-retention-days",
                "cp_retention_days",
                A.cp_retention_days,
                "control_plane_retention_days",
                A.save_cp_retention,
                A.cluster_id + A.cp_retention_days,
                width="16rem",
            ),
            rx.vstack(
                rx.hstack(
                    rx.switch(checked=A.org_granted, on_change=A.set_grant, id="cp-grant"),
                    rx.el.label(
                        "The organisation may read its control-plane logs",
                        html_for="cp-grant",
                        class_name="mk-label",
                    ),
                    align="center",
                ),
                rx.text(
                    "Without this grant only operators see these logs.",
                    size="1",
                    color_scheme="gray",
                ),
                spacing="1",
            ),
            spacing="5",
            align="end",
            wrap="wrap",
        ),
        width="100%",
    )


def _audit_row(e: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(e["ts"], on_click=A.show_context(e["id"]), cursor="pointer", size="1"),
            white_space="nowrap",
        ),
        rx.table.cell(rx.code(e["verb"])),
        rx.table.cell(e["user"]),
        rx.table.cell(e["resource"]),
        rx.table.cell(e["audit_namespace"], white_space="nowrap"),
        rx.table.cell(e["status"]),
        rx.table.cell(level_badge(e["level"].to(str))),
    )


def _audit() -> rx.Component:
    return rx.cond(
        A.lines.length() > 0,
        rx.vstack(
            rx.text(A.result_note, size="2", color_scheme="gray"),
            rx.box(
                data_table(
                    ["Time", "Verb", "User", "Resource", "Namespace", "Status", "Level"],
                    A.lines,
                    _audit_row,
                ),
                width="100%",
                data_testid="audit-events",
            ),
            rx.cond(
                A.has_older,
                rx.button(
                    "Load older",
                    variant="soft",
                    on_click=A.load_older,
                    width="100%",
                    data_autoload="true",
                ),
            ),
            width="100%",
        ),
        _empty(),
    )


def _empty() -> rx.Component:
    return rx.cond(
        A.cluster_id == "",
        empty_state(
            "server", "Choose a cluster", "Pick an organisation and one of its clusters above."
        ),
        empty_state(
            "scroll-text",
            "No control-plane lines",
            "Nothing matches in this time range: widen the range or clear the filters. "
            "Control-plane logs arrive once the cluster's log collection is on.",
        ),
    )


def admin_logs_page() -> rx.Component:
    """Render the control-plane log browser of the operator console."""
    return shell(
        "Control-plane logs",
        _choose(),
        rx.cond(A.cluster_id != "", _settings()),
        rx.card(
            filters(A, components=[(c, c) for c in COMPONENTS]),
            rx.cond(
                A.audit_mode,
                rx.vstack(histogram(A), _audit(), width="100%", margin_top="0.75rem"),
                rx.vstack(histogram(A), results(A, _empty()), width="100%", margin_top="0.75rem"),
            ),
            context_dialog(A),
            width="100%",
        ),
    )
