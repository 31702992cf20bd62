"""The `backup.restore` operation: verify, restore configuration, wait, apply, finish.

Every step is idempotent: the archive is verified again on each attempt, the
configuration update is looked up by its idempotency key before it is requested, and
applying creates or replaces objects (deletes tolerate objects already gone).
"""

from __future__ import annotations

from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, Restore
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.operation import Operation
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.backup import restore_config, restore_source
from mkportal.services.backup.archive import Archive
from mkportal.services.backup.restore_apply import apply
from mkportal.services.backup.restore_plan import compute, key_of
from mkportal.services.backup.storage import StoreError
from mkportal.services.clusters import actions
from mkportal.services.errors import Invalid, ServiceError
from mkportal.services.kube.agents import KUBE_ERRORS, kube_for
from mkportal.worker.context import StepContext
from mkportal.worker.registry import (
    OperationKind,
    PermanentError,
    Step,
    StepPending,
    TransientError,
    register,
)

WAIT_DELAY = 2.0


def _rows(restore_id: str) -> tuple[Restore, Backup]:
    with session_scope() as s:
        restore = s.get(Restore, restore_id)
        backup = s.get(Backup, restore.backup_id)
        s.expunge_all()
        return restore, backup


def _set(restore_id: str, **values) -> None:  # noqa: ANN003
    with session_scope() as s:
        restore = s.get(Restore, restore_id)
        for k, v in values.items():
            setattr(restore, k, v)
        s.add(restore)


def requester(restore: Restore) -> Actor:
    """Return the actor the restore acts as: its requester, as a member of the org."""
    with session_scope() as s:
        op = s.get(Operation, restore.operation_id) if restore.operation_id else None
        user_id = op.requested_by if op else None
    return Actor(user_id=user_id, email=restore.requested_by, org_id=restore.org_id, role="member")


def load_archive(backup: Backup) -> Archive:
    """Download and verify a backup's archive, mapping failures for the engine."""
    try:
        return restore_source.load(backup)
    except Invalid as exc:
        raise PermanentError(exc.message) from exc
    except StoreError as exc:
        raise TransientError(str(exc)) from exc


def verify(ctx: StepContext) -> None:
    """Check the archive's checksum and that it decrypts (a tampered archive fails here)."""
    restore, backup = _rows(ctx.params["restore_id"])
    _set(restore.id, status="running")
    archive = load_archive(backup)
    ctx.log(f"Archive verified: {len(archive.objects)} objects, checksum {backup.checksum[:12]}.")


def restore_configuration(ctx: StepContext) -> None:
    """Bring back service level, features and node pools through the normal update path."""
    restore, backup = _rows(ctx.params["restore_id"])
    if not restore.include_config or restore.mode == "clone" or "config_op" in ctx.result:
        return
    key = f"restore-{restore.id}-config"
    with session_scope() as s:
        seen = s.exec(
            select(Operation).where(
                Operation.org_id == restore.org_id, Operation.idempotency_key == key
            )
        ).first()
        if seen is not None:
            ctx.result["config_op"] = seen.id
            return
    actor = requester(restore)
    try:
        change = restore_config.patch(
            backup.config, actions.get_cluster(actor, restore.target_cluster_id)
        )
        if change is None:
            ctx.log("Configuration already matches the backup.")
            ctx.result["config_op"] = ""
            return
        _view, op = actions.update_cluster(
            actor, restore.target_cluster_id, change, idempotency_key=key
        )
    except ServiceError as exc:
        raise PermanentError(f"Restoring the configuration failed: {exc.message}") from exc
    ctx.result["config_op"] = op.id
    ctx.log(f"Configuration restore requested (operation {op.id}).")


def wait_cluster(ctx: StepContext) -> None:
    """Wait until the target cluster runs (a clone being created, or being updated)."""
    restore, _ = _rows(ctx.params["restore_id"])
    with session_scope() as s:
        cluster = s.get(Cluster, restore.target_cluster_id)
        status, reason = cluster.status, cluster.status_reason
    if status == "running":
        return
    if status in ("failed", "deleting", "deleted"):
        raise PermanentError(f"The target cluster is {status}: {reason or 'see its operations'}.")
    ctx.heartbeat(20)
    raise StepPending(f"the target cluster is {status}", delay=WAIT_DELAY)


def apply_objects(ctx: StepContext) -> None:
    """Compute the diff against the cluster as it is now and apply it."""
    restore, backup = _rows(ctx.params["restore_id"])
    archive = load_archive(backup)
    with session_scope() as s:
        target = s.get(Cluster, restore.target_cluster_id)
        s.expunge(target)
    scope = restore.scope or {}
    try:
        with kube_for(target) as api:
            diff = compute(
                archive.objects,
                restore_source.live(api),
                mode=restore.mode,
                namespaces=scope.get("namespaces", []),
                kinds=scope.get("kinds", []),
                served=restore_source.served(api),
                backup_version=backup.k8s_version or archive.k8s_version,
                target_version=target.current_version or target.version,
            )
            counts = apply(
                api,
                diff.changes,
                {key_of(o): o for o in archive.objects},
                lambda done, total: ctx.heartbeat(30 + int(65 * done / max(1, total))),
            )
    except KUBE_ERRORS as exc:
        raise TransientError(f"The cluster's Kubernetes API failed: {exc}") from exc
    counts.update(unchanged=diff.counts["unchanged"], blocked=diff.counts["blocked"])
    ctx.result["applied"] = counts
    ctx.result["warnings"] = diff.warnings
    ctx.log(
        f"Applied: {counts['created']} created, {counts['replaced']} replaced, "
        f"{counts['deleted']} deleted, {counts['unchanged']} unchanged, {counts['blocked']} blocked."
    )


def finish(ctx: StepContext) -> None:
    """Record the restore as succeeded."""
    restore, backup = _rows(ctx.params["restore_id"])
    result = {"applied": ctx.result.get("applied", {}), "warnings": ctx.result.get("warnings", [])}
    if ctx.result.get("config_op"):
        result["config_operation_id"] = ctx.result["config_op"]
    with session_scope() as s:
        row = s.get(Restore, restore.id)
        row.status, row.result, row.finished_at, row.error = "succeeded", result, utcnow(), ""
        s.add(row)
        audit.record(
            s,
            Actor.system("backup.restore"),
            "backup.restored",
            target_type="cluster",
            target_id=restore.target_cluster_id,
            org_id=restore.org_id,
            detail={"backup_id": backup.id, "restore_id": restore.id, **result["applied"]},
        )
    ctx.log("Restore finished.")


def _failed(ctx: StepContext, message: str) -> None:
    _set(ctx.params["restore_id"], status="failed", error=message, finished_at=utcnow())


RESTORE_STEPS = (
    Step("Verify archive", verify),
    Step("Restore configuration", restore_configuration),
    Step("Wait for the target cluster", wait_cluster),
    Step("Apply objects", apply_objects),
    Step("Finish", finish),
)

register(OperationKind("backup.restore", "Restore backup", RESTORE_STEPS, on_failure=_failed))
