"""Sign-in, server-side sessions and rate limiting of failed sign-ins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, delete, func, select

from mkportal.db import session_scope
from mkportal.models.auth import LoginAttempt, UserSession
from mkportal.models.base import utcnow
from mkportal.models.org import Membership, User
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, NotFound, RateLimited, Unauthenticated
from mkportal.services.secrets import (
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from mkportal.services.validation import check_password
from mkportal.settings import get_settings

GENERIC_LOGIN_ERROR = "Invalid email or password."


@dataclass
class SignedIn:
    """The result of a successful sign-in. `token` goes into the session cookie only."""

    token: str
    user_id: str
    email: str
    org_id: str | None


def _failures(s: Session, key: str) -> int:
    since = utcnow() - timedelta(seconds=get_settings().login_window_seconds)
    return s.exec(
        select(func.count()).where(LoginAttempt.key == key, LoginAttempt.at >= since)
    ).one()


def _default_org(s: Session, user_id: str) -> str | None:
    return s.exec(
        select(Membership.org_id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at)
    ).first()


def login(email: str, password: str, *, ip: str = "", user_agent: str = "") -> SignedIn:
    """Check credentials and open a server-side session.

    Failures for an unknown user, a wrong password and a disabled user give the same
    message. After `login_max_failures` failures for an email or an address within the
    window, further attempts are refused with RateLimited, even with the right password.

    Raises:
        Unauthenticated: Bad credentials.
        RateLimited: Too many recent failures.

    """
    settings = get_settings()
    email = (email or "").strip().lower()
    keys = [f"email:{email}"] + ([f"ip:{ip}"] if ip else [])
    with session_scope() as s:
        if any(_failures(s, k) >= settings.login_max_failures for k in keys):
            minutes = max(1, settings.login_window_seconds // 60)
            raise RateLimited(f"Too many failed sign-ins. Try again in {minutes} minutes.")
        user = s.exec(select(User).where(User.email == email)).first()
        ok = verify_password(user.password_hash if user else None, password or "")
        if not (ok and user and user.is_active):
            for k in keys:
                s.add(LoginAttempt(key=k))
            audit.record(
                s,
                Actor(user.id if user else None, email, None, None, ip=ip),
                "login.failed",
                target_type="user",
                target_id=user.id if user else "",
            )
            s.commit()
            raise Unauthenticated(GENERIC_LOGIN_ERROR)
        token = new_token("mks")
        org_id = _default_org(s, user.id)
        s.add(
            UserSession(
                user_id=user.id,
                token_hash=token_hash(token),
                current_org_id=org_id,
                ip=ip[:64],
                user_agent=(user_agent or "")[:255],
                expires_at=utcnow() + timedelta(hours=settings.session_hours),
            )
        )
        s.exec(delete(LoginAttempt).where(col(LoginAttempt.key) == keys[0]))
        audit.record(
            s,
            Actor(user.id, user.email, org_id, None, user.is_operator, ip),
            "login.succeeded",
            target_type="user",
            target_id=user.id,
        )
        return SignedIn(token=token, user_id=user.id, email=user.email, org_id=org_id)


def actor_for(s: Session, user: User, org_id: str | None, ip: str) -> Actor:
    """Build the Actor for `user` acting in `org_id` (role looked up, never trusted)."""
    role = None
    if org_id:
        role = s.exec(
            select(Membership.role).where(
                Membership.user_id == user.id, Membership.org_id == org_id
            )
        ).first()
        if role is None and not user.is_operator:
            org_id = _default_org(s, user.id)
            role = (
                s.exec(
                    select(Membership.role).where(
                        Membership.user_id == user.id, Membership.org_id == org_id
                    )
                ).first()
                if org_id
                else None
            )
    return Actor(user.id, user.email, org_id, role, user.is_operator, ip)


def session_actor(token: str | None, *, ip: str = "") -> Actor:
    """Return the Actor of a live browser session.

    Raises:
        Unauthenticated: The token is missing, unknown, expired or revoked, or the user is disabled.

    """
    if not token:
        raise Unauthenticated("Please sign in.")
    with session_scope() as s:
        row = s.exec(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == token_hash(token))
        ).first()
        if row is None:
            raise Unauthenticated("Please sign in.")
        sess, user = row
        if sess.revoked_at or sess.expires_at < utcnow() or not user.is_active:
            raise Unauthenticated("Your session has ended. Please sign in again.")
        return actor_for(s, user, sess.current_org_id, ip)


def logout(token: str | None, *, ip: str = "") -> None:
    """Revoke a browser session (a no-op for unknown tokens)."""
    if not token:
        return
    with session_scope() as s:
        sess = s.exec(
            select(UserSession).where(UserSession.token_hash == token_hash(token))
        ).first()
        if sess and not sess.revoked_at:
            sess.revoked_at = utcnow()
            s.add(sess)
            user = s.get(User, sess.user_id)
            audit.record(
                s,
                Actor(sess.user_id, user.email if user else "", sess.current_org_id, None, ip=ip),
                "logout",
                target_type="user",
                target_id=sess.user_id,
            )


def switch_org(token: str, actor: Actor, org_id: str) -> Actor:
    """Make `org_id` the session's current organisation (the user must be a member).

    Raises:
        NotFound: The user is not a member of `org_id` (and is no operator).

    """
    with session_scope() as s:
        member = s.exec(
            select(Membership).where(
                Membership.user_id == actor.user_id, Membership.org_id == org_id
            )
        ).first()
        if member is None and not actor.is_operator:
            raise NotFound("Not found.")
        sess = s.exec(
            select(UserSession).where(UserSession.token_hash == token_hash(token))
        ).first()
        if sess is None or sess.user_id != actor.user_id:
            raise Unauthenticated("Please sign in.")
        sess.current_org_id = org_id
        s.add(sess)
        user = s.get(User, actor.user_id)
        return actor_for(s, user, org_id, actor.ip)


def change_password(actor: Actor, current: str, new: str, *, keep_token: str = "") -> None:
    """Change the caller's password and end their other sessions.

    Args:
        actor: The caller.
        current: The current password.
        new: The new password.
        keep_token: The session token that stays signed in (the caller's own).

    Raises:
        Invalid: The new password is too weak, or the current one is wrong.

    """
    check_password(new, "new_password")
    with session_scope() as s:
        user = s.get(User, actor.user_id)
        if user is None or not verify_password(user.password_hash, current or ""):
            raise Invalid({"current_password": "The current password is not correct."})
        user.password_hash = hash_password(new)
        s.add(user)
        for sess in s.exec(
            select(UserSession).where(
                UserSession.user_id == user.id,
                col(UserSession.revoked_at).is_(None),
                UserSession.token_hash != token_hash(keep_token),
            )
        ):
            sess.revoked_at = utcnow()
            s.add(sess)
        audit.record(s, actor, "user.password_changed", target_type="user", target_id=user.id)
