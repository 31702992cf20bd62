"""Incidents from Alertmanager: operators list, read, acknowledge, resolve and comment."""

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body, page_json
from mkportal.services.actor import Actor
from mkportal.services.metrics import incident_admin

router = APIRouter(tags=["alerts"])


class CommentBody(Body):
    """A timeline comment."""

    text: str = Field(min_length=1, max_length=incident_admin.MAX_COMMENT)


class ResolveBody(Body):
    """An optional note when resolving by hand."""

    note: str = Field(default="", max_length=incident_admin.MAX_COMMENT)


@router.get("/admin/incidents")
def list_incidents(
    actor: Actor = Depends(current_actor),
    status: str = "",
    page: int = Query(1, ge=1),
    per_page: int = Query(25, ge=1, le=200),
) -> dict:
    """List incidents, newest first, optionally by status (open, acknowledged, resolved)."""
    return page_json(incident_admin.list_incidents(actor, status, page, per_page))


@router.get("/admin/incidents/{incident_id}")
def get_incident(
    incident_id: str, actor: Actor = Depends(current_actor)
) -> incident_admin.IncidentDetail:
    """Return an incident with its timeline; its runbook is /api/v1/admin/runbooks/{runbook}."""
    return incident_admin.get(actor, incident_id)


@router.post("/admin/incidents/{incident_id}/acknowledge")
def acknowledge(
    incident_id: str, actor: Actor = Depends(current_actor)
) -> incident_admin.IncidentDetail:
    """Acknowledge an open incident (409 when acknowledged or resolved already)."""
    return incident_admin.acknowledge(actor, incident_id)


@router.post("/admin/incidents/{incident_id}/resolve")
def resolve(
    incident_id: str, body: ResolveBody | None = None, actor: Actor = Depends(current_actor)
) -> incident_admin.IncidentDetail:
    """Resolve an incident by hand (409 when resolved already)."""
    return incident_admin.resolve(actor, incident_id, body.note if body else "")


@router.post("/admin/incidents/{incident_id}/comments")
def comment(
    incident_id: str, body: CommentBody, actor: Actor = Depends(current_actor)
) -> incident_admin.IncidentDetail:
    """Add a comment to the incident's timeline."""
    return incident_admin.comment(actor, incident_id, body.text)


@router.get("/clusters/{cluster_id}/incidents")
def cluster_incidents(
    cluster_id: str, actor: Actor = Depends(current_actor)
) -> list[incident_admin.IncidentView]:
    """Return the newest incidents of one of your clusters (read-only)."""
    return incident_admin.for_cluster(actor, cluster_id)
