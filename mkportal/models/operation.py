"""Durable operations: the source of truth for every change the worker carries out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow


class OpStatus(StrEnum):
    """Life cycle of an operation."""

    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


ACTIVE_STATUSES = (OpStatus.pending, OpStatus.running)
TERMINAL_STATUSES = (OpStatus.succeeded, OpStatus.failed, OpStatus.cancelled)


class Operation(SQLModel, table=True):
    """One requested change, executed by the worker as idempotent steps."""

    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key", name="uq_operation_idempotency"),
        Index(
            "uq_operation_active_per_cluster",
            "cluster_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'running') AND cluster_id IS NOT NULL"),
            postgresql_where=text("status IN ('pending', 'running') AND cluster_id IS NOT NULL"),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str | None = Field(default=None, foreign_key="organization.id", index=True)
    cluster_id: str | None = Field(default=None, index=True, max_length=32)
    kind: str = Field(index=True, max_length=64)
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OpStatus.pending, index=True, max_length=16)
    step: int = 0
    step_name: str = Field(default="", max_length=100)
    total_steps: int = 0
    progress: int = 0
    attempts: int = 0
    max_attempts: int = 5
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = Field(default=None, index=True)
    lease_token: int = 0
    next_run_at: datetime = Field(default_factory=utcnow, index=True)
    enqueued_at: datetime = Field(default_factory=utcnow)
    idempotency_key: str | None = Field(default=None, max_length=200)
    requested_by: str | None = Field(default=None, max_length=32)
    requested_by_email: str = Field(default="", max_length=254)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    cancel_requested: bool = False
    executed_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class OperationLog(SQLModel, table=True):
    """A log line of an operation."""

    __tablename__ = "operation_log"

    id: int | None = Field(default=None, primary_key=True)
    operation_id: str = Field(foreign_key="operation.id", index=True, max_length=32)
    at: datetime = Field(default_factory=utcnow)
    level: str = Field(default="info", max_length=8)
    message: str = Field(sa_column=Column(Text, nullable=False))


class Lock(SQLModel, table=True):
    """A named, expiring lock so that only one worker runs a periodic job per interval."""

    name: str = Field(primary_key=True, max_length=64)
    owner: str = Field(default="", max_length=100)
    expires_at: datetime = Field(default_factory=utcnow)
