"""Custom metrics dashboards of an organisation: panels of confined PromQL.

Every member of the organisation reads its dashboards; members and owners change them,
viewers only look. A panel is {title, query, chart (line|area|bar|stat), unit,
thresholds [{value, color}], cluster_id ("" = every cluster of the organisation)}; its
query must pass `promql.confine`, and is confined again each time it runs. Panels are
kept in grid order. Export and import use a versioned JSON document (`SCHEMA`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.metrics import Dashboard
from mkportal.models.org import Role
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, NotFound
from mkportal.services.metrics import explorer
from mkportal.services.metrics.dashboard_schema import (
    MAX_PANELS,
    clean_name,
    clean_panels,
    validate_panel,
)

SCHEMA = "mkportal.dashboard/v1"
MAX_DASHBOARDS = 100


@dataclass
class DashboardView:
    """A dashboard as shown to its organisation."""

    id: str
    org_id: str
    name: str
    description: str
    panels: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    updated_at: datetime


def _view(row: Dashboard) -> DashboardView:
    return DashboardView(
        row.id,
        row.org_id,
        row.name,
        row.description,
        [dict(p) for p in row.panels],
        row.created_by,
        row.created_at,
        row.updated_at,
    )


def _writer_org(actor: Actor) -> str:
    actor.require_role(Role.member)
    if actor.org_id is None:
        raise Invalid({"org": "Choose an organisation first."})
    return actor.org_id


def _load(s: Session, actor: Actor, dashboard_id: str) -> Dashboard:
    row = s.get(Dashboard, dashboard_id)
    if row is None or not actor.can_see_org(row.org_id):
        raise NotFound("Not found.")
    return row


def _writable(s: Session, actor: Actor, dashboard_id: str) -> Dashboard:
    row = _load(s, actor, dashboard_id)
    actor.require_role(Role.member)
    return row


def list_dashboards(actor: Actor) -> list[DashboardView]:
    """Return the dashboards of the actor's organisation, by name."""
    if actor.org_id is None:
        return []
    with session_scope() as s:
        rows = s.exec(
            select(Dashboard).where(Dashboard.org_id == actor.org_id).order_by(Dashboard.name)
        ).all()
        return [_view(r) for r in rows]


def get(actor: Actor, dashboard_id: str) -> DashboardView:
    """Return one dashboard of the actor's organisation.

    Raises:
        NotFound: Missing or another organisation's.
    """
    with session_scope() as s:
        return _view(_load(s, actor, dashboard_id))


def create(
    actor: Actor, name: str, description: str = "", panels: list | None = None
) -> DashboardView:
    """Create a dashboard (members and owners).

    Raises:
        Forbidden: Viewers.
        Invalid: Bad name, description or panels (field paths).
    """
    org_id = _writer_org(actor)
    clean, desc = clean_name(name, description)
    with session_scope() as s:
        count = len(s.exec(select(Dashboard.id).where(Dashboard.org_id == org_id)).all())
        if count >= MAX_DASHBOARDS:
            raise Invalid({"name": f"An organisation has at most {MAX_DASHBOARDS} dashboards."})
        row = Dashboard(
            org_id=org_id,
            name=clean,
            description=desc,
            panels=clean_panels(s, org_id, panels or []),
            created_by=actor.email,
        )
        s.add(row)
        audit.record(
            s, actor, "dashboard.created", target_type="dashboard", target_id=row.id,
            org_id=org_id, detail={"name": clean, "panels": len(row.panels)},
        )  # fmt: skip
        s.flush()
        return _view(row)


def _save(s: Session, actor: Actor, row: Dashboard, action: str, detail: dict) -> DashboardView:
    row.updated_at = utcnow()
    s.add(row)
    audit.record(
        s, actor, action, target_type="dashboard", target_id=row.id, org_id=row.org_id,
        detail=detail,
    )  # fmt: skip
    s.flush()
    return _view(row)


def update(
    actor: Actor,
    dashboard_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    panels: list | None = None,
) -> DashboardView:
    """Change a dashboard's name, description and/or all of its panels.

    Raises:
        NotFound: Missing or another organisation's.
        Forbidden: Viewers.
        Invalid: Bad input (field paths).
    """
    with session_scope() as s:
        row = _writable(s, actor, dashboard_id)
        row.name, row.description = clean_name(
            row.name if name is None else name,
            row.description if description is None else description,
        )
        if panels is not None:
            row.panels = clean_panels(s, row.org_id, panels)
        return _save(s, actor, row, "dashboard.updated", {"name": row.name})


def set_panel(
    actor: Actor, dashboard_id: str, panel: dict, index: int | None = None
) -> DashboardView:
    """Add a panel at the end (`index` None) or replace the panel at `index`.

    Raises:
        NotFound: Missing dashboard or panel.
        Forbidden: Viewers.
        Invalid: Bad panel (fields ``panel.*``) or too many panels.
    """
    with session_scope() as s:
        row = _writable(s, actor, dashboard_id)
        clean = validate_panel(s, row.org_id, panel)
        panels = list(row.panels)
        if index is None:
            if len(panels) >= MAX_PANELS:
                raise Invalid({"panel": f"A dashboard has at most {MAX_PANELS} panels."})
            panels.append(clean)
        else:
            _check_index(panels, index)
            panels[index] = clean
        row.panels = panels
        action = "dashboard.panel_added" if index is None else "dashboard.panel_updated"
        return _save(s, actor, row, action, {"title": clean["title"]})


def _check_index(panels: list, index: int) -> None:
    if not 0 <= index < len(panels):
        raise NotFound("No such panel.")


def remove_panel(actor: Actor, dashboard_id: str, index: int) -> DashboardView:
    """Remove the panel at `index`.

    Raises:
        NotFound: Missing dashboard or panel.
        Forbidden: Viewers.
    """
    with session_scope() as s:
        row = _writable(s, actor, dashboard_id)
        panels = list(row.panels)
        _check_index(panels, index)
        removed = panels.pop(index)
        row.panels = panels
        return _save(s, actor, row, "dashboard.panel_removed", {"title": removed["title"]})


def move_panel(actor: Actor, dashboard_id: str, index: int, direction: str) -> DashboardView:
    """Move the panel at `index` one place "up" (earlier) or "down" (later) in the grid.

    Raises:
        NotFound: Missing dashboard or panel.
        Forbidden: Viewers.
        Invalid: Bad direction, or the panel is already first/last.
    """
    if direction not in ("up", "down"):
        raise Invalid({"direction": "Choose up or down."})
    with session_scope() as s:
        row = _writable(s, actor, dashboard_id)
        panels = list(row.panels)
        _check_index(panels, index)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(panels):
            raise Invalid(
                {"direction": f"The panel is already {'first' if other < 0 else 'last'}."}
            )
        panels[index], panels[other] = panels[other], panels[index]
        row.panels = panels
        return _save(s, actor, row, "dashboard.panel_moved", {"from": index, "to": other})


def delete(actor: Actor, dashboard_id: str) -> None:
    """Delete a dashboard.

    Raises:
        NotFound: Missing or another organisation's.
        Forbidden: Viewers.
    """
    with session_scope() as s:
        row = _writable(s, actor, dashboard_id)
        audit.record(
            s, actor, "dashboard.deleted", target_type="dashboard", target_id=row.id,
            org_id=row.org_id, detail={"name": row.name},
        )  # fmt: skip
        s.delete(row)


def export(actor: Actor, dashboard_id: str) -> dict[str, Any]:
    """Return the dashboard as a versioned JSON document (cluster ids are kept).

    Raises:
        NotFound: Missing or another organisation's.
    """
    view = get(actor, dashboard_id)
    return {
        "schema": SCHEMA,
        "name": view.name,
        "description": view.description,
        "panels": view.panels,
    }


def import_dashboard(actor: Actor, document: object) -> DashboardView:
    """Create a dashboard from an exported document (`SCHEMA`).

    Panels naming a cluster outside the organisation are rejected.

    Raises:
        Forbidden: Viewers.
        Invalid: Not a dashboard document, another schema version, or bad content.
    """
    if not isinstance(document, dict):
        raise Invalid({"document": "Not a dashboard export (expected a JSON object)."})
    if document.get("schema") != SCHEMA:
        raise Invalid({"document": f"Unsupported schema; expected {SCHEMA!r}."})
    unknown = set(document) - {"schema", "name", "description", "panels"}
    if unknown:
        raise Invalid({"document": f"Unknown fields: {', '.join(sorted(unknown))}."})
    return create(
        actor,
        document.get("name"),  # type: ignore[arg-type]
        document.get("description") or "",
        document.get("panels") or [],
    )


@dataclass
class PanelData:
    """One panel with its data for the range (or the error that prevented it)."""

    index: int
    panel: dict[str, Any]
    result: explorer.QueryResult | None
    error: str = ""


def panel_data(actor: Actor, dashboard_id: str, range: str = "1h") -> list[PanelData]:  # noqa: A002
    """Run every panel's query, confined to the dashboard's organisation (and its cluster).

    A panel whose query fails carries the error instead of data; a missing backend
    raises for the whole dashboard.

    Raises:
        NotFound: Missing or another organisation's dashboard.
        Invalid: Unknown range (field "range").
        MetricsUnavailable: No metrics backend.
    """
    view = get(actor, dashboard_id)
    if range not in explorer.RANGES:
        raise Invalid({"range": f"Choose one of {', '.join(explorer.RANGES)}."})
    whole = explorer.org_scope(view.org_id)
    out = []
    for i, panel in enumerate(view.panels):
        cid = panel.get("cluster_id") or ""
        scope = explorer.Scope(view.org_id, [cid]) if cid in whole.cluster_ids else whole
        try:
            out.append(PanelData(i, panel, explorer.range_in_scope(scope, panel["query"], range)))
        except Invalid as exc:
            out.append(PanelData(i, panel, None, exc.errors.get("query", exc.message)))
    return out


def cluster_choices(actor: Actor, org_id: str | None = None) -> list[tuple[str, str]]:
    """Return (id, name) of the live clusters a panel of `org_id` may be limited to.

    Raises:
        NotFound: Another organisation (for non-operators).
    """
    org = org_id or actor.org_id
    if org is None:
        return []
    actor.require_org(org)
    with session_scope() as s:
        rows = s.exec(
            select(Cluster.id, Cluster.name)
            .where(Cluster.org_id == org, Cluster.deleted_at.is_(None))  # type: ignore[union-attr]
            .order_by(Cluster.name)
        ).all()
        return [(i, n) for i, n in rows]
