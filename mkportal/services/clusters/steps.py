"""The operation kinds that carry out cluster changes, as idempotent steps.

Every provider call passes a token derived from the operation and step, so a retried
step never creates a second cloud resource. Waiting steps poll the cloud for a while
and then give the worker back (StepPending); the engine resumes them later.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kubernetes.client.rest import ApiException
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster, NodePool
from mkportal.services.catalog import FEATURES_BY_SLUG
from mkportal.services.clusters.kubeconfig import render, seal, unseal
from mkportal.services.kube import features as kube_features
from mkportal.services.kube.client import api_client
from mkportal.services.providers.base import (
    ClusterSpec,
    ObservedCluster,
    PermissionDenied,
    PoolSpec,
    ProviderError,
    QuotaExceeded,
    Throttled,
)
from mkportal.services.providers.registry import get_provider
from mkportal.settings import get_settings
from mkportal.worker.context import StepContext
from mkportal.worker.registry import (
    OperationKind,
    PermanentError,
    Step,
    StepPending,
    TransientError,
    register,
)


def _cloud(fn: Callable, *args):  # noqa: ANN202
    """Call the provider, translating its errors for the engine."""
    try:
        return fn(*args)
    except Throttled as exc:
        raise TransientError(exc.message) from exc
    except (QuotaExceeded, PermissionDenied) as exc:
        raise PermanentError(exc.message) from exc
    except ProviderError as exc:
        raise PermanentError(exc.message) from exc


def _cluster(cluster_id: str) -> tuple[Cluster, list[NodePool]]:
    with session_scope() as s:
        cluster = s.get(Cluster, cluster_id)
        pools = list(s.exec(select(NodePool).where(NodePool.cluster_id == cluster_id)))
        return cluster, pools


def _set(cluster_id: str, **values) -> None:
    with session_scope() as s:
        cluster = s.get(Cluster, cluster_id)
        for key, value in values.items():
            setattr(cluster, key, value)
        cluster.updated_at = utcnow()
        s.add(cluster)


def _provider_pool(p: NodePool) -> PoolSpec:
    return PoolSpec(p.name, p.machine_type, p.count, p.autoscaling, p.min_count, p.max_count)


def observe(cluster_id: str) -> ObservedCluster:
    """Read the cloud's view of a cluster and copy pool counts into the portal's rows."""
    cluster, _ = _cluster(cluster_id)
    seen = _cloud(get_provider(cluster.provider).get_cluster, cluster.provider_ref)
    by_name = {p.name: p for p in seen.pools}
    with session_scope() as s:
        for row in s.exec(select(NodePool).where(NodePool.cluster_id == cluster_id)):
            pool = by_name.get(row.name)
            if pool is None:
                if row.status == "deleting":
                    s.delete(row)
                continue
            row.observed_count, row.ready_count, row.message = pool.count, pool.ready, pool.message
            if row.status == "replacing":
                if pool.status == "ready" and pool.machine_type == row.machine_type:
                    row.status = "ready"
            elif row.status != "deleting":
                row.status = pool.status
            if row.autoscaling:
                row.count = pool.count
            s.add(row)
    return seen


def _wait(ctx: StepContext, done: Callable[[], tuple[bool, int]], what: str) -> None:
    """Poll `done` (returning (finished, progress %)) for a while, then yield the worker."""
    deadline = time.monotonic() + get_settings().provider_inline_wait
    delay = 0.05
    while True:
        finished, progress = done()
        if finished:
            return
        ctx.heartbeat(progress)
        if time.monotonic() >= deadline:
            raise StepPending(f"still waiting for {what}", delay=2.0)
        time.sleep(delay)
        delay = min(0.5, delay * 2)


def _spec(cluster: Cluster, pools: list[NodePool]) -> ClusterSpec:
    return ClusterSpec(
        cluster.id,
        cluster.name,
        cluster.region,
        cluster.version,
        [_provider_pool(p) for p in pools],
        dict(cluster.network),
        list(cluster.features),
    )


def create_control_plane(ctx: StepContext) -> None:
    """Ask the cloud for a control plane (the request token makes a retry harmless)."""
    cluster, pools = _cluster(ctx.cluster_id)
    if cluster.provider_ref:
        return
    ref = _cloud(
        get_provider(cluster.provider).create_cluster, _spec(cluster, pools), ctx.request_token
    )
    _set(cluster.id, provider_ref=ref)
    ctx.log(f"Control plane requested from {cluster.provider} ({ref}).")


def wait_control_plane(ctx: StepContext) -> None:
    """Wait until the control plane runs."""

    def done() -> tuple[bool, int]:
        seen = observe(ctx.cluster_id)
        if seen.status == "failed":
            raise PermanentError(f"The cloud reports the control plane failed: {seen.message}")
        return seen.status == "running", 30

    _wait(ctx, done, "the control plane")
    cluster, _ = _cluster(ctx.cluster_id)
    ctx.log("Control plane is running.")
    _set(cluster.id, current_version=observe(cluster.id).version or cluster.version)


def reconcile_pools(ctx: StepContext) -> None:
    """Create missing pools, resize existing ones, start removing deleted ones."""
    cluster, pools = _cluster(ctx.cluster_id)
    provider = get_provider(cluster.provider)
    seen = {p.name: p for p in observe(cluster.id).pools}
    for pool in pools:
        spec = _provider_pool(pool)
        if pool.status == "deleting":
            if pool.name in seen:
                _cloud(provider.delete_node_pool, cluster.provider_ref, pool.name)
                ctx.log(f"Removing node pool {pool.name}.")
        elif pool.name not in seen:
            _cloud(
                provider.create_node_pool,
                cluster.provider_ref,
                spec,
                f"{ctx.request_token}-{pool.name}",
            )
            ctx.log(f"Creating node pool {pool.name}: {pool.count} x {pool.machine_type}.")
        else:
            current = seen[pool.name]
            if pool.status == "replacing":
                ctx.log(
                    f"Rolling node pool {pool.name} onto {pool.machine_type}: a surge node comes "
                    "up, then an old node is cordoned, drained and removed, one at a time."
                )
            wanted = (
                spec.machine_type,
                spec.count,
                spec.autoscaling,
                spec.min_count,
                spec.max_count,
            )
            if (
                current.machine_type,
                current.count,
                current.autoscaling,
                current.min_count,
                current.max_count,
            ) != wanted:
                _cloud(provider.update_node_pool, cluster.provider_ref, spec)
                ctx.log(
                    f"Scaling node pool {pool.name} to {pool.count} nodes"
                    + (
                        f" (autoscaling {pool.min_count}-{pool.max_count})"
                        if pool.autoscaling
                        else ""
                    )
                    + "."
                )


def wait_pools(ctx: StepContext) -> None:
    """Wait until every pool has its nodes ready and removed pools are gone."""
    reported: set[str] = set()

    def done() -> tuple[bool, int]:
        seen = observe(ctx.cluster_id)
        _, pools = _cluster(ctx.cluster_id)
        for node in seen.nodes:
            key = f"{node.name}:{node.status}"
            if key not in reported and node.status in ("ready", "draining", "deleting"):
                reported.add(key)
                ctx.log(f"Node {node.name} ({node.pool}, {node.machine_type}): {node.status}.")
        want = {p.name: p.count for p in pools if p.status != "deleting"}
        got = {p.name: p for p in seen.pools}
        ready = sum(min(got[n].ready, c) for n, c in want.items() if n in got)
        total = sum(want.values()) or 1
        removed = all(p.name not in got for p in pools if p.status == "deleting")
        finished = removed and all(
            n in got and got[n].status == "ready" and got[n].ready == c for n, c in want.items()
        )
        return finished, int(40 + 40 * ready / total)

    _wait(ctx, done, "the nodes")
    with session_scope() as s:
        for row in s.exec(select(NodePool).where(NodePool.cluster_id == ctx.cluster_id)):
            if row.status in ("replacing", "creating", "updating"):
                row.status = "ready"
                s.add(row)
    ctx.log("All node pools are ready.")


def _store_credentials(cluster: Cluster, rotate: bool) -> None:
    creds = _cloud(get_provider(cluster.provider).credentials, cluster.provider_ref, rotate)
    extra = {"credentials_rotated_at": utcnow()} if rotate else {}
    _set(
        cluster.id,
        credentials_enc=seal(creds),
        credentials_kind=creds.kind,
        endpoint=creds.endpoint,
        **extra,
    )


def issue_credentials(ctx: StepContext) -> None:
    """Fetch the cluster's credentials from the cloud and store them encrypted."""
    cluster, _ = _cluster(ctx.cluster_id)
    if not cluster.credentials_enc:
        _store_credentials(cluster, rotate=False)
        ctx.log("Credentials issued; the kubeconfig can be downloaded.")


def rotate(ctx: StepContext) -> None:
    """Replace the cluster's credentials at the cloud (old kubeconfigs stop working)."""
    cluster, _ = _cluster(ctx.cluster_id)
    if not ctx.result.get("rotated"):
        _store_credentials(cluster, rotate=True)
        ctx.result["rotated"] = True
        ctx.log("Credentials rotated; kubeconfigs issued before now no longer work.")


def _kube(cluster: Cluster):  # noqa: ANN202
    return api_client(render(cluster, unseal(cluster.credentials_enc)))


def apply_features(ctx: StepContext) -> None:
    """Install wanted features (provider add-ons or manifests) and remove unwanted ones."""
    cluster, _ = _cluster(ctx.cluster_id)
    provider = get_provider(cluster.provider)
    addons = getattr(provider, "addons", {})
    wanted = list(cluster.features)
    _cloud(provider.set_features, cluster.provider_ref, [f for f in wanted if f in addons])
    status = dict(cluster.feature_status)
    try:
        with _kube(cluster) as api:
            for slug in wanted:
                if slug not in addons:
                    kube_features.apply(api, slug)
                status[slug] = "installing"
            for slug in [s for s in status if s not in wanted]:
                if slug not in addons:
                    kube_features.remove(api, slug)
                status.pop(slug)
    except ApiException as exc:
        raise TransientError(f"Kubernetes API answered {exc.status}: {exc.reason}") from exc
    _set(cluster.id, feature_status=status)
    if wanted:
        ctx.log("Installing features: " + ", ".join(FEATURES_BY_SLUG[f].name for f in wanted))


def wait_features(ctx: StepContext) -> None:
    """Wait until every wanted feature reports ready."""
    cluster, _ = _cluster(ctx.cluster_id)
    addons = getattr(get_provider(cluster.provider), "addons", {})

    def done() -> tuple[bool, int]:
        seen = observe(ctx.cluster_id)
        status = {}
        with _kube(cluster) as api:
            for slug in cluster.features:
                status[slug] = (
                    seen.features.get(slug, "installing")
                    if slug in addons
                    else kube_features.status(api, slug)
                )
        _set(cluster.id, feature_status=status)
        ready = sum(v == "ready" for v in status.values())
        return ready == len(status), int(85 + 10 * ready / max(1, len(status)))

    try:
        _wait(ctx, done, "the features")
    except ApiException as exc:
        raise TransientError(f"Kubernetes API answered {exc.status}: {exc.reason}") from exc


def mark_running(ctx: StepContext) -> None:
    """Record the cluster as running."""
    cluster, _ = _cluster(ctx.cluster_id)
    _set(
        cluster.id,
        status="running",
        status_reason="",
        current_version=cluster.current_version or cluster.version,
    )
    ctx.log(f"Cluster {cluster.name} is running.")


def delete_in_cloud(ctx: StepContext) -> None:
    """Ask the cloud to delete the cluster and its pools (idempotent)."""
    cluster, pools = _cluster(ctx.cluster_id)
    if not cluster.provider_ref:
        return
    provider = get_provider(cluster.provider)
    for pool in pools:
        _cloud(provider.delete_node_pool, cluster.provider_ref, pool.name)
    _cloud(provider.delete_cluster, cluster.provider_ref)
    ctx.log("Deletion of every cloud resource requested.")


def wait_deleted(ctx: StepContext) -> None:
    """Wait until the cloud reports the cluster gone."""
    cluster, _ = _cluster(ctx.cluster_id)
    if not cluster.provider_ref:
        return
    _wait(ctx, lambda: (observe(ctx.cluster_id).status == "deleted", 60), "deletion")


def mark_deleted(ctx: StepContext) -> None:
    """Keep the record (billing, audit), drop the credentials, free the name."""
    _set(
        ctx.cluster_id,
        status="deleted",
        deleted_at=utcnow(),
        credentials_enc="",
        endpoint="",
        status_reason="",
    )
    with session_scope() as s:
        for row in s.exec(select(NodePool).where(NodePool.cluster_id == ctx.cluster_id)):
            row.observed_count = row.ready_count = 0
            row.status = "deleted"
            s.add(row)
    ctx.log("Cluster deleted; the record is kept for billing and audit.")


def _status_hook(status: str) -> Callable[[StepContext], None]:
    def hook(ctx: StepContext) -> None:
        _set(ctx.cluster_id, status=status, status_reason="")

    return hook


def _failed(ctx: StepContext, message: str) -> None:
    _set(ctx.cluster_id, status="failed", status_reason=message)


CREATE_STEPS = (
    Step("Create control plane", create_control_plane),
    Step("Wait for control plane", wait_control_plane),
    Step("Create node pools", reconcile_pools),
    Step("Wait for nodes", wait_pools),
    Step("Issue credentials", issue_credentials),
    Step("Install features", apply_features),
    Step("Wait for features", wait_features),
    Step("Mark running", mark_running),
)
UPDATE_STEPS = (
    Step("Reconcile node pools", reconcile_pools),
    Step("Wait for nodes", wait_pools),
    Step("Apply features", apply_features),
    Step("Wait for features", wait_features),
    Step("Mark running", mark_running),
)

register(
    OperationKind(
        "cluster.create",
        "Provision cluster",
        CREATE_STEPS,
        on_start=_status_hook("provisioning"),
        on_failure=_failed,
    )
)
register(
    OperationKind(
        "cluster.update",
        "Update cluster",
        UPDATE_STEPS,
        on_start=_status_hook("updating"),
        on_failure=_failed,
    )
)
register(
    OperationKind(
        "cluster.delete",
        "Delete cluster",
        (
            Step("Delete cloud resources", delete_in_cloud),
            Step("Wait for deletion", wait_deleted),
            Step("Mark deleted", mark_deleted),
        ),
        on_start=_status_hook("deleting"),
        on_failure=_failed,
    )
)
register(
    OperationKind(
        "cluster.rotate_credentials", "Rotate credentials", (Step("Rotate credentials", rotate),)
    )
)


def _register_periodic() -> None:
    import mkportal.services.clusters.sync  # noqa: F401  (registers the tick hooks)


_register_periodic()
