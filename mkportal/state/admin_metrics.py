"""State of /admin/metrics: the metrics backend, the fleet's health, sandbox fault injection."""

from __future__ import annotations

from typing import Any

import reflex as rx

from mkportal.components.metrics_charts import percent, seconds
from mkportal.services import auth, org_directory
from mkportal.services.actor import Actor
from mkportal.services.metrics import backend, faults, fleet
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.session import SessionState

REFRESH_SECONDS = 30.0
HEALTH_ORDER = {"down": 0, "degraded": 1, "no data": 2, "healthy": 3}


def fleet_row(r: fleet.FleetRow, org_names: dict[str, str]) -> dict[str, str]:
    """Return what the fleet table shows of a cluster."""
    return {
        "id": r.cluster_id,
        "name": r.cluster_name,
        "org": org_names.get(r.org_id, r.org_id),
        "provider": r.provider,
        "service_level": r.service_level,
        "status": r.status,
        "health": r.health,
        "error_ratio": percent(r.error_ratio),
        "latency": seconds(r.latency_p99_seconds),
        "nodes": "–" if r.nodes_total is None else f"{r.nodes_ready} / {r.nodes_total}",
        "alerts": str(r.firing_alerts),
    }


class AdminMetricsState(LiveMixin, SessionState):
    """/admin/metrics (operators only)."""

    backend_mode: str = ""
    backend_message: str = ""
    fleet_message: str = ""
    rows: list[dict[str, str]] = []
    sandbox_options: list[dict[str, str]] = []
    fault_cluster: str = ""
    fault_values: dict[str, str] = {}
    field_errors: dict[str, str] = {}

    def _fetch(self, token: str, key: str) -> Any:
        actor = auth.session_actor(token)
        org_names = {o.id: o.name for o in org_directory.organisations(actor)}
        return fleet.fleet(actor), org_names

    def _apply(self, data: Any) -> bool:
        view, org_names = data
        rows = [fleet_row(r, org_names) for r in view.rows]
        rows.sort(key=lambda r: (HEALTH_ORDER.get(r["health"], 9), r["org"], r["name"]))
        self.rows = rows
        self.fleet_message = view.message
        self.sandbox_options = [
            {"value": r.cluster_id, "label": f"{r.cluster_name} ({org_names.get(r.org_id, '')})"}
            for r in view.rows
            if r.provider == "sandbox"
        ]
        return False

    def _idle_seconds(self) -> float:
        return REFRESH_SECONDS

    def _show_faults(self, actor: Actor) -> None:
        f = faults.get_faults(actor, self.fault_cluster)
        self.fault_values = {
            "api_down": "yes" if f["api_down"] else "",
            "backup_stale": "yes" if f["backup_stale"] else "",
            "error_ratio": f"{f['error_ratio']:g}",
            "latency_seconds": f"{f['latency_seconds']:g}",
            "nodes_not_ready": str(f["nodes_not_ready"]),
            "cert_expiry_days": ""
            if f["cert_expiry_days"] is None
            else f"{f['cert_expiry_days']:g}",
        }

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Show the backend status and the fleet, refreshed every 30 s."""
        actor.require_operator()
        st = backend.status()
        self.backend_mode, self.backend_message = st["mode"], st["message"]
        self._apply(self._fetch(self.session_token, "fleet"))
        known = [o["value"] for o in self.sandbox_options]
        if self.fault_cluster not in known:
            self.fault_cluster = known[0] if known else ""
        if self.fault_cluster:
            self._show_faults(actor)
        self.live_key = "fleet"
        return AdminMetricsState.watch

    @rx.event
    @authed
    def choose_cluster(self, actor: Actor, cluster_id: str) -> None:
        """Pick the sandbox cluster whose faults the form edits."""
        self.field_errors = {}
        self.fault_cluster = cluster_id
        self._show_faults(actor)

    @rx.event
    @authed
    def apply_faults(self, actor: Actor, form: dict):  # noqa: ANN201
        """Inject the faults of the form into the chosen sandbox cluster."""
        self.field_errors = {}
        raw = {
            "api_down": bool(form.get("api_down")),
            "backup_stale": bool(form.get("backup_stale")),
            "error_ratio": form.get("error_ratio") or 0,
            "latency_seconds": form.get("latency_seconds") or 0,
            "nodes_not_ready": form.get("nodes_not_ready") or 0,
            "cert_expiry_days": form.get("cert_expiry_days") or None,
        }
        faults.set_faults(actor, self.fault_cluster, raw)
        self._show_faults(actor)
        return rx.toast.success("Faults applied; the next scrape shows them.")

    @rx.event
    @authed
    def clear_faults(self, actor: Actor):  # noqa: ANN201
        """Remove every injected fault of the chosen sandbox cluster."""
        self.field_errors = {}
        faults.set_faults(actor, self.fault_cluster, {})
        self._show_faults(actor)
        return rx.toast.success("Faults cleared.")

    @rx.event
    def leave(self) -> None:
        """Stop refreshing (the page was left)."""
        self._watched = ""
        self.live_key = ""
