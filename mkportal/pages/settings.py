"""/settings: profile, password, API tokens, notifications."""

from __future__ import annotations

import reflex as rx

from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import confirm_button, copy_box, field_error, labelled_input
from mkportal.state.settings import SettingsState


def _input(label: str, name: str, **props) -> rx.Component:
    return labelled_input(
        label,
        name,
        name=name,
        below=field_error(SettingsState, name),
        **props,
    )


def _profile() -> rx.Component:
    return rx.card(
        rx.heading("Profile", size="4"),
        rx.form(
            rx.vstack(
                rx.text("Email: ", rx.code(SettingsState.email), size="2"),
                _input("Name", "name", default_value=SettingsState.name, key=SettingsState.name),
                rx.button("Save profile", type="submit"),
                spacing="2",
            ),
            on_submit=SettingsState.save_profile,
            reset_on_submit=False,
        ),
    )


def _password() -> rx.Component:
    return rx.card(
        rx.heading("Change password", size="4"),
        rx.form(
            rx.vstack(
                _input(
                    "Current password",
                    "current_password",
                    type="password",
                    auto_complete="current-password",
                ),
                _input(
                    "New password", "new_password", type="password", auto_complete="new-password"
                ),
                _input(
                    "Confirm new password",
                    "confirm_password",
                    type="password",
                    auto_complete="new-password",
                ),
                rx.button("Change password", type="submit"),
                spacing="2",
            ),
            on_submit=SettingsState.change_password,
            reset_on_submit=True,
        ),
    )


def _token_row(t: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(t["name"]),
        rx.table.cell(rx.code(t["prefix"], "…")),
        rx.table.cell(t["created_at"]),
        rx.table.cell(rx.cond(t["last_used_at"] != "", t["last_used_at"], "never")),
        rx.table.cell(rx.cond(t["expires_at"] != "", t["expires_at"], "never")),
        rx.table.cell(
            rx.cond(
                t["revoked_at"] != "",
                rx.badge("revoked", color_scheme="gray"),
                confirm_button(
                    "Revoke",
                    title="Revoke this token?",
                    description="Scripts using it stop working at once.",
                    on_confirm=SettingsState.revoke_token(t["id"]),
                    size="1",
                ),
            )
        ),
    )


def _tokens() -> rx.Component:
    return rx.card(
        rx.heading("API tokens", size="4"),
        rx.text(
            "Use a token as `Authorization: Bearer <token>` with the REST API and the CLI. "
            "It acts as you, in the organisation you are in now.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            SettingsState.new_token != "",
            rx.callout.root(
                rx.callout.text("Your new token. Copy it now: it is not shown again."),
                copy_box(SettingsState.new_token),
                rx.button("Done", size="1", variant="soft", on_click=SettingsState.dismiss_token),
                color_scheme="green",
                data_testid="new-token",
                margin_y="0.5rem",
            ),
        ),
        rx.form(
            rx.hstack(
                _input("Token name", "token_name", placeholder="ci-pipeline"),
                _input("Expires in days (optional)", "expires_days", placeholder="90"),
                rx.button("Create token", type="submit"),
                align="end",
                width="100%",
            ),
            on_submit=SettingsState.create_token,
            reset_on_submit=True,
        ),
        rx.cond(
            SettingsState.tokens.length() > 0,
            data_table(
                ["Name", "Prefix", "Created", "Last used", "Expires", ""],
                SettingsState.tokens,
                _token_row,
            ),
            rx.text("No tokens yet.", size="2", color_scheme="gray"),
        ),
    )


def _notifications() -> rx.Component:
    return rx.card(
        rx.heading("Email notifications", size="4"),
        rx.vstack(
            rx.foreach(
                SettingsState.notifications,
                lambda n: rx.hstack(
                    rx.switch(
                        checked=n["on"].to(bool),
                        on_change=lambda v: SettingsState.set_notification(n["key"], v),
                        id=n["key"],
                    ),
                    rx.el.label(n["label"], html_for=n["key"]),
                    align="center",
                ),
            ),
            spacing="2",
        ),
    )


def settings_page() -> rx.Component:
    """Render the user's settings."""
    return shell(
        "Settings",
        rx.grid(_profile(), _password(), columns="2", spacing="4", width="100%"),
        _tokens(),
        _notifications(),
    )
