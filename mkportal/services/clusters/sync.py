"""Periodic work on clusters: observe running clusters, and the sandbox's load simulation."""

from __future__ import annotations

import logging

from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.models.operation import ACTIVE_STATUSES, Operation
from mkportal.services.clusters.steps import observe
from mkportal.services.providers import sandbox
from mkportal.worker.tick import register_tick

log = logging.getLogger(__name__)
BATCH = 200


def sync_running(limit: int = BATCH) -> int:
    """Refresh the observed pool counts of running clusters without an active operation.

    Returns:
        The number of clusters observed.
    """
    with session_scope() as s:
        busy = select(Operation.cluster_id).where(
            col(Operation.status).in_(ACTIVE_STATUSES), col(Operation.cluster_id).is_not(None)
        )
        ids = s.exec(
            select(Cluster.id)
            .where(Cluster.status == "running", col(Cluster.id).not_in(busy))
            .order_by(Cluster.updated_at)
            .limit(limit)
        ).all()
    for cluster_id in ids:
        try:
            observe(cluster_id)
        except Exception:  # noqa: BLE001 - one unreachable cloud must not stop the others
            log.warning("could not observe cluster %s", cluster_id, exc_info=True)
    return len(ids)


register_tick("sandbox.autoscale", sandbox.autoscale)
register_tick("clusters.sync", sync_running)
