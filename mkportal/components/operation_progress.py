"""An operation's live progress: status, step, progress bar, error, actions and log."""

from __future__ import annotations

import reflex as rx

from mkportal.components.ui import confirm_button, error_callout, status_badge


def _log_line(line: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(line["at"], size="1", color_scheme="gray", white_space="nowrap"),
        rx.text(
            line["level"],
            size="1",
            weight="bold",
            color_scheme=rx.match(line["level"], ("error", "red"), ("warning", "orange"), "gray"),
            min_width="4rem",
        ),
        rx.text(line["message"], size="1", font_family="var(--code-font-family)"),
        spacing="3",
        align="start",
    )


def operation_log(log: rx.Var) -> rx.Component:
    """Render the operation's log, oldest first, in a scrolling box."""
    return rx.box(
        rx.cond(
            log.length() > 0,
            rx.vstack(rx.foreach(log, _log_line), spacing="1"),
            rx.text("No log lines yet.", size="1", color_scheme="gray"),
        ),
        # column-reverse keeps the scroll position at the newest line while lines arrive
        display="flex",
        flex_direction="column-reverse",
        max_height="24rem",
        overflow_y="auto",
        padding="0.75rem",
        background="var(--gray-2)",
        border="1px solid var(--gray-5)",
        border_radius="var(--radius-2)",
        width="100%",
        data_testid="operation-log",
    )


def operation_progress(state: type[rx.State]) -> rx.Component:
    """Render `state.op` (a flattened OperationView) and `state.log`.

    The state must provide `op`, `log`, `op_active`, `step_text`, and the `cancel` and
    `retry` events.
    """
    op = state.op
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(op["title"], size="4"),
                status_badge(op["status"]),
                rx.spacer(),
                rx.cond(
                    state.op_active & ~op["cancel_requested"].to(bool),
                    confirm_button(
                        "Cancel",
                        title="Cancel this operation?",
                        description="A pending operation stops at once; a running one "
                        "stops after its current step.",
                        on_confirm=state.cancel,
                        confirm_label="Cancel operation",
                        size="1",
                    ),
                ),
                rx.cond(
                    (op["status"] == "failed") | (op["status"] == "cancelled"),
                    rx.button("Retry", size="1", on_click=state.retry),
                ),
                width="100%",
                align="center",
            ),
            rx.progress(value=op["progress"].to(int), max=100, width="100%"),
            rx.text(state.step_text, size="2", color_scheme="gray", data_testid="operation-step"),
            error_callout(op["error"].to(str)),
            rx.data_list.root(
                rx.data_list.item(
                    rx.data_list.label("Requested by"), rx.data_list.value(op["requested_by"])
                ),
                rx.data_list.item(
                    rx.data_list.label("Requested"), rx.data_list.value(op["created_at"])
                ),
                rx.data_list.item(
                    rx.data_list.label("Finished"), rx.data_list.value(op["finished_at"])
                ),
                rx.data_list.item(rx.data_list.label("Operation id"), rx.data_list.value(op["id"])),
                size="1",
            ),
            rx.heading("Log", size="3"),
            operation_log(state.log),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )
