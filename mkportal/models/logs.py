"""Historic logs: per-org and per-cluster settings, ingest tokens and the usage counter.

The log lines themselves live in ``log_line``, which is not a SQLModel table: on
PostgreSQL it is partitioned by day and on SQLite it has an FTS5 index, so it is created
by raw SQL in migration 0006 and read through ``mkportal.services.logs.store``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow

DEFAULT_APP_RETENTION_DAYS = 7
DEFAULT_CONTROL_PLANE_RETENTION_DAYS = 14
DEFAULT_QUOTA_BYTES = 10 * 1024**3


class LogSettings(SQLModel, table=True):
    """An organisation's log settings. A missing row means the defaults."""

    __tablename__ = "log_settings"

    org_id: str = Field(foreign_key="organization.id", primary_key=True, max_length=32)
    app_retention_days: int = DEFAULT_APP_RETENTION_DAYS
    quota_bytes: int = Field(default=DEFAULT_QUOTA_BYTES, sa_type=BigInteger)
    warned_at: datetime | None = None
    operator_grants_control_plane: bool = False
    updated_at: datetime = Field(default_factory=utcnow)


class ClusterLogSettings(SQLModel, table=True):
    """A cluster's control-plane log retention, set by operators."""

    __tablename__ = "cluster_log_settings"

    cluster_id: str = Field(foreign_key="cluster.id", primary_key=True, max_length=32)
    control_plane_retention_days: int = DEFAULT_CONTROL_PLANE_RETENTION_DAYS
    updated_at: datetime = Field(default_factory=utcnow)


class LogIngestToken(SQLModel, table=True):
    """A bearer token that lets a cluster's log agent write that cluster's logs."""

    __tablename__ = "log_ingest_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    cluster_id: str = Field(foreign_key="cluster.id", index=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", max_length=32)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(unique=True, max_length=64)
    created_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class LogUsage(SQLModel, table=True):
    """Bytes and lines an organisation ingested on one (UTC) day, for the quota."""

    __tablename__ = "log_usage"

    org_id: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    bytes: int = Field(default=0, sa_type=BigInteger)
    lines: int = Field(default=0, sa_type=BigInteger)
