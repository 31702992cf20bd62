"""Alarms of the caller's organisation: CRUD, enable/disable, history, preview.

Alarms are evaluated by the portal's worker every ALARM_INTERVAL seconds with the query
confined to the organisation (and cluster); they are not Prometheus alerting rules.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body, page_json
from mkportal.services.actor import Actor
from mkportal.services.metrics import alarms

router = APIRouter(prefix="/alarms", tags=["alarms"])


class AlarmBody(Body):
    """An alarm; see the service for the rules (422 with field paths when wrong)."""

    name: str = Field(max_length=200)
    cluster_id: str = Field(default="", max_length=32)
    query: str = Field(max_length=4000)
    comparator: str = Field(default=">", max_length=2)
    threshold: float = 0.0
    for_seconds: int = 0
    severity: str = Field(default="warning", max_length=16)
    channels: list[str] = Field(default_factory=lambda: ["in_app"], max_length=3)
    emails: list[str] = Field(default_factory=list, max_length=20)
    webhook_url: str = Field(default="", max_length=600)
    enabled: bool = True


class AlarmPatch(Body):
    """Fields to change (omitted ones keep their value)."""

    name: str | None = Field(default=None, max_length=200)
    cluster_id: str | None = Field(default=None, max_length=32)
    query: str | None = Field(default=None, max_length=4000)
    comparator: str | None = Field(default=None, max_length=2)
    threshold: float | None = None
    for_seconds: int | None = None
    severity: str | None = Field(default=None, max_length=16)
    channels: list[str] | None = Field(default=None, max_length=3)
    emails: list[str] | None = Field(default=None, max_length=20)
    webhook_url: str | None = Field(default=None, max_length=600)
    enabled: bool | None = None


class PreviewBody(Body):
    """A query to try (confined like an alarm's)."""

    query: str = Field(max_length=4000)
    cluster_id: str = Field(default="", max_length=32)


@router.get("")
def list_alarms(
    actor: Actor = Depends(current_actor),
    page: int = Query(1, ge=1),
    per_page: int = Query(50, ge=1, le=200),
) -> dict:
    """List the organisation's alarms with their state (any role)."""
    return page_json(alarms.list_alarms(actor, page, per_page))


@router.post("", status_code=201)
def create_alarm(body: AlarmBody, actor: Actor = Depends(current_actor)) -> alarms.AlarmView:
    """Create an alarm (members and owners). The webhook body is signed with webhook_secret."""
    return alarms.create(actor, body.model_dump())


@router.post("/preview")
def preview(body: PreviewBody, actor: Actor = Depends(current_actor)) -> dict:
    """Run a query now, confined to the organisation, and return its samples (at most 20)."""
    samples = alarms.preview(actor, body.query, body.cluster_id)
    return {"samples": [{"labels": x.labels, "value": x.value} for x in samples]}


@router.get("/{alarm_id}")
def get_alarm(alarm_id: str, actor: Actor = Depends(current_actor)) -> alarms.AlarmView:
    """Return one alarm (404 for other organisations' alarms)."""
    return alarms.get(actor, alarm_id)


@router.patch("/{alarm_id}")
def update_alarm(
    alarm_id: str, body: AlarmPatch, actor: Actor = Depends(current_actor)
) -> alarms.AlarmView:
    """Change an alarm (members and owners); its state starts again from ok."""
    return alarms.update(actor, alarm_id, body.model_dump(exclude_none=True))


@router.delete("/{alarm_id}", status_code=204)
def delete_alarm(alarm_id: str, actor: Actor = Depends(current_actor)) -> Response:
    """Delete an alarm and its history (members and owners)."""
    alarms.remove(actor, alarm_id)
    return Response(status_code=204)


@router.get("/{alarm_id}/history")
def alarm_history(
    alarm_id: str,
    actor: Actor = Depends(current_actor),
    page: int = Query(1, ge=1),
    per_page: int = Query(20, ge=1, le=200),
) -> dict:
    """Return the alarm's history (pending, firing, resolved, error, delivery), newest first."""
    return page_json(alarms.history(actor, alarm_id, page, per_page))
