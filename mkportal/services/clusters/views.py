"""The public shape of a cluster (DESIGN.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mkportal.models.cluster import Cluster, NodePool


@dataclass
class PoolView:
    """A node pool: desired and observed."""

    name: str
    machine_type: str
    count: int
    autoscaling: dict
    observed_count: int
    ready_count: int
    status: str
    message: str


@dataclass
class ClusterView:
    """A cluster as callers see it."""

    id: str
    org_id: str
    name: str
    provider: str
    region: str
    version: str
    current_version: str
    service_level: str
    status: str
    status_reason: str
    node_pools: list[PoolView]
    features: list[str]
    feature_status: dict[str, str]
    network: dict
    endpoint: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    extra: dict = field(default_factory=dict)


def pool_view(p: NodePool) -> PoolView:
    """Convert a pool row."""
    return PoolView(
        name=p.name,
        machine_type=p.machine_type,
        count=p.count,
        autoscaling={"enabled": p.autoscaling, "min": p.min_count, "max": p.max_count},
        observed_count=p.observed_count,
        ready_count=p.ready_count,
        status=p.status,
        message=p.message,
    )


def cluster_view(c: Cluster, pools: list[NodePool]) -> ClusterView:
    """Convert a cluster row and its pools."""
    return ClusterView(
        id=c.id,
        org_id=c.org_id,
        name=c.name,
        provider=c.provider,
        region=c.region,
        version=c.version,
        current_version=c.current_version,
        service_level=c.service_level,
        status=c.status,
        status_reason=c.status_reason,
        node_pools=[pool_view(p) for p in sorted(pools, key=lambda p: p.name)],
        features=list(c.features),
        feature_status=dict(c.feature_status),
        network=dict(c.network),
        endpoint=c.endpoint,
        created_by=c.created_by,
        created_at=c.created_at,
        updated_at=c.updated_at,
        deleted_at=c.deleted_at,
    )
