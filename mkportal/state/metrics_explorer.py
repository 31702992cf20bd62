"""State of the metrics explorer card on a cluster's Metrics tab.

The explorer service confines the query to the signed-in organisation and this cluster
(`mkportal.services.metrics.explorer`); the state only keeps the figure and a table.
"""

from __future__ import annotations

from dataclasses import asdict

import plotly.graph_objects as go
import reflex as rx

from mkportal.components.dashboard_charts import panel_figure
from mkportal.services.actor import Actor
from mkportal.services.metrics import explorer
from mkportal.services.metrics.prom import MetricsUnavailable
from mkportal.state.guard import authed
from mkportal.state.session import SessionState

EXAMPLES = (
    "sum by (node) (node_cpu_utilisation_ratio)",
    "sum(rate(apiserver_request_total[5m])) by (code)",
    'sum(mk_pods{phase="Running"}) by (namespace)',
)


def _value(v: float | None) -> str:
    return "–" if v is None else f"{v:.6g}"


class MetricsExplorerState(SessionState):
    """The PromQL explorer of /clusters/[cluster_id] (Metrics tab)."""

    query: str = ""
    range_: str = "1h"
    field_errors: dict[str, str] = {}
    unavailable: str = ""
    truncated: bool = False
    ran: bool = False
    example_runs: int = 0
    rows: list[dict[str, str]] = []
    figure: go.Figure = go.Figure()

    def _run(self, actor: Actor) -> None:
        cluster_id = str(self.router.page.params.get("cluster_id", ""))
        self.field_errors = {}
        try:
            result = explorer.run(actor, self.query, cluster_id=cluster_id, range=self.range_)
        except MetricsUnavailable as exc:
            self.unavailable, self.ran = exc.message, False
            return
        self.unavailable, self.ran, self.truncated = "", True, result.truncated
        self.rows = [{"name": r.name, "value": _value(r.value)} for r in result.instant]
        self.figure = panel_figure(
            [asdict(s) for s in result.series], "line", window=(result.start, result.end)
        )

    @rx.event
    @authed
    def run(self, actor: Actor, form_data: dict) -> None:
        """Run the query of the form (instant table and chart over the range)."""
        self.query = str(form_data.get("query", "")).strip()
        self._run(actor)

    @rx.event
    @authed
    def set_range(self, actor: Actor, value: str) -> None:
        """Change the chart's time range (and run the last query again)."""
        if value not in explorer.RANGES:
            return
        self.range_ = value
        if self.query:
            self._run(actor)

    @rx.event
    @authed
    def use_example(self, actor: Actor, query: str) -> None:
        """Put an example query into the field and run it."""
        self.query = query
        self.example_runs += 1
        self._run(actor)
