"""Invitations: owners invite by email; the invitee follows the link and sets a password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.org import Invitation, Membership, Organization, Role, User
from mkportal.services import audit, mail
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.orgs import parse_role
from mkportal.services.secrets import hash_password, new_token, token_hash, verify_password
from mkportal.services.validation import check_password, clean_email
from mkportal.settings import get_settings


@dataclass
class InvitationInfo:
    """A pending invitation as owners see it."""

    id: str
    email: str
    role: str
    created_at: datetime
    expires_at: datetime


@dataclass
class InvitationPreview:
    """What the invite page shows before accepting."""

    org_name: str
    email: str
    role: str
    user_exists: bool


def invite(actor: Actor, email: str, role: str = "member") -> tuple[InvitationInfo, str]:
    """Invite `email` to the caller's organisation and email them a link (owners only).

    Returns:
        The invitation and the link sent (shown to the owner too, for copying).

    Raises:
        Conflict: The person is already a member, or has a pending invitation.

    """
    actor.require_role(Role.owner)
    email = clean_email(email)
    r = parse_role(role)
    settings = get_settings()
    token = new_token("inv")
    with session_scope() as s:
        org = s.get(Organization, actor.org_id)
        existing = s.exec(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(User.email == email, Membership.org_id == org.id)
        ).first()
        if existing:
            raise Conflict(f"{email} is already a member of {org.name}.")
        pending = s.exec(
            select(Invitation).where(
                Invitation.org_id == org.id,
                Invitation.email == email,
                col(Invitation.accepted_at).is_(None),
                col(Invitation.revoked_at).is_(None),
                Invitation.expires_at > utcnow(),
            )
        ).first()
        if pending:
            raise Conflict(
                f"{email} already has a pending invitation. Revoke it to send a new one."
            )
        inv = Invitation(
            org_id=org.id,
            email=email,
            role=r,
            token_hash=token_hash(token),
            invited_by=actor.user_id,
            expires_at=utcnow() + timedelta(days=settings.invitation_days),
        )
        s.add(inv)
        audit.record(
            s,
            actor,
            "member.invited",
            target_type="invitation",
            target_id=inv.id,
            detail={"email": email, "role": r.value},
        )
        org_name = org.name
        info = InvitationInfo(inv.id, email, r, inv.created_at, inv.expires_at)
    link = f"{settings.base_url.rstrip('/')}/invite/{token}"
    mail.send(
        email,
        f"You are invited to {org_name} on mkportal",
        f"{actor.email} invited you to join {org_name} as {r.value}.\n\n"
        f"Accept the invitation and set your password here:\n{link}\n\n"
        f"The link is valid for {settings.invitation_days} days.",
    )
    return info, link


def list_invitations(actor: Actor) -> list[InvitationInfo]:
    """List the pending invitations of the caller's organisation (owners only)."""
    actor.require_role(Role.owner)
    with session_scope() as s:
        rows = s.exec(
            select(Invitation)
            .where(
                Invitation.org_id == actor.org_id,
                col(Invitation.accepted_at).is_(None),
                col(Invitation.revoked_at).is_(None),
            )
            .order_by(Invitation.created_at.desc())
        ).all()
        return [InvitationInfo(i.id, i.email, i.role, i.created_at, i.expires_at) for i in rows]


def revoke_invitation(actor: Actor, invitation_id: str) -> None:
    """Revoke a pending invitation (owners only)."""
    actor.require_role(Role.owner)
    with session_scope() as s:
        inv = s.get(Invitation, invitation_id)
        if inv is None or inv.org_id != actor.org_id:
            raise NotFound("Not found.")
        inv.revoked_at = utcnow()
        s.add(inv)
        audit.record(
            s,
            actor,
            "member.invitation_revoked",
            target_type="invitation",
            target_id=inv.id,
            detail={"email": inv.email},
        )


def _live(s, token: str) -> Invitation:  # noqa: ANN001
    inv = s.exec(select(Invitation).where(Invitation.token_hash == token_hash(token or ""))).first()
    if inv is None or inv.accepted_at or inv.revoked_at or inv.expires_at < utcnow():
        raise NotFound("This invitation link is invalid, expired or already used.")
    return inv


def preview(token: str) -> InvitationPreview:
    """Describe an invitation for its landing page."""
    with session_scope() as s:
        inv = _live(s, token)
        org = s.get(Organization, inv.org_id)
        exists = s.exec(select(User).where(User.email == inv.email)).first() is not None
        return InvitationPreview(org.name, inv.email, inv.role, exists)


def accept(token: str, password: str, *, name: str = "", ip: str = "") -> str:
    """Accept an invitation: a new user sets a password, an existing one confirms theirs.

    Returns:
        The invitee's email, ready for signing in.

    Raises:
        NotFound: The link is invalid, expired or used.
        Invalid: The password is too weak (new user) or wrong (existing user).

    """
    with session_scope() as s:
        inv = _live(s, token)
        user = s.exec(select(User).where(User.email == inv.email)).first()
        if user is None:
            check_password(password)
            user = User(
                email=inv.email,
                name=(name or "").strip()[:100] or inv.email.split("@")[0],
                password_hash=hash_password(password),
            )
            s.add(user)
            s.flush()
        elif not verify_password(user.password_hash, password or ""):
            raise Invalid({"password": "Enter your existing mkportal password to accept."})
        s.add(Membership(user_id=user.id, org_id=inv.org_id, role=inv.role))
        inv.accepted_at = utcnow()
        s.add(inv)
        audit.record(
            s,
            Actor(user.id, user.email, inv.org_id, inv.role, ip=ip),
            "member.joined",
            target_type="user",
            target_id=user.id,
            detail={"role": inv.role, "invitation": inv.id},
        )
        return user.email
