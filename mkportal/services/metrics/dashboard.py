"""The cluster metrics dashboard: health summary and chart series of one cluster.

Every query is built here from validated ids (no user PromQL): each selector carries the
cluster's `org` and `cluster` labels. Series of deleted clusters stay readable by their org.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, NotFound
from mkportal.services.metrics import catalog as c
from mkportal.services.metrics import prom

RANGES = {"15m": 900, "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800, "30d": 2592000}
ID_RE = re.compile(r"^[0-9a-f]{32}$")
POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="metrics-dashboard")


@dataclass
class ChartSeries:
    """One line of a chart: its name and (unix time, value) points."""

    name: str
    x: list[float]
    y: list[float]


@dataclass
class Chart:
    """A dashboard chart: key, title, unit ("ratio", "percent", "seconds", "count", "rps")."""

    key: str
    title: str
    unit: str
    series: list[ChartSeries] = field(default_factory=list)


@dataclass
class Health:
    """The summary tiles; None where Prometheus has no data."""

    api_up: bool | None = None
    availability_percent: float | None = None
    error_ratio: float | None = None
    latency_p99_seconds: float | None = None
    nodes_ready: int | None = None
    nodes_total: int | None = None
    pods: int | None = None
    pods_running: int | None = None


@dataclass
class ClusterDashboard:
    """A cluster's dashboard over one range."""

    cluster_id: str
    cluster_name: str
    range: str
    start: datetime
    end: datetime
    step_seconds: float
    health: Health
    charts: list[Chart]


def selector(org_id: str, cluster_id: str, extra: str = "") -> str:
    """Return the label matchers of one cluster's series (ids are validated hex)."""
    if not ID_RE.match(org_id) or not ID_RE.match(cluster_id):
        raise NotFound("Not found.")
    return f'org="{org_id}",cluster="{cluster_id}"' + (f",{extra}" if extra else "")


def _cluster(actor: Actor, cluster_id: str) -> Cluster:
    if not ID_RE.match(cluster_id or ""):
        raise NotFound("Not found.")
    with session_scope() as s:
        row = s.get(Cluster, cluster_id)
    if row is None or not actor.can_see_org(row.org_id):
        raise NotFound("Not found.")
    return row


def _duration(seconds: float) -> str:
    return f"{int(seconds)}s"


def health_queries(sel: str, window: str) -> dict[str, str]:
    """Return the instant queries of the health tiles, by Health field."""
    ready = f'{c.NODE_READY}{{{sel},condition="Ready",status="true"}}'
    total = f"sum(rate({c.APISERVER_REQUESTS}{{{sel}}}[{window}]))"
    errors = f'sum(rate({c.APISERVER_REQUESTS}{{{sel},code=~"5.."}}[{window}]))'
    return {
        "api_up": f"max({c.APISERVER_UP}{{{sel}}})",
        "availability_percent": f"100 * avg_over_time({c.SLI_AVAILABLE}{{{sel}}}[{window}])",
        "error_ratio": f"({errors} or {total} * 0) / {total}",
        "latency_p99_seconds": "histogram_quantile(0.99, sum by (le) "
        f"(rate({c.APISERVER_LATENCY}_bucket{{{sel}}}[{window}])))",
        "nodes_ready": f"sum(max by (node) ({ready}))",
        "nodes_total": f"count(max by (node) ({ready}))",
        "pods": f"sum(max by (namespace, phase) ({c.PODS}{{{sel}}}))",
        "pods_running": f'sum(max by (namespace) ({c.PODS}{{{sel},phase="Running"}}))',
    }


def chart_queries(sel: str, window: str) -> list[tuple[str, str, str, str, str]]:
    """Return (key, title, unit, series label, query) of every chart."""
    bucket = f"{c.APISERVER_LATENCY}_bucket{{{sel}}}"
    req = f"{c.APISERVER_REQUESTS}{{{sel}}}"
    return [
        ("cpu_node", "CPU per node", "ratio", "node", f"max by (node) ({c.NODE_CPU}{{{sel}}})"),
        ("cpu_pool", "CPU per pool", "ratio", "pool", f"avg by (pool) (max by (node, pool) ({c.NODE_CPU}{{{sel}}}))"),
        (
            "memory_node", "Memory per node", "ratio", "node",
            f"max by (node) ({c.NODE_MEMORY}{{{sel}}})",
        ),
        (
            "memory_pool", "Memory per pool", "ratio", "pool",
            f"avg by (pool) (max by (node, pool) ({c.NODE_MEMORY}{{{sel}}}))",
        ),
        ("pods", "Pods by phase", "count", "phase", f"sum by (phase) (max by (namespace, phase) ({c.PODS}{{{sel}}}))"),
        (
            "api_requests", "API requests by code", "rps", "code",
            f"sum by (code) (rate({req}[{window}]))",
        ),
        (
            "api_errors", "API server error ratio", "ratio", "",
            f'sum(rate({c.APISERVER_REQUESTS}{{{sel},code=~"5.."}}[{window}])) '
            f"/ sum(rate({req}[{window}]))",
        ),
        (
            "latency", "API latency (p50, p99)", "seconds", "quantile",
            f'label_replace(histogram_quantile(0.99, sum by (le) (rate({bucket}[{window}]))), '
            f'"quantile", "p99", "", "") or label_replace(histogram_quantile(0.5, sum by (le) '
            f'(rate({bucket}[{window}]))), "quantile", "p50", "", "")',
        ),
    ]  # fmt: skip


def _scalar(samples: list[prom.Sample]) -> float | None:
    values = [s.value for s in samples if s.value == s.value]  # drop NaN
    return values[0] if values else None


def cluster_dashboard(
    actor: Actor, cluster_id: str, range_: str = "1h", now: datetime | None = None
) -> ClusterDashboard:
    """Return a cluster's health summary and charts over `range_` (15m .. 30d).

    Raises:
        NotFound: No such cluster, or another organisation's.
        Invalid: Unknown range (field "range").
        MetricsUnavailable: No Prometheus, or it does not answer.
    """
    if range_ not in RANGES:
        raise Invalid({"range": f"Choose one of {', '.join(RANGES)}."})
    cluster = _cluster(actor, cluster_id)
    sel = selector(cluster.org_id, cluster.id)
    seconds = RANGES[range_]
    end = now or datetime.now(UTC)
    start = end - timedelta(seconds=seconds)
    step = prom.step_for(seconds)
    window = _duration(max(60, 4 * step))
    tiles = health_queries(sel, _duration(seconds))
    charts = chart_queries(sel, window)
    tile_jobs = {k: POOL.submit(prom.query, q, end) for k, q in tiles.items()}
    chart_jobs = [POOL.submit(prom.query_range, q[4], start, end, step) for q in charts]
    values = {k: _scalar(job.result()) for k, job in tile_jobs.items()}
    health = Health(
        api_up=None if values["api_up"] is None else values["api_up"] >= 1,
        availability_percent=values["availability_percent"],
        error_ratio=values["error_ratio"],
        latency_p99_seconds=values["latency_p99_seconds"],
        **{
            k: None if values[k] is None else int(values[k])
            for k in ("nodes_ready", "nodes_total", "pods", "pods_running")
        },
    )
    out = []
    for (key, title, unit, label, _q), job in zip(charts, chart_jobs, strict=True):
        chart = Chart(key, title, unit)
        for series in sorted(job.result(), key=lambda s: s.labels.get(label, "")):
            points = [(t, v) for t, v in series.points if v == v]
            chart.series.append(
                ChartSeries(
                    series.labels.get(label, title) if label else title,
                    [t for t, _ in points],
                    [v for _, v in points],
                )
            )
        out.append(chart)
    return ClusterDashboard(cluster.id, cluster.name, range_, start, end, step, health, out)
