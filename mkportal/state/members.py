"""State of /settings/members and of the invitation landing page /invite/[token]."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.models.org import Role
from mkportal.services import invitations, orgs
from mkportal.services.actor import Actor
from mkportal.services.errors import ServiceError
from mkportal.state.format import rows
from mkportal.state.guard import authed
from mkportal.state.session import SessionState

ROLES = [r.value for r in Role]


class MembersState(SessionState):
    """Members of the current organisation; owners also manage roles and invitations."""

    members: list[dict] = []
    invitations: list[dict] = []
    invite_link: str = ""
    field_errors: dict[str, str] = {}

    @rx.var
    def can_manage(self) -> bool:
        """Whether the user may invite, change roles and remove (owners, operators)."""
        return self.role in ("owner", "operator")

    def _refresh(self, actor: Actor) -> None:
        self.members = rows(orgs.list_members(actor, actor.org_id or ""))
        owner = actor.is_operator or actor.role == Role.owner
        self.invitations = rows(invitations.list_invitations(actor)) if owner else []

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read members (and pending invitations for owners)."""
        self.invite_link = ""
        self.field_errors = {}
        if actor.org_id is None:
            self.members, self.invitations = [], []
            return
        self._refresh(actor)

    @rx.event
    @authed
    def invite(self, actor: Actor, form: dict):  # noqa: ANN201
        """Invite someone by email (owners)."""
        self.field_errors = {}
        _, link = invitations.invite(
            actor, str(form.get("invite_email", "")), str(form.get("invite_role", "member"))
        )
        self.invite_link = link
        self._refresh(actor)
        return rx.toast.success("Invitation sent.")

    @rx.event
    @authed
    def change_role(self, actor: Actor, user_id: str, role: str):  # noqa: ANN201
        """Give a member another role (owners; the last owner stays)."""
        orgs.change_role(actor, actor.org_id or "", str(user_id), str(role))
        self._refresh(actor)
        return rx.toast.success("Role changed.")

    @rx.event
    @authed
    def remove(self, actor: Actor, user_id: str):  # noqa: ANN201
        """Remove a member from the organisation (owners)."""
        orgs.remove_member(actor, actor.org_id or "", str(user_id))
        self._refresh(actor)
        return rx.toast.success("Member removed.")

    @rx.event
    @authed
    def revoke_invitation(self, actor: Actor, invitation_id: str):  # noqa: ANN201
        """Withdraw a pending invitation (owners)."""
        invitations.revoke_invitation(actor, str(invitation_id))
        self._refresh(actor)
        return rx.toast.success("Invitation revoked.")


class InviteState(rx.State):
    """/invite/[token]: accept an invitation (no session needed)."""

    org_name: str = ""
    invite_email: str = ""
    invite_role: str = ""
    user_exists: bool = False
    error: str = ""
    valid: bool = False

    def _token(self) -> str:
        return str(self.router.page.params.get("token", ""))

    @rx.event
    def load(self) -> None:
        """Describe the invitation, or say that the link is not valid."""
        self.error = ""
        try:
            p = invitations.preview(self._token())
        except ServiceError as exc:
            self.valid = False
            self.error = exc.message
            return
        self.valid = True
        self.org_name, self.invite_email, self.invite_role = p.org_name, p.email, p.role
        self.user_exists = p.user_exists

    @rx.event
    def accept(self, form: dict):  # noqa: ANN201
        """Join the organisation, then sign in."""
        try:
            invitations.accept(
                self._token(),
                str(form.get("password", "")),
                name=str(form.get("name", "")),
                ip=self.router.session.client_ip or "",
            )
        except ServiceError as exc:
            self.error = exc.message
            return None
        self.valid = False
        return [
            rx.toast.success(f"Welcome to {self.org_name}. Sign in to continue."),
            rx.redirect(routes.LOGIN),
        ]
