"""Log collection per cluster: whether it is on, for which namespaces, and pull cursors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from mkportal.models.base import utcnow


class LogCollection(SQLModel, table=True):
    """A cluster's log collection settings (a missing row means collection is off).

    `namespaces` empty means every namespace. `token_id` is the ingest token the log
    agent uses. `cursor` holds the control-plane pull position per cloud source, and
    `sim_at` when the sandbox simulator last produced lines for the cluster.
    """

    __tablename__ = "log_collection"

    cluster_id: str = Field(foreign_key="cluster.id", primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    enabled: bool = Field(default=False, index=True)
    namespaces: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    token_id: str = Field(default="", max_length=32)
    status: str = Field(default="off", max_length=16)
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    cursor: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sim_at: datetime | None = None
    enabled_by: str = Field(default="", max_length=254)
    enabled_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
