"""The caller's in-app notifications (the bell): list, unread count, mark read."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body, page_json
from mkportal.services import notifications
from mkportal.services.actor import Actor

router = APIRouter(prefix="/me/notifications", tags=["me"])


class MarkReadBody(Body):
    """Which notices to mark read: the listed ids, or all with `all: true`."""

    ids: list[str] = Field(default_factory=list, max_length=500)
    all: bool = False


@router.get("")
def list_notifications(
    actor: Actor = Depends(current_actor),
    page: int = Query(1, ge=1),
    per_page: int = Query(20, ge=1, le=200),
    unread: bool = False,
) -> dict:
    """List the caller's notifications, newest first, with the unread count."""
    body = page_json(notifications.list_notifications(actor, page, per_page, unread))
    body["unread"] = notifications.unread_count(actor)
    return body


@router.post("/read")
def mark_read(body: MarkReadBody, actor: Actor = Depends(current_actor)) -> dict:
    """Mark notifications read; returns how many changed and the unread count left."""
    changed = notifications.mark_read(actor, None if body.all else body.ids)
    return {"changed": changed, "unread": notifications.unread_count(actor)}
