"""The backup catalog: taking a backup now, listing, locking and deleting backups.

A backup is a `Backup` row plus a durable operation `backup.create` (see
`backup_steps`) that snapshots the cluster, uploads the archive keyed by the backup's id
and verifies it. Only succeeded backups are restore points. Backups of deleted clusters
stay in the catalog (they can be restored into a new cluster).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, BackupDrill, Restore
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.operation import ACTIVE_STATUSES, Operation
from mkportal.models.org import Role
from mkportal.services import audit, operations
from mkportal.services.actor import Actor
from mkportal.services.backup.backup_views import (
    BackupView,
    backup_view,
    cluster_config,
    config_version,
)
from mkportal.services.backup.storage import StoreError, storage_kind, store_for
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.operations import OperationView
from mkportal.services.pagination import Page, paginate

__all__ = [
    "BackupView",
    "back_up_now",
    "backup_view",
    "delete_backup",
    "get_backup",
    "list_backups",
    "set_locked",
    "start_backup",
]
KIND = "backup.create"
TRIGGERS = ("manual", "schedule", "pre-restore")
BACKUP_STATUSES = ("running", "succeeded", "failed", "pruned")
LIVE_STATUSES = ("running", "updating")


def _cluster(s: Session, actor: Actor, cluster_id: str) -> Cluster:
    """Return a cluster the actor may see, deleted ones included (their backups remain)."""
    row = s.get(Cluster, cluster_id)
    if row is None or not actor.can_see_org(row.org_id):
        raise NotFound("Not found.")
    return row


def _visible(s: Session, actor: Actor, backup_id: str) -> Backup:
    row = s.get(Backup, backup_id)
    if row is None or not actor.can_see_org(row.org_id):
        raise NotFound("Not found.")
    return row


def _replay(s: Session, org_id: str, key: str, cluster_id: str) -> tuple | None:
    op = s.exec(
        select(Operation).where(Operation.org_id == org_id, Operation.idempotency_key == key)
    ).first()
    if op is None:
        return None
    if op.kind != KIND or op.params.get("cluster_id") != cluster_id:
        raise Conflict("This Idempotency-Key was already used for a different request.")
    row = s.get(Backup, op.params["backup_id"])
    return backup_view(row), operations.view(op)


def _running(s: Session, cluster_id: str) -> Backup | None:
    return s.exec(
        select(Backup)
        .join(Operation, Operation.id == Backup.operation_id)
        .where(
            Backup.cluster_id == cluster_id,
            Backup.status == "running",
            Operation.status.in_(ACTIVE_STATUSES),
        )
    ).first()


def start_backup(
    actor: Actor,
    cluster_id: str,
    *,
    trigger: str = "manual",
    schedule_id: str = "",
    idempotency_key: str | None = None,
) -> tuple[BackupView, OperationView, bool]:
    """Start a backup of a cluster (members and owners; the scheduler as the system).

    Returns:
        The backup (status running), its operation, and whether this call created them
        (False when the Idempotency-Key was seen before).

    Raises:
        NotFound: No such live cluster in the caller's organisation.
        Forbidden: The caller is a viewer.
        Invalid: An unknown trigger.
        Conflict: The cluster is not running, a backup of it is already running, or the
            Idempotency-Key was used for another request.

    """
    if trigger not in TRIGGERS:
        raise Invalid({"trigger": f"Choose one of {', '.join(TRIGGERS)}."})
    with session_scope() as s:
        cluster = _cluster(s, actor, cluster_id)
        actor.require_role(Role.member)
        org_id = cluster.org_id
        if idempotency_key and (seen := _replay(s, org_id, idempotency_key, cluster_id)):
            return (*seen, False)
        if cluster.deleted_at is not None:
            raise NotFound("Not found.")
        if cluster.status not in LIVE_STATUSES or not cluster.credentials_enc:
            raise Conflict("A backup can be taken once the cluster is running.")
        if (running := _running(s, cluster_id)) is not None:
            raise Conflict(f"Backup {running.id} of this cluster is still running.")
        config, version = cluster_config(s, cluster), config_version(s, cluster_id)
    kind = storage_kind(org_id)
    try:
        with session_scope() as s:
            row = Backup(
                org_id=org_id,
                cluster_id=cluster_id,
                schedule_id=schedule_id,
                trigger=trigger,
                storage_kind=kind,
                config=config,
                config_version=version,
                created_by=actor.email,
            )
            row.storage_key = f"{cluster_id}/{row.id}.mkb"
            op = operations.add_operation(
                s,
                actor,
                KIND,
                org_id=org_id,
                params={"backup_id": row.id, "cluster_id": cluster_id},
                idempotency_key=idempotency_key,
            )
            row.operation_id = op.id
            s.add(row)
            audit.record(
                s,
                actor,
                "backup.requested",
                target_type="backup",
                target_id=row.id,
                org_id=org_id,
                detail={"cluster_id": cluster_id, "trigger": trigger, "operation_id": op.id},
            )
            view = backup_view(row)
    except IntegrityError:
        with session_scope() as s:
            if idempotency_key and (seen := _replay(s, org_id, idempotency_key, cluster_id)):
                return (*seen, False)
        raise
    operations.dispatch(op)
    return view, operations.view(op), True


def back_up_now(
    actor: Actor,
    cluster_id: str,
    *,
    trigger: str = "manual",
    schedule_id: str = "",
    idempotency_key: str | None = None,
) -> BackupView:
    """Start a backup of a cluster and return it (status running); see `start_backup`."""
    view, _op, _created = start_backup(
        actor,
        cluster_id,
        trigger=trigger,
        schedule_id=schedule_id,
        idempotency_key=idempotency_key,
    )
    return view


def list_backups(
    actor: Actor,
    cluster_id: str,
    page: int = 1,
    per_page: int = 25,
    *,
    status: str = "",
) -> Page[BackupView]:
    """List a cluster's backups, newest first (any role).

    Raises:
        NotFound: No such cluster in the caller's organisation.
        Invalid: An unknown status filter.

    """
    query = select(Backup).where(Backup.cluster_id == cluster_id)
    if status:
        if status not in BACKUP_STATUSES:
            raise Invalid({"status": f"Choose one of {', '.join(BACKUP_STATUSES)}."})
        query = query.where(Backup.status == status)
    query = query.order_by(Backup.started_at.desc(), Backup.id)
    with session_scope() as s:
        _cluster(s, actor, cluster_id)
        rows, total, page, per_page = paginate(s, query, page, per_page)
        return Page([backup_view(r) for r in rows], total, page, per_page)


def get_backup(actor: Actor, backup_id: str) -> BackupView:
    """Return one backup (any role).

    Raises:
        NotFound: No such backup in the caller's organisation.

    """
    with session_scope() as s:
        return backup_view(_visible(s, actor, backup_id))


def set_locked(actor: Actor, backup_id: str, locked: bool) -> BackupView:
    """Lock a backup (retention and deletion leave it alone) or unlock it (members, owners).

    Raises:
        NotFound: No such backup in the caller's organisation.
        Forbidden: The caller is a viewer.
        Conflict: Locking a backup that did not succeed.

    """
    with session_scope() as s:
        row = _visible(s, actor, backup_id)
        actor.require_role(Role.member)
        if locked and row.status != "succeeded":
            raise Conflict("Only successful backups can be locked.")
        if row.locked != locked:
            row.locked = locked
            row.kept_by = "locked" if locked else ""
            s.add(row)
            audit.record(
                s,
                actor,
                "backup.locked" if locked else "backup.unlocked",
                target_type="backup",
                target_id=row.id,
                org_id=row.org_id,
                detail={"cluster_id": row.cluster_id},
            )
        return backup_view(row)


def _referenced(s: Session, backup_id: str) -> bool:
    restore = s.exec(select(Restore.id).where(Restore.backup_id == backup_id)).first()
    drill = s.exec(select(BackupDrill.id).where(BackupDrill.backup_id == backup_id)).first()
    return restore is not None or drill is not None


def delete_backup(actor: Actor, backup_id: str) -> None:
    """Delete a backup's archive and its catalog row (members and owners).

    A backup that restores or drills refer to keeps its row, marked pruned.

    Raises:
        NotFound: No such backup in the caller's organisation.
        Forbidden: The caller is a viewer.
        Conflict: The backup is locked or still running, or the storage refused.

    """
    with session_scope() as s:
        row = _visible(s, actor, backup_id)
        actor.require_role(Role.member)
        if row.locked:
            raise Conflict("The backup is locked; unlock it before deleting it.")
        if row.status == "running":
            raise Conflict("The backup is still running; wait for it to finish.")
        org_id, kind, key = row.org_id, row.storage_kind, row.storage_key
    if key:
        try:
            store_for(org_id, kind).delete(key)
        except StoreError as exc:
            raise Conflict(f"The archive could not be deleted: {exc}") from exc
    with session_scope() as s:
        row = _visible(s, actor, backup_id)
        audit.record(
            s,
            actor,
            "backup.deleted",
            target_type="backup",
            target_id=row.id,
            org_id=row.org_id,
            detail={"cluster_id": row.cluster_id, "status": row.status},
        )
        if _referenced(s, row.id):
            row.status, row.pruned_at, row.kept_by = "pruned", utcnow(), ""
            row.error = f"Deleted by {actor.email}."
            s.add(row)
        else:
            s.delete(row)
