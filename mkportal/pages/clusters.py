"""/clusters (the organisation's) and /admin/clusters (every organisation's)."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import empty_state, pager, status_badge
from mkportal.state.clusters import STATUS_FILTERS, AdminClustersState, ClustersState

HEADERS = ["Name", "Status", "Provider", "Region", "Version", "Nodes ready", "Service level"]


def _row(c: rx.Var, *extra: rx.Component) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(c["name"], href=f"/clusters/{c['id']}", weight="bold")),
        rx.table.cell(status_badge(c["status"])),
        rx.table.cell(c["provider"]),
        rx.table.cell(c["region"]),
        rx.table.cell(c["version"]),
        rx.table.cell(c["nodes"]),
        rx.table.cell(c["service_level"]),
        *extra,
    )


def _filters(state: type[rx.State]) -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(
                name="search",
                placeholder="Search by name",
                aria_label="Search",
                default_value=state.search,
            ),
            rx.select(
                STATUS_FILTERS,
                value=state.status_filter,
                on_change=state.set_status_filter,
                aria_label="Status",
            ),
            rx.button("Search", type="submit", variant="soft"),
        ),
        on_submit=state.filter,
        reset_on_submit=False,
    )


def _list(state: type[rx.State], headers: list[str], render, empty: rx.Component) -> rx.Component:
    return rx.cond(
        state.clusters.length() > 0,
        rx.vstack(data_table(headers, state.clusters, render), pager(state), width="100%"),
        empty,
    )


def clusters_page() -> rx.Component:
    """Render the organisation's clusters."""
    return shell(
        "Clusters",
        _filters(ClustersState),
        _list(
            ClustersState,
            HEADERS,
            _row,
            rx.cond(
                (ClustersState.search == "") & (ClustersState.status_filter == "all"),
                empty_state(
                    "boxes",
                    "No clusters yet",
                    "Create a Kubernetes cluster on the sandbox, EKS, GKE or AKS in a few "
                    "clicks. It is ready in minutes, with the features you pick.",
                    rx.link(rx.button("Create cluster"), href=routes.CLUSTER_NEW),
                ),
                empty_state("search-x", "No matching clusters", "Change the search or filter."),
            ),
        ),
        actions=[
            rx.link(rx.button(rx.icon("plus", size=14), "New cluster"), href=routes.CLUSTER_NEW)
        ],
    )


def admin_clusters_page() -> rx.Component:
    """Render every organisation's clusters, for operators."""
    return shell(
        "All clusters",
        _filters(AdminClustersState),
        _admin_filters(),
        _list(
            AdminClustersState,
            [*HEADERS, "Organisation", "Created by"],
            lambda c: _row(c, rx.table.cell(c["org_name"]), rx.table.cell(c["created_by"])),
            empty_state("server", "No clusters", "No organisation has a matching cluster."),
        ),
    )


def _admin_filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(name="provider", placeholder="Provider", aria_label="Provider"),
            rx.input(name="version", placeholder="Version, e.g. 1.35", aria_label="Version"),
            rx.input(name="service_level", placeholder="Service level", aria_label="Service level"),
            rx.button("Filter", type="submit", variant="soft"),
        ),
        on_submit=AdminClustersState.filter,
        reset_on_submit=False,
    )
