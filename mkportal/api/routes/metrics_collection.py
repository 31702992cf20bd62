"""Application metrics collection per cluster: enable (optionally for some namespaces), disable."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from mkportal.api.deps import bearer, current_actor
from mkportal.api.schemas import Body
from mkportal.services.actor import Actor
from mkportal.services.metrics import collection, remote_write

router = APIRouter(tags=["metrics"])


class MetricsCollectionBody(Body):
    """Which namespaces' pods to scrape (empty or omitted: every namespace)."""

    namespaces: list[str] = Field(default_factory=list, max_length=100)


@router.get("/clusters/{cluster_id}/metrics/collection")
def get_collection(
    cluster_id: str, actor: Actor = Depends(current_actor)
) -> collection.MetricsCollectionStatus:
    """Return whether the cluster's application metrics are collected, and the agent's state."""
    return collection.status(actor, cluster_id)


@router.put("/clusters/{cluster_id}/metrics/collection")
def enable_collection(
    cluster_id: str, body: MetricsCollectionBody, actor: Actor = Depends(current_actor)
) -> collection.MetricsCollectionStatus:
    """Enable collection: installs the Prometheus agent with the scrape configuration."""
    return collection.enable(actor, cluster_id, body.namespaces or None)


@router.delete("/clusters/{cluster_id}/metrics/collection")
def disable_collection(
    cluster_id: str, actor: Actor = Depends(current_actor)
) -> collection.MetricsCollectionStatus:
    """Disable collection: removes the agent (series already stored stay queryable)."""
    return collection.disable(actor, cluster_id)


@router.post("/ingest/metrics", status_code=204)
async def ingest_metrics(request: Request) -> Response:
    """Receive a Prometheus remote-write batch from a cluster's metrics agent.

    Authenticate with the cluster's ingest token (`Authorization: Bearer mkl_...`). The
    body is a snappy-compressed protobuf WriteRequest; every series gets the token's
    cluster as its `org`/`cluster` labels before it is written to Prometheus. 401 for a
    wrong or revoked token, 413 when too large, 422 for a malformed body, 503 when no
    Prometheus is available (the agent retries).
    """
    token = bearer(request)
    body = await request.body()
    await run_in_threadpool(remote_write.ingest, token, body)
    return Response(status_code=204)
