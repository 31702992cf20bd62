"""Service levels offered to customers (seeded by the migrations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from mkportal.models.base import utcnow


class ServiceLevel(SQLModel, table=True):
    """A service level: availability target, maintenance mode, support and credits."""

    __tablename__ = "service_level"

    slug: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64)
    availability_target: float | None = None
    maintenance_mode: str = Field(default="unattended", max_length=16)
    monitoring_during_maintenance: bool = False
    support_hours: str = Field(default="", max_length=64)
    credit_policy: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str = Field(default="", max_length=500)
    sort_order: int = 0
    retired_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
