"""The frame of every signed-in page: navigation, organisation switcher, sign-out."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.bell import bell
from mkportal.state.session import SessionState

NAV = [
    ("Clusters", routes.CLUSTERS, "boxes"),
    ("Operations", routes.OPERATIONS, "activity"),
    ("Alarms", routes.ALARMS, "bell-ring"),
    ("Dashboards", routes.DASHBOARDS, "layout-dashboard"),
    ("Billing", routes.BILLING, "receipt"),
    ("SLO reports", routes.SLO, "target"),
    ("Members", routes.MEMBERS, "users"),
    ("Backup storage", routes.BACKUP_SETTINGS, "hard-drive"),
    ("Settings", routes.SETTINGS, "settings"),
]
ADMIN_NAV = [
    ("Admin overview", routes.ADMIN, "shield"),
    ("All clusters", routes.ADMIN_CLUSTERS, "server"),
    ("Billing", routes.ADMIN_BILLING, "banknote"),
    ("Service levels", routes.ADMIN_SERVICE_LEVELS, "gauge"),
    ("Prices", routes.ADMIN_PRICES, "tags"),
    ("Control-plane logs", routes.ADMIN_LOGS, "logs"),
    ("Metrics", routes.ADMIN_METRICS, "chart-line"),
    ("Alerts", routes.ADMIN_ALERTS, "siren"),
    ("Runbooks", routes.ADMIN_RUNBOOKS, "book-open"),
    ("Fleet SLO", routes.ADMIN_SLO, "target"),
    ("Audit log", routes.ADMIN_AUDIT, "scroll-text"),
    ("Outbox", routes.ADMIN_OUTBOX, "mail"),
]


def _nav_link(label: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(icon, size=16), rx.text(label, size="2"), align="center"),
        href=href,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        padding="0.4rem 0.6rem",
        border_radius="var(--radius-2)",
        _hover={"background": "var(--gray-4)"},
        width="100%",
    )


def _org_switcher() -> rx.Component:
    return rx.cond(
        SessionState.orgs.length() > 1,
        rx.select.root(
            rx.select.trigger(aria_label="Organisation", width="100%"),
            rx.select.content(
                rx.foreach(
                    SessionState.orgs,
                    lambda o: rx.select.item(o["name"], value=o["id"]),
                )
            ),
            value=SessionState.org_id,
            on_change=SessionState.switch_org,
        ),
        rx.text(SessionState.org_name, weight="bold", size="2"),
    )


def sidebar() -> rx.Component:
    """Render the left navigation column."""
    return rx.vstack(
        rx.link(
            rx.hstack(rx.icon("ship-wheel", size=22), rx.heading("mkportal", size="4")),
            href=routes.HOME,
            underline="none",
            high_contrast=True,
        ),
        rx.divider(),
        rx.text("Organisation", size="1", color_scheme="gray"),
        _org_switcher(),
        rx.cond(
            SessionState.role != "",
            rx.badge(SessionState.role, variant="outline", size="1"),
        ),
        rx.divider(),
        *[_nav_link(*item) for item in NAV],
        rx.cond(
            SessionState.is_operator,
            rx.vstack(
                rx.divider(),
                rx.text("Operator", size="1", color_scheme="gray"),
                *[_nav_link(*item) for item in ADMIN_NAV],
                width="100%",
                spacing="1",
            ),
        ),
        rx.spacer(),
        rx.text(SessionState.email, size="1", color_scheme="gray", data_testid="user-email"),
        rx.button(
            rx.icon("log-out", size=14),
            "Sign out",
            variant="soft",
            color_scheme="gray",
            size="2",
            width="100%",
            on_click=SessionState.logout,
        ),
        width="15rem",
        min_width="15rem",
        height="100vh",
        overflow_y="auto",
        position="sticky",
        top="0",
        padding="1rem",
        spacing="2",
        background="var(--gray-2)",
        border_right="1px solid var(--gray-5)",
    )


def shell(
    title: str | rx.Var,
    *children: rx.Component,
    actions: list | None = None,
    on_unmount: rx.EventHandler | None = None,
) -> rx.Component:
    """Wrap a page's content in the navigation frame with a heading and optional actions.

    `on_unmount` runs when the user leaves the page (live pages stop refreshing).
    """
    return rx.hstack(
        sidebar(),
        rx.box(
            rx.cond(
                SessionState.email != "",
                rx.vstack(
                    rx.hstack(
                        rx.heading(title, size="6"),
                        rx.spacer(),
                        *(actions or []),
                        bell(),
                        width="100%",
                        align="center",
                    ),
                    *children,
                    spacing="4",
                    width="100%",
                ),
                rx.center(rx.spinner(size="3"), height="50vh"),
            ),
            flex="1",
            padding="1.5rem 2rem",
            max_width="80rem",
            min_width="0",
        ),
        spacing="0",
        align="start",
        width="100%",
        **({"on_unmount": on_unmount} if on_unmount is not None else {}),
    )
