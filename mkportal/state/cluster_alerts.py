"""State of a cluster's Alerts tab: the operator alerts (incidents) about this cluster."""

from __future__ import annotations

import reflex as rx

from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound
from mkportal.services.metrics import incident_admin
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.session import SessionState


class ClusterAlertsState(SessionState):
    """The newest incidents of the cluster in the page's URL (read-only for its org)."""

    cluster_id: str = ""
    incidents: list[dict[str, str]] = []
    open_count: int = 0
    loaded: bool = False

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the cluster's incidents (newest first)."""
        self.cluster_id = str(self.router.page.params.get("cluster_id", ""))
        try:
            rows = incident_admin.for_cluster(actor, self.cluster_id)
        except NotFound:
            rows = []
        self.incidents = [
            {
                "id": r.id,
                "alert": r.alertname,
                "summary": r.description or r.summary,
                "priority": r.priority,
                "severity": r.severity,
                "status": r.status,
                "started": when(r.starts_at),
                "ended": when(r.resolved_at or r.ends_at) if (r.resolved_at or r.ends_at) else "–",
            }
            for r in rows
        ]
        self.open_count = sum(1 for r in rows if r.status != "resolved")
        self.loaded = True
