"""Form parts shared by /clusters/new and the cluster page: pool editor, feature picker."""

from __future__ import annotations

import reflex as rx

from mkportal.components.ui import field_error


def labelled_select(
    label: str, html_id: str, options: rx.Var, value: rx.Var, on_change, **props
) -> rx.Component:
    """Render a labelled select over ``[{"value", "label"}]`` options."""
    return rx.vstack(
        rx.el.label(label, html_for=html_id, class_name="mk-label"),
        rx.select.root(
            rx.select.trigger(id=html_id, aria_label=label, width="100%"),
            rx.select.content(
                rx.foreach(options, lambda o: rx.select.item(o["label"], value=o["value"]))
            ),
            value=value,
            on_change=on_change,
            **props,
        ),
        spacing="1",
        width="100%",
    )


def _pool_row(state: type[rx.State], pool: rx.Var, i: rx.Var) -> rx.Component:
    at = f"node_pools.{i}"

    def number(label: str, key: str, width: str = "5rem") -> rx.Component:
        return rx.vstack(
            rx.el.label(label, html_for=f"pool-{i}-{key}", class_name="mk-label"),
            rx.input(
                id=f"pool-{i}-{key}",
                value=pool[key].to(str),
                on_change=lambda v: state.set_pool_field(i, key, v),
                type="number",
                min=0,
                width=width,
            ),
            field_error(state, f"{at}.{key}"),
            spacing="1",
        )

    return rx.card(
        rx.flex(
            rx.vstack(
                rx.el.label("Pool name", html_for=f"pool-{i}-name", class_name="mk-label"),
                rx.input(
                    id=f"pool-{i}-name",
                    value=pool["name"].to(str),
                    on_change=lambda v: state.set_pool_field(i, "name", v),
                    width="10rem",
                ),
                field_error(state, f"{at}.name"),
                spacing="1",
            ),
            rx.box(
                labelled_select(
                    "Machine type",
                    f"pool-{i}-machine",
                    state.machine_options,
                    pool["machine_type"].to(str),
                    lambda v: state.set_pool_field(i, "machine_type", v),
                ),
                field_error(state, f"{at}.machine_type"),
                width="22rem",
            ),
            number("Node count", "count"),
            rx.vstack(
                rx.el.label("Autoscaling", html_for=f"pool-{i}-auto", class_name="mk-label"),
                rx.switch(
                    id=f"pool-{i}-auto",
                    checked=pool["autoscaling"].to(bool),
                    on_change=lambda v: state.set_pool_field(i, "autoscaling", v),
                ),
                spacing="1",
            ),
            rx.cond(
                pool["autoscaling"].to(bool),
                rx.hstack(number("Min nodes", "min"), number("Max nodes", "max")),
            ),
            rx.spacer(),
            rx.button(
                rx.icon("trash-2", size=14),
                "Remove pool",
                variant="soft",
                color_scheme="gray",
                size="1",
                type="button",
                on_click=state.remove_pool(i),
                disabled=state.pools.length() <= 1,
            ),
            wrap="wrap",
            spacing="4",
            align="start",
            width="100%",
        ),
        field_error(state, f"{at}.autoscaling"),
        width="100%",
    )


def pool_editor(state: type[rx.State]) -> rx.Component:
    """Editable node pools with add/remove buttons."""
    return rx.vstack(
        rx.foreach(state.pools, lambda p, i: _pool_row(state, p, i)),
        field_error(state, "node_pools"),
        rx.button(
            rx.icon("plus", size=14),
            "Add node pool",
            variant="soft",
            type="button",
            on_click=state.add_pool,
        ),
        width="100%",
        spacing="2",
    )


def feature_picker(state: type[rx.State]) -> rx.Component:
    """Catalog features as checkboxes with description, dependencies and price."""
    return rx.vstack(
        rx.foreach(
            state.feature_options,
            lambda f: rx.hstack(
                rx.checkbox(
                    id=f"feature-{f['slug']}",
                    checked=state.features.contains(f["slug"]),
                    on_change=lambda v: state.toggle_feature(f["slug"], v),
                ),
                rx.vstack(
                    rx.el.label(f["name"], html_for=f"feature-{f['slug']}", class_name="mk-label"),
                    rx.text(f["description"], size="1", color_scheme="gray"),
                    rx.cond(
                        f["needs"] != "",
                        rx.text("Needs: ", f["needs"], size="1", color_scheme="gray"),
                    ),
                    spacing="0",
                ),
                rx.spacer(),
                rx.text(f["price"], size="1", white_space="nowrap"),
                width="100%",
                align="start",
            ),
        ),
        field_error(state, "features"),
        width="100%",
        spacing="3",
    )
