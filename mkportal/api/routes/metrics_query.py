"""The metrics explorer API: the caller's PromQL, confined to their organisation."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from mkportal.api.deps import current_actor
from mkportal.services.actor import Actor
from mkportal.services.metrics import explorer, promql

router = APIRouter(tags=["metrics"])


@router.get("/metrics/query")
def query(
    query: str = Query(max_length=promql.MAX_LENGTH),
    cluster_id: str | None = Query(default=None, max_length=32),
    actor: Actor = Depends(current_actor),
) -> explorer.QueryResult:
    """Run an instant query over your organisation's series (or one cluster's).

    Every selector is restricted to your organisation and its clusters; 422 for queries
    that cannot be confined, 404 for another organisation's cluster, 503 without a backend.
    """
    return explorer.instant(actor, query, cluster_id=cluster_id)


@router.get("/metrics/query_range")
def query_range(
    query: str = Query(max_length=promql.MAX_LENGTH),
    cluster_id: str | None = Query(default=None, max_length=32),
    range: str = Query(default="1h", description="15m, 1h, 6h, 24h, 7d or 30d"),  # noqa: A002
    actor: Actor = Depends(current_actor),
) -> explorer.QueryResult:
    """Run a range query over the last `range`, confined like `/metrics/query`."""
    return explorer.range_query(actor, query, cluster_id=cluster_id, range=range)
