"""The public shape of a backup, and the cluster configuration a backup records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from mkportal.models.backup import Backup, ClusterConfigVersion
from mkportal.models.cluster import Cluster, NodePool


@dataclass
class BackupView:
    """A backup in the catalog as callers see it."""

    id: str
    org_id: str
    cluster_id: str
    schedule_id: str
    trigger: str
    status: str
    operation_id: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    size_bytes: int
    object_count: int
    counts: dict[str, int]
    checksum: str
    storage_kind: str
    storage_key: str
    config: dict
    config_version: int
    k8s_version: str
    locked: bool
    kept_by: str
    error: str
    created_by: str
    pruned_at: datetime | None
    restorable: bool


def backup_view(row: Backup) -> BackupView:
    """Return the public view of a catalog row."""
    duration = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
    return BackupView(
        id=row.id,
        org_id=row.org_id,
        cluster_id=row.cluster_id,
        schedule_id=row.schedule_id,
        trigger=row.trigger,
        status=row.status,
        operation_id=row.operation_id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_seconds=duration,
        size_bytes=row.size_bytes,
        object_count=row.object_count,
        counts=dict(row.counts or {}),
        checksum=row.checksum,
        storage_kind=row.storage_kind,
        storage_key=row.storage_key,
        config=dict(row.config or {}),
        config_version=row.config_version,
        k8s_version=row.k8s_version,
        locked=row.locked,
        kept_by=row.kept_by,
        error=row.error,
        created_by=row.created_by,
        pruned_at=row.pruned_at,
        restorable=row.status == "succeeded",
    )


def cluster_config(s: Session, cluster: Cluster) -> dict:
    """Return the portal-side configuration of a cluster, shaped like a create request."""
    pools = s.exec(
        select(NodePool).where(NodePool.cluster_id == cluster.id).order_by(NodePool.name)
    ).all()
    return {
        "name": cluster.name,
        "provider": cluster.provider,
        "region": cluster.region,
        "version": cluster.version,
        "service_level": cluster.service_level,
        "features": list(cluster.features or []),
        "network": dict(cluster.network or {}),
        "node_pools": [
            {
                "name": p.name,
                "machine_type": p.machine_type,
                "count": p.count,
                "autoscaling": {"enabled": p.autoscaling, "min": p.min_count, "max": p.max_count},
            }
            for p in pools
            if p.status != "deleting"
        ],
    }


def config_version(s: Session, cluster_id: str) -> int:
    """Return the cluster's newest recorded configuration version (0: none recorded)."""
    return (
        s.exec(
            select(func.max(ClusterConfigVersion.version)).where(
                ClusterConfigVersion.cluster_id == cluster_id
            )
        ).one()
        or 0
    )
