"""Cluster use cases: create, read, list, change, delete, credentials.

Each function takes the Actor, checks authorization itself, records the change in the
audit log and, for changes, requests the operation that carries it out.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster, NodePool
from mkportal.models.operation import Operation
from mkportal.models.org import Role
from mkportal.services import audit, operations
from mkportal.services.actor import Actor
from mkportal.services.backup import config_versions
from mkportal.services.backup.policy import add_defaults
from mkportal.services.clusters.spec import (
    ClusterIn,
    ClusterPatch,
    PoolIn,
    check_pools,
    check_service_level,
    provider_catalog,
    resolve_features,
    validate_create,
)
from mkportal.services.clusters.views import ClusterView, cluster_view
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.operations import OperationView
from mkportal.services.pagination import Page, paginate

STATUSES = ("provisioning", "running", "updating", "upgrading", "deleting", "deleted", "failed")


def _pools(s: Session, cluster_id: str) -> list[NodePool]:
    return list(s.exec(select(NodePool).where(NodePool.cluster_id == cluster_id)))


def _visible(s: Session, actor: Actor, cluster_id: str) -> Cluster:
    cluster = s.get(Cluster, cluster_id)
    if cluster is None or not actor.can_see_org(cluster.org_id):
        raise NotFound("Not found.")
    return cluster


def _name_taken(s: Session, org_id: str, name: str) -> bool:
    return (
        s.exec(
            select(Cluster.id).where(
                Cluster.org_id == org_id, Cluster.name == name, col(Cluster.deleted_at).is_(None)
            )
        ).first()
        is not None
    )


def _pool_row(cluster_id: str, p: PoolIn) -> NodePool:
    return NodePool(
        cluster_id=cluster_id,
        name=p.name,
        machine_type=p.machine_type,
        count=p.count,
        autoscaling=p.autoscaling.enabled,
        min_count=p.autoscaling.min if p.autoscaling.enabled else 0,
        max_count=p.autoscaling.max if p.autoscaling.enabled else 0,
    )


def _replay(s: Session, actor: Actor, key: str) -> tuple[ClusterView, OperationView] | None:
    op = s.exec(
        select(Operation).where(Operation.org_id == actor.org_id, Operation.idempotency_key == key)
    ).first()
    if op is None:
        return None
    if op.kind != "cluster.create":
        raise Conflict("This Idempotency-Key was already used for a different request.")
    cluster = s.get(Cluster, op.cluster_id)
    return cluster_view(cluster, _pools(s, cluster.id)), operations.view(op)


def create_cluster(
    actor: Actor, req: ClusterIn, *, idempotency_key: str | None = None
) -> tuple[ClusterView, OperationView, bool]:
    """Create a cluster and request its provisioning (members and owners).

    Returns:
        The cluster, the provisioning operation, and whether this call created them
        (False when the Idempotency-Key was seen before).

    Raises:
        Invalid: The request does not fit the catalog or the rules.
        Conflict: The name is taken by a live cluster of the organisation.
    """
    actor.require_role(Role.member)
    if actor.org_id is None:
        raise Invalid({"org": "Choose an organisation to create the cluster in."})
    req, network, features = validate_create(req)
    if idempotency_key:
        with session_scope() as s:
            if (seen := _replay(s, actor, idempotency_key)) is not None:
                return (*seen, False)
    try:
        with session_scope() as s:
            if _name_taken(s, actor.org_id, req.name):
                raise Conflict(f"A cluster named '{req.name}' already exists in this organisation.")
            cluster = Cluster(
                org_id=actor.org_id,
                name=req.name,
                provider=req.provider,
                region=req.region,
                version=req.version,
                service_level=req.service_level,
                features=features,
                feature_status={f: "pending" for f in features},
                network=network,
                created_by=actor.email,
            )
            s.add(cluster)
            s.flush()
            pools = [_pool_row(cluster.id, p) for p in req.node_pools]
            s.add_all(pools)
            config_versions.record(s, cluster, reason="created", actor_email=actor.email)
            add_defaults(s, cluster)
            op = operations.add_operation(
                s,
                actor,
                "cluster.create",
                org_id=actor.org_id,
                cluster_id=cluster.id,
                params={},
                idempotency_key=idempotency_key,
            )
            audit.record(
                s,
                actor,
                "cluster.created",
                target_type="cluster",
                target_id=cluster.id,
                detail=req.model_dump(),
            )
            view = cluster_view(cluster, pools)
    except IntegrityError:
        with session_scope() as s:
            if idempotency_key and (seen := _replay(s, actor, idempotency_key)) is not None:
                return (*seen, False)
            if _name_taken(s, actor.org_id, req.name):
                raise Conflict(
                    f"A cluster named '{req.name}' already exists in this organisation."
                ) from None
        raise
    operations.dispatch(op)
    return view, operations.view(op), True


def get_cluster(actor: Actor, cluster_id: str) -> ClusterView:
    """Return a cluster of the caller's organisation (any cluster for operators)."""
    with session_scope() as s:
        cluster = _visible(s, actor, cluster_id)
        return cluster_view(cluster, _pools(s, cluster.id))


def list_clusters(
    actor: Actor,
    *,
    all_orgs: bool = False,
    provider: str = "",
    status: str = "",
    version: str = "",
    service_level: str = "",
    search: str = "",
    include_deleted: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> Page[ClusterView]:
    """List clusters, newest first, paginated on the server.

    Customers see their organisation's clusters; operators may pass `all_orgs` to see
    every organisation's, filtered by provider, status, version and service level.
    """
    query = select(Cluster)
    if all_orgs and actor.is_operator:
        pass
    elif actor.org_id is None:
        return Page(items=[], total=0, page=1, per_page=per_page)
    else:
        query = query.where(Cluster.org_id == actor.org_id)
    if status and status not in STATUSES:
        raise Invalid({"status": f"Choose one of: {', '.join(STATUSES)}."})
    for column, value in (
        (Cluster.provider, provider),
        (Cluster.status, status),
        (Cluster.version, version),
        (Cluster.service_level, service_level),
    ):
        if value:
            query = query.where(column == value)
    if search:
        query = query.where(col(Cluster.name).contains(search.lower()))
    if not include_deleted and status != "deleted":
        query = query.where(col(Cluster.deleted_at).is_(None))
    query = query.order_by(Cluster.created_at.desc(), Cluster.id)
    with session_scope() as s:
        rows, total, page, per_page = paginate(s, query, page, per_page)
        ids = [c.id for c in rows]
        pools: dict[str, list[NodePool]] = {i: [] for i in ids}
        if ids:
            for p in s.exec(select(NodePool).where(col(NodePool.cluster_id).in_(ids))):
                pools[p.cluster_id].append(p)
        items = [cluster_view(c, pools[c.id]) for c in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)


def _transition(
    s: Session, actor: Actor, cluster: Cluster, status: str, action: str, detail: dict
) -> ClusterView:
    """Set the cluster's status for a requested change and audit the request."""
    cluster.status = status
    cluster.status_reason = ""
    cluster.updated_at = utcnow()
    s.add(cluster)
    audit.record(
        s,
        actor,
        action,
        target_type="cluster",
        target_id=cluster.id,
        org_id=cluster.org_id,
        detail=detail,
    )
    return cluster_view(cluster, _pools(s, cluster.id))


def _require_live(cluster: Cluster) -> None:
    if cluster.deleted_at or cluster.status in ("deleting", "deleted"):
        raise Conflict("The cluster is being deleted or was deleted.")


def update_cluster(
    actor: Actor, cluster_id: str, patch: ClusterPatch, *, idempotency_key: str | None = None
) -> tuple[ClusterView, OperationView]:
    """Change the service level, features or node pools; request the update operation.

    Members and owners may change their clusters; operators may change any cluster.

    Raises:
        Invalid: The change does not fit the catalog or the rules.
        Conflict: The cluster is being deleted, or another operation is in progress.
    """
    with session_scope() as s:
        cluster = _visible(s, actor, cluster_id)
        actor.require_role(Role.member)
        _require_live(cluster)
        cat = provider_catalog(cluster.provider)
        pools = patch.node_pools
        if pools is not None:
            check_pools(pools, cat)
        current_pools = [
            PoolIn(
                name=p.name,
                machine_type=p.machine_type,
                count=p.count,
                autoscaling={"enabled": p.autoscaling, "min": p.min_count, "max": p.max_count},
            )
            for p in _pools(s, cluster.id)
        ]
        features = None
        if patch.features is not None or pools is not None:
            features = resolve_features(
                patch.features if patch.features is not None else cluster.features,
                pools if pools is not None else current_pools,
                cluster.provider,
            )
        changes: dict = {}
        if patch.service_level is not None and patch.service_level != cluster.service_level:
            changes["service_level"] = {
                "from": cluster.service_level,
                "to": check_service_level(patch.service_level),
            }
        if features is not None and features != list(cluster.features):
            changes["features"] = {"from": list(cluster.features), "to": features}
        if pools is not None and [p.model_dump() for p in pools] != [
            p.model_dump() for p in sorted(current_pools, key=lambda p: p.name)
        ]:
            changes["node_pools"] = {
                "from": [p.model_dump() for p in current_pools],
                "to": [p.model_dump() for p in pools],
            }
        if not changes:
            raise Invalid({"body": "Nothing to change: the cluster already looks like that."})
        op = operations.add_operation(
            s,
            actor,
            "cluster.update",
            org_id=cluster.org_id,
            cluster_id=cluster.id,
            params={"changes": changes},
            idempotency_key=idempotency_key,
        )
        if "service_level" in changes:
            cluster.service_level = changes["service_level"]["to"]
        if "features" in changes:
            cluster.features = changes["features"]["to"]
        if "node_pools" in changes:
            _apply_pools(s, cluster, pools)
        config_versions.record(
            s, cluster, reason=f"updated: {', '.join(sorted(changes))}", actor_email=actor.email
        )
        view = _transition(s, actor, cluster, "updating", "cluster.updated", changes)
    operations.dispatch(op)
    return view, operations.view(op)


def _apply_pools(s: Session, cluster: Cluster, pools: list[PoolIn]) -> None:
    """Write the desired pools; removed pools are marked for deletion by the operation."""
    existing = {p.name: p for p in _pools(s, cluster.id)}
    for p in pools:
        row = existing.pop(p.name, None)
        new = _pool_row(cluster.id, p)
        if row is None:
            s.add(new)
            continue
        row.count, row.autoscaling = new.count, new.autoscaling
        row.min_count, row.max_count = new.min_count, new.max_count
        if row.machine_type != new.machine_type:
            row.machine_type = new.machine_type
            row.status = "replacing"
        s.add(row)
    for row in existing.values():
        row.status = "deleting"
        row.count = 0
        s.add(row)


def delete_cluster(
    actor: Actor,
    cluster_id: str,
    *,
    confirm_name: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[ClusterView, OperationView]:
    """Delete a cluster and all its cloud resources (members and owners; operators).

    Args:
        actor: The caller.
        cluster_id: The cluster.
        confirm_name: When given (the UI always gives it), it must equal the cluster's name.
        idempotency_key: Optional key; a repeated delete returns the same operation.
    """
    with session_scope() as s:
        cluster = _visible(s, actor, cluster_id)
        actor.require_role(Role.member)
        if confirm_name is not None and confirm_name != cluster.name:
            raise Invalid({"confirm_name": f"Type the cluster's name, {cluster.name}, to confirm."})
        if cluster.deleted_at:
            raise Conflict("The cluster was already deleted.")
        running = s.exec(
            select(Operation).where(
                Operation.cluster_id == cluster.id,
                Operation.kind == "cluster.delete",
                col(Operation.status).in_(("pending", "running")),
            )
        ).first()
        if running is not None:
            return cluster_view(cluster, _pools(s, cluster.id)), operations.view(running)
        op = operations.add_operation(
            s,
            actor,
            "cluster.delete",
            org_id=cluster.org_id,
            cluster_id=cluster.id,
            idempotency_key=idempotency_key,
        )
        view = _transition(
            s, actor, cluster, "deleting", "cluster.delete_requested", {"name": cluster.name}
        )
    operations.dispatch(op)
    return view, operations.view(op)


def rotate_credentials(actor: Actor, cluster_id: str) -> OperationView:
    """Replace the cluster's credentials; every kubeconfig issued before stops working."""
    with session_scope() as s:
        cluster = _visible(s, actor, cluster_id)
        actor.require_role(Role.member)
        _require_live(cluster)
        if not cluster.provider_ref:
            raise Conflict("The cluster has no credentials yet; wait until it is running.")
        op = operations.add_operation(
            s, actor, "cluster.rotate_credentials", org_id=cluster.org_id, cluster_id=cluster.id
        )
        audit.record(
            s,
            actor,
            "cluster.credentials_rotation_requested",
            target_type="cluster",
            target_id=cluster.id,
            org_id=cluster.org_id,
        )
    operations.dispatch(op)
    return operations.view(op)
