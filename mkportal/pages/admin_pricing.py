"""Operator pages: /admin/service-levels and /admin/prices."""

from __future__ import annotations

import reflex as rx

from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import (
    confirm_button,
    empty_state,
    field,
    field_error,
    labelled_input,
    pager,
)
from mkportal.state.admin_pricing import PricesState, ServiceLevelsState

L = ServiceLevelsState
P = PricesState


def _hint(text: str) -> rx.Component:
    return rx.text(text, size="1", color_scheme="gray")


def _level_input(label: str, name: str, hint: str = "", **props) -> rx.Component:
    return labelled_input(
        label,
        f"level-{name}",
        name=name,
        default_value=L.form[name].to(str),
        below=rx.vstack(
            *([_hint(hint)] if hint else []), field_error(L, name), spacing="1", width="100%"
        ),
        **props,
    )


def _level_form() -> rx.Component:
    return rx.card(
        rx.heading(
            rx.cond(L.editing != "", f"Edit service level {L.editing}", "New service level"),
            size="4",
        ),
        rx.form(
            rx.grid(
                rx.cond(
                    L.editing != "",
                    field("Slug", rx.code(L.editing), hint="The slug never changes."),
                    _level_input(
                        "Slug",
                        "slug",
                        "2-32 lowercase letters, digits and hyphens, e.g. gold.",
                        placeholder="gold",
                    ),
                ),
                _level_input("Name", "name", "Shown to customers.", placeholder="Gold"),
                _level_input(
                    "Monthly availability target (%)",
                    "availability_target",
                    "Above 0 and below 100, e.g. 99.5. Empty: best effort.",
                    placeholder="99.5",
                ),
                rx.vstack(
                    rx.el.label(
                        "Maintenance mode", html_for="level-maintenance_mode", class_name="mk-label"
                    ),
                    rx.select.root(
                        rx.select.trigger(
                            id="level-maintenance_mode", aria_label="Maintenance mode", width="100%"
                        ),
                        rx.select.content(
                            rx.select.item("Unattended", value="unattended"),
                            rx.select.item("Attended", value="attended"),
                        ),
                        name="maintenance_mode",
                        default_value=L.form["maintenance_mode"].to(str),
                    ),
                    _hint("Attended: an engineer watches the maintenance live."),
                    field_error(L, "maintenance_mode"),
                    spacing="1",
                    width="100%",
                ),
                _level_input(
                    "Support hours", "support_hours", "e.g. office hours, 24x7.", placeholder="24x7"
                ),
                _level_input(
                    "Credit policy",
                    "credit_policy",
                    "missed by up to (points below target):credit %, ascending, e.g. "
                    "0.5:10, 2:25, 100:100. Empty: no credits.",
                    placeholder="0.5:10, 2:25, 100:100",
                ),
                _level_input(
                    "Position in lists",
                    "sort_order",
                    "A whole number; empty puts a new level last.",
                ),
                rx.vstack(
                    rx.el.label("Included", html_for="level-monitoring", class_name="mk-label"),
                    rx.hstack(
                        rx.checkbox(
                            id="level-monitoring",
                            name="monitoring",
                            default_checked=L.form["monitoring"].to(str) == "on",
                        ),
                        rx.el.label("Monitoring during maintenance", html_for="level-monitoring"),
                        align="center",
                    ),
                    spacing="1",
                    width="100%",
                ),
                columns="2",
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                rx.el.label(
                    "Description for customers", html_for="level-description", class_name="mk-label"
                ),
                rx.text_area(
                    id="level-description",
                    name="description",
                    default_value=L.form["description"].to(str),
                    width="100%",
                    rows="2",
                ),
                field_error(L, "description"),
                spacing="1",
                width="100%",
                margin_top="0.75rem",
            ),
            rx.hstack(
                rx.button(
                    "Cancel",
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=L.close_form,
                ),
                rx.button(
                    rx.cond(L.editing != "", "Save changes", "Create service level"),
                    type="submit",
                ),
                justify="end",
                width="100%",
                margin_top="0.75rem",
            ),
            on_submit=L.save,
            reset_on_submit=False,
            key=L.form_key,
        ),
        width="100%",
    )


def _level_row(lv: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(lv["name"], weight="bold"),
                rx.code(lv["slug"], size="1"),
                rx.text(lv["description"], size="1", color_scheme="gray", max_width="18rem"),
                spacing="1",
            )
        ),
        rx.table.cell(lv["target"], white_space="nowrap"),
        rx.table.cell(lv["mode"]),
        rx.table.cell(lv["monitoring"]),
        rx.table.cell(lv["support"]),
        rx.table.cell(rx.code(lv["policy"], size="1")),
        rx.table.cell(
            rx.badge(
                lv["status"],
                color_scheme=rx.cond(lv["retired"].to(bool), "gray", "green"),
                variant="soft",
            )
        ),
        rx.table.cell(lv["clusters"]),
        rx.table.cell(
            rx.hstack(
                rx.button("Edit", size="1", variant="soft", on_click=L.edit_level(lv["slug"])),
                rx.cond(
                    lv["retired"].to(bool),
                    confirm_button(
                        "Unretire",
                        title=f"Offer {lv['name']} again?",
                        description="Customers can choose it again for new clusters and changes.",
                        on_confirm=L.unretire(lv["slug"]),
                        color="green",
                        size="1",
                    ),
                    confirm_button(
                        "Retire",
                        title=f"Retire {lv['name']}?",
                        description="It is no longer offered for new clusters or changes of "
                        "level. Clusters on it keep it and are billed as before.",
                        on_confirm=L.retire(lv["slug"]),
                        color="orange",
                        size="1",
                    ),
                ),
                confirm_button(
                    "Delete",
                    title=f"Delete {lv['name']}?",
                    description="Only a level no cluster ever used can be deleted.",
                    on_confirm=L.delete(lv["slug"]),
                    size="1",
                    disabled=~lv["deletable"].to(bool),
                ),
                spacing="2",
            )
        ),
        data_testid=lv["slug"],
    )


def service_levels_page() -> rx.Component:
    """Render the service levels: table, create/edit form, retire and delete."""
    return shell(
        "Service levels",
        rx.text(
            "What customers can choose for a cluster. A level in use cannot be deleted, only "
            "retired: it is then no longer offered, and clusters on it keep it. Prices per "
            "level are set in Prices.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(L.form_open, _level_form()),
        rx.cond(
            L.levels.length() > 0,
            rx.vstack(
                data_table(
                    [
                        "Level",
                        "Availability target",
                        "Maintenance",
                        "Monitoring during maintenance",
                        "Support",
                        "Credit policy (points:%)",
                        "Status",
                        "Clusters",
                        "Actions",
                    ],
                    L.levels,
                    _level_row,
                ),
                pager(L),
                width="100%",
            ),
            empty_state(
                "gauge",
                "No service levels",
                "Create one: customers need at least one level to create clusters.",
            ),
        ),
        actions=[rx.button(rx.icon("plus", size=16), "New service level", on_click=L.new_level)],
    )


def _status(status: rx.Var) -> rx.Component:
    return rx.badge(
        status,
        color_scheme=rx.match(status, ("in force", "green"), ("scheduled", "blue"), "gray"),
        variant="soft",
    )


def _price_input(f: rx.Var) -> rx.Component:
    return labelled_input(
        f["label"],
        f["id"],
        name=f["path"],
        default_value=f["value"],
        placeholder=rx.cond(f["group"] == "nodes", "fallback", "0"),
        below=rx.vstack(
            rx.cond(f["hint"] != "", _hint(f["hint"])),
            field_error(P, f["path"].to(str)),
            spacing="1",
        ),
    )


def _field_group(title: str, items: rx.Var, text: str, columns: str = "3") -> rx.Component:
    return rx.vstack(
        rx.heading(title, size="3"),
        _hint(text),
        rx.grid(rx.foreach(items, _price_input), columns=columns, spacing="3", width="100%"),
        spacing="2",
        width="100%",
    )


def _version_form() -> rx.Component:
    return rx.card(
        rx.heading("New price version", size="4"),
        _hint(
            "Prefilled from the prices in force. The new version applies from its date to "
            "every cluster, until the next version; it cannot start in the past."
        ),
        rx.form(
            rx.vstack(
                rx.grid(
                    labelled_input(
                        "Takes effect (UTC)",
                        "price-effective_from",
                        name="effective_from",
                        type="datetime-local",
                        default_value=P.form_defaults["effective_from"],
                        below=rx.vstack(
                            _hint("A whole hour after now; e.g. the 1st of next month."),
                            field_error(P, "effective_from"),
                        ),
                    ),
                    labelled_input(
                        "Currency",
                        "price-currency",
                        name="currency",
                        default_value=P.form_defaults["currency"],
                        max_length=3,
                        below=rx.vstack(_hint("ISO 4217, e.g. CHF."), field_error(P, "currency")),
                    ),
                    labelled_input(
                        "Note",
                        "price-note",
                        name="note",
                        default_value=P.form_defaults["note"],
                        placeholder="Why the prices change",
                        below=field_error(P, "note"),
                    ),
                    columns="3",
                    spacing="3",
                    width="100%",
                ),
                rx.divider(),
                _field_group(
                    "Service levels",
                    P.level_fields,
                    "Base fee per cluster and month, and a surcharge (or, negative, a "
                    "discount) in percent of the cluster's usage charges.",
                    columns="2",
                ),
                rx.divider(),
                _field_group(
                    "Node-hour prices by machine type",
                    P.node_fields,
                    "Leave empty to price the machine type by vCPU-hours plus GiB-hours "
                    "(below). A price must be more than 0.",
                ),
                rx.el.details(
                    rx.el.summary(
                        "Machine types of providers that are not enabled",
                        cursor="pointer",
                        font_weight="500",
                    ),
                    rx.grid(
                        rx.foreach(P.other_node_fields, _price_input),
                        columns="3",
                        spacing="3",
                        width="100%",
                        margin_top="0.5rem",
                    ),
                    open=P.other_node_errors,
                    width="100%",
                ),
                _field_group(
                    "Fallback for machine types without a node-hour price",
                    P.fallback_fields,
                    "Per vCPU and hour, and per GiB of memory and hour.",
                ),
                rx.divider(),
                _field_group("Features", P.feature_fields, "Per cluster and hour while enabled."),
                rx.divider(),
                _field_group(
                    "Other items", P.other_fields, "0 means the item is not charged.", columns="2"
                ),
                rx.hstack(
                    rx.button(
                        "Cancel",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=P.close_form,
                    ),
                    rx.button("Schedule price version", type="submit"),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=P.create,
            reset_on_submit=False,
            key=P.form_key,
        ),
        width="100%",
    )


def _table(title: str, headers: list[str], items: rx.Var, cells) -> rx.Component:  # noqa: ANN001
    return rx.vstack(
        rx.heading(title, size="3"),
        data_table(headers, items, lambda r: rx.table.row(*[rx.table.cell(c) for c in cells(r)])),
        spacing="1",
        width="100%",
    )


def _shown_version() -> rx.Component:
    v = P.shown
    cur = v["currency"]
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Prices of version ", v["version"], size="4"),
                _status(v["status"]),
                align="center",
            ),
            rx.text(
                "From ",
                v["effective_from"],
                " until ",
                v["effective_until"],
                " · currency ",
                rx.code(cur),
                rx.cond(v["note"] != "", rx.fragment(" · ", v["note"])),
                size="2",
                color_scheme="gray",
            ),
            _table(
                "Service levels",
                ["Level", f"Base fee per cluster-month ({cur})", "Surcharge on usage (%)"],
                P.level_rows,
                lambda r: [r["name"], r["base"], r["percent"]],
            ),
            _table(
                "Nodes",
                ["Provider", "Machine type", "Size", f"Per node-hour ({cur})", "Priced by"],
                P.node_rows,
                lambda r: [r["provider"], r["machine"], r["size"], r["price"], r["source"]],
            ),
            _table(
                "Features",
                ["Feature", f"Per cluster-hour ({cur})"],
                P.feature_rows,
                lambda r: [r["name"], r["price"]],
            ),
            _table(
                "Other items",
                ["Item", f"Price ({cur})", "Unit"],
                P.other_rows,
                lambda r: [r["name"], r["price"], r["unit"]],
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="shown-version",
    )


def _delete_version(v: rx.Var) -> rx.Component:
    return confirm_button(
        "Delete",
        title=f"Delete version {v['version']}?",
        description=f"It was to take effect on {v['effective_from']}. The prices in force "
        "stay as they are.",
        on_confirm=P.delete(v["id"]),
        size="1",
    )


def _scheduled() -> rx.Component:
    return rx.cond(
        P.scheduled.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("calendar-clock")),
            rx.vstack(
                rx.text("Scheduled price changes", weight="bold"),
                rx.foreach(
                    P.scheduled,
                    lambda v: rx.hstack(
                        rx.text(
                            "Version ",
                            v["version"],
                            " from ",
                            v["effective_from"],
                            rx.cond(v["note"] != "", rx.fragment(" · ", v["note"])),
                            size="2",
                        ),
                        rx.button(
                            "Show prices",
                            size="1",
                            variant="soft",
                            on_click=P.show_version(v["id"]),
                        ),
                        _delete_version(v),
                        align="center",
                        data_testid=f"scheduled-{v['version']}",
                    ),
                ),
                spacing="2",
            ),
            color_scheme="blue",
            width="100%",
        ),
    )


def _history_row(v: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(v["version"]),
        rx.table.cell(_status(v["status"])),
        rx.table.cell(
            rx.text(v["effective_from"], white_space="nowrap"),
            rx.text("until ", v["effective_until"], white_space="nowrap", color_scheme="gray"),
        ),
        rx.table.cell(v["currency"]),
        rx.table.cell(v["note"], max_width="16rem"),
        rx.table.cell(v["created_by"], word_break="break-all", max_width="12rem"),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    "Show prices", size="1", variant="soft", on_click=P.show_version(v["id"])
                ),
                rx.cond(v["status"] == "scheduled", _delete_version(v)),
                spacing="2",
            )
        ),
    )


def _history() -> rx.Component:
    headers = ["Version", "Status", "In force", "Currency", "Note", "Created by", "Actions"]
    return rx.card(
        rx.heading("All versions", size="4"),
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                rx.table.body(rx.foreach(P.versions, _history_row)),
                size="1",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        pager(P),
        width="100%",
    )


def prices_page() -> rx.Component:
    """Render the price versions: in force, scheduled, history, and the new-version form."""
    return shell(
        "Prices",
        rx.text(
            "Prices are versioned. A version applies from its effective date until the next "
            "one; a change never applies retroactively, and a version in force cannot be "
            "changed or deleted. Customers see the prices in force and the next change.",
            size="2",
            color_scheme="gray",
        ),
        _scheduled(),
        rx.cond(P.form_open, _version_form()),
        rx.cond(
            P.shown.contains("id"),
            _shown_version(),
            empty_state(
                "tags",
                "No prices in force",
                "Create a price version: until then, nothing is charged.",
            ),
        ),
        _history(),
        actions=[rx.button(rx.icon("plus", size=16), "New price version", on_click=P.open_form)],
    )
