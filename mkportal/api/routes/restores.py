"""Restores of backups (dry-run plan, start, read) and restore drills."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Response
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body
from mkportal.services import operations
from mkportal.services.actor import Actor
from mkportal.services.backup import drills, restore

router = APIRouter(tags=["backups"])
Key = Header(default=None, alias="Idempotency-Key", max_length=200)


class RestoreBody(Body):
    """What to restore and where.

    `mode` merge or replace restores into `target_cluster_id` (default: the backed-up
    cluster); clone creates a new cluster named `clone_name` with the backed-up
    configuration. Empty `namespaces` and `kinds` mean everything.
    """

    target_cluster_id: str = Field(default="", max_length=32)
    mode: str = Field(default="merge", max_length=16)
    namespaces: list[str] = Field(default_factory=list, max_length=50)
    kinds: list[str] = Field(default_factory=list, max_length=50)
    include_config: bool = False
    clone_name: str = Field(default="", max_length=40)


def _args(body: RestoreBody) -> dict:
    return body.model_dump()


@router.post("/backups/{backup_id}/restore-plan")
def restore_plan(
    backup_id: str, body: RestoreBody, actor: Actor = Depends(current_actor)
) -> restore.RestorePlan:
    """Dry run: what restoring the backup would create, update, delete or skip."""
    return restore.plan_restore(actor, backup_id, **_args(body))


@router.post("/backups/{backup_id}/restores", status_code=202)
def start_restore(
    backup_id: str,
    body: RestoreBody,
    response: Response,
    actor: Actor = Depends(current_actor),
    idempotency_key: str | None = Key,
) -> dict:
    """Start a restore; it runs as an operation. Honours `Idempotency-Key`."""
    started = restore.start_restore(
        actor, backup_id, idempotency_key=idempotency_key, **_args(body)
    )
    if idempotency_key:
        response.headers["Idempotency-Key"] = idempotency_key
    return {"restore": started, "operation": operations.get(actor, started.operation_id)}


@router.get("/restores/{restore_id}")
def get_restore(restore_id: str, actor: Actor = Depends(current_actor)) -> restore.RestoreView:
    """Return one restore, with its dry-run summary and result."""
    return restore.get_restore(actor, restore_id)


@router.get("/clusters/{cluster_id}/restores")
def list_restores(cluster_id: str, actor: Actor = Depends(current_actor)) -> dict:
    """List the restores of the cluster's backups or into the cluster, newest first."""
    return {"items": restore.list_restores(actor, cluster_id)}


@router.get("/clusters/{cluster_id}/backup-drills")
def list_drills(cluster_id: str, actor: Actor = Depends(current_actor)) -> dict:
    """List the cluster's restore drills, newest first."""
    return {"items": drills.list_drills(actor, cluster_id)}


@router.post("/clusters/{cluster_id}/backup-drills", status_code=202)
def run_drill(cluster_id: str, actor: Actor = Depends(current_actor)) -> drills.DrillView:
    """Start a restore drill of the cluster's latest good backup now."""
    return drills.run_drill_now(actor, cluster_id)
