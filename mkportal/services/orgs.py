"""Organisations and their members: listing, creation, roles, removal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from mkportal.db import session_scope
from mkportal.models.org import Membership, Organization, Role, User
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.validation import clean_name, slugify


@dataclass
class OrgInfo:
    """An organisation as its members see it."""

    id: str
    name: str
    slug: str
    role: str | None
    created_at: datetime


@dataclass
class MemberInfo:
    """A member of an organisation."""

    user_id: str
    email: str
    name: str
    role: str
    joined_at: datetime


def parse_role(value: str, field: str = "role") -> Role:
    """Return the Role named `value` or raise Invalid."""
    try:
        return Role(value)
    except ValueError:
        raise Invalid({field: "Choose owner, member or viewer."}) from None


def list_my_orgs(actor: Actor) -> list[OrgInfo]:
    """List the organisations the caller belongs to."""
    with session_scope() as s:
        rows = s.exec(
            select(Organization, Membership.role)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == actor.user_id)
            .order_by(Organization.name)
        ).all()
        return [OrgInfo(o.id, o.name, o.slug, role, o.created_at) for o, role in rows]


def get_org(actor: Actor, org_id: str) -> OrgInfo:
    """Return one organisation the caller may see (404 otherwise)."""
    actor.require_org(org_id)
    with session_scope() as s:
        org = s.get(Organization, org_id)
        if org is None:
            raise NotFound("Not found.")
        role = actor.role if org_id == actor.org_id else None
        return OrgInfo(org.id, org.name, org.slug, role, org.created_at)


def create_org(actor: Actor, name: str) -> OrgInfo:
    """Create an organisation with the caller as its owner.

    Raises:
        Conflict: An organisation with that name (slug) exists.

    """
    name = clean_name(name)
    slug = slugify(name)
    with session_scope() as s:
        if s.exec(select(Organization).where(Organization.slug == slug)).first():
            raise Conflict(f"An organisation named '{name}' already exists.")
        org = Organization(name=name, slug=slug)
        s.add(org)
        s.flush()
        s.add(Membership(user_id=actor.user_id, org_id=org.id, role=Role.owner))
        audit.record(
            s,
            actor,
            "org.created",
            target_type="org",
            target_id=org.id,
            org_id=org.id,
            detail={"name": name},
        )
        return OrgInfo(org.id, org.name, org.slug, Role.owner, org.created_at)


def list_members(actor: Actor, org_id: str) -> list[MemberInfo]:
    """List an organisation's members (any member may see them)."""
    actor.require_org(org_id)
    with session_scope() as s:
        rows = s.exec(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == org_id)
            .order_by(User.email)
        ).all()
        return [MemberInfo(u.id, u.email, u.name, m.role, m.created_at) for m, u in rows]


def _membership(s: Session, org_id: str, user_id: str) -> Membership:
    m = s.exec(
        select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    ).first()
    if m is None:
        raise NotFound("Not found.")
    return m


def _owners(s: Session, org_id: str) -> int:
    return s.exec(
        select(func.count()).where(Membership.org_id == org_id, Membership.role == Role.owner)
    ).one()


def _require_owner_of(actor: Actor, org_id: str) -> None:
    actor.require_org(org_id)
    if org_id == actor.org_id or not actor.is_operator:
        actor.require_role(Role.owner)


def change_role(actor: Actor, org_id: str, user_id: str, role: str) -> MemberInfo:
    """Change a member's role (owners only). The last owner cannot be demoted.

    Raises:
        Conflict: It would leave the organisation without an owner.

    """
    new_role = parse_role(role)
    _require_owner_of(actor, org_id)
    with session_scope() as s:
        m = _membership(s, org_id, user_id)
        if m.role == Role.owner and new_role != Role.owner and _owners(s, org_id) <= 1:
            raise Conflict(
                "An organisation needs at least one owner. Make someone else owner first."
            )
        old = m.role
        m.role = new_role
        s.add(m)
        user = s.get(User, user_id)
        audit.record(
            s,
            actor,
            "member.role_changed",
            target_type="user",
            target_id=user_id,
            org_id=org_id,
            detail={"email": user.email, "from": old, "to": new_role},
        )
        return MemberInfo(user.id, user.email, user.name, m.role, m.created_at)


def remove_member(actor: Actor, org_id: str, user_id: str) -> None:
    """Remove a member (owners only; members may remove themselves). Keeps one owner.

    Raises:
        Conflict: It would remove the last owner.

    """
    actor.require_org(org_id)
    if user_id != actor.user_id:
        _require_owner_of(actor, org_id)
    with session_scope() as s:
        m = _membership(s, org_id, user_id)
        if m.role == Role.owner and _owners(s, org_id) <= 1:
            raise Conflict("The last owner cannot be removed.")
        user = s.get(User, user_id)
        s.delete(m)
        audit.record(
            s,
            actor,
            "member.removed",
            target_type="user",
            target_id=user_id,
            org_id=org_id,
            detail={"email": user.email},
        )


def org_names(actor: Actor, org_ids: list[str]) -> dict[str, str]:
    """Return the names of organisations by id (operators, for fleet-wide lists)."""
    actor.require_operator()
    if not org_ids:
        return {}
    with session_scope() as s:
        rows = s.exec(select(Organization).where(col(Organization.id).in_(set(org_ids))))
        return {o.id: o.name for o in rows}


def owner_emails(session: Session, org_id: str) -> list[str]:
    """Return the emails of `org_id`'s active owners, sorted (for notices; no authz)."""
    return list(
        session.exec(
            select(User.email)
            .join(Membership, col(Membership.user_id) == col(User.id))
            .where(
                Membership.org_id == org_id,
                Membership.role == Role.owner.value,
                col(User.is_active).is_(True),
            )
            .order_by(User.email)
        ).all()
    )
