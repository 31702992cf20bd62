"""/slo (an organisation's SLO reports) and /admin/slo (every organisation's, roll-ups)."""

from __future__ import annotations

import reflex as rx

from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import empty_state
from mkportal.state.slo import AdminSloState, SloState

HEADERS = ["Cluster", "Level", "Availability", "Target", "Error budget used", "Downtime",
           "Incidents", "Credit", "Source"]  # fmt: skip


def _met(r: rx.Var) -> rx.Component:
    return rx.cond(
        r["met"],
        rx.badge("met", color_scheme="green", variant="soft"),
        rx.badge("missed", color_scheme="red", variant="soft"),
    )


def _row(r: rx.Var, with_org: bool) -> rx.Component:
    org = [rx.table.cell(r["org_name"])] if with_org else []
    return rx.table.row(
        *org,
        rx.table.cell(rx.link(r["cluster_name"], href="/clusters/" + r["cluster_id"].to(str))),
        rx.table.cell(r["service_level"]),
        rx.table.cell(rx.hstack(rx.text(r["availability"], " %"), _met(r), spacing="2")),
        rx.table.cell(r["target"], " %"),
        rx.table.cell(r["error_budget_used"], " %"),
        rx.table.cell(r["downtime_minutes"], " min"),
        rx.table.cell(r["incidents"]),
        rx.table.cell(r["credit_percent"], " %"),
        rx.table.cell(rx.text(r["source"], rx.cond(r["final"], "", " · running"), size="1")),
    )


def _controls(state: type[SloState] | type[AdminSloState], *extra: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.el.label("Month", html_for="slo-period", class_name="mk-label"),
        rx.select(
            state.periods,
            value=state.period,
            on_change=state.choose_period,
            id="slo-period",
            size="1",
        ),  # fmt: skip
        *extra,
        rx.spacer(),
        rx.button(
            rx.icon("download", size=14),
            "Download CSV",
            variant="soft",
            on_click=state.download_csv,
        ),  # fmt: skip
        align="center",
        spacing="3",
        width="100%",
    )


def _empty() -> rx.Component:
    return empty_state(
        "target",
        "No SLO reports for this month",
        "Reports are computed daily from the clusters' API availability and finalised "
        "after the month ends. A cluster's service level sets its availability target.",
    )


def _note() -> rx.Component:
    return rx.text(
        "Availability is the share of observed minutes in which the cluster's API answered. "
        "The error budget is the downtime the target allows; a miss earns the credit of "
        "the service level's policy on the next invoice.",
        size="2",
        color_scheme="gray",
    )


def slo_page() -> rx.Component:
    """Render the organisation's SLO reports."""
    return shell(
        "SLO reports",
        _controls(SloState),
        _note(),
        rx.cond(
            SloState.reports.length() > 0,
            data_table(HEADERS, SloState.reports, lambda r: _row(r, False)),
            _empty(),
        ),
    )


def _rollup(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["name"]),
        rx.table.cell(r["clusters"]),
        rx.table.cell(r["missed"]),
        rx.table.cell(r["availability"], " %"),
        rx.table.cell(r["downtime_minutes"], " min"),
        rx.table.cell(r["incidents"]),
    )


def admin_slo_page() -> rx.Component:
    """Render every organisation's SLO reports with per-org and fleet roll-ups."""
    s = AdminSloState
    org_picker = [
        rx.el.label("Organisation", html_for="slo-org", class_name="mk-label"),
        rx.select.root(
            rx.select.trigger(id="slo-org"),
            rx.select.content(rx.foreach(s.org_options, lambda o: rx.select.item(o["label"], value=o["value"]))),
            value=s.org_filter, on_change=s.choose_org, size="1",
        ),
        rx.button("Recompute", variant="soft", on_click=s.regenerate),
    ]  # fmt: skip
    return shell(
        "SLO reports",
        _controls(s, *org_picker),
        _note(),
        rx.cond(
            s.reports.length() > 0,
            rx.vstack(
                rx.heading("Fleet and organisations", size="4"),
                data_table(
                    ["Scope", "Clusters", "Missed target", "Availability", "Downtime", "Incidents"],
                    s.org_rollups,
                    _rollup,
                ),  # fmt: skip
                rx.text(
                    "Fleet availability ",
                    s.fleet["availability"].to(str),
                    " % · clusters: ",
                    s.fleet["clusters"].to(str),
                    " · missed their target: ",
                    s.fleet["missed"].to(str),
                    weight="medium",
                ),  # fmt: skip
                rx.heading("Clusters", size="4"),
                data_table(["Organisation", *HEADERS], s.reports, lambda r: _row(r, True)),
                spacing="3",
                width="100%",
            ),
            _empty(),
        ),
    )
