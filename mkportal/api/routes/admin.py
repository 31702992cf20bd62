"""Operator-only endpoints (404 for everyone else)."""

from fastapi import APIRouter, Depends, Query

from mkportal.api.deps import current_actor
from mkportal.api.schemas import page_json
from mkportal.services import admin, audit, mail, provider_credentials
from mkportal.services.actor import Actor

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/overview")
def overview(actor: Actor = Depends(current_actor)) -> admin.Overview:
    """Return the fleet in numbers: organisations, users, clusters and operations by status."""
    return admin.overview(actor)


@router.get("/audit")
def list_audit(
    actor: Actor = Depends(current_actor),
    action: str = "",
    actor_email: str = "",
    org_id: str = "",
    page: int = Query(1, ge=1),
    per_page: int = Query(50, ge=1, le=200),
) -> dict:
    """List the audit log, newest first, filterable."""
    return page_json(
        audit.list_events(
            actor,
            action=action,
            actor_email=actor_email,
            org_id=org_id,
            page=page,
            per_page=per_page,
        )
    )


@router.get("/outbox")
def list_outbox(
    actor: Actor = Depends(current_actor),
    page: int = Query(1, ge=1),
    per_page: int = Query(25, ge=1, le=200),
) -> dict:
    """Emails written to the outbox (when no SMTP server is configured)."""
    return page_json(mail.list_outbox(actor, page=page, per_page=per_page))


@router.get("/providers")
def list_providers(actor: Actor = Depends(current_actor)) -> list:
    """List the cloud providers and which credential keys are stored (never the secrets)."""
    return provider_credentials.status(actor)


@router.put("/providers/{provider}/credentials")
def put_credentials(provider: str, body: dict, actor: Actor = Depends(current_actor)) -> dict:
    """Store a provider's credentials (encrypted); they override the EKS_/GKE_/AKS_ settings."""
    return {"provider": provider_credentials.set_credentials(actor, provider, body)}
