"""Amazon EKS through boto3: clusters, managed node groups and EKS add-ons.

A node pool is one managed node group named `<pool>-<instance type>` and tagged with the
pool's name. A machine-type change creates the new group, and the old one is removed
once the new one is active. Deleting a cluster removes its node groups first; the
control plane goes when none is left. Both follow-ups happen while the cluster is
observed (`get_cluster`), which the operation steps call until the work is done.
"""

from __future__ import annotations

import re
from decimal import Decimal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

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
    name="eks",
    title="Amazon EKS",
    regions=("eu-central-1", "eu-central-2", "eu-west-1", "us-east-1"),
    versions=("1.32", "1.33", "1.34", "1.35"),
    machine_types=(
        MachineType("m6i.large", 2, 8, Decimal("0.115")),
        MachineType("m6i.xlarge", 4, 16, Decimal("0.230")),
        MachineType("m6i.2xlarge", 8, 32, Decimal("0.461")),
        MachineType("c6i.xlarge", 4, 8, Decimal("0.204")),
        MachineType("r6i.large", 2, 16, Decimal("0.151")),
    ),
)
POOL_TAG = "mkportal.io/pool"
AUTOSCALING_LABEL = "mkportal.io/autoscaling"
REPLACES_TAG = "mkportal.io/replaces"
DELETING_TAG = "mkportal.io/deleting"
CLUSTER_STATUS = {
    "CREATING": "creating",
    "PENDING": "creating",
    "ACTIVE": "running",
    "UPDATING": "updating",
    "DELETING": "deleting",
    "FAILED": "failed",
}
POOL_STATUS = {
    "CREATING": "creating",
    "ACTIVE": "ready",
    "UPDATING": "updating",
    "DELETING": "deleting",
    "CREATE_FAILED": "failed",
    "DELETE_FAILED": "failed",
    "DEGRADED": "failed",
}
# Answers of an EKS (or emulator) without the add-ons API: no add-ons to report.
NO_ADDONS = ("ResourceNotFoundException", "InvalidRequestException", "404")
THROTTLING = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
QUOTA = {"ResourceLimitExceededException", "ServiceQuotaExceededException", "LimitExceeded"}
PERMISSION = {"AccessDeniedException", "UnauthorizedOperation", "AccessDenied"}


def _error(exc: Exception) -> ProviderError:
    """Translate a botocore error into the provider contract's errors."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "") or code
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in THROTTLING or status == 429:
            return Throttled(f"AWS is throttling requests: {message}")
        if code in QUOTA:
            return QuotaExceeded(f"An AWS quota prevents this: {message}")
        if code in PERMISSION or status == 403:
            return PermissionDenied(f"The AWS credentials lack a permission: {message}")
        return ProviderError(f"AWS EKS error {code}: {message}")
    return ProviderError(f"AWS EKS is unreachable: {exc}")


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def group_name(pool: str, machine_type: str) -> str:
    """Return the node group name of a pool on a machine type."""
    return f"{pool}-{re.sub(r'[^a-z0-9]+', '-', machine_type.lower())}"[:63]


def _scaling(pool: PoolSpec) -> dict:
    if pool.autoscaling:
        return {
            "minSize": pool.min_count,
            "maxSize": max(pool.max_count, 1),
            "desiredSize": pool.count,
        }
    return {"minSize": pool.count, "maxSize": max(pool.count, 1), "desiredSize": pool.count}


class EksProvider:
    """The EKS adapter."""

    name = "eks"

    def __init__(self, settings: object) -> None:
        self.settings = settings
        self.client = boto3.client(
            "eks",
            region_name=settings.eks_region,
            endpoint_url=settings.eks_endpoint_url or None,
            aws_access_key_id=settings.eks_access_key_id or None,
            aws_secret_access_key=settings.eks_secret_access_key or None,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5),
        )

    def _call(self, method: str, **kwargs) -> dict:
        try:
            return getattr(self.client, method)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc) from exc

    def _try(self, method: str, ignore: tuple[str, ...], **kwargs) -> dict | None:
        """Call, returning None on the listed error codes (already exists / already gone)."""
        try:
            return getattr(self.client, method)(**kwargs)
        except ClientError as exc:
            if _code(exc) in ignore:
                return None
            raise _error(exc) from exc
        except BotoCoreError as exc:
            raise _error(exc) from exc

    def catalog(self) -> ProviderCatalog:
        """Return EKS regions, versions and instance types."""
        return CATALOG

    def create_cluster(self, spec: ClusterSpec, token: str) -> str:
        """Create the control plane; the name is derived from the portal's cluster id."""
        name = f"mk-{spec.name}-{spec.cluster_id[:8]}"[:100]
        self._try(
            "create_cluster",
            ("ResourceInUseException",),
            name=name,
            version=spec.version,
            roleArn=self.settings.eks_cluster_role_arn,
            resourcesVpcConfig={"subnetIds": list(self.settings.eks_subnet_ids)},
            kubernetesNetworkConfig={
                "serviceIpv4Cidr": spec.network.get("service_cidr", "10.100.0.0/16")
            },
            tags={"mkportal.io/cluster-id": spec.cluster_id},
            clientRequestToken=token[:64],
        )
        return name

    def _groups(self, ref: str) -> list[dict]:
        names = self._call("list_nodegroups", clusterName=ref).get("nodegroups", [])
        groups = []
        for n in names:
            found = self._try(
                "describe_nodegroup",
                ("ResourceNotFoundException",),
                clusterName=ref,
                nodegroupName=n,
            )
            if found:
                groups.append(found["nodegroup"])
        return groups

    @staticmethod
    def _pool_of(group: dict) -> str:
        return group.get("tags", {}).get(POOL_TAG) or group["nodegroupName"].rsplit("-", 1)[0]

    def _pool(self, name: str, groups: list[dict]) -> ObservedPool:
        newest = max(groups, key=lambda g: str(g.get("createdAt", "")))
        scaling = newest.get("scalingConfig", {})
        status = POOL_STATUS.get(newest.get("status", ""), "updating")
        if len(groups) > 1 and status == "ready":
            status = "updating"
        return ObservedPool(
            name=name,
            machine_type=(newest.get("instanceTypes") or [""])[0],
            count=scaling.get("desiredSize", 0),
            ready=scaling.get("desiredSize", 0) if newest.get("status") == "ACTIVE" else 0,
            status=status,
            autoscaling=(newest.get("labels") or {}).get(AUTOSCALING_LABEL) == "true",
            min_count=scaling.get("minSize", 0),
            max_count=scaling.get("maxSize", 0),
            message=(newest.get("health", {}).get("issues") or [{}])[0].get("message", ""),
        )

    def get_cluster(self, ref: str) -> ObservedCluster:
        """Describe the cluster and its node groups, and finish replacements and deletion."""
        found = self._try("describe_cluster", ("ResourceNotFoundException",), name=ref)
        if found is None:
            return ObservedCluster(ref=ref, status="deleted")
        cluster = found["cluster"]
        groups = self._groups(ref)
        self._finish_replacements(ref, groups)
        if cluster.get("tags", {}).get(DELETING_TAG) == "true":
            if not groups:
                self._try(
                    "delete_cluster",
                    ("ResourceNotFoundException", "ResourceInUseException"),
                    name=ref,
                )
            return ObservedCluster(ref=ref, status="deleting")
        by_pool: dict[str, list[dict]] = {}
        for g in groups:
            if g.get("status") != "DELETING":
                by_pool.setdefault(self._pool_of(g), []).append(g)
        addons = self._try("list_addons", NO_ADDONS, clusterName=ref)
        features = {
            slug: "ready"
            for slug, f in FEATURES_BY_SLUG.items()
            if f.addons.get("eks") in set((addons or {}).get("addons", []))
        }
        return ObservedCluster(
            ref=ref,
            status=CLUSTER_STATUS.get(cluster.get("status", ""), "updating"),
            version=cluster.get("version", ""),
            endpoint=cluster.get("endpoint", ""),
            pools=[self._pool(name, gs) for name, gs in sorted(by_pool.items())],
            features=features,
        )

    def _finish_replacements(self, ref: str, groups: list[dict]) -> None:
        by_name = {g["nodegroupName"]: g for g in groups}
        for g in groups:
            old = g.get("tags", {}).get(REPLACES_TAG)
            if (
                g.get("status") == "ACTIVE"
                and old in by_name
                and by_name[old].get("status") != "DELETING"
            ):
                self._try(
                    "delete_nodegroup",
                    ("ResourceNotFoundException",),
                    clusterName=ref,
                    nodegroupName=old,
                )

    def create_node_pool(self, ref: str, pool: PoolSpec, token: str, replaces: str = "") -> None:
        """Create the pool's node group (a no-op when it exists)."""
        tags = {POOL_TAG: pool.name}
        if replaces:
            tags[REPLACES_TAG] = replaces
        self._try(
            "create_nodegroup",
            ("ResourceInUseException",),
            clusterName=ref,
            nodegroupName=group_name(pool.name, pool.machine_type),
            scalingConfig=_scaling(pool),
            instanceTypes=[pool.machine_type],
            subnets=list(self.settings.eks_subnet_ids),
            nodeRole=self.settings.eks_node_role_arn,
            labels={POOL_TAG: pool.name, AUTOSCALING_LABEL: str(pool.autoscaling).lower()},
            tags=tags,
            clientRequestToken=token[:64],
        )

    def update_node_pool(self, ref: str, pool: PoolSpec) -> None:
        """Resize (scalingConfig), or replace the node group for a new instance type."""
        groups = [
            g
            for g in self._groups(ref)
            if self._pool_of(g) == pool.name and g.get("status") != "DELETING"
        ]
        wanted = group_name(pool.name, pool.machine_type)
        current = next((g for g in groups if g["nodegroupName"] == wanted), None)
        if current is None:
            old = groups[0]["nodegroupName"] if groups else ""
            self.create_node_pool(ref, pool, f"replace-{wanted}", replaces=old)
            return
        self._call(
            "update_nodegroup_config",
            clusterName=ref,
            nodegroupName=wanted,
            scalingConfig=_scaling(pool),
            labels={"addOrUpdateLabels": {AUTOSCALING_LABEL: str(pool.autoscaling).lower()}},
        )

    def delete_node_pool(self, ref: str, name: str) -> None:
        """Delete every node group of the pool (a no-op when they are gone)."""
        for g in self._groups(ref):
            if self._pool_of(g) == name:
                self._try(
                    "delete_nodegroup",
                    ("ResourceNotFoundException",),
                    clusterName=ref,
                    nodegroupName=g["nodegroupName"],
                )

    def set_features(self, ref: str, features: list[str]) -> None:
        """Install exactly the EKS add-ons the features need."""
        wanted = {
            FEATURES_BY_SLUG[f].addons["eks"]
            for f in features
            if "eks" in FEATURES_BY_SLUG[f].addons
        }
        managed = {f.addons["eks"] for f in FEATURES_BY_SLUG.values() if "eks" in f.addons}
        listed = self._try("list_addons", () if wanted else NO_ADDONS, clusterName=ref)
        present = set((listed or {}).get("addons", []))
        for addon in sorted(wanted - present):
            self._try("create_addon", ("ResourceInUseException",), clusterName=ref, addonName=addon)
        for addon in sorted((present & managed) - wanted):
            self._try(
                "delete_addon", ("ResourceNotFoundException",), clusterName=ref, addonName=addon
            )

    def delete_cluster(self, ref: str) -> None:
        """Mark the cluster for deletion and remove its node groups (then the control plane)."""
        found = self._try("describe_cluster", ("ResourceNotFoundException",), name=ref)
        if found is None:
            return
        self._try(
            "tag_resource",
            ("ResourceNotFoundException",),
            resourceArn=found["cluster"]["arn"],
            tags={DELETING_TAG: "true"},
        )
        groups = self._groups(ref)
        for g in groups:
            self._try(
                "delete_nodegroup",
                ("ResourceNotFoundException",),
                clusterName=ref,
                nodegroupName=g["nodegroupName"],
            )
        if not self._groups(ref):
            self._try(
                "delete_cluster", ("ResourceNotFoundException", "ResourceInUseException"), name=ref
            )

    def credentials(self, ref: str, rotate: bool = False) -> Credentials:
        """Return the endpoint and CA; kubectl gets short-lived tokens from `aws eks get-token`.

        EKS tokens are minted per call from IAM, so rotation has nothing to replace.
        """
        cluster = self._call("describe_cluster", name=ref)["cluster"]
        return Credentials(
            endpoint=cluster.get("endpoint", ""),
            ca_data=cluster.get("certificateAuthority", {}).get("data", ""),
            secret=ref,
            kind="exec-eks",
        )
