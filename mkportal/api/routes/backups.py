"""Backups: the organisation's backup storage and each cluster's backup catalog.

A backup runs as an operation: POST answers 202 with the backup (status running) and the
operation to follow. Locked backups cannot be deleted (409). Backups of other
organisations answer 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body, page_json
from mkportal.services.actor import Actor
from mkportal.services.backup import backups, storage

router = APIRouter(tags=["backups"])
Key = Header(default=None, alias="Idempotency-Key", max_length=200)


class StorageBody(Body):
    """Where backups go: local disk, or an S3 bucket (omit both keys to keep the stored ones)."""

    kind: str = Field(default="local", max_length=16)
    bucket: str = Field(default="", max_length=63)
    prefix: str = Field(default="", max_length=200)
    endpoint_url: str = Field(default="", max_length=300)
    region: str = Field(default="", max_length=64)
    access_key_id: str = Field(default="", max_length=128)
    secret_access_key: str = Field(default="", max_length=256)


class LockBody(Body):
    """Lock (keep regardless of retention, refuse deletion) or unlock a backup."""

    locked: bool


@router.get("/backup-storage")
def get_storage(actor: Actor = Depends(current_actor)) -> storage.StorageView:
    """Return the organisation's backup storage (never the secret key)."""
    return storage.get_storage(actor)


@router.put("/backup-storage")
def put_storage(body: StorageBody, actor: Actor = Depends(current_actor)) -> storage.StorageView:
    """Set the backup storage (owners); a probe object is written and read first."""
    return storage.set_storage(actor, body.model_dump())


@router.get("/clusters/{cluster_id}/backups")
def list_backups(
    cluster_id: str,
    actor: Actor = Depends(current_actor),
    status: str = "",
    page: int = Query(1, ge=1),
    per_page: int = Query(25, ge=1, le=200),
) -> dict:
    """List a cluster's backups, newest first (optionally only one status)."""
    return page_json(backups.list_backups(actor, cluster_id, page, per_page, status=status))


@router.post("/clusters/{cluster_id}/backups", status_code=202)
def create_backup(
    cluster_id: str,
    response: Response,
    actor: Actor = Depends(current_actor),
    idempotency_key: str | None = Key,
) -> dict:
    """Back the cluster up now. Honours `Idempotency-Key`."""
    backup, op, created = backups.start_backup(actor, cluster_id, idempotency_key=idempotency_key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return {"backup": backup, "operation": op}


@router.get("/backups/{backup_id}")
def get_backup(backup_id: str, actor: Actor = Depends(current_actor)) -> backups.BackupView:
    """Return one backup."""
    return backups.get_backup(actor, backup_id)


@router.patch("/backups/{backup_id}")
def patch_backup(
    backup_id: str, body: LockBody, actor: Actor = Depends(current_actor)
) -> backups.BackupView:
    """Lock or unlock a backup."""
    return backups.set_locked(actor, backup_id, body.locked)


@router.delete("/backups/{backup_id}", status_code=204)
def delete_backup(backup_id: str, actor: Actor = Depends(current_actor)) -> Response:
    """Delete a backup and its archive (409 while locked or running)."""
    backups.delete_backup(actor, backup_id)
    return Response(status_code=204)
