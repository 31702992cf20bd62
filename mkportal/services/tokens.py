"""API tokens: created once, shown once, stored hashed, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.auth import ApiToken
from mkportal.models.base import utcnow
from mkportal.models.org import Role, User
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.auth import actor_for
from mkportal.services.errors import Invalid, NotFound, Unauthenticated
from mkportal.services.secrets import new_token, token_hash
from mkportal.services.validation import clean_name

TOKEN_PREFIX = "mkp"


@dataclass
class TokenInfo:
    """An API token as listed (never the secret itself)."""

    id: str
    name: str
    prefix: str
    org_id: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


def _info(t: ApiToken) -> TokenInfo:
    return TokenInfo(
        t.id, t.name, t.prefix, t.org_id, t.created_at, t.last_used_at, t.expires_at, t.revoked_at
    )


def create_token(
    actor: Actor, name: str, *, expires_days: int | None = None
) -> tuple[str, TokenInfo]:
    """Create an API token for the caller in their current organisation.

    Args:
        actor: The caller (a viewer may create tokens; the token carries the same role).
        name: A label, e.g. "ci".
        expires_days: Optional lifetime in days (1-3650).

    Returns:
        The plain token (shown once) and its listing.

    """
    actor.require_role(Role.viewer)
    name = clean_name(name)
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise Invalid({"expires_days": "Choose between 1 and 3650 days, or none."})
    plain = new_token(TOKEN_PREFIX)
    with session_scope() as s:
        row = ApiToken(
            user_id=actor.user_id,
            org_id=actor.org_id,
            name=name,
            prefix=plain[:10],
            token_hash=token_hash(plain),
            expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
        )
        s.add(row)
        audit.record(
            s,
            actor,
            "token.created",
            target_type="api_token",
            target_id=row.id,
            detail={"name": name},
        )
        return plain, _info(row)


def list_tokens(actor: Actor) -> list[TokenInfo]:
    """List the caller's own tokens, newest first."""
    with session_scope() as s:
        rows = s.exec(
            select(ApiToken)
            .where(ApiToken.user_id == actor.user_id)
            .order_by(ApiToken.created_at.desc())
        ).all()
        return [_info(t) for t in rows]


def revoke_token(actor: Actor, token_id: str) -> None:
    """Revoke one of the caller's tokens.

    Raises:
        NotFound: No such token of the caller's.

    """
    with session_scope() as s:
        row = s.get(ApiToken, token_id)
        if row is None or row.user_id != actor.user_id:
            raise NotFound("Not found.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            s.add(row)
            audit.record(
                s,
                actor,
                "token.revoked",
                target_type="api_token",
                target_id=row.id,
                org_id=row.org_id,
                detail={"name": row.name},
            )


def token_actor(plain: str | None, *, ip: str = "") -> Actor:
    """Return the Actor for a bearer token.

    Raises:
        Unauthenticated: Missing, unknown, expired or revoked token, or a disabled user.

    """
    if not plain or not plain.startswith(TOKEN_PREFIX + "_"):
        raise Unauthenticated("A valid API token is required.")
    with session_scope() as s:
        row = s.exec(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash(plain))
        ).first()
        if row is None:
            raise Unauthenticated("A valid API token is required.")
        tok, user = row
        now = utcnow()
        if tok.revoked_at or (tok.expires_at and tok.expires_at < now) or not user.is_active:
            raise Unauthenticated("This API token is expired or revoked.")
        if tok.last_used_at is None or (now - tok.last_used_at).total_seconds() > 60:
            tok.last_used_at = now
            s.add(tok)
        actor = actor_for(s, user, tok.org_id, ip)
        if tok.org_id and actor.org_id != tok.org_id:
            raise Unauthenticated("This API token's organisation membership has ended.")
        return actor
