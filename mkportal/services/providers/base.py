"""The provider contract: what every cloud adapter (sandbox, eks, gke, aks) implements.

Every method is idempotent and returns quickly. Creation methods take a `token` that the
adapter passes to the cloud as its client/request token, so that a retried step never
creates a second resource. Long cloud work is observed later with `get_cluster`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


class ProviderError(Exception):
    """Base for adapter errors; `message` is readable by the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Throttled(ProviderError):
    """The cloud asked us to slow down; retry later."""


class QuotaExceeded(ProviderError):
    """A quota or limit prevents the change; fails the operation."""


class PermissionDenied(ProviderError):
    """The credentials lack a permission; fails the operation."""


@dataclass(frozen=True)
class MachineType:
    """A node size offered by a provider."""

    name: str
    vcpu: int
    memory_gib: float
    hourly_price: Decimal


@dataclass(frozen=True)
class ProviderCatalog:
    """What a provider offers."""

    name: str
    title: str
    regions: tuple[str, ...]
    versions: tuple[str, ...]
    machine_types: tuple[MachineType, ...]
    max_nodes_per_pool: int = 100
    pod_cidr_prefix: tuple[int, int] = (8, 21)
    service_cidr_prefix: tuple[int, int] = (12, 24)
    cnis: tuple[str, ...] = ("cilium", "calico")

    def machine(self, name: str) -> MachineType | None:
        """Return the machine type `name`, if offered."""
        return next((m for m in self.machine_types if m.name == name), None)


@dataclass
class PoolSpec:
    """The desired state of a node pool."""

    name: str
    machine_type: str
    count: int
    autoscaling: bool = False
    min_count: int = 0
    max_count: int = 0


@dataclass
class ClusterSpec:
    """The desired state of a cluster as the provider needs it."""

    cluster_id: str
    name: str
    region: str
    version: str
    pools: list[PoolSpec]
    network: dict = field(default_factory=dict)
    features: list[str] = field(default_factory=list)


@dataclass
class ObservedNode:
    """A node as the provider reports it."""

    name: str
    pool: str
    machine_type: str
    status: str  # provisioning | ready | cordoned | draining | deleting


@dataclass
class ObservedPool:
    """A node pool as the provider reports it."""

    name: str
    machine_type: str
    count: int
    ready: int
    status: str  # creating | ready | updating | deleting
    autoscaling: bool = False
    min_count: int = 0
    max_count: int = 0
    message: str = ""


@dataclass
class ObservedCluster:
    """A cluster as the provider reports it."""

    ref: str
    status: str  # creating | running | updating | deleting | deleted | failed
    version: str = ""
    endpoint: str = ""
    pools: list[ObservedPool] = field(default_factory=list)
    nodes: list[ObservedNode] = field(default_factory=list)
    features: dict[str, str] = field(default_factory=dict)
    message: str = ""


@dataclass
class Credentials:
    """What a kubeconfig is built from. `secret` is encrypted before it is stored."""

    endpoint: str
    ca_data: str
    secret: str
    kind: str = "token"  # token | exec-eks | exec-gke | admin-aks


class ClusterProvider(Protocol):
    """The contract of a cloud adapter."""

    name: str

    def catalog(self) -> ProviderCatalog:
        """Return regions, versions and machine types."""

    def create_cluster(self, spec: ClusterSpec, token: str) -> str:
        """Start creating the control plane; return the provider's reference."""

    def get_cluster(self, ref: str) -> ObservedCluster:
        """Return the observed state (status 'deleted' once it is gone)."""

    def create_node_pool(self, ref: str, pool: PoolSpec, token: str) -> None:
        """Start creating a node pool (a no-op when it exists)."""

    def update_node_pool(self, ref: str, pool: PoolSpec) -> None:
        """Set a pool's count and autoscaling bounds."""

    def delete_node_pool(self, ref: str, name: str) -> None:
        """Start deleting a node pool (a no-op when it is gone)."""

    def set_features(self, ref: str, features: list[str]) -> None:
        """Enable exactly these provider add-ons (features without one are applied in-cluster)."""

    def delete_cluster(self, ref: str) -> None:
        """Start deleting the cluster (a no-op when it is gone)."""

    def credentials(self, ref: str, rotate: bool = False) -> Credentials:
        """Return (or, with `rotate`, replace) the credentials for a kubeconfig."""
