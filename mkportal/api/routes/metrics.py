"""Metrics: the exporter Prometheus scrapes, cluster dashboards, the fleet, sandbox faults."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import Field

from mkportal.api.deps import bearer, current_actor
from mkportal.api.schemas import Body
from mkportal.services.actor import Actor
from mkportal.services.errors import Unauthenticated
from mkportal.services.metrics import backend, dashboard, faults, fleet, simulate
from mkportal.settings import get_settings

router = APIRouter(tags=["metrics"])
EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class FaultsBody(Body):
    """Injected metric faults of a sandbox cluster (all omitted: no faults)."""

    api_down: bool = False
    error_ratio: float = Field(default=0.0, ge=0, le=faults.MAX_ERROR_RATIO)
    latency_seconds: float = Field(default=0.0, ge=0, le=faults.MAX_LATENCY)
    nodes_not_ready: int = Field(default=0, ge=0, le=1000)
    cert_expiry_days: float | None = Field(default=None, ge=0, le=3650)
    backup_stale: bool = False


@router.get("/metrics/scrape", response_class=PlainTextResponse)
def scrape(request: Request) -> PlainTextResponse:
    """Serve the sandbox exporter to Prometheus (bearer METRICS_TOKEN, not a user token)."""
    token = bearer(request) or ""
    if not hmac.compare_digest(token.encode(), get_settings().metrics_token.encode()):
        raise Unauthenticated("Send the metrics scrape token as 'Authorization: Bearer <token>'.")
    body = simulate.exposition(datetime.now(UTC))
    return PlainTextResponse(body, media_type=EXPOSITION_TYPE)


@router.get("/metrics/status")
def status(_actor: Actor = Depends(current_actor)) -> dict:
    """Return whether the metrics backend is configured, embedded or not installed."""
    return backend.status()


@router.get("/clusters/{cluster_id}/metrics")
def cluster_metrics(
    cluster_id: str,
    range: str = Query("1h", pattern="^(15m|1h|6h|24h|7d|30d)$"),  # noqa: A002
    actor: Actor = Depends(current_actor),
) -> dashboard.ClusterDashboard:
    """Return a cluster's health summary and chart series over the range."""
    return dashboard.cluster_dashboard(actor, cluster_id, range)


@router.get("/admin/metrics/fleet")
def fleet_view(actor: Actor = Depends(current_actor)) -> fleet.FleetView:
    """Return every live cluster's health, error ratio, latency, nodes and firing alerts."""
    return fleet.fleet(actor)


@router.get("/admin/sandbox/{cluster_id}/faults")
def get_faults(cluster_id: str, actor: Actor = Depends(current_actor)) -> dict:
    """Return a sandbox cluster's injected metric faults."""
    return faults.get_faults(actor, cluster_id)


@router.put("/admin/sandbox/{cluster_id}/faults")
def put_faults(cluster_id: str, body: FaultsBody, actor: Actor = Depends(current_actor)) -> dict:
    """Replace a sandbox cluster's injected metric faults (operators only, audited)."""
    return faults.set_faults(actor, cluster_id, body.model_dump())
