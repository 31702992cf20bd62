"""/clusters/new: the create form with a running cost estimate."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.cluster_form import feature_picker, labelled_select, pool_editor
from mkportal.components.layout import shell
from mkportal.components.ui import field_error, labelled_input
from mkportal.state.cluster_new import NewClusterState as S


def _text(label: str, name: str, value: rx.Var, hint: str = "") -> rx.Component:
    return labelled_input(
        label,
        name,
        value=value,
        on_change=lambda v: S.set_field(name, v),
        below=rx.vstack(
            *([rx.text(hint, size="1", color_scheme="gray")] if hint else []),
            field_error(S, name),
            spacing="1",
        ),
    )


def _choice(label: str, name: str, options: rx.Var, value: rx.Var) -> rx.Component:
    return rx.box(
        labelled_select(label, name, options, value, lambda v: S.set_field(name, v)),
        field_error(S, name),
        width="100%",
    )


def _estimate() -> rx.Component:
    return rx.card(
        rx.heading("Estimated cost", size="4"),
        rx.vstack(
            rx.foreach(
                S.estimate_lines,
                lambda line: rx.hstack(
                    rx.text(line["label"], size="2"),
                    rx.spacer(),
                    rx.text(line["amount"], size="2"),
                    width="100%",
                ),
            ),
            rx.divider(),
            rx.hstack(
                rx.text("Per month", weight="bold"),
                rx.spacer(),
                rx.text(S.estimate_total, weight="bold", data_testid="estimate-total"),
                width="100%",
            ),
            rx.text("Billed by the hour; prices exclude VAT.", size="1", color_scheme="gray"),
            width="100%",
        ),
        position="sticky",
        top="1rem",
        width="100%",
    )


def _form() -> rx.Component:
    return rx.vstack(
        rx.card(
            rx.heading("Cluster", size="4"),
            rx.grid(
                _text(
                    "Name",
                    "name",
                    S.name,
                    "Lowercase letters, digits and hyphens; unique in your organisation.",
                ),
                _choice("Provider", "provider", S.provider_options, S.provider),
                _choice("Region", "region", S.region_options, S.region),
                _choice("Kubernetes version", "version", S.version_options, S.version),
                _choice("Service level", "service_level", S.level_options, S.service_level),
                columns="2",
                spacing="3",
                width="100%",
            ),
        ),
        rx.card(rx.heading("Node pools", size="4"), pool_editor(S), width="100%"),
        rx.card(rx.heading("Features", size="4"), feature_picker(S), width="100%"),
        rx.card(
            rx.accordion.root(
                rx.accordion.item(
                    header="Advanced: network",
                    content=rx.grid(
                        _choice("CNI", "cni", S.cni_options, S.cni),
                        _text("Pod CIDR", "pod_cidr", S.pod_cidr),
                        _text("Service CIDR", "service_cidr", S.service_cidr),
                        columns="3",
                        spacing="3",
                    ),
                    value="network",
                ),
                collapsible=True,
                type="single",
                variant="ghost",
            ),
            width="100%",
        ),
        rx.hstack(
            rx.link(rx.button("Cancel", variant="soft", color_scheme="gray"), href=routes.CLUSTERS),
            rx.button("Create cluster", size="3", on_click=S.submit),
            justify="end",
            width="100%",
        ),
        width="100%",
        spacing="3",
    )


def new_cluster_page() -> rx.Component:
    """Render the create-cluster form."""
    return shell(
        "New cluster",
        rx.grid(
            _form(),
            _estimate(),
            columns="3fr 1fr",
            spacing="4",
            width="100%",
            align_items="start",
        ),
    )
