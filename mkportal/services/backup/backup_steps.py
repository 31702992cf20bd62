"""The operation kind `backup.create`: snapshot, upload, verify, record.

Both steps are idempotent. The archive is written under a key made of the backup's id,
so a step re-run after a crash overwrites its own earlier upload instead of adding a
second archive. The second step reads the stored archive back, checks that it opens and
matches its manifest, and only then marks the backup succeeded with the checksum of the
bytes actually stored. A failed or cancelled backup is marked failed and its (possibly
partial) archive removed.
"""

from __future__ import annotations

import hashlib
import logging
import re

from mkportal.db import session_scope
from mkportal.models.backup import Backup
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.services.backup.archive import pack, snapshot, unpack
from mkportal.services.backup.storage import ObjectMissing, StoreError, store_for
from mkportal.services.errors import Invalid
from mkportal.services.kube.agents import KUBE_ERRORS, kube_error, kube_for
from mkportal.worker.context import StepContext
from mkportal.worker.registry import OperationKind, PermanentError, Step, TransientError, register

log = logging.getLogger(__name__)
VERSION_RE = re.compile(r"^v?\d+\.\d+(\.\d+)?")


def _backup(ctx: StepContext) -> Backup:
    with session_scope() as s:
        row = s.get(Backup, ctx.params["backup_id"])
        if row is None:
            raise PermanentError("The backup's catalog entry is gone.")
        s.expunge(row)
        return row


def take_and_upload(ctx: StepContext) -> None:
    """Snapshot the cluster's objects, pack them with the config and upload the archive."""
    row = _backup(ctx)
    if row.status != "running":
        return
    with session_scope() as s:
        cluster = s.get(Cluster, row.cluster_id)
        if cluster is not None:
            s.expunge(cluster)
    if cluster is None or cluster.deleted_at is not None or not cluster.credentials_enc:
        raise PermanentError("The cluster was deleted before the backup could be taken.")
    try:
        with kube_for(cluster) as api:
            snap = snapshot(api)
    except KUBE_ERRORS as exc:
        raise TransientError(kube_error(exc).message) from exc
    ctx.heartbeat(40)
    packed = pack(snap, row.config)
    for warning in snap.warnings:
        ctx.log(f"Skipped: {warning}", "warning")
    ctx.heartbeat(60)
    try:
        store_for(row.org_id, row.storage_kind).put(row.storage_key, packed.data)
    except StoreError as exc:
        raise TransientError(str(exc)) from exc
    ctx.result.update(
        backup_id=row.id,
        storage_key=row.storage_key,
        size_bytes=len(packed.data),
        object_count=packed.manifest["object_count"],
    )
    ctx.log(f"Uploaded {len(packed.data)} bytes with {len(snap.objects)} objects.")


def verify_and_record(ctx: StepContext) -> None:
    """Read the stored archive back, verify it, and mark the backup succeeded."""
    row = _backup(ctx)
    if row.status != "running":
        return
    try:
        data = store_for(row.org_id, row.storage_kind).get(row.storage_key)
    except ObjectMissing as exc:
        raise PermanentError(str(exc)) from exc
    except StoreError as exc:
        raise TransientError(str(exc)) from exc
    checksum = hashlib.sha256(data).hexdigest()
    try:
        archive = unpack(data, checksum)
    except Invalid as exc:
        raise PermanentError(exc.errors.get("backup", exc.message)) from exc
    version = VERSION_RE.match(archive.k8s_version or "")
    with session_scope() as s:
        backup = s.get(Backup, row.id)
        if backup is None or backup.status != "running":
            return
        backup.status, backup.finished_at, backup.error = "succeeded", utcnow(), ""
        backup.checksum, backup.size_bytes = checksum, len(data)
        backup.object_count = archive.manifest["object_count"]
        backup.counts = archive.counts
        backup.k8s_version = version.group(0) if version else ""
        s.add(backup)
    ctx.result.update(checksum=checksum, size_bytes=len(data))
    ctx.log(f"Verified the stored archive (sha256 {checksum[:12]}…).")


def backup_failed(ctx: StepContext, message: str) -> None:
    """Mark the backup failed and remove whatever part of its archive was written."""
    with session_scope() as s:
        row = s.get(Backup, ctx.params.get("backup_id", ""))
        if row is None or row.status != "running":
            return
        row.status, row.finished_at, row.error = "failed", utcnow(), message[:2000]
        s.add(row)
        org_id, kind, key = row.org_id, row.storage_kind, row.storage_key
    try:
        store_for(org_id, kind).delete(key)
    except StoreError:
        log.warning("could not remove the archive of failed backup %s", key, exc_info=True)


register(
    OperationKind(
        "backup.create",
        "Back up cluster",
        (
            Step("Snapshot and upload", take_and_upload),
            Step("Verify and record", verify_and_record),
        ),
        on_failure=backup_failed,
    )
)
