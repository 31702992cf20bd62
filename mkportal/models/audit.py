"""The audit trail: who did what, when, from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow


class AuditEvent(SQLModel, table=True):
    """One recorded action. Rows are only ever inserted."""

    __tablename__ = "audit_event"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: str | None = Field(default=None, max_length=32)
    actor_email: str = Field(default="", max_length=254)
    org_id: str | None = Field(default=None, index=True, max_length=32)
    action: str = Field(index=True, max_length=64)
    target_type: str = Field(default="", max_length=32)
    target_id: str = Field(default="", max_length=64)
    ip: str = Field(default="", max_length=64)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
