"""State of /admin/logs: control-plane logs of any cluster, retention and access grants."""

from __future__ import annotations

import reflex as rx

from mkportal.services import org_directory
from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound
from mkportal.services.logs import retention
from mkportal.state.cluster_logs import LogBrowserMixin
from mkportal.state.guard import authed
from mkportal.state.session import SessionState


class AdminLogsState(LogBrowserMixin, SessionState):
    """Operators browse a cluster's control-plane logs and set who reads them for how long."""

    org_options: list[dict[str, str]] = []
    cluster_options: list[dict[str, str]] = []
    org_id: str = ""
    cluster_id: str = ""
    cp_retention_days: str = ""
    org_granted: bool = False
    audit_mode: bool = False

    def _target(self) -> str:
        return self.cluster_id

    def _stream(self) -> str:
        return "control-plane"

    def _run(self, actor: Actor) -> None:
        super()._run(actor)
        self.audit_mode = self._filters.get("component") == "audit"

    def _choose_cluster(self, actor: Actor, cluster_id: str) -> None:
        self.cluster_id = cluster_id
        self.cp_retention_days = ""
        if cluster_id:
            try:
                info = retention.get_cluster_settings(actor, cluster_id)
            except NotFound:
                self.cluster_id = ""
                self._clear_results()
                raise NotFound(
                    "This cluster was deleted: its logs can no longer be read."
                ) from None
            self.cp_retention_days = str(info.control_plane_retention_days)
        self._run(actor)

    def _choose_org(self, actor: Actor, org_id: str) -> None:
        self.org_id = org_id
        self.cluster_options = [
            {"value": c.id, "label": c.name} for c in org_directory.org_clusters(actor, org_id)
        ]
        self.org_granted = retention.get_org_settings(actor, org_id).operator_grants_control_plane
        first = self.cluster_options[0]["value"] if self.cluster_options else ""
        try:
            self._choose_cluster(actor, first)
        except NotFound:
            return

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """List the organisations (operators only) and show the chosen cluster's logs."""
        actor.require_operator()
        self.org_options = [
            {"value": o.id, "label": o.name} for o in org_directory.organisations(actor)
        ]
        known = [o["value"] for o in self.org_options]
        if self.org_id in known:
            self._choose_org(actor, self.org_id)
        else:
            self.org_id, self.cluster_id, self.cluster_options = "", "", []
            self._clear_results()

    @rx.event
    @authed
    def choose_org(self, actor: Actor, org_id: str) -> None:
        """Pick an organisation; its first cluster is shown."""
        actor.require_operator()
        if org_id not in [o["value"] for o in self.org_options]:
            raise NotFound("Not found.")
        self._choose_org(actor, org_id)

    @rx.event
    @authed
    def choose_cluster(self, actor: Actor, cluster_id: str) -> None:
        """Pick one of the organisation's clusters."""
        actor.require_operator()
        if cluster_id not in [c["value"] for c in self.cluster_options]:
            raise NotFound("Not found.")
        self._choose_cluster(actor, cluster_id)

    @rx.event
    @authed
    def save_cp_retention(self, actor: Actor, form: dict):  # noqa: ANN201
        """Set how long the cluster's control-plane logs are kept (1-90 days)."""
        self.field_errors = {}
        raw = str(form.get("cp_retention_days", "")).strip()
        if not self.cluster_id:
            return rx.toast.error("Choose a cluster first.")
        if not raw.isdigit():
            self.field_errors = {
                "control_plane_retention_days": "Enter a number of days from 1 to 90."
            }
            return None
        info = retention.set_control_plane_retention(actor, self.cluster_id, int(raw))
        self.cp_retention_days = str(info.control_plane_retention_days)
        return rx.toast.success(f"Control-plane logs are kept for {self.cp_retention_days} days.")

    @rx.event
    @authed
    def set_grant(self, actor: Actor, granted: bool):  # noqa: ANN201
        """Let the organisation read its clusters' control-plane logs (or stop it)."""
        actor.require_operator()
        if not self.org_id:
            return rx.toast.error("Choose an organisation first.")
        info = retention.update_org_settings(
            actor, org_id=self.org_id, operator_grants_control_plane=bool(granted)
        )
        self.org_granted = info.operator_grants_control_plane
        verb = "can" if self.org_granted else "can no longer"
        return rx.toast.success(f"The organisation {verb} read its control-plane logs.")
