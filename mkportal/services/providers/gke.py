"""Google GKE through google-cloud-container's ClusterManagerClient (REST transport).

The cluster is created with its node pools (GKE needs one at creation); pools are resized
with setSize, autoscaled with setAutoscaling (GKE's own node-pool autoscaler) and moved to
another machine type in place with UpdateNodePool. Long operations are not waited on:
the cluster's and pools' status is observed with `get_cluster`.
"""

from __future__ import annotations

from decimal import Decimal

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import container_v1 as gke

from mkportal.services.catalog import FEATURES_BY_SLUG
from mkportal.services.providers.base import (
    ClusterSpec,
    Credentials,
    MachineType,
    ObservedCluster,
    ObservedPool,
    PermissionDenied,
    PoolSpec,
    ProviderCatalog,
    ProviderError,
    QuotaExceeded,
    Throttled,
)

CATALOG = ProviderCatalog(
    name="gke",
    title="Google GKE",
    regions=("europe-west6", "europe-west3", "europe-west1", "us-central1"),
    versions=("1.32", "1.33", "1.34", "1.35"),
    machine_types=(
        MachineType("e2-standard-2", 2, 8, Decimal("0.081")),
        MachineType("e2-standard-4", 4, 16, Decimal("0.162")),
        MachineType("n2-standard-4", 4, 16, Decimal("0.235")),
        MachineType("n2-standard-8", 8, 32, Decimal("0.470")),
        MachineType("c3-standard-4", 4, 16, Decimal("0.252")),
    ),
)
CLUSTER_STATUS = {
    "PROVISIONING": "creating",
    "RUNNING": "running",
    "RECONCILING": "updating",
    "STOPPING": "deleting",
    "ERROR": "failed",
    "DEGRADED": "failed",
}
POOL_STATUS = {
    "PROVISIONING": "creating",
    "RUNNING": "ready",
    "RUNNING_WITH_ERROR": "failed",
    "RECONCILING": "updating",
    "STOPPING": "deleting",
    "ERROR": "failed",
}


def _status(exc: Exception) -> str:
    """Return the google.rpc status name of an HTTP error answer ("" when unknown)."""
    response = getattr(exc, "response", None)
    try:
        return response.json().get("error", {}).get("status", "")
    except Exception:  # noqa: BLE001 - no JSON body
        return ""


def _error(exc: Exception) -> ProviderError:
    """Translate a google.api_core error into the provider contract's errors."""
    message = getattr(exc, "message", "") or str(exc)
    if _status(exc) == "RESOURCE_EXHAUSTED" or "quota" in message.lower():
        return QuotaExceeded(f"A Google Cloud quota prevents this: {message}")
    if isinstance(exc, gexc.TooManyRequests):
        return Throttled(f"GKE is throttling requests: {message}")
    if isinstance(exc, gexc.ResourceExhausted):
        return QuotaExceeded(f"A Google Cloud quota prevents this: {message}")
    if isinstance(exc, gexc.PermissionDenied | gexc.Forbidden | gexc.Unauthenticated):
        return PermissionDenied(f"The GKE credentials lack a permission: {message}")
    if isinstance(exc, gexc.FailedPrecondition) or _status(exc) == "FAILED_PRECONDITION":
        return Throttled(f"GKE is busy with another operation: {message}")
    return ProviderError(f"GKE error: {message}")


def _autoscaling(pool: PoolSpec) -> gke.NodePoolAutoscaling:
    return gke.NodePoolAutoscaling(
        enabled=pool.autoscaling,
        min_node_count=pool.min_count if pool.autoscaling else 0,
        max_node_count=pool.max_count if pool.autoscaling else 0,
    )


def _node_pool(pool: PoolSpec) -> gke.NodePool:
    return gke.NodePool(
        name=pool.name,
        config=gke.NodeConfig(
            machine_type=pool.machine_type, labels={"mkportal.io/pool": pool.name}
        ),
        initial_node_count=pool.count,
        autoscaling=_autoscaling(pool),
    )


def _enum(value: object) -> str:
    return getattr(value, "name", str(value))


class GkeProvider:
    """The GKE adapter."""

    name = "gke"

    def __init__(self, settings: object) -> None:
        self.settings = settings
        if settings.gke_credentials_file:
            from google.oauth2 import service_account

            creds = service_account.Credentials.from_service_account_file(
                settings.gke_credentials_file,
                scopes=["https://www.googleapis.com/auth/cloud-platform"],
            )
        else:
            creds = AnonymousCredentials()
        options = (
            ClientOptions(api_endpoint=settings.gke_endpoint) if settings.gke_endpoint else None
        )
        self.client = gke.ClusterManagerClient(
            credentials=creds, transport="rest", client_options=options
        )

    def _call(self, method: str, ignore: tuple[type[Exception], ...] = (), **kwargs) -> object:
        try:
            return getattr(self.client, method)(**kwargs, timeout=30)
        except ignore:
            return None
        except gexc.GoogleAPICallError as exc:
            raise _error(exc) from exc
        except Exception as exc:  # noqa: BLE001 - transport errors (connection refused, ...)
            raise ProviderError(f"GKE is unreachable: {exc}") from exc

    def catalog(self) -> ProviderCatalog:
        """Return GKE regions, versions and machine types."""
        return CATALOG

    def create_cluster(self, spec: ClusterSpec, token: str) -> str:
        """Create the cluster with its node pools; a retry finds it already there."""
        name = f"mk-{spec.name}-{spec.cluster_id[:8]}"[:40]
        parent = f"projects/{self.settings.gke_project}/locations/{spec.region}"
        cluster = gke.Cluster(
            name=name,
            initial_cluster_version=spec.version,
            node_pools=[_node_pool(p) for p in spec.pools if p.count > 0]
            or [_node_pool(spec.pools[0])],
            ip_allocation_policy=gke.IPAllocationPolicy(
                use_ip_aliases=True,
                cluster_ipv4_cidr_block=spec.network.get("pod_cidr", ""),
                services_ipv4_cidr_block=spec.network.get("service_cidr", ""),
            ),
            resource_labels={"mkportal-cluster-id": spec.cluster_id},
        )
        self._call(
            "create_cluster", (gexc.AlreadyExists, gexc.Conflict), parent=parent, cluster=cluster
        )
        return f"{parent}/clusters/{name}"

    def get_cluster(self, ref: str) -> ObservedCluster:
        """Observe the cluster, its node pools and add-ons."""
        found = self._call("get_cluster", (gexc.NotFound,), name=ref)
        if found is None:
            return ObservedCluster(ref=ref, status="deleted")
        pools = [
            ObservedPool(
                name=p.name,
                machine_type=p.config.machine_type,
                count=p.initial_node_count,
                ready=p.initial_node_count if _enum(p.status) == "RUNNING" else 0,
                status=POOL_STATUS.get(_enum(p.status), "updating"),
                autoscaling=p.autoscaling.enabled,
                min_count=p.autoscaling.min_node_count,
                max_count=p.autoscaling.max_node_count,
                message=p.status_message,
            )
            for p in found.node_pools
            if _enum(p.status) != "STOPPING"
        ]
        addons = found.addons_config
        enabled = {
            "gcpFilestoreCsiDriver": addons.gcp_filestore_csi_driver_config.enabled,
            "networkPolicyConfig": not addons.network_policy_config.disabled
            and "network_policy_config" in addons,
        }
        features = {
            slug: "ready"
            for slug, f in FEATURES_BY_SLUG.items()
            if enabled.get(f.addons.get("gke", ""), False)
        }
        return ObservedCluster(
            ref=ref,
            status=CLUSTER_STATUS.get(_enum(found.status), "updating"),
            version=".".join(found.current_master_version.split(".")[:2]),
            endpoint=f"https://{found.endpoint}" if found.endpoint else "",
            pools=sorted(pools, key=lambda p: p.name),
            features=features,
            message=found.status_message,
        )

    def create_node_pool(self, ref: str, pool: PoolSpec, token: str) -> None:
        """Create a node pool (a no-op when it exists)."""
        self._call(
            "create_node_pool",
            (gexc.AlreadyExists, gexc.Conflict),
            parent=ref,
            node_pool=_node_pool(pool),
        )

    def update_node_pool(self, ref: str, pool: PoolSpec) -> None:
        """Change machine type (in place, rolling), autoscaling bounds and size."""
        name = f"{ref}/nodePools/{pool.name}"
        current = self._call("get_node_pool", name=name)
        if current.config.machine_type != pool.machine_type:
            self._call(
                "update_node_pool",
                request=gke.UpdateNodePoolRequest(
                    name=name,
                    node_version="-",
                    image_type="COS_CONTAINERD",
                    machine_type=pool.machine_type,
                ),
            )
        if (
            current.autoscaling.enabled,
            current.autoscaling.min_node_count,
            current.autoscaling.max_node_count,
        ) != (
            pool.autoscaling,
            pool.min_count if pool.autoscaling else 0,
            pool.max_count if pool.autoscaling else 0,
        ):
            self._call(
                "set_node_pool_autoscaling",
                request=gke.SetNodePoolAutoscalingRequest(
                    name=name, autoscaling=_autoscaling(pool)
                ),
            )
        if current.initial_node_count != pool.count:
            self._call(
                "set_node_pool_size",
                request=gke.SetNodePoolSizeRequest(name=name, node_count=pool.count),
            )

    def delete_node_pool(self, ref: str, name: str) -> None:
        """Delete a node pool (a no-op when it is gone)."""
        self._call("delete_node_pool", (gexc.NotFound,), name=f"{ref}/nodePools/{name}")

    def set_features(self, ref: str, features: list[str]) -> None:
        """Enable exactly the GKE add-ons the features need."""
        wanted = {FEATURES_BY_SLUG[f].addons.get("gke") for f in features} - {None}
        config = gke.AddonsConfig(
            gcp_filestore_csi_driver_config=gke.GcpFilestoreCsiDriverConfig(
                enabled="gcpFilestoreCsiDriver" in wanted
            ),
            network_policy_config=gke.NetworkPolicyConfig(
                disabled="networkPolicyConfig" not in wanted
            ),
        )
        self._call(
            "set_addons_config", request=gke.SetAddonsConfigRequest(name=ref, addons_config=config)
        )

    def delete_cluster(self, ref: str) -> None:
        """Delete the cluster with its node pools (a no-op when it is gone)."""
        self._call("delete_cluster", (gexc.NotFound,), name=ref)

    def credentials(self, ref: str, rotate: bool = False) -> Credentials:
        """Return the endpoint and CA; kubectl authenticates with gke-gcloud-auth-plugin.

        `rotate` starts GKE's credential rotation (new cluster CA and IP).
        """
        if rotate:
            self._call(
                "start_ip_rotation",
                request=gke.StartIPRotationRequest(name=ref, rotate_credentials=True),
            )
        found = self._call("get_cluster", name=ref)
        return Credentials(
            endpoint=f"https://{found.endpoint}",
            ca_data=found.master_auth.cluster_ca_certificate,
            secret=ref,
            kind="exec-gke",
        )
