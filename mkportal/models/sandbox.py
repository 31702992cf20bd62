"""The sandbox cloud's own state (it lives inside the portal, in the portal's database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow


class SandboxCluster(SQLModel, table=True):
    """A simulated control plane.

    `faults` are injected metric faults for the simulated series (e.g. {"api_down": true,
    "error_ratio": 0.3, "latency_seconds": 2.5, "nodes_not_ready": 1}).
    """

    __tablename__ = "sandbox_cluster"

    ref: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    request_token: str = Field(unique=True, max_length=100)
    name: str = Field(max_length=40)
    region: str = Field(max_length=64)
    version: str = Field(max_length=16)
    status: str = Field(default="creating", max_length=16)
    ready_at: datetime = Field(default_factory=utcnow)
    delete_at: datetime | None = None
    token_enc: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    features: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    network: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    faults: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class SandboxPool(SQLModel, table=True):
    """A simulated node pool."""

    __tablename__ = "sandbox_pool"
    __table_args__ = (UniqueConstraint("ref", "name", name="uq_sandbox_pool"),)

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(foreign_key="sandbox_cluster.ref", index=True, max_length=32)
    name: str = Field(max_length=40)
    machine_type: str = Field(max_length=64)
    count: int = 1
    autoscaling: bool = False
    min_count: int = 0
    max_count: int = 0
    status: str = Field(default="creating", max_length=16)
    message: str = Field(default="", max_length=500)
    delete_at: datetime | None = None


class SandboxNode(SQLModel, table=True):
    """A simulated node."""

    __tablename__ = "sandbox_node"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    ref: str = Field(foreign_key="sandbox_cluster.ref", index=True, max_length=32)
    pool: str = Field(max_length=40)
    name: str = Field(max_length=100)
    machine_type: str = Field(max_length=64)
    status: str = Field(default="provisioning", max_length=16)
    ready_at: datetime = Field(default_factory=utcnow)
    delete_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class SandboxObject(SQLModel, table=True):
    """A Kubernetes object stored by the sandbox's API endpoint."""

    __tablename__ = "sandbox_object"
    __table_args__ = (
        UniqueConstraint("ref", "api_group", "kind", "namespace", "name", name="uq_sandbox_object"),
        # The next resourceVersion is MAX(resource_version) per cluster, on every write.
        Index("ix_sandbox_object_ref_version", "ref", "resource_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(foreign_key="sandbox_cluster.ref", index=True, max_length=32)
    api_group: str = Field(default="", max_length=100)
    kind: str = Field(max_length=64)
    namespace: str = Field(default="", max_length=63)
    name: str = Field(max_length=253)
    uid: str = Field(default_factory=new_id, max_length=36)
    resource_version: int = 1
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
