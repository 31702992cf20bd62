"""Runbooks of the predefined alerts (operators only)."""

from fastapi import APIRouter, Depends, Query

from mkportal.api.deps import current_actor
from mkportal.services.actor import Actor
from mkportal.services.metrics import runbooks

router = APIRouter(prefix="/admin/runbooks", tags=["alerts"])


@router.get("")
def list_runbooks(
    actor: Actor = Depends(current_actor), q: str = Query("", max_length=runbooks.MAX_QUERY)
) -> list[runbooks.RunbookSummary]:
    """List runbooks; `q` keeps those containing every word (title matches first)."""
    return runbooks.list_runbooks(actor, q)


@router.get("/{slug}")
def get_runbook(slug: str, actor: Actor = Depends(current_actor)) -> runbooks.Runbook:
    """Return one runbook with its Markdown text."""
    return runbooks.get(actor, slug)
