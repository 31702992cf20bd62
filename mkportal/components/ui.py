"""Small building blocks shared by the pages: badges, confirmations, pagers, empty states."""

from __future__ import annotations

import reflex as rx

STATUS_COLORS = {
    "pending": "gray",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "orange",
    "provisioning": "blue",
    "updating": "blue",
    "deleting": "orange",
    "deleted": "gray",
    "ready": "green",
    "installing": "blue",
    "removing": "orange",
}


def status_badge(status: rx.Var) -> rx.Component:
    """Render a coloured badge for an operation, cluster or feature status."""
    return rx.badge(
        status,
        color_scheme=rx.match(
            status,
            *[(k, v) for k, v in STATUS_COLORS.items()],
            "gray",
        ),
        variant="soft",
        data_status=status,
    )


def field(label: str, control: rx.Component, hint: str = "", html_for: str = "") -> rx.Component:
    """Render a labelled form control (the label is a real <label>, for accessibility and tests)."""
    return rx.vstack(
        rx.el.label(label, html_for=html_for, class_name="mk-label"),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
    )


def error_callout(message: rx.Var) -> rx.Component:
    """Render a red callout shown while `message` is not empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", width="100%"),
    )


def empty_state(icon: str, title: str, text: str, *actions: rx.Component) -> rx.Component:
    """Render what an empty list shows: what it is for and how to start."""
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=36, color="var(--gray-9)"),
            rx.heading(title, size="4"),
            rx.text(text, color_scheme="gray", text_align="center", max_width="32rem"),
            *actions,
            align="center",
            spacing="2",
        ),
        padding="3rem",
        width="100%",
        border="1px dashed var(--gray-6)",
        border_radius="var(--radius-3)",
    )


def confirm_button(
    label: str,
    *,
    title: str,
    description: rx.Var | str,
    on_confirm: rx.EventHandler,
    color: str = "red",
    confirm_label: str = "",
    size: str = "2",
    variant: str = "soft",
    disabled: rx.Var | bool = False,
) -> rx.Component:
    """Render a button that asks for confirmation before a destructive action."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(label, color_scheme=color, variant=variant, size=size, disabled=disabled)
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(confirm_label or label, color_scheme=color, on_click=on_confirm)
                ),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
        ),
    )


def pager(state: type[rx.State]) -> rx.Component:
    """Previous/next buttons with "page x of y · n total" for a PagedMixin state."""
    return rx.hstack(
        rx.text(
            f"Page {state.page} of {state.pages} · {state.total} total",
            size="2",
            color_scheme="gray",
        ),
        rx.spacer(),
        rx.button(
            "Previous",
            variant="soft",
            size="1",
            on_click=state.prev_page,
            disabled=state.page <= 1,
        ),
        rx.button(
            "Next",
            variant="soft",
            size="1",
            on_click=state.next_page,
            disabled=state.page >= state.pages,
        ),
        width="100%",
        align="center",
    )


def copy_box(text: rx.Var, label: str = "Copy") -> rx.Component:
    """Monospace text with a copy-to-clipboard button."""
    return rx.hstack(
        rx.code(text, white_space="pre-wrap", word_break="break-all", flex="1", size="2"),
        rx.button(
            rx.icon("copy", size=14),
            label,
            size="1",
            variant="soft",
            on_click=[rx.set_clipboard(text), rx.toast.info("Copied to the clipboard.")],
        ),
        width="100%",
        align="center",
    )


def labelled_input(
    label: str, html_id: str, *, below: rx.Component | None = None, **props
) -> rx.Component:
    """Render a full-width input with a real <label>, and optional content below it."""
    return rx.vstack(
        rx.el.label(label, html_for=html_id, class_name="mk-label"),
        rx.input(id=html_id, width="100%", **props),
        *([below] if below is not None else []),
        spacing="1",
        width="100%",
    )


def auth_card(*children: rx.Component, width: str = "24rem") -> rx.Component:
    """Render the centred card of the signed-out pages (sign-in, invitation)."""
    return rx.center(
        rx.card(*children, width=width, size="4"),
        min_height="100vh",
        background="var(--gray-2)",
    )


def field_error(state: type[rx.State], path: str | rx.Var) -> rx.Component:
    """Show the error for field `path` (e.g. ``node_pools.0.count``) when there is one."""
    return rx.cond(
        state.field_errors.contains(path),
        rx.text(state.field_errors[path], color_scheme="red", size="1", role="alert"),
    )
