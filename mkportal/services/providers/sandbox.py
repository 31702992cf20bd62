"""The sandbox: a simulated cloud inside the portal (the embedded default provider).

State lives in the portal database (`models/sandbox.py`) so every process sees the same
cloud. Time is simulated lazily: each read advances control planes, pools and nodes whose
delays have passed. Delays and failure injection come from the settings
(`SANDBOX_CLUSTER_DELAY`, `SANDBOX_NODE_DELAY`, `SANDBOX_FAIL`).
"""

from __future__ import annotations

import math
import secrets
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session, delete, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.sandbox import SandboxCluster, SandboxNode, SandboxObject, SandboxPool
from mkportal.services.providers.base import (
    ClusterSpec,
    Credentials,
    MachineType,
    ObservedCluster,
    ObservedNode,
    ObservedPool,
    PermissionDenied,
    PoolSpec,
    ProviderCatalog,
    ProviderError,
    QuotaExceeded,
    Throttled,
)
from mkportal.services.sandbox_tls import ca_data
from mkportal.services.secrets import decrypt, encrypt
from mkportal.settings import get_settings

CATALOG = ProviderCatalog(
    name="sandbox",
    title="Sandbox (simulated cloud)",
    regions=("ch-gva-2", "ch-dk-2", "de-fra-1", "at-vie-1"),
    versions=("1.33", "1.34", "1.35", "1.36"),
    machine_types=(
        MachineType("s-2", 2, 4, Decimal("0.045")),
        MachineType("s-4", 4, 8, Decimal("0.090")),
        MachineType("m-4", 4, 16, Decimal("0.120")),
        MachineType("m-8", 8, 32, Decimal("0.240")),
        MachineType("c-16", 16, 32, Decimal("0.400")),
    ),
)

_calls: Counter = Counter()


def _inject(action: str) -> None:
    """Raise the failure configured for `action` in SANDBOX_FAIL, if any."""
    for item in filter(None, (p.strip() for p in get_settings().sandbox_fail.split(","))):
        name, _, kind = item.partition(":")
        if name != action:
            continue
        _calls[action] += 1
        if kind == "quota":
            raise QuotaExceeded(
                f"Quota exceeded in the sandbox while trying to {action} (injected)."
            )
        if kind == "permission":
            raise PermissionDenied(f"The sandbox credentials may not {action} (injected).")
        if kind == "throttle" and _calls[action] % 2 == 1:
            raise Throttled(f"The sandbox API is throttling {action} (injected); retry later.")


def _node_name(cluster: str, pool: str) -> str:
    return f"{cluster}-{pool}-{secrets.token_hex(3)}"


class SandboxProvider:
    """The simulated cloud."""

    name = "sandbox"
    addons: dict[str, str] = {}

    def __init__(self, settings: object = None) -> None:
        self.settings = settings

    def catalog(self) -> ProviderCatalog:
        """Return the sandbox's regions, versions and machine types."""
        return CATALOG

    def create_cluster(self, spec: ClusterSpec, token: str) -> str:
        """Create a control plane, or return the one created with the same token."""
        _inject("create_cluster")
        with session_scope() as s:
            existing = s.exec(
                select(SandboxCluster).where(SandboxCluster.request_token == token)
            ).first()
            if existing:
                return existing.ref
            cluster = SandboxCluster(
                request_token=token,
                name=spec.name,
                region=spec.region,
                version=spec.version,
                network=spec.network,
                ready_at=utcnow() + timedelta(seconds=get_settings().sandbox_cluster_delay),
                token_enc=encrypt("sbx_" + secrets.token_urlsafe(32)),
            )
            s.add(cluster)
            return cluster.ref

    def _cluster(self, s: Session, ref: str) -> SandboxCluster:
        cluster = s.get(SandboxCluster, ref)
        if cluster is None:
            raise ProviderError(f"No sandbox cluster {ref}.")
        return cluster

    def get_cluster(self, ref: str) -> ObservedCluster:
        """Advance the simulation and return what the cloud shows now."""
        now = utcnow()
        with session_scope() as s:
            cluster = s.get(SandboxCluster, ref)
            if cluster is None or cluster.status == "deleted":
                return ObservedCluster(ref=ref, status="deleted")
            if cluster.delete_at and cluster.delete_at <= now:
                self._purge(s, ref)
                cluster.status = "deleted"
                s.add(cluster)
                return ObservedCluster(ref=ref, status="deleted")
            if cluster.status == "creating" and cluster.ready_at <= now:
                cluster.status = "running"
                s.add(cluster)
            nodes = s.exec(select(SandboxNode).where(SandboxNode.ref == ref)).all()
            for node in nodes:
                if node.delete_at and node.delete_at <= now:
                    s.delete(node)
                elif node.status == "provisioning" and node.ready_at <= now:
                    node.status = "ready"
                    s.add(node)
            s.flush()
            nodes = s.exec(
                select(SandboxNode).where(SandboxNode.ref == ref).order_by(SandboxNode.created_at)
            ).all()
            pools = []
            for pool in s.exec(select(SandboxPool).where(SandboxPool.ref == ref)).all():
                if not pool.delete_at and cluster.status == "running":
                    self._reconcile_nodes(s, cluster, pool)
            s.flush()
            nodes = s.exec(
                select(SandboxNode).where(SandboxNode.ref == ref).order_by(SandboxNode.created_at)
            ).all()
            for pool in s.exec(select(SandboxPool).where(SandboxPool.ref == ref)).all():
                mine = [n for n in nodes if n.pool == pool.name]
                if pool.delete_at and not mine:
                    s.delete(pool)
                    continue
                ready = sum(n.status == "ready" for n in mine)
                live = [n for n in mine if n.delete_at is None]
                if pool.delete_at:
                    pool.status = "deleting"
                elif (
                    ready == pool.count
                    and len(mine) == pool.count
                    and all(n.machine_type == pool.machine_type for n in mine)
                ):
                    pool.status = "ready"
                elif pool.status != "creating":
                    pool.status = "updating"
                s.add(pool)
                pools.append(
                    ObservedPool(
                        pool.name,
                        pool.machine_type,
                        len(live),
                        ready,
                        pool.status,
                        pool.autoscaling,
                        pool.min_count,
                        pool.max_count,
                        pool.message,
                    )
                )
            return ObservedCluster(
                ref=ref,
                status="deleting" if cluster.delete_at else cluster.status,
                version=cluster.version if cluster.status == "running" else "",
                endpoint=self.endpoint(ref),
                pools=pools,
                nodes=[
                    ObservedNode(
                        n.name,
                        n.pool,
                        n.machine_type,
                        "draining"
                        if n.status == "draining"
                        else ("deleting" if n.delete_at else n.status),
                    )
                    for n in nodes
                ],
                features=dict(cluster.features),
            )

    @staticmethod
    def endpoint(ref: str) -> str:
        """Return the Kubernetes API URL the portal serves for this sandbox cluster."""
        return f"{get_settings().sandbox_api_url.rstrip('/')}/sandbox/k8s/{ref}"

    def create_node_pool(self, ref: str, pool: PoolSpec, token: str) -> None:
        """Create a pool with its nodes (a no-op when it exists)."""
        _inject("create_node_pool")
        with session_scope() as s:
            cluster = self._cluster(s, ref)
            exists = s.exec(
                select(SandboxPool).where(SandboxPool.ref == ref, SandboxPool.name == pool.name)
            ).first()
            if exists:
                return
            s.add(
                SandboxPool(
                    ref=ref,
                    name=pool.name,
                    machine_type=pool.machine_type,
                    count=pool.count,
                    autoscaling=pool.autoscaling,
                    min_count=pool.min_count,
                    max_count=pool.max_count,
                )
            )
            self._add_nodes(s, cluster, pool.name, pool.machine_type, pool.count)

    def _add_nodes(
        self, s: Session, cluster: SandboxCluster, pool: str, machine: str, count: int
    ) -> None:
        ready_at = utcnow() + timedelta(seconds=get_settings().sandbox_node_delay)
        for _ in range(count):
            s.add(
                SandboxNode(
                    ref=cluster.ref,
                    pool=pool,
                    name=_node_name(cluster.name, pool),
                    machine_type=machine,
                    ready_at=ready_at,
                )
            )

    def update_node_pool(self, ref: str, pool: PoolSpec) -> None:
        """Set a pool's count, machine type (rolled node by node) and autoscaling bounds."""
        _inject("update_node_pool")
        with session_scope() as s:
            cluster = self._cluster(s, ref)
            row = s.exec(
                select(SandboxPool).where(SandboxPool.ref == ref, SandboxPool.name == pool.name)
            ).first()
            if row is None:
                raise ProviderError(f"No node pool {pool.name} in sandbox cluster {ref}.")
            row.count, row.machine_type = pool.count, pool.machine_type
            row.autoscaling, row.min_count, row.max_count = (
                pool.autoscaling,
                pool.min_count,
                pool.max_count,
            )
            s.add(row)
            self._reconcile_nodes(s, cluster, row)

    def _reconcile_nodes(self, s: Session, cluster: SandboxCluster, pool: SandboxPool) -> None:
        """Move a pool's nodes toward its count and machine type, one surge node at a time."""
        live = list(
            s.exec(
                select(SandboxNode)
                .where(
                    SandboxNode.ref == cluster.ref,
                    SandboxNode.pool == pool.name,
                    SandboxNode.delete_at.is_(None),
                )
                .order_by(SandboxNode.created_at)
            )
        )
        gone = utcnow() + timedelta(seconds=get_settings().sandbox_node_delay / 2)
        old = [n for n in live if n.machine_type != pool.machine_type]
        new = [n for n in live if n.machine_type == pool.machine_type]
        if old:
            if not any(n.status == "provisioning" for n in new) and len(new) < pool.count:
                self._add_nodes(s, cluster, pool.name, pool.machine_type, 1)
            ready_new = sum(n.status == "ready" for n in new)
            if ready_new + len(old) > pool.count or not pool.count:
                old[0].delete_at = gone
                old[0].status = "draining"
                s.add(old[0])
                pool.message = f"Replacing nodes: {old[0].name} drained for a {pool.machine_type}."
                s.add(pool)
            return
        if pool.message.startswith("Replacing nodes"):
            pool.message = f"All nodes replaced with {pool.machine_type}."
            s.add(pool)
        if len(live) < pool.count:
            self._add_nodes(s, cluster, pool.name, pool.machine_type, pool.count - len(live))
        for node in sorted(live, key=lambda n: n.created_at, reverse=True)[
            : max(0, len(live) - pool.count)
        ]:
            node.delete_at = gone
            s.add(node)

    def delete_node_pool(self, ref: str, name: str) -> None:
        """Start removing a pool and its nodes (a no-op when it is gone)."""
        _inject("delete_node_pool")
        gone = utcnow() + timedelta(seconds=get_settings().sandbox_node_delay / 2)
        with session_scope() as s:
            row = s.exec(
                select(SandboxPool).where(SandboxPool.ref == ref, SandboxPool.name == name)
            ).first()
            if row is None or row.delete_at:
                return
            row.delete_at = gone
            s.add(row)
            for node in s.exec(
                select(SandboxNode).where(SandboxNode.ref == ref, SandboxNode.pool == name)
            ):
                node.delete_at = node.delete_at or gone
                s.add(node)

    def set_features(self, ref: str, features: list[str]) -> None:
        """Record add-ons; the sandbox has none, so every feature is applied in-cluster."""
        with session_scope() as s:
            cluster = self._cluster(s, ref)
            cluster.features = {f: "ready" for f in features if f in self.addons}
            s.add(cluster)

    def delete_cluster(self, ref: str) -> None:
        """Start deleting the cluster (a no-op when already deleting or gone)."""
        _inject("delete_cluster")
        with session_scope() as s:
            cluster = s.get(SandboxCluster, ref)
            if cluster is None or cluster.delete_at or cluster.status == "deleted":
                return
            cluster.delete_at = utcnow() + timedelta(
                seconds=get_settings().sandbox_cluster_delay / 2
            )
            s.add(cluster)

    def _purge(self, s: Session, ref: str) -> None:
        for model in (SandboxNode, SandboxPool, SandboxObject):
            s.exec(delete(model).where(model.ref == ref))

    def credentials(self, ref: str, rotate: bool = False) -> Credentials:
        """Return the cluster's API token; `rotate` replaces it, invalidating the old one."""
        with session_scope() as s:
            cluster = self._cluster(s, ref)
            if rotate:
                cluster.token_enc = encrypt("sbx_" + secrets.token_urlsafe(32))
                s.add(cluster)
            return Credentials(
                endpoint=self.endpoint(ref),
                ca_data=ca_data(),
                secret=decrypt(cluster.token_enc),
                kind="token",
            )


def token_matches(ref: str, token: str) -> bool:
    """Whether `token` is the current API token of sandbox cluster `ref` (for its API endpoint)."""
    with session_scope() as s:
        cluster = s.get(SandboxCluster, ref)
        if cluster is None or cluster.status == "deleted" or not cluster.token_enc:
            return False
        return secrets.compare_digest(decrypt(cluster.token_enc), token or "")


TARGET_UTILISATION = 0.7


def simulated_demand(ref: str, pool: SandboxPool, at: float) -> float:
    """Return the simulated CPU demand (in vCPUs) of a pool at unix time `at`.

    A daily-ish wave (period one hour, so that it is visible in a demo) with a phase per
    pool, between 25 % and 95 % of the pool's maximum capacity.
    """
    machine = CATALOG.machine(pool.machine_type)
    vcpu = machine.vcpu if machine else 2
    phase = (int(ref[:8], 16) % 360) / 360 * 2 * math.pi
    wave = 0.6 + 0.35 * math.sin(2 * math.pi * at / 3600 + phase)
    return wave * max(pool.max_count, 1) * vcpu


def autoscale(at: float | None = None) -> list[str]:
    """Scale autoscaling sandbox pools to the simulated load, within their bounds.

    Returns:
        One message per pool that changed ("why it scaled").
    """
    at = time.time() if at is None else at
    changed = []
    with session_scope() as s:
        rows = s.exec(
            select(SandboxPool, SandboxCluster)
            .join(SandboxCluster, SandboxCluster.ref == SandboxPool.ref)
            .where(
                SandboxPool.autoscaling,
                SandboxCluster.status == "running",
                SandboxPool.delete_at.is_(None),
                SandboxCluster.delete_at.is_(None),
            )
        ).all()
        for pool, cluster in rows:
            machine = CATALOG.machine(pool.machine_type)
            vcpu = machine.vcpu if machine else 2
            demand = simulated_demand(cluster.ref, pool, at)
            wanted = math.ceil(demand / (vcpu * TARGET_UTILISATION))
            wanted = max(pool.min_count, min(pool.max_count, wanted))
            if wanted == pool.count:
                continue
            utilisation = demand / max(1, pool.count * vcpu) * 100
            verb = "up" if wanted > pool.count else "down"
            pool.message = (
                f"Scaled {verb} {pool.count} -> {wanted} nodes at "
                f"{time.strftime('%H:%M', time.gmtime(at))} UTC: CPU demand {demand:.1f} vCPU "
                f"({utilisation:.0f} % of {pool.count} nodes, target {TARGET_UTILISATION:.0%}), "
                f"bounds {pool.min_count}-{pool.max_count}."
            )
            pool.count = wanted
            s.add(pool)
            SandboxProvider()._reconcile_nodes(s, cluster, pool)
            changed.append(f"{cluster.name}/{pool.name}: {pool.message}")
    return changed
