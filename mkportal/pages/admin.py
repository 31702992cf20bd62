"""The operator console: /admin, /admin/audit, /admin/outbox."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import empty_state, field_error, labelled_input, pager
from mkportal.state.admin import AdminState, AuditState, OutboxState


def _stat(s: rx.Var) -> rx.Component:
    return rx.card(
        rx.text(s["label"], size="2", color_scheme="gray"),
        rx.heading(s["value"], size="7"),
        min_width="10rem",
    )


def _providers() -> rx.Component:
    return rx.card(
        rx.heading("Cloud providers", size="4"),
        data_table(
            ["Provider", "Enabled", "Stored keys", "Last change"],
            AdminState.providers,
            lambda p: rx.table.row(
                rx.table.cell(p["provider"]),
                rx.table.cell(p["enabled"]),
                rx.table.cell(p["keys"]),
                rx.table.cell(p["updated"]),
            ),
        ),
        rx.text(
            "Stored credentials are encrypted and override the EKS_/GKE_/AKS_ settings. "
            "Saving replaces everything stored for the provider.",
            size="2",
            color_scheme="gray",
            margin_y="0.5rem",
        ),
        rx.select(
            ["eks", "gke", "aks"],
            value=AdminState.provider_choice,
            on_change=AdminState.choose_provider,
            aria_label="Provider to configure",
        ),
        rx.form(
            rx.grid(
                rx.foreach(
                    AdminState.provider_fields,
                    lambda f: labelled_input(
                        f["key"],
                        f"provider-{f['key']}",
                        name=f["key"],
                        type=rx.cond(f["secret"].to(bool), "password", "text"),
                        below=field_error(AdminState, f["key"].to(str)),
                    ),
                ),
                columns="3",
                spacing="3",
                width="100%",
            ),
            rx.button("Save credentials", type="submit", margin_top="0.75rem"),
            on_submit=AdminState.save_provider,
            reset_on_submit=True,
            key=AdminState.provider_choice,
            margin_top="0.5rem",
        ),
        width="100%",
    )


def admin_page() -> rx.Component:
    """Render the fleet in numbers, with links to the console's pages."""
    return shell(
        "Operator console",
        rx.flex(rx.foreach(AdminState.stats, _stat), wrap="wrap", spacing="3"),
        _providers(),
        rx.hstack(
            rx.link("All clusters", href=routes.ADMIN_CLUSTERS),
            rx.link("Audit log", href=routes.ADMIN_AUDIT),
            rx.link("Outbox", href=routes.ADMIN_OUTBOX),
            rx.link("Operations", href=routes.OPERATIONS),
            spacing="4",
        ),
    )


def _audit_row(e: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(e["at"], white_space="nowrap"),
        rx.table.cell(e["actor_email"]),
        rx.table.cell(rx.code(e["action"])),
        rx.table.cell(e["target_type"], " ", e["target_id"]),
        rx.table.cell(e["org_id"]),
        rx.table.cell(e["ip"]),
        rx.table.cell(rx.text(e["detail"], size="1")),
    )


def audit_page() -> rx.Component:
    """Render the audit log, filterable."""
    return shell(
        "Audit log",
        rx.form(
            rx.hstack(
                rx.input(
                    name="action", placeholder="Action starts with, e.g. auth.", aria_label="Action"
                ),
                rx.input(name="actor", placeholder="Actor email contains", aria_label="Actor"),
                rx.input(name="org", placeholder="Organisation id", aria_label="Organisation"),
                rx.button("Filter", type="submit"),
            ),
            on_submit=AuditState.filter,
            reset_on_submit=False,
        ),
        rx.cond(
            AuditState.events.length() > 0,
            rx.vstack(
                data_table(
                    ["Time", "Actor", "Action", "Target", "Organisation", "Source IP", "Detail"],
                    AuditState.events,
                    _audit_row,
                ),
                pager(AuditState),
                width="100%",
            ),
            empty_state("scroll-text", "No matching events", "Change the filters to see more."),
        ),
    )


def _mail_row(m: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(m["date"]),
        rx.table.cell(m["to"]),
        rx.table.cell(
            rx.link(m["subject"], on_click=OutboxState.open_mail(m["name"]), cursor="pointer")
        ),
    )


def outbox_page() -> rx.Component:
    """Render the emails that would have been sent (no SMTP server configured)."""
    return shell(
        "Outbox",
        rx.text(
            "Without SMTP_URL, mkportal writes every email here instead of sending it.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            OutboxState.selected.contains("name"),
            rx.card(
                rx.vstack(
                    rx.heading(OutboxState.selected["subject"], size="4"),
                    rx.text(
                        "To: ",
                        OutboxState.selected["to"],
                        " · ",
                        OutboxState.selected["date"],
                        size="2",
                    ),
                    rx.el.pre(
                        OutboxState.selected["body"],
                        white_space="pre-wrap",
                        data_testid="mail-body",
                    ),
                    rx.button(
                        "Back to the outbox", variant="soft", on_click=OutboxState.close_mail
                    ),
                ),
                width="100%",
            ),
            rx.cond(
                OutboxState.mails.length() > 0,
                rx.vstack(
                    data_table(["Date", "To", "Subject"], OutboxState.mails, _mail_row),
                    pager(OutboxState),
                    width="100%",
                ),
                empty_state(
                    "mail", "The outbox is empty", "Invitations and notifications appear here."
                ),
            ),
        ),
    )
