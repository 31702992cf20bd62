"""/settings/members and /invite/[token]."""

from __future__ import annotations

import reflex as rx

from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import (
    auth_card,
    confirm_button,
    copy_box,
    error_callout,
    labelled_input,
)
from mkportal.state.members import ROLES, InviteState, MembersState


def _member_row(m: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(m["email"]),
        rx.table.cell(m["name"]),
        rx.table.cell(
            rx.cond(
                MembersState.can_manage,
                rx.select(
                    ROLES,
                    value=m["role"],
                    on_change=lambda r: MembersState.change_role(m["user_id"], r),
                    size="1",
                    aria_label=f"Role of {m['email']}",
                ),
                rx.badge(m["role"]),
            )
        ),
        rx.table.cell(m["joined_at"]),
        rx.table.cell(
            rx.cond(
                MembersState.can_manage & (m["email"] != MembersState.email),
                confirm_button(
                    "Remove",
                    title="Remove this member?",
                    description=f"{m['email']} loses access to the organisation's clusters at once.",
                    on_confirm=MembersState.remove(m["user_id"]),
                    size="1",
                ),
            )
        ),
    )


def _invite_row(i: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(i["email"]),
        rx.table.cell(rx.badge(i["role"])),
        rx.table.cell(i["created_at"]),
        rx.table.cell(i["expires_at"]),
        rx.table.cell(
            confirm_button(
                "Revoke",
                title="Revoke this invitation?",
                description="The link in the email stops working.",
                on_confirm=MembersState.revoke_invitation(i["id"]),
                size="1",
            )
        ),
    )


def _invite_form() -> rx.Component:
    return rx.card(
        rx.heading("Invite someone", size="4"),
        rx.form(
            rx.hstack(
                rx.vstack(
                    rx.el.label("Email", html_for="invite_email", class_name="mk-label"),
                    rx.input(id="invite_email", name="invite_email", type="email", required=True),
                    spacing="1",
                ),
                rx.vstack(
                    rx.el.label("Role", html_for="invite_role", class_name="mk-label"),
                    rx.select(ROLES, name="invite_role", default_value="member"),
                    spacing="1",
                ),
                rx.button("Send invitation", type="submit"),
                align="end",
            ),
            on_submit=MembersState.invite,
            reset_on_submit=True,
        ),
        rx.cond(
            MembersState.invite_link != "",
            rx.vstack(
                rx.text("Invitation emailed. You can also send this link yourself:", size="2"),
                copy_box(MembersState.invite_link),
                margin_top="0.5rem",
            ),
        ),
        rx.cond(
            MembersState.invitations.length() > 0,
            rx.vstack(
                rx.heading("Pending invitations", size="3", margin_top="1rem"),
                data_table(
                    ["Email", "Role", "Sent", "Expires", ""], MembersState.invitations, _invite_row
                ),
                width="100%",
            ),
        ),
    )


def members_page() -> rx.Component:
    """Render the members of the current organisation."""
    return shell(
        "Members",
        rx.text(
            "Owners manage members and billing; members create and change clusters; viewers "
            "only read.",
            size="2",
            color_scheme="gray",
        ),
        data_table(["Email", "Name", "Role", "Joined", ""], MembersState.members, _member_row),
        rx.cond(MembersState.can_manage, _invite_form()),
    )


def invite_page() -> rx.Component:
    """Render the invitation landing page."""
    return auth_card(
        rx.vstack(
            rx.heading("Join an organisation on mkportal", size="5"),
            error_callout(InviteState.error),
            rx.cond(
                InviteState.valid,
                rx.form(
                    rx.vstack(
                        rx.text(
                            "You are invited to ",
                            rx.text.strong(InviteState.org_name),
                            " as ",
                            rx.text.strong(InviteState.invite_role),
                            ".",
                        ),
                        rx.text("Email: ", rx.code(InviteState.invite_email), size="2"),
                        rx.cond(
                            InviteState.user_exists,
                            rx.text("Confirm with your existing mkportal password.", size="2"),
                            labelled_input(
                                "Your name",
                                "name",
                                name="name",
                                below=rx.text(
                                    "Choose a password (at least 10 characters).", size="2"
                                ),
                            ),
                        ),
                        labelled_input(
                            "Password", "password", name="password", type="password", required=True
                        ),
                        rx.button("Accept invitation", type="submit", width="100%"),
                        spacing="2",
                        width="100%",
                    ),
                    on_submit=InviteState.accept,
                    reset_on_submit=False,
                ),
            ),
            width="100%",
        ),
        width="28rem",
    )
