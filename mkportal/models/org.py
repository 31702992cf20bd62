"""Organisations, users, memberships and invitations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow


class Role(StrEnum):
    """A member's role in an organisation, strongest first."""

    owner = "owner"
    member = "member"
    viewer = "viewer"


ROLE_RANK = {Role.viewer: 1, Role.member: 2, Role.owner: 3}


class Organization(SQLModel, table=True):
    """A customer organisation: the unit of isolation and billing."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    slug: str = Field(unique=True, index=True, max_length=63)
    created_at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    """A person who signs in. `is_operator` marks VSHNeers (operator staff)."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    email: str = Field(unique=True, index=True, max_length=254)
    name: str = Field(default="", max_length=100)
    password_hash: str = Field(default="", max_length=255)
    is_operator: bool = False
    is_active: bool = True
    notification_prefs: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    """A user's role in one organisation."""

    __table_args__ = (UniqueConstraint("user_id", "org_id", name="uq_membership_user_org"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    role: str = Field(default=Role.member, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class Invitation(SQLModel, table=True):
    """An emailed invitation to join an organisation; the token is stored hashed."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    email: str = Field(max_length=254)
    role: str = Field(default=Role.member, max_length=16)
    token_hash: str = Field(unique=True, max_length=64)
    invited_by: str = Field(foreign_key="user.id", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
