"""The operators' fleet view: every live cluster's health and its firing alerts."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.services.actor import Actor
from mkportal.services.metrics import catalog as c
from mkportal.services.metrics import prom
from mkportal.services.metrics.dashboard import POOL


@dataclass
class FleetRow:
    """One cluster of the fleet view."""

    cluster_id: str
    cluster_name: str
    org_id: str
    provider: str
    service_level: str
    status: str
    health: str
    api_up: bool | None
    error_ratio: float | None
    latency_p99_seconds: float | None
    nodes_ready: int | None
    nodes_total: int | None
    firing_alerts: int


@dataclass
class FleetView:
    """The fleet: a row per live cluster; `available` False when Prometheus is missing."""

    rows: list[FleetRow]
    available: bool
    message: str = ""


def firing_alerts() -> dict[str, int]:
    """Return active (not silenced) alerts per cluster id from Alertmanager's API v2."""
    url = prom.alertmanager_url()
    if not url:
        raise prom.MetricsUnavailable(prom.INSTALL_HINT)
    try:
        r = requests.get(
            f"{url}/api/v2/alerts",
            params={"active": "true", "silenced": "false", "inhibited": "false"},
            timeout=prom.TIMEOUT,
        )
        r.raise_for_status()
        alerts = r.json()
    except (requests.RequestException, ValueError) as exc:
        raise prom.MetricsUnavailable(f"Alertmanager at {url} does not answer.") from exc
    counts: dict[str, int] = {}
    for alert in alerts:
        cluster = alert.get("labels", {}).get("cluster", "")
        counts[cluster] = counts.get(cluster, 0) + 1
    return counts


def _by_cluster(promql: str) -> dict[str, float]:
    return {s.labels.get("cluster", ""): s.value for s in prom.query(promql) if s.value == s.value}


def _health(up: float | None, err: float | None, p99: float | None, ready, total, alerts) -> str:  # noqa: ANN001
    if up is None:
        return "no data"
    if up < 1:
        return "down"
    degraded = (err or 0) > 0.05 or (p99 or 0) > 1 or (ready or 0) < (total or 0) or alerts
    return "degraded" if degraded else "healthy"


def fleet(actor: Actor) -> FleetView:
    """Return every live cluster with its health and firing alerts (operators only).

    Raises:
        NotFound: The actor is not an operator.
    """
    actor.require_operator()
    with session_scope() as s:
        clusters = s.exec(
            select(Cluster).where(Cluster.deleted_at.is_(None)).order_by(Cluster.name)
        ).all()
    queries = {
        "up": f"max by (cluster) ({c.APISERVER_UP})",
        "err": f"max by (cluster) ({c.SLI_ERROR_RATIO})",
        "p99": f"max by (cluster) ({c.SLI_LATENCY_P99})",
        "ready": f'sum by (cluster) ({c.NODE_READY}{{condition="Ready",status="true"}})',
        "total": f'count by (cluster) ({c.NODE_READY}{{condition="Ready",status="true"}})',
    }
    try:
        jobs = {k: POOL.submit(_by_cluster, q) for k, q in queries.items()}
        alerts_job = POOL.submit(firing_alerts)
        data = {k: job.result() for k, job in jobs.items()}
        alerts = alerts_job.result()
        available, message = True, ""
    except prom.MetricsUnavailable as exc:
        data, alerts = {k: {} for k in queries}, {}
        available, message = False, exc.message
    rows = []
    for cl in clusters:
        v = {k: data[k].get(cl.id) for k in queries}
        ready = None if v["ready"] is None else int(v["ready"])
        total = None if v["total"] is None else int(v["total"])
        firing = alerts.get(cl.id, 0)
        rows.append(
            FleetRow(
                cl.id, cl.name, cl.org_id, cl.provider, cl.service_level, cl.status,
                _health(v["up"], v["err"], v["p99"], ready, total, firing),
                None if v["up"] is None else v["up"] >= 1,
                v["err"], v["p99"], ready, total, firing,
            )
        )  # fmt: skip
    return FleetView(rows, available, message)
