"""Azure AKS through azure-mgmt-containerservice: managed clusters and agent pools.

Long-running operations are started (`begin_*` with `polling=False`) and never waited
on; `get_cluster` observes `provisioningState`. Agent pool names must be short and
alphanumeric, so each is derived from the pool name and VM size and tagged with the
portal's pool name; a VM size change creates the new pool and removes the old one once
the new one has succeeded. Autoscaling is AKS's own (`enableAutoScaling`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from decimal import Decimal

import yaml
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.mgmt.containerservice import ContainerServiceClient

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
    name="aks",
    title="Azure AKS",
    regions=("switzerlandnorth", "westeurope", "germanywestcentral", "eastus"),
    versions=("1.32", "1.33", "1.34", "1.35"),
    machine_types=(
        MachineType("Standard_D2s_v5", 2, 8, Decimal("0.110")),
        MachineType("Standard_D4s_v5", 4, 16, Decimal("0.220")),
        MachineType("Standard_D8s_v5", 8, 32, Decimal("0.440")),
        MachineType("Standard_E4s_v5", 4, 32, Decimal("0.290")),
        MachineType("Standard_F4s_v2", 4, 8, Decimal("0.194")),
    ),
)
POOL_TAG = "mkportal-pool"
REPLACES_TAG = "mkportal-replaces"
STATE = {
    "Creating": "creating",
    "Succeeded": "running",
    "Updating": "updating",
    "Upgrading": "updating",
    "Scaling": "updating",
    "Deleting": "deleting",
    "Failed": "failed",
    "Canceled": "failed",
}
POOL_STATE = {**STATE, "Succeeded": "ready"}


class _StaticToken:
    """A credential for AKS-compatible endpoints that take any token (local fakes)."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("mkportal-local", int(time.time()) + 3600)


def _error(exc: Exception) -> ProviderError:
    """Translate an azure-core error into the provider contract's errors."""
    if isinstance(exc, ServiceRequestError):
        return ProviderError(f"Azure is unreachable: {exc}")
    status = getattr(exc, "status_code", None)
    code = getattr(getattr(exc, "error", None), "code", "") or ""
    message = getattr(getattr(exc, "error", None), "message", "") or str(exc)
    if status == 429 or code == "TooManyRequests":
        return Throttled(f"Azure is throttling requests: {message}")
    if "quota" in code.lower() or "quota" in message.lower():
        return QuotaExceeded(f"An Azure quota prevents this: {message}")
    if status == 403 or code in ("AuthorizationFailed", "LinkedAuthorizationFailed"):
        return PermissionDenied(f"The Azure credentials lack a permission: {message}")
    return ProviderError(f"Azure AKS error {code or status}: {message}")


def agent_pool_name(pool: str, vm_size: str) -> str:
    """Return an AKS agent pool name (lowercase alphanumeric, at most 12) for a pool and size."""
    stem = re.sub(r"[^a-z0-9]", "", pool.lower()) or "pool"
    if not stem[0].isalpha():
        stem = "p" + stem
    return stem[:8] + hashlib.sha256(vm_size.encode()).hexdigest()[:4]


def _pool_body(pool: PoolSpec, mode: str, replaces: str = "") -> dict:
    tags = {POOL_TAG: pool.name, **({REPLACES_TAG: replaces} if replaces else {})}
    props = {
        "count": pool.count,
        "vmSize": pool.machine_type,
        "mode": mode,
        "osType": "Linux",
        "type": "VirtualMachineScaleSets",
        "enableAutoScaling": pool.autoscaling,
        "tags": tags,
        "nodeLabels": {"mkportal.io/pool": pool.name},
    }
    if pool.autoscaling:
        props.update({"minCount": pool.min_count, "maxCount": pool.max_count})
    return props


class AksProvider:
    """The AKS adapter."""

    name = "aks"

    def __init__(self, settings: object) -> None:
        self.settings = settings
        self.rg = settings.aks_resource_group
        if settings.aks_tenant_id and settings.aks_client_id:
            from azure.identity import ClientSecretCredential

            credential = ClientSecretCredential(
                settings.aks_tenant_id, settings.aks_client_id, settings.aks_client_secret
            )
        else:
            credential = _StaticToken()
        kwargs = {"base_url": settings.aks_endpoint} if settings.aks_endpoint else {}
        # Retries belong to the operation engine (with backoff, and visible in the log).
        self.client = ContainerServiceClient(
            credential,
            settings.aks_subscription_id or "00000000-0000-0000-0000-000000000000",
            retry_total=0,
            **kwargs,
        )
        self.plain_http = (settings.aks_endpoint or "").startswith("http://")

    def _call(self, fn, *args, missing_ok: bool = False, **kwargs):  # noqa: ANN001, ANN202
        if self.plain_http:
            kwargs["enforce_https"] = False
        try:
            return fn(*args, **kwargs)
        except ResourceNotFoundError:
            if missing_ok:
                return None
            raise ProviderError("The AKS resource was not found.") from None
        except (HttpResponseError, ServiceRequestError) as exc:
            raise _error(exc) from exc

    def catalog(self) -> ProviderCatalog:
        """Return AKS regions, versions and VM sizes."""
        return CATALOG

    def create_cluster(self, spec: ClusterSpec, token: str) -> str:
        """Create the managed cluster with its first pool as the system pool."""
        name = f"mk-{spec.name}-{spec.cluster_id[:8]}"[:63]
        mc = self.client.managed_clusters
        if self._call(mc.get, self.rg, name, missing_ok=True) is not None:
            return name
        first = spec.pools[0]
        body = {
            "location": spec.region,
            "tags": {"mkportal-cluster-id": spec.cluster_id},
            "identity": {"type": "SystemAssigned"},
            "properties": {
                "kubernetesVersion": spec.version,
                "dnsPrefix": name,
                "agentPoolProfiles": [
                    {
                        "name": agent_pool_name(first.name, first.machine_type),
                        **_pool_body(first, "System"),
                    }
                ],
                "networkProfile": {
                    "networkPlugin": "azure",
                    "networkPluginMode": "overlay",
                    "networkPolicy": "cilium" if spec.network.get("cni") == "cilium" else "calico",
                    "networkDataplane": "cilium"
                    if spec.network.get("cni") == "cilium"
                    else "azure",
                    "podCidr": spec.network.get("pod_cidr", "10.244.0.0/16"),
                    "serviceCidr": spec.network.get("service_cidr", "10.96.0.0/16"),
                    "dnsServiceIP": self._dns_ip(spec.network.get("service_cidr", "10.96.0.0/16")),
                },
            },
        }
        self._call(mc.begin_create_or_update, self.rg, name, body, polling=False)
        return name

    @staticmethod
    def _dns_ip(cidr: str) -> str:
        import ipaddress

        return str(ipaddress.ip_network(cidr)[10])

    def _pools(self, ref: str) -> list[dict]:
        listed = self._call(self.client.agent_pools.list, self.rg, ref, missing_ok=True)
        return [p.as_dict() for p in listed] if listed is not None else []

    @staticmethod
    def _pool_of(p: dict) -> str:
        return (p["properties"].get("tags") or {}).get(POOL_TAG) or p["name"]

    def get_cluster(self, ref: str) -> ObservedCluster:
        """Observe the cluster and its agent pools; finish pool replacements."""
        found = self._call(self.client.managed_clusters.get, self.rg, ref, missing_ok=True)
        if found is None:
            return ObservedCluster(ref=ref, status="deleted")
        props = found.as_dict()["properties"]
        pools = self._pools(ref)
        self._finish_replacements(ref, pools)
        grouped: dict[str, list[dict]] = {}
        for p in pools:
            if p["properties"].get("provisioningState") != "Deleting":
                grouped.setdefault(self._pool_of(p), []).append(p)
        observed = []
        for name, group in sorted(grouped.items()):
            newest = group[-1]
            pp = newest["properties"]
            state = POOL_STATE.get(pp.get("provisioningState", ""), "updating")
            observed.append(
                ObservedPool(
                    name=name,
                    machine_type=pp.get("vmSize", ""),
                    count=pp.get("count", 0),
                    ready=pp.get("count", 0) if state == "ready" else 0,
                    status="updating" if len(group) > 1 and state == "ready" else state,
                    autoscaling=bool(pp.get("enableAutoScaling")),
                    min_count=pp.get("minCount") or 0,
                    max_count=pp.get("maxCount") or 0,
                )
            )
        file_csi = (props.get("storageProfile") or {}).get("fileCSIDriver") or {}
        features = {"rwx-storage": "ready"} if file_csi.get("enabled") else {}
        return ObservedCluster(
            ref=ref,
            status=STATE.get(props.get("provisioningState", ""), "updating"),
            version=props.get("currentKubernetesVersion", props.get("kubernetesVersion", "")),
            endpoint=f"https://{props.get('fqdn', '')}:443",
            pools=observed,
            features=features,
        )

    def _finish_replacements(self, ref: str, pools: list[dict]) -> None:
        names = {p["name"]: p for p in pools}
        for p in pools:
            old = (p["properties"].get("tags") or {}).get(REPLACES_TAG)
            done = p["properties"].get("provisioningState") == "Succeeded"
            if (
                done
                and old in names
                and names[old]["properties"].get("provisioningState") != "Deleting"
            ):
                self._call(
                    self.client.agent_pools.begin_delete,
                    self.rg,
                    ref,
                    old,
                    polling=False,
                    missing_ok=True,
                )

    def create_node_pool(self, ref: str, pool: PoolSpec, token: str, replaces: str = "") -> None:
        """Create an agent pool (a no-op when it exists)."""
        name = agent_pool_name(pool.name, pool.machine_type)
        if self._call(self.client.agent_pools.get, self.rg, ref, name, missing_ok=True) is not None:
            return
        body = {"properties": _pool_body(pool, "User", replaces)}
        self._call(
            self.client.agent_pools.begin_create_or_update, self.rg, ref, name, body, polling=False
        )

    def update_node_pool(self, ref: str, pool: PoolSpec) -> None:
        """Scale or set autoscaling in place; a new VM size gets a new agent pool."""
        mine = [p for p in self._pools(ref) if self._pool_of(p) == pool.name]
        wanted = agent_pool_name(pool.name, pool.machine_type)
        current = next((p for p in mine if p["name"] == wanted), None)
        if current is None:
            self.create_node_pool(ref, pool, "", replaces=mine[0]["name"] if mine else "")
            return
        body = {"properties": _pool_body(pool, current["properties"].get("mode", "User"))}
        self._call(
            self.client.agent_pools.begin_create_or_update,
            self.rg,
            ref,
            wanted,
            body,
            polling=False,
        )

    def delete_node_pool(self, ref: str, name: str) -> None:
        """Delete the pool's agent pools (a no-op when they are gone)."""
        for p in self._pools(ref):
            if self._pool_of(p) == name:
                self._call(
                    self.client.agent_pools.begin_delete,
                    self.rg,
                    ref,
                    p["name"],
                    polling=False,
                    missing_ok=True,
                )

    def set_features(self, ref: str, features: list[str]) -> None:
        """Switch the Azure Files CSI driver (RWX storage) on or off."""
        wanted = any(
            FEATURES_BY_SLUG[f].addons.get("aks") == "azureFileCSIDriver" for f in features
        )
        found = self._call(self.client.managed_clusters.get, self.rg, ref).as_dict()
        storage = found["properties"].setdefault("storageProfile", {})
        if bool((storage.get("fileCSIDriver") or {}).get("enabled")) == wanted:
            return
        storage["fileCSIDriver"] = {"enabled": wanted}
        found["properties"].pop("provisioningState", None)
        self._call(
            self.client.managed_clusters.begin_create_or_update, self.rg, ref, found, polling=False
        )

    def delete_cluster(self, ref: str) -> None:
        """Delete the managed cluster (a no-op when it is gone)."""
        self._call(
            self.client.managed_clusters.begin_delete, self.rg, ref, polling=False, missing_ok=True
        )

    def credentials(self, ref: str, rotate: bool = False) -> Credentials:
        """Return the admin kubeconfig's server, CA and user; `rotate` renews the certificates."""
        mc = self.client.managed_clusters
        if rotate:
            self._call(mc.begin_rotate_cluster_certificates, self.rg, ref, polling=False)
        result = self._call(mc.list_cluster_admin_credentials, self.rg, ref).as_dict()
        raw = result["kubeconfigs"][0]["value"]
        doc = yaml.safe_load(base64.b64decode(raw) if isinstance(raw, str) else bytes(raw))
        cluster = doc["clusters"][0]["cluster"]
        return Credentials(
            endpoint=cluster["server"],
            ca_data=cluster.get("certificate-authority-data", ""),
            secret=yaml.safe_dump(doc["users"][0]["user"]),
            kind="admin-aks",
        )
