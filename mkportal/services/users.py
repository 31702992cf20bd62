"""Users: creation (CLI and invitations), profile and notification preferences."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.org import Membership, Organization, Role, User
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid
from mkportal.services.secrets import hash_password
from mkportal.services.validation import check_password, clean_email, clean_name, slugify

NOTIFICATION_EVENTS = {
    "operation_failed": "An operation in my organisation failed",
    "operation_succeeded": "An operation I asked for finished",
    "maintenance": "Maintenance is scheduled or starting",
    "billing": "Invoices and payment problems",
}


@dataclass
class Profile:
    """What a user sees about themselves."""

    id: str
    email: str
    name: str
    is_operator: bool
    notifications: dict[str, bool] = field(default_factory=dict)


def ensure_org(s: Session, name: str) -> Organization:
    """Return the organisation named or slugged `name`, creating it when missing."""
    slug = slugify(name)
    org = s.exec(select(Organization).where(Organization.slug == slug)).first()
    if org is None:
        org = Organization(name=clean_name(name, "org"), slug=slug)
        s.add(org)
        s.flush()
    return org


def create_user(
    email: str,
    password: str,
    *,
    org: str | None = None,
    role: Role = Role.owner,
    operator: bool = False,
    name: str = "",
    actor: Actor | None = None,
) -> User:
    """Create a user (or update an existing one's password and flags), optionally in an org.

    The organisation is created when missing. Used by the CLI and the demo seed.
    """
    email = clean_email(email)
    check_password(password)
    actor = actor or Actor.system("cli")
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == email)).first()
        if user is None:
            user = User(email=email, name=name or email.split("@")[0])
        user.password_hash = hash_password(password)
        user.is_operator = user.is_operator or operator
        s.add(user)
        s.flush()
        if org:
            o = ensure_org(s, org)
            exists = s.exec(
                select(Membership).where(Membership.user_id == user.id, Membership.org_id == o.id)
            ).first()
            if exists is None:
                s.add(Membership(user_id=user.id, org_id=o.id, role=role))
                audit.record(
                    s,
                    actor,
                    "member.added",
                    target_type="user",
                    target_id=user.id,
                    org_id=o.id,
                    detail={"email": email, "role": role.value},
                )
        audit.record(
            s,
            actor,
            "user.created",
            target_type="user",
            target_id=user.id,
            detail={"email": email, "operator": user.is_operator},
        )
        return user


def _profile(user: User) -> Profile:
    prefs = {k: bool(user.notification_prefs.get(k, True)) for k in NOTIFICATION_EVENTS}
    return Profile(user.id, user.email, user.name, user.is_operator, prefs)


def get_profile(actor: Actor) -> Profile:
    """Return the caller's profile."""
    with session_scope() as s:
        return _profile(s.get(User, actor.user_id))


def update_profile(actor: Actor, *, name: str) -> Profile:
    """Change the caller's display name."""
    name = clean_name(name)
    with session_scope() as s:
        user = s.get(User, actor.user_id)
        user.name = name
        s.add(user)
        audit.record(s, actor, "user.profile_updated", target_type="user", target_id=user.id)
        return _profile(user)


def set_notifications(actor: Actor, prefs: dict[str, bool]) -> Profile:
    """Set the caller's notification preferences (unknown events are rejected)."""
    unknown = sorted(set(prefs) - set(NOTIFICATION_EVENTS))
    if unknown:
        raise Invalid({f"notifications.{unknown[0]}": "Unknown notification event."})
    with session_scope() as s:
        user = s.get(User, actor.user_id)
        user.notification_prefs = {
            **user.notification_prefs,
            **{k: bool(v) for k, v in prefs.items()},
        }
        s.add(user)
        audit.record(
            s,
            actor,
            "user.notifications_updated",
            target_type="user",
            target_id=user.id,
            detail=prefs,
        )
        return _profile(user)
