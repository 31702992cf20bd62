"""Log collection per cluster: enable (optionally for some namespaces), disable, status."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body
from mkportal.services.actor import Actor
from mkportal.services.logs import collection

router = APIRouter(tags=["logs"])


class CollectionBody(Body):
    """Which namespaces to collect (empty or omitted: every namespace)."""

    namespaces: list[str] = Field(default_factory=list, max_length=100)


@router.get("/clusters/{cluster_id}/logs/collection")
def get_collection(
    cluster_id: str, actor: Actor = Depends(current_actor)
) -> collection.CollectionStatus:
    """Return whether the cluster's logs are collected, for which namespaces, and the agent."""
    return collection.status(actor, cluster_id)


@router.put("/clusters/{cluster_id}/logs/collection")
def enable_collection(
    cluster_id: str, body: CollectionBody, actor: Actor = Depends(current_actor)
) -> collection.CollectionStatus:
    """Enable collection: installs the log agent with a new ingest token (again: rotates it)."""
    return collection.enable(actor, cluster_id, body.namespaces or None)


@router.delete("/clusters/{cluster_id}/logs/collection")
def disable_collection(
    cluster_id: str, actor: Actor = Depends(current_actor)
) -> collection.CollectionStatus:
    """Disable collection: revokes the ingest token and removes the agent."""
    return collection.disable(actor, cluster_id)
