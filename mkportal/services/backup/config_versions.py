"""Versioned portal-side cluster configuration: one version per change.

`record` is called in the same transaction as a cluster's creation or update
(services/clusters/actions.py), so "what did this cluster look like on date X" is
answered by `at`. A cluster that predates versioning gets a baseline version the first
time it is read or backed up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.backup import ClusterConfigVersion
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster, NodePool
from mkportal.services.actor import Actor
from mkportal.services.backup.policy import visible_cluster
from mkportal.services.errors import Invalid, NotFound


@dataclass
class ConfigVersionView:
    """One version of a cluster's configuration."""

    version: int
    created_at: datetime
    reason: str
    changed_by: str
    spec: dict


def spec_of(s: Session, cluster: Cluster) -> dict:
    """Return the portal-side configuration of a cluster as stored now (pools being removed excluded)."""
    s.flush()
    pools = s.exec(select(NodePool).where(NodePool.cluster_id == cluster.id)).all()
    return {
        "name": cluster.name,
        "provider": cluster.provider,
        "region": cluster.region,
        "version": cluster.version,
        "service_level": cluster.service_level,
        "features": sorted(cluster.features),
        "network": dict(cluster.network),
        "node_pools": [
            {
                "name": p.name,
                "machine_type": p.machine_type,
                "count": p.count,
                "autoscaling": {"enabled": p.autoscaling, "min": p.min_count, "max": p.max_count},
            }
            for p in sorted(pools, key=lambda p: p.name)
            if p.status != "deleting"
        ],
    }


def record(s: Session, cluster: Cluster, *, reason: str, actor_email: str) -> ClusterConfigVersion:
    """Add the cluster's current configuration as its next version (commits with `s`).

    Args:
        s: The session of the change being recorded.
        cluster: The cluster, with the change applied.
        reason: What changed, e.g. "created" or "updated: features".
        actor_email: Who changed it.

    Returns:
        The new version row.

    """
    latest = s.exec(
        select(func.max(ClusterConfigVersion.version)).where(
            ClusterConfigVersion.cluster_id == cluster.id
        )
    ).one()
    row = ClusterConfigVersion(
        cluster_id=cluster.id,
        org_id=cluster.org_id,
        version=(latest or 0) + 1,
        spec=spec_of(s, cluster),
        reason=reason[:200],
        changed_by=actor_email[:254],
        created_at=utcnow(),
    )
    s.add(row)
    s.flush()
    return row


def current(s: Session, cluster: Cluster) -> ClusterConfigVersion:
    """Return the cluster's newest version, recording a baseline if it has none."""
    row = s.exec(
        select(ClusterConfigVersion)
        .where(ClusterConfigVersion.cluster_id == cluster.id)
        .order_by(ClusterConfigVersion.version.desc())
        .limit(1)
    ).first()
    return row or record(s, cluster, reason="baseline", actor_email="system")


def _view(row: ClusterConfigVersion) -> ConfigVersionView:
    return ConfigVersionView(
        version=row.version,
        created_at=row.created_at,
        reason=row.reason,
        changed_by=row.changed_by,
        spec=dict(row.spec),
    )


def list_versions(actor: Actor, cluster_id: str) -> list[ConfigVersionView]:
    """Return a cluster's configuration versions, newest first (any role of its organisation).

    Raises:
        NotFound: No such cluster in the caller's organisation.

    """
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        current(s, cluster)
        rows = s.exec(
            select(ClusterConfigVersion)
            .where(ClusterConfigVersion.cluster_id == cluster.id)
            .order_by(ClusterConfigVersion.version.desc())
        ).all()
        return [_view(r) for r in rows]


def at(actor: Actor, cluster_id: str, when: datetime) -> dict:
    """Return the cluster's configuration in effect at `when`.

    Returns:
        {"version", "created_at", "reason", "changed_by", "spec"} of the newest version
        recorded at or before `when`.

    Raises:
        NotFound: No such cluster in the caller's organisation, or it had no recorded
            configuration yet at `when`.
        Invalid: `when` has no timezone.

    """
    if when.tzinfo is None:
        raise Invalid({"at": "Give the time with a timezone, e.g. 2026-11-01T12:00:00Z."})
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        current(s, cluster)
        row = s.exec(
            select(ClusterConfigVersion)
            .where(
                ClusterConfigVersion.cluster_id == cluster.id,
                ClusterConfigVersion.created_at <= when,
            )
            .order_by(ClusterConfigVersion.version.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFound(f"The cluster had no recorded configuration at {when.isoformat()}.")
        view = _view(row)
    return {
        "version": view.version,
        "created_at": view.created_at,
        "reason": view.reason,
        "changed_by": view.changed_by,
        "spec": view.spec,
    }
