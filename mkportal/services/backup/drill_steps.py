"""The `backup.drill` operation: restore a backup into a temporary sandbox cluster and check it.

Steps: create the temporary cluster (idempotent through its Idempotency-Key), wait until
it runs, restore every object of the backup, compare what the cluster then holds with
the archive (object counts per kind and the checksum of the objects), delete the cluster
and record the outcome. A failure at any point still deletes the temporary cluster.
"""

from __future__ import annotations

from mkportal.db import session_scope
from mkportal.models.backup import Backup, BackupDrill
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.backup import restore_config, restore_source
from mkportal.services.backup.cleaning import counts_of, objects_checksum
from mkportal.services.backup.restore_apply import apply
from mkportal.services.backup.restore_plan import compute, key_of
from mkportal.services.backup.restore_steps import load_archive
from mkportal.services.clusters import actions
from mkportal.services.errors import Conflict, NotFound, ServiceError
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

MAX_MISMATCHES = 20


def drill_actor(org_id: str) -> Actor:
    """Return the actor drills act as in an organisation."""
    return Actor(user_id=None, email="backup-drill", org_id=org_id, role="member")


def _rows(drill_id: str) -> tuple[BackupDrill, Backup]:
    with session_scope() as s:
        drill = s.get(BackupDrill, drill_id)
        backup = s.get(Backup, drill.backup_id)
        s.expunge_all()
        return drill, backup


def create_cluster(ctx: StepContext) -> None:
    """Create the temporary sandbox cluster (a retry replays the same request)."""
    drill, backup = _rows(ctx.params["drill_id"])
    if drill.temp_cluster_id:
        return
    request = restore_config.drill_request(backup.config, f"drill-{drill.id[:12]}")
    try:
        cluster, _op, _new = actions.create_cluster(
            drill_actor(drill.org_id), request, idempotency_key=f"drill-{drill.id}"
        )
    except ServiceError as exc:
        raise PermanentError(f"The temporary cluster could not be created: {exc.message}") from exc
    with session_scope() as s:
        row = s.get(BackupDrill, drill.id)
        row.temp_cluster_id = cluster.id
        s.add(row)
    ctx.log(f"Temporary sandbox cluster {cluster.name} requested.")


def wait_cluster(ctx: StepContext) -> None:
    """Wait until the temporary cluster runs."""
    drill, _ = _rows(ctx.params["drill_id"])
    with session_scope() as s:
        status = s.get(Cluster, drill.temp_cluster_id).status
    if status == "failed":
        raise PermanentError("The temporary cluster failed to come up.")
    if status != "running":
        ctx.heartbeat(15)
        raise StepPending(f"the temporary cluster is {status}", delay=2.0)


def restore_and_verify(ctx: StepContext) -> None:
    """Restore every object into the temporary cluster, then compare counts and checksums."""
    drill, backup = _rows(ctx.params["drill_id"])
    archive = load_archive(backup)
    with session_scope() as s:
        target = s.get(Cluster, drill.temp_cluster_id)
        s.expunge(target)
    try:
        with kube_for(target) as api:
            served = restore_source.served(api)
            diff = compute(archive.objects, restore_source.live(api), mode="merge", served=served)
            apply(api, diff.changes, {key_of(o): o for o in archive.objects})
            restored = {key_of(o): o for o in restore_source.live(api)}
    except KUBE_ERRORS as exc:
        raise TransientError(f"The temporary cluster's Kubernetes API failed: {exc}") from exc
    expected = list(archive.objects)
    got = [restored[key_of(o)] for o in expected if key_of(o) in restored]
    mismatched = ["/".join(key_of(o)[1:]) for o in expected if restored.get(key_of(o)) != o]
    ctx.result["verify"] = {
        "archive_checksum": "verified",
        "expected_counts": counts_of(expected),
        "restored_counts": counts_of(got),
        "expected_checksum": objects_checksum(expected),
        "restored_checksum": objects_checksum(got),
        "objects": len(expected),
        "mismatched": mismatched[:MAX_MISMATCHES],
        "mismatched_total": len(mismatched),
    }
    ctx.log(f"Verified {len(expected)} objects: {len(mismatched)} differ.")


def _delete_temp(drill: BackupDrill) -> str:
    """Request deletion of the temporary cluster; return a note when that was refused."""
    if not drill.temp_cluster_id:
        return ""
    try:
        actions.delete_cluster(drill_actor(drill.org_id), drill.temp_cluster_id)
    except NotFound:
        return ""
    except Conflict as exc:
        return (
            f" The temporary cluster {drill.temp_cluster_id} could not be deleted "
            f"({exc.message}); delete it by hand."
        )
    return ""


def delete_and_record(ctx: StepContext) -> None:
    """Delete the temporary cluster and record whether the drill passed."""
    drill, backup = _rows(ctx.params["drill_id"])
    note = _delete_temp(drill)
    verify = ctx.result.get("verify", {})
    passed = (
        verify.get("mismatched_total", 1) == 0
        and verify.get("expected_counts") == verify.get("restored_counts")
        and verify.get("expected_checksum") == verify.get("restored_checksum")
    )
    message = (
        f"Restored and verified {verify.get('objects', 0)} objects."
        if passed
        else f"{verify.get('mismatched_total', 0)} objects differ after the restore."
    )
    with session_scope() as s:
        row = s.get(BackupDrill, drill.id)
        row.status = "succeeded" if passed else "failed"
        row.result, row.message, row.finished_at = verify, message + note, utcnow()
        s.add(row)
        audit.record(
            s,
            drill_actor(drill.org_id),
            "backup.drill_finished",
            target_type="cluster",
            target_id=drill.cluster_id,
            org_id=drill.org_id,
            detail={"drill_id": drill.id, "backup_id": backup.id, "status": row.status},
        )
    ctx.log(message)


def _failed(ctx: StepContext, message: str) -> None:
    drill, _ = _rows(ctx.params["drill_id"])
    note = _delete_temp(drill)
    with session_scope() as s:
        row = s.get(BackupDrill, drill.id)
        row.status, row.message, row.finished_at = "failed", message + note, utcnow()
        s.add(row)


DRILL_STEPS = (
    Step("Create temporary cluster", create_cluster),
    Step("Wait for the temporary cluster", wait_cluster),
    Step("Restore and verify", restore_and_verify),
    Step("Delete temporary cluster", delete_and_record),
)

register(OperationKind("backup.drill", "Restore drill", DRILL_STEPS, on_failure=_failed))
