"""The notification bell of the page header: unread count, latest notices, mark read."""

from __future__ import annotations

import reflex as rx

from mkportal.state.notifications import NotificationsState as N


def _notice(n: rx.Var) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.cond(
                n["read"],
                rx.icon("circle", size=8, color="var(--gray-7)"),
                rx.icon("circle-dot", size=10, color="var(--accent-9)"),
            ),
            rx.text(n["title"], size="2", weight=rx.cond(n["read"], "regular", "bold")),
            align="center",
            spacing="2",
        ),
        rx.text(n["body"], size="1", color_scheme="gray", white_space="pre-wrap"),
        rx.text(n["created_at"], size="1", color_scheme="gray"),
        padding="0.5rem",
        border_radius="var(--radius-2)",
        cursor="pointer",
        _hover={"background": "var(--gray-3)"},
        on_click=N.open_notice(n["id"], n["link"]),
        data_testid="notification",
        width="100%",
    )


def bell() -> rx.Component:
    """Render the bell button with the unread count; it opens the latest notices."""
    popover = rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.icon("bell", size=16),
                rx.cond(
                    N.unread > 0,
                    rx.badge(N.unread, color_scheme="red", variant="solid", radius="full"),
                ),
                variant="ghost",
                color_scheme="gray",
                aria_label=rx.cond(
                    N.unread > 0, f"Notifications, {N.unread} unread", "Notifications"
                ),
                data_testid="bell",
                data_unread=N.unread,
            )
        ),
        rx.popover.content(
            rx.vstack(
                rx.hstack(
                    rx.heading("Notifications", size="3"),
                    rx.spacer(),
                    rx.button(
                        "Mark all read",
                        size="1",
                        variant="soft",
                        on_click=N.mark_all_read,
                        disabled=N.unread == 0,
                    ),
                    width="100%",
                    align="center",
                ),
                rx.cond(
                    N.latest.length() > 0,
                    rx.vstack(rx.foreach(N.latest, _notice), spacing="1", width="100%"),
                    rx.text(
                        "Nothing yet: alarms you set up notify you here.",
                        size="2",
                        color_scheme="gray",
                    ),  # fmt: skip
                ),
                spacing="2",
                width="22rem",
                max_height="28rem",
                overflow_y="auto",
            ),
        ),
        on_open_change=lambda _open: N.load(),
    )
    return rx.box(popover, on_mount=N.load)
