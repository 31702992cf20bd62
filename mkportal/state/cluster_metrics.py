"""State of a cluster's Metrics tab: range, health tiles, charts, auto-refresh.

The dashboard service (`mkportal.services.metrics.dashboard`) authorizes every read; the
state keeps the raw series backend-only and the figures it shows.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import plotly.graph_objects as go
import reflex as rx

from mkportal.components.metrics_charts import percent, seconds, series_figure
from mkportal.services import auth
from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound
from mkportal.services.metrics import backend, dashboard
from mkportal.services.metrics.prom import MetricsUnavailable
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.session import SessionState

RANGE_LABELS = {
    "15m": "Last 15 minutes",
    "1h": "Last hour",
    "6h": "Last 6 hours",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
}
REFRESH_SECONDS = {"15m": 15.0, "1h": 30.0, "6h": 60.0, "24h": 120.0, "7d": 300.0, "30d": 600.0}


def tiles(h: dashboard.Health) -> list[dict[str, str]]:
    """Return the health summary as tiles ``{"label", "value", "tone"}``."""
    up = {None: ("No data", "gray"), True: ("Up", "green"), False: ("Down", "red")}[h.api_up]
    avail = h.availability_percent
    err, p99 = h.error_ratio, h.latency_p99_seconds
    nodes_ok = h.nodes_total is not None and h.nodes_ready == h.nodes_total
    return [
        {"label": "API", "value": up[0], "tone": up[1]},
        {
            "label": "Availability",
            "value": "–" if avail is None else f"{avail:.3f} %",
            "tone": "gray" if avail is None else ("green" if avail >= 99.9 else "orange"),
        },
        {
            "label": "Error ratio",
            "value": percent(err),
            "tone": "gray" if err is None else ("red" if err > 0.05 else "green"),
        },
        {
            "label": "p99 latency",
            "value": seconds(p99),
            "tone": "gray" if p99 is None else ("red" if p99 > 1 else "green"),
        },
        {
            "label": "Nodes ready",
            "value": "–" if h.nodes_total is None else f"{h.nodes_ready} / {h.nodes_total}",
            "tone": "gray" if h.nodes_total is None else ("green" if nodes_ok else "orange"),
        },
        {
            "label": "Pods running",
            "value": "–" if h.pods is None else f"{h.pods_running or 0} / {h.pods}",
            "tone": "gray" if h.pods is None else "green",
        },
    ]


class ClusterMetricsState(LiveMixin, SessionState):
    """The Metrics tab of /clusters/[cluster_id]."""

    cluster_id: str = ""
    range_: str = "1h"
    group: str = "node"
    ready: bool = False
    missing: bool = False
    unavailable: str = ""
    backend_mode: str = ""
    updated: str = ""
    health: list[dict[str, str]] = []
    cpu: go.Figure = go.Figure()
    memory: go.Figure = go.Figure()
    pods: go.Figure = go.Figure()
    requests: go.Figure = go.Figure()
    errors: go.Figure = go.Figure()
    latency: go.Figure = go.Figure()
    _charts: dict[str, Any] = {}
    _x_range: tuple[float, float] | None = None

    def _fetch(self, token: str, key: str) -> Any:
        actor = auth.session_actor(token)
        cluster_id, range_ = key.split("|", 1)
        try:
            return dashboard.cluster_dashboard(actor, cluster_id, range_)
        except MetricsUnavailable as exc:
            return exc

    def _idle_seconds(self) -> float:
        return REFRESH_SECONDS.get(self.range_, 60.0)

    def _figures(self) -> None:
        ch = self._charts
        unit = {k: v["unit"] for k, v in ch.items()}

        def fig(key: str) -> go.Figure:
            series = ch.get(key, {}).get("series", [])
            return series_figure(series, unit.get(key, ""), x_range=self._x_range)

        self.cpu, self.memory = fig(f"cpu_{self.group}"), fig(f"memory_{self.group}")
        self.pods, self.requests = fig("pods"), fig("api_requests")
        self.errors, self.latency = fig("api_errors"), fig("latency")

    def _apply(self, data: Any) -> bool:
        if isinstance(data, MetricsUnavailable):
            self.unavailable = data.message
            self.health, self._charts = [], {}
        else:
            self.unavailable = ""
            self.health = tiles(data.health)
            self._charts = {ch.key: asdict(ch) for ch in data.charts}
            self.updated = when(data.end)
            self._x_range = (data.start.timestamp(), data.end.timestamp())
        self._figures()
        self.ready = True
        return False

    def _show(self, actor: Actor) -> None:
        self.backend_mode = backend.status()["mode"]
        try:
            data = self._fetch(self.session_token, f"{self.cluster_id}|{self.range_}")
        except NotFound:
            self.missing, self.ready = True, True
            return
        self._apply(data)
        self.live_key = f"{self.cluster_id}|{self.range_}"

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read the cluster's dashboard and keep it refreshed while the tab is open."""
        cluster_id = str(self.router.page.params.get("cluster_id", ""))
        if cluster_id != self.cluster_id:
            self.range_, self.group, self.health, self._charts = "1h", "node", [], {}
            self._figures()
        self.cluster_id, self.missing, self.ready = cluster_id, False, False
        self._show(actor)
        return None if self.missing else ClusterMetricsState.watch

    @rx.event
    @authed
    def set_range(self, actor: Actor, value: str):  # noqa: ANN201
        """Show another time range (15 minutes to 30 days)."""
        if value not in dashboard.RANGES:
            return None
        self.range_ = value
        self._show(actor)
        return None if self.missing else ClusterMetricsState.watch

    @rx.event
    @authed
    def set_group(self, actor: Actor, value: str) -> None:
        """Show CPU and memory per node or per pool."""
        self.group = value if value in ("node", "pool") else "node"
        self._figures()

    @rx.event
    @authed
    def refresh(self, actor: Actor) -> None:
        """Read the dashboard again now."""
        self._show(actor)

    @rx.event
    def leave(self) -> None:
        """Stop refreshing (the tab or page was left)."""
        self._watched = ""
        self.live_key = ""
