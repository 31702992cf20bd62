"""Restoring a backup: the dry-run plan, starting the restore, and reading restores.

A restore applies a succeeded backup to the same cluster (merge: create and update;
replace: also delete what the backup lacks, within the scope) or to a new cluster created
with the backed-up configuration (clone). It runs as the durable operation
`backup.restore` (see restore_steps.py). A backup is only ever restored into a cluster of
its own organisation.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, Restore
from mkportal.models.cluster import Cluster
from mkportal.models.operation import ACTIVE_STATUSES, Operation
from mkportal.models.org import Role
from mkportal.services import audit, operations
from mkportal.services.actor import Actor
from mkportal.services.backup import restore_config, restore_source
from mkportal.services.backup.restore_plan import (
    MODES,
    compute,
    group_of,
    version_of,
)
from mkportal.services.backup.restore_views import RestorePlan, RestoreView, view
from mkportal.services.backup.storage import StoreError
from mkportal.services.clusters import actions
from mkportal.services.clusters.spec import check_name
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.kube.agents import KUBE_ERRORS, clean_namespaces, kube_error, kube_for

__all__ = [
    "RestorePlan",
    "RestoreView",
    "get_restore",
    "list_restores",
    "plan_restore",
    "start_restore",
]
MAX_KINDS = 50
ACTIVE = ("pending", "running")


def _backup(s: Session, actor: Actor, backup_id: str) -> Backup:
    backup = s.get(Backup, backup_id)
    if backup is None or not actor.can_see_org(backup.org_id):
        raise NotFound("Not found.")
    if backup.status != "succeeded":
        raise Conflict(f"Only succeeded backups can be restored; this one is {backup.status}.")
    return backup


def _target(s: Session, actor: Actor, backup: Backup, target_id: str) -> Cluster:
    cluster = s.get(Cluster, target_id)
    if cluster is None or not actor.can_see_org(cluster.org_id) or cluster.org_id != backup.org_id:
        raise NotFound("Not found.")
    if cluster.deleted_at or cluster.status != "running":
        raise Conflict(f"The target cluster is {cluster.status}; restores need a running cluster.")
    return cluster


def _kinds(kinds: list[str] | tuple[str, ...]) -> list[str]:
    cleaned = sorted({k.strip() for k in kinds if k and k.strip()})
    if len(cleaned) > MAX_KINDS:
        raise Invalid({"kinds": f"Choose at most {MAX_KINDS} kinds."})
    for i, k in enumerate(cleaned):
        if len(k) > 120 or not all(c.isalnum() or c in "./-" for c in k):
            raise Invalid(
                {f"kinds.{i}": f"'{k}' is not a kind such as Deployment or apps/Deployment."}
            )
    return cleaned


def _check_mode(mode: str, target_cluster_id: str, clone_name: str) -> None:
    if mode not in MODES:
        raise Invalid({"mode": f"Choose one of: {', '.join(MODES)}."})
    if mode == "clone":
        if target_cluster_id:
            raise Invalid({"target_cluster_id": "A clone goes into a new cluster; leave it empty."})
        check_name(clone_name, "clone_name")
    elif clone_name:
        raise Invalid({"clone_name": "Only a clone creates a new cluster; choose mode clone."})


def plan_restore(
    actor: Actor,
    backup_id: str,
    *,
    target_cluster_id: str = "",
    mode: str = "merge",
    namespaces: list[str] | tuple[str, ...] = (),
    kinds: list[str] | tuple[str, ...] = (),
    include_config: bool = False,
    clone_name: str = "",
) -> RestorePlan:
    """Compute what restoring a backup would change, without changing anything.

    Args:
        actor: The caller (any role of the backup's organisation).
        backup_id: A succeeded backup.
        target_cluster_id: The cluster to restore into (default: the backed-up cluster).
        mode: merge, replace or clone.
        namespaces: Restrict to these namespaces (empty: all).
        kinds: Restrict to these kinds, e.g. ``Deployment`` or ``apps/Deployment``.
        include_config: Also restore the portal-side configuration.
        clone_name: The new cluster's name (mode clone).

    Raises:
        NotFound: The backup or the target is not visible, or belongs to another org.
        Invalid: A bad mode, scope or name; a tampered or unreadable archive.
        Conflict: The backup did not succeed, the target is not running or unreachable.
    """
    _check_mode(mode, target_cluster_id, clone_name)
    namespaces, kinds = clean_namespaces(list(namespaces)), _kinds(kinds)
    with session_scope() as s:
        backup = _backup(s, actor, backup_id)
        s.expunge(backup)
        target = None
        if mode != "clone":
            target = _target(s, actor, backup, target_cluster_id or backup.cluster_id)
            s.expunge(target)
    try:
        archive = restore_source.load(backup)
    except StoreError as exc:
        raise Conflict(f"The backup storage could not be read: {exc}") from exc
    if target is None:
        served = {(group_of(o), version_of(o), o.get("kind", "")) for o in archive.objects}
        live: list[dict] = []
        target_version, config_changes = archive.k8s_version, {}
    else:
        try:
            with kube_for(target) as api:
                served, live = restore_source.served(api), restore_source.live(api)
        except KUBE_ERRORS as exc:
            raise kube_error(exc) from exc
        target_version = target.current_version or target.version
        config_changes = (
            restore_config.changes(backup.config, actions.get_cluster(actor, target.id))
            if include_config
            else {}
        )
    diff = compute(
        archive.objects,
        live,
        mode=mode,
        namespaces=namespaces,
        kinds=kinds,
        served=served,
        backup_version=backup.k8s_version or archive.k8s_version,
        target_version=target_version,
    )
    warnings = list(diff.warnings)
    if "version" in config_changes:
        warnings.append(
            f"The backup's Kubernetes version {config_changes['version']['to']} is not applied "
            f"in place (the cluster stays on {config_changes['version']['from']}); restore "
            "into a new cluster to get it back."
        )
    return RestorePlan(
        backup.id,
        target.id if target else "",
        target.name if target else clone_name,
        mode,
        namespaces,
        kinds,
        include_config,
        diff.counts,
        diff.changes,
        warnings,
        config_changes,
    )


def _replay(s: Session, actor: Actor, key: str) -> RestoreView | None:
    op = s.exec(
        select(Operation).where(Operation.org_id == actor.org_id, Operation.idempotency_key == key)
    ).first()
    if op is None:
        return None
    if op.kind != "backup.restore":
        raise Conflict("This Idempotency-Key was already used for a different request.")
    return view(s.get(Restore, op.params["restore_id"]))


def _busy(s: Session, cluster_id: str) -> None:
    restoring = s.exec(
        select(Restore.id).where(
            Restore.target_cluster_id == cluster_id, col(Restore.status).in_(ACTIVE)
        )
    ).first()
    if restoring is not None:
        raise Conflict(f"Restore {restoring} into this cluster is in progress; wait for it.")
    op = s.exec(
        select(Operation).where(
            Operation.cluster_id == cluster_id, col(Operation.status).in_(ACTIVE_STATUSES)
        )
    ).first()
    if op is not None:
        raise Conflict(
            f"Operation {op.id} ({op.kind}) is in progress on this cluster; wait for it."
        )


def start_restore(
    actor: Actor,
    backup_id: str,
    *,
    target_cluster_id: str = "",
    mode: str = "merge",
    namespaces: list[str] | tuple[str, ...] = (),
    kinds: list[str] | tuple[str, ...] = (),
    include_config: bool = False,
    clone_name: str = "",
    idempotency_key: str | None = None,
) -> RestoreView:
    """Start restoring a backup (members and owners); it runs as a `backup.restore` operation.

    The dry-run diff is computed first and kept with the restore. A clone first creates
    the new cluster with the backed-up configuration through the normal provisioning path.

    Raises:
        NotFound, Invalid, Conflict: As for `plan_restore`; Conflict also when another
            restore or operation is in progress on the target.
    """
    actor.require_role(Role.member)
    if idempotency_key:
        with session_scope() as s:
            if (seen := _replay(s, actor, idempotency_key)) is not None:
                return seen
    plan = plan_restore(
        actor,
        backup_id,
        target_cluster_id=target_cluster_id,
        mode=mode,
        namespaces=namespaces,
        kinds=kinds,
        include_config=include_config,
        clone_name=clone_name,
    )
    target_id = plan.target_cluster_id
    if mode == "clone":
        with session_scope() as s:
            config = _backup(s, actor, backup_id).config
        cluster, _op, _new = actions.create_cluster(
            actor, restore_config.clone_request(config, clone_name)
        )
        target_id = cluster.id
    try:
        with session_scope() as s:
            backup = _backup(s, actor, backup_id)
            if mode != "clone":
                _busy(s, target_id)
            restore = Restore(
                org_id=backup.org_id,
                backup_id=backup.id,
                target_cluster_id=target_id,
                mode=mode,
                scope={"namespaces": plan.namespaces, "kinds": plan.kinds},
                include_config=include_config or mode == "clone",
                diff=plan.summary(),
                requested_by=actor.email,
            )
            s.add(restore)
            s.flush()
            op = operations.add_operation(
                s,
                actor,
                "backup.restore",
                org_id=backup.org_id,
                params={"restore_id": restore.id},
                idempotency_key=idempotency_key,
            )
            restore.operation_id = op.id
            audit.record(
                s,
                actor,
                "backup.restore_requested",
                target_type="cluster",
                target_id=target_id,
                org_id=backup.org_id,
                detail={
                    "backup_id": backup.id,
                    "restore_id": restore.id,
                    "mode": mode,
                    **restore.scope,
                },
            )
            result = view(restore)
    except IntegrityError:
        if idempotency_key:
            with session_scope() as s:
                if (seen := _replay(s, actor, idempotency_key)) is not None:
                    return seen
        raise
    operations.dispatch(op)
    return result


def get_restore(actor: Actor, restore_id: str) -> RestoreView:
    """Return one restore of the caller's organisation."""
    with session_scope() as s:
        r = s.get(Restore, restore_id)
        if r is None or not actor.can_see_org(r.org_id):
            raise NotFound("Not found.")
        return view(r)


def list_restores(actor: Actor, cluster_id: str, *, limit: int = 100) -> list[RestoreView]:
    """Return the restores of a cluster's backups or into the cluster, newest first."""
    with session_scope() as s:
        cluster = s.get(Cluster, cluster_id)
        if cluster is None or not actor.can_see_org(cluster.org_id):
            raise NotFound("Not found.")
        backup_ids = select(Backup.id).where(Backup.cluster_id == cluster_id)
        rows = s.exec(
            select(Restore)
            .where(
                Restore.org_id == cluster.org_id,
                (Restore.target_cluster_id == cluster_id) | col(Restore.backup_id).in_(backup_ids),
            )
            .order_by(Restore.created_at.desc(), Restore.id)
            .limit(min(max(limit, 1), 500))
        ).all()
        return [view(r) for r in rows]
