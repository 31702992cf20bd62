"""/operations and /operations/[op_id]."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.layout import shell
from mkportal.components.operation_progress import operation_progress
from mkportal.components.table import data_table
from mkportal.components.ui import empty_state, pager, status_badge
from mkportal.state.operations import STATUS_FILTERS, OperationsState, OperationState


def _op_row(op: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(op["title"], href=f"/operations/{op['id']}")),
        rx.table.cell(status_badge(op["status"])),
        rx.table.cell(
            rx.hstack(
                rx.progress(value=op["progress"].to(int), width="6rem"),
                rx.text(op["step_name"], size="1"),
            )
        ),
        rx.table.cell(op["requested_by"]),
        rx.table.cell(op["created_at"]),
    )


def _diagnostic_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("play", size=14), "Run diagnostic")),
        rx.dialog.content(
            rx.dialog.title("Run a diagnostic operation"),
            rx.dialog.description(
                "Checks that the workers are alive: it runs a few empty steps, each waiting "
                "the given seconds, and shows its progress."
            ),
            rx.form(
                rx.vstack(
                    rx.el.label("Steps", html_for="steps", class_name="mk-label"),
                    rx.input(
                        id="steps", name="steps", type="number", default_value="3", min=1, max=20
                    ),
                    rx.el.label("Seconds per step", html_for="sleep", class_name="mk-label"),
                    rx.input(
                        id="sleep", name="sleep", type="number", default_value="1", min=0, max=60
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Start", type="submit"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="2",
                ),
                on_submit=OperationsState.run_diagnostic,
            ),
        ),
    )


def operations_page() -> rx.Component:
    """Render the organisation's operations."""
    return shell(
        "Operations",
        rx.hstack(
            rx.text("Status", size="2"),
            rx.select(
                STATUS_FILTERS,
                value=OperationsState.status_filter,
                on_change=OperationsState.set_status_filter,
                size="1",
            ),
            rx.cond(
                OperationsState.is_operator,
                rx.hstack(
                    rx.switch(
                        id="all-orgs",
                        checked=OperationsState.all_orgs,
                        on_change=OperationsState.set_all_orgs,
                    ),
                    rx.el.label("All organisations", html_for="all-orgs"),
                    align="center",
                ),
            ),
            align="center",
            spacing="4",
        ),
        rx.cond(
            OperationsState.items.length() > 0,
            rx.vstack(
                data_table(
                    ["Operation", "Status", "Progress", "Requested by", "Requested"],
                    OperationsState.items,
                    _op_row,
                ),
                pager(OperationsState),
                width="100%",
            ),
            empty_state(
                "activity",
                "No operations yet",
                "Every change to a cluster runs as an operation: creating, scaling, upgrading, "
                "deleting. They appear here with their live progress and log.",
            ),
        ),
        actions=[_diagnostic_dialog()],
    )


def operation_page() -> rx.Component:
    """Render one operation, live."""
    return shell(
        "Operation",
        rx.link("← All operations", href=routes.OPERATIONS, size="2"),
        rx.cond(
            OperationState.missing,
            empty_state(
                "search-x",
                "Operation not found",
                "It does not exist, or belongs to another organisation.",
            ),
            rx.cond(
                OperationState.op.contains("id"), operation_progress(OperationState), rx.spinner()
            ),
        ),
        on_unmount=OperationState.stop_watching,
    )
