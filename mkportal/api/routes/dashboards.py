"""Custom metrics dashboards: CRUD, panels, export and import."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body
from mkportal.services.actor import Actor
from mkportal.services.metrics import dashboards

router = APIRouter(tags=["dashboards"])


class DashboardBody(Body):
    """A new dashboard, or changes to one (omitted fields stay as they are)."""

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    panels: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=100,
        description="[{title, query, chart: line|area|bar|stat, unit, "
        "thresholds: [{value, color}], cluster_id}] in grid order",
    )


class PanelBody(Body):
    """One panel."""

    title: str = Field(max_length=200)
    query: str = Field(max_length=4000)
    chart: str = "line"
    unit: str = Field(default="", max_length=40)
    thresholds: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    cluster_id: str = Field(default="", max_length=32)


class MoveBody(Body):
    """Where to move a panel."""

    direction: Literal["up", "down"]


@router.get("/dashboards")
def list_dashboards(actor: Actor = Depends(current_actor)) -> list[dashboards.DashboardView]:
    """List your organisation's dashboards."""
    return dashboards.list_dashboards(actor)


@router.post("/dashboards", status_code=201)
def create_dashboard(
    body: DashboardBody, actor: Actor = Depends(current_actor)
) -> dashboards.DashboardView:
    """Create a dashboard (members and owners); every panel query must be confinable."""
    return dashboards.create(actor, body.name or "", body.description or "", body.panels or [])


@router.post("/dashboards/import", status_code=201)
def import_dashboard(
    document: dict[str, Any], actor: Actor = Depends(current_actor)
) -> dashboards.DashboardView:
    """Create a dashboard from a document returned by `GET /dashboards/{id}/export`."""
    return dashboards.import_dashboard(actor, document)


@router.get("/dashboards/{dashboard_id}")
def get_dashboard(
    dashboard_id: str, actor: Actor = Depends(current_actor)
) -> dashboards.DashboardView:
    """Return one dashboard."""
    return dashboards.get(actor, dashboard_id)


@router.get("/dashboards/{dashboard_id}/data")
def dashboard_data(
    dashboard_id: str,
    range: str = Query(default="1h", description="15m, 1h, 6h, 24h, 7d or 30d"),  # noqa: A002
    actor: Actor = Depends(current_actor),
) -> list[dashboards.PanelData]:
    """Run every panel's query over the range (confined to the dashboard's organisation)."""
    return dashboards.panel_data(actor, dashboard_id, range)


@router.patch("/dashboards/{dashboard_id}")
def update_dashboard(
    dashboard_id: str, body: DashboardBody, actor: Actor = Depends(current_actor)
) -> dashboards.DashboardView:
    """Change the name, description and/or the whole panel list."""
    return dashboards.update(
        actor, dashboard_id, name=body.name, description=body.description, panels=body.panels
    )


@router.delete("/dashboards/{dashboard_id}", status_code=204)
def delete_dashboard(dashboard_id: str, actor: Actor = Depends(current_actor)) -> Response:
    """Delete a dashboard."""
    dashboards.delete(actor, dashboard_id)
    return Response(status_code=204)


@router.get("/dashboards/{dashboard_id}/export")
def export_dashboard(dashboard_id: str, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """Return the dashboard as a versioned JSON document for `POST /dashboards/import`."""
    return dashboards.export(actor, dashboard_id)


@router.post("/dashboards/{dashboard_id}/panels", status_code=201)
def add_panel(
    dashboard_id: str, body: PanelBody, actor: Actor = Depends(current_actor)
) -> dashboards.DashboardView:
    """Add a panel at the end of the grid."""
    return dashboards.set_panel(actor, dashboard_id, body.model_dump())


@router.put("/dashboards/{dashboard_id}/panels/{index}")
def replace_panel(
    dashboard_id: str, index: int, body: PanelBody, actor: Actor = Depends(current_actor)
) -> dashboards.DashboardView:
    """Replace the panel at `index` (0-based)."""
    return dashboards.set_panel(actor, dashboard_id, body.model_dump(), index)


@router.delete("/dashboards/{dashboard_id}/panels/{index}")
def remove_panel(
    dashboard_id: str, index: int, actor: Actor = Depends(current_actor)
) -> dashboards.DashboardView:
    """Remove the panel at `index`."""
    return dashboards.remove_panel(actor, dashboard_id, index)


@router.post("/dashboards/{dashboard_id}/panels/{index}/move")
def move_panel(
    dashboard_id: str, index: int, body: MoveBody, actor: Actor = Depends(current_actor)
) -> dashboards.DashboardView:
    """Move the panel at `index` one place up or down in the grid."""
    return dashboards.move_panel(actor, dashboard_id, index, body.direction)
