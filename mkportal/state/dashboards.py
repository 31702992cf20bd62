"""State of /dashboards (list, create, import) and /dashboards/[dashboard_id] (panels).

`mkportal.services.metrics.dashboards` authorizes every read and change and confines
every panel query to the dashboard's organisation; the state keeps the figures it shows.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import plotly.graph_objects as go
import reflex as rx

from mkportal import routes
from mkportal.components.dashboard_charts import last_value, panel_figure
from mkportal.models.org import ROLE_RANK, Role
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, NotFound
from mkportal.services.metrics import dashboards
from mkportal.services.metrics.prom import MetricsUnavailable
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.session import SessionState

ALL_CLUSTERS = "all"
EMPTY_PANEL = {
    "title": "",
    "query": "",
    "chart": "line",
    "unit": "",
    "thresholds": "",
    "cluster_id": ALL_CLUSTERS,
}


def can_write(actor: Actor) -> bool:
    """Whether the actor may change dashboards (members, owners, operators)."""
    return actor.is_operator or ROLE_RANK.get(Role(actor.role or "viewer"), 0) >= 2


def thresholds_text(thresholds: list[dict]) -> str:
    """Render thresholds as the form's text: ``0.8 orange, 0.95 red``."""
    return ", ".join(f"{t['value']:g} {t['color']}" for t in thresholds)


def parse_thresholds(text: str) -> list[dict[str, Any]]:
    """Parse ``0.8 orange, 0.95 red`` (colour optional, red by default).

    Raises:
        Invalid: Field ``panel.thresholds``.
    """
    out: list[dict[str, Any]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        value, _, colour = part.partition(" ")
        try:
            out.append({"value": float(value), "color": colour.strip() or "red"})
        except ValueError:
            raise Invalid({"panel.thresholds": f"{value!r} is not a number."}) from None
    return out


class DashboardsState(SessionState):
    """The list of the organisation's dashboards, with create and import."""

    items: list[dict[str, str]] = []
    writable: bool = False
    field_errors: dict[str, str] = {}

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """List the dashboards."""
        self.writable = can_write(actor) and actor.org_id is not None
        self.items = [
            {
                "id": d.id,
                "name": d.name,
                "description": d.description,
                "panels": str(len(d.panels)),
                "updated": when(d.updated_at),
                "href": f"/dashboards/{d.id}",
            }
            for d in dashboards.list_dashboards(actor)
        ]

    @rx.event
    @authed
    def create(self, actor: Actor, form_data: dict):  # noqa: ANN201
        """Create an empty dashboard and open it."""
        self.field_errors = {}
        d = dashboards.create(
            actor, str(form_data.get("name", "")), str(form_data.get("description", ""))
        )
        return rx.redirect(f"/dashboards/{d.id}")

    @rx.event
    @authed
    def import_json(self, actor: Actor, form_data: dict):  # noqa: ANN201
        """Create a dashboard from pasted export JSON and open it."""
        self.field_errors = {}
        try:
            document = json.loads(str(form_data.get("document", "")))
        except ValueError as exc:
            raise Invalid({"document": f"Not valid JSON: {exc.msg}."}) from None
        d = dashboards.import_dashboard(actor, document)
        return rx.redirect(f"/dashboards/{d.id}")


class DashboardState(SessionState):
    """One dashboard: panels as charts, the panel form, ordering, export, delete."""

    dashboard_id: str = ""
    name: str = ""
    description: str = ""
    missing: bool = False
    writable: bool = False
    range_: str = "1h"
    unavailable: str = ""
    panels: list[dict[str, Any]] = []
    figures: list[go.Figure] = []
    clusters: list[dict[str, str]] = []
    form_open: bool = False
    editing: int = -1
    form: dict[str, str] = dict(EMPTY_PANEL)
    field_errors: dict[str, str] = {}
    export_text: str = ""

    def _show(self, actor: Actor) -> None:
        try:
            view = dashboards.get(actor, self.dashboard_id)
        except NotFound:
            self.missing, self.panels, self.figures = True, [], []
            return
        self.missing, self.name, self.description = False, view.name, view.description
        self.writable = can_write(actor)
        names = {c["value"]: c["label"] for c in self.clusters}
        try:
            data = dashboards.panel_data(actor, self.dashboard_id, self.range_)
            self.unavailable = ""
        except MetricsUnavailable as exc:
            self.unavailable = exc.message
            data = [dashboards.PanelData(i, p, None) for i, p in enumerate(view.panels)]
        panels, figures = [], []
        for d in data:
            p = d.panel
            series = [asdict(s) for s in d.result.series] if d.result else []
            value = last_value(series)
            panels.append(
                {
                    "index": d.index,
                    "title": p["title"],
                    "query": p["query"],
                    "chart": p["chart"],
                    "unit": p["unit"],
                    "scope": names.get(p["cluster_id"], "All clusters")
                    if p["cluster_id"]
                    else "All clusters",
                    "error": d.error,
                    "empty": d.result is not None and not series,
                    "value": "" if value is None else f"{value:.4g}",
                    "last": d.index == len(data) - 1,
                }
            )
            window = (d.result.start, d.result.end) if d.result else None
            figures.append(
                panel_figure(series, p["chart"], p["unit"], p["thresholds"], window=window)
            )
        self.panels, self.figures = panels, figures

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Open the dashboard of the URL."""
        dashboard_id = str(self.router.page.params.get("dashboard_id", ""))
        if dashboard_id != self.dashboard_id:
            self.range_, self.form_open, self.export_text = "1h", False, ""
        self.dashboard_id = dashboard_id
        try:
            choices = dashboards.cluster_choices(actor, dashboards.get(actor, dashboard_id).org_id)
        except NotFound:
            choices = []
        self.clusters = [{"value": i, "label": n} for i, n in choices]
        self._show(actor)

    @rx.event
    @authed
    def set_range(self, actor: Actor, value: str) -> None:
        """Show another time range."""
        if value in ("15m", "1h", "6h", "24h", "7d", "30d"):
            self.range_ = value
            self._show(actor)

    @rx.event
    @authed
    def refresh(self, actor: Actor) -> None:
        """Run every panel's query again."""
        self._show(actor)

    @rx.event
    @authed
    def new_panel(self, actor: Actor) -> None:
        """Open the form for a new panel."""
        self.form, self.editing, self.form_open, self.field_errors = dict(EMPTY_PANEL), -1, True, {}

    @rx.event
    @authed
    def edit_panel(self, actor: Actor, index: int) -> None:
        """Open the form with the panel at `index`."""
        panels = dashboards.get(actor, self.dashboard_id).panels
        if not 0 <= index < len(panels):
            return
        p = panels[index]
        self.form = {
            "title": p["title"],
            "query": p["query"],
            "chart": p["chart"],
            "unit": p["unit"],
            "thresholds": thresholds_text(p["thresholds"]),
            "cluster_id": p["cluster_id"] or ALL_CLUSTERS,
        }
        self.editing, self.form_open, self.field_errors = index, True, {}

    @rx.event
    @authed
    def close_form(self, actor: Actor) -> None:
        """Close the panel form without saving."""
        self.form_open, self.field_errors = False, {}

    @rx.event
    @authed
    def save_panel(self, actor: Actor, form_data: dict) -> None:
        """Add or replace the panel from the form."""
        self.form = {k: str(form_data.get(k, v)) for k, v in EMPTY_PANEL.items()}
        self.field_errors = {}
        cluster = self.form["cluster_id"]
        panel = {
            "title": self.form["title"],
            "query": self.form["query"],
            "chart": self.form["chart"],
            "unit": self.form["unit"],
            "thresholds": parse_thresholds(self.form["thresholds"]),
            "cluster_id": "" if cluster == ALL_CLUSTERS else cluster,
        }
        dashboards.set_panel(
            actor, self.dashboard_id, panel, None if self.editing < 0 else self.editing
        )
        self.form_open = False
        self._show(actor)

    @rx.event
    @authed
    def remove_panel(self, actor: Actor, index: int) -> None:
        """Remove the panel at `index`."""
        dashboards.remove_panel(actor, self.dashboard_id, index)
        self._show(actor)

    @rx.event
    @authed
    def move_panel(self, actor: Actor, index: int, direction: str) -> None:
        """Move the panel at `index` up or down."""
        dashboards.move_panel(actor, self.dashboard_id, index, direction)
        self._show(actor)

    @rx.event
    @authed
    def export(self, actor: Actor) -> None:
        """Show the dashboard's export JSON."""
        self.export_text = json.dumps(dashboards.export(actor, self.dashboard_id), indent=2)

    @rx.event
    @authed
    def hide_export(self, actor: Actor) -> None:
        """Hide the export JSON."""
        self.export_text = ""

    @rx.event
    @authed
    def rename(self, actor: Actor, form_data: dict) -> None:
        """Save the dashboard's name and description."""
        self.field_errors = {}
        view = dashboards.update(
            actor,
            self.dashboard_id,
            name=str(form_data.get("name", "")),
            description=str(form_data.get("description", "")),
        )
        self.name, self.description = view.name, view.description

    @rx.event
    @authed
    def delete(self, actor: Actor):  # noqa: ANN201
        """Delete the dashboard and go back to the list."""
        dashboards.delete(actor, self.dashboard_id)
        return rx.redirect(routes.DASHBOARDS)
