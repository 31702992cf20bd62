"""Clusters and node pools: the desired spec and the observed status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow

LIVE_NAME_WHERE = "deleted_at IS NULL"


class Cluster(SQLModel, table=True):
    """A customer's Kubernetes cluster. A deleted cluster keeps its row for billing and audit."""

    __table_args__ = (
        Index(
            "uq_cluster_live_name",
            "org_id",
            "name",
            unique=True,
            sqlite_where=text(LIVE_NAME_WHERE),
            postgresql_where=text(LIVE_NAME_WHERE),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    name: str = Field(max_length=40)
    provider: str = Field(index=True, max_length=16)
    region: str = Field(max_length=64)
    version: str = Field(max_length=16)
    current_version: str = Field(default="", max_length=16)
    service_level: str = Field(default="standard", index=True, max_length=32)
    status: str = Field(default="provisioning", index=True, max_length=16)
    status_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    features: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    feature_status: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    network: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    endpoint: str = Field(default="", max_length=255)
    provider_ref: str = Field(default="", max_length=255)
    credentials_enc: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    credentials_kind: str = Field(default="", max_length=16)
    credentials_rotated_at: datetime | None = None
    created_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None


class NodePool(SQLModel, table=True):
    """A group of identical nodes: desired count/bounds and the observed count."""

    __tablename__ = "node_pool"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    cluster_id: str = Field(foreign_key="cluster.id", index=True, max_length=32)
    name: str = Field(max_length=40)
    machine_type: str = Field(max_length=64)
    count: int = 1
    autoscaling: bool = False
    min_count: int = 0
    max_count: int = 0
    observed_count: int = 0
    ready_count: int = 0
    status: str = Field(default="creating", max_length=16)
    message: str = Field(default="", max_length=500)
