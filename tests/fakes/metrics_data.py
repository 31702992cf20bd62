"""Rows for metrics tests: a running sandbox cluster with nodes and a Deployment, in the DB."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.models.sandbox import SandboxCluster, SandboxNode, SandboxObject


def sandbox_cluster(
    org_id: str,
    name: str = "prod",
    *,
    nodes: int = 2,
    started: datetime | None = None,
    service_level: str = "standard",
    deployment: str = "web",
) -> str:
    """Insert a running sandbox cluster of `org_id` and return its portal id.

    Args:
        org_id: The owning organisation.
        name: Cluster name.
        nodes: Ready nodes in pool "default".
        started: When it became ready (counters start there); default 2 hours ago.
        service_level: Its service level slug.
        deployment: Name of a Deployment in namespace "shop" ("" for none).
    """
    started = started or datetime.now(UTC) - timedelta(hours=2)
    with session_scope() as s:
        sb = SandboxCluster(
            request_token=f"tok-{org_id}-{name}",
            name=name,
            region="sandbox-1",
            version="1.35",
            status="running",
            ready_at=started,
            created_at=started,
        )
        s.add(sb)
        s.flush()
        cluster = Cluster(
            org_id=org_id,
            name=name,
            provider="sandbox",
            region="sandbox-1",
            version="1.35",
            service_level=service_level,
            status="running",
            provider_ref=sb.ref,
            created_at=started,
        )
        s.add(cluster)
        for i in range(nodes):
            s.add(
                SandboxNode(
                    ref=sb.ref,
                    pool="default",
                    name=f"{name}-default-{i}",
                    machine_type="small",
                    status="ready",
                    ready_at=started,
                    created_at=started,
                )
            )
        if deployment:
            body = {"metadata": {"name": deployment}, "spec": {"replicas": 2}}
            s.add(
                SandboxObject(
                    ref=sb.ref,
                    api_group="apps",
                    kind="Deployment",
                    namespace="shop",
                    name=deployment,
                    body=json.dumps(body),
                    created_at=started,
                )
            )
        s.flush()
        return cluster.id
