"""Server-side sessions, API tokens and login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow


class UserSession(SQLModel, table=True):
    """A browser session. The cookie holds the token; only its hash is stored."""

    __tablename__ = "user_session"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    token_hash: str = Field(unique=True, max_length=64)
    current_org_id: str | None = Field(default=None, foreign_key="organization.id", max_length=32)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class ApiToken(SQLModel, table=True):
    """A bearer token for the REST API, bound to one user and one organisation."""

    __tablename__ = "api_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    org_id: str | None = Field(default=None, foreign_key="organization.id", max_length=32)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in, kept briefly for rate limiting (shared by all processes)."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, max_length=300)
    at: datetime = Field(default_factory=utcnow, index=True)
