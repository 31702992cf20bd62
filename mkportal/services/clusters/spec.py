"""The cluster request and its validation against the catalog (422 with field paths)."""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mkportal.services.catalog import FEATURES_BY_SLUG, service_levels
from mkportal.services.errors import Invalid
from mkportal.services.providers.base import ProviderCatalog
from mkportal.services.providers.registry import get_provider, provider_names

NAME_RE = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
POOL_NAME_MAX = 20
DEFAULT_NETWORK = {"cni": "cilium", "pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/12"}
PRIVATE_NETS = [
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
]
NATIVE_AUTOSCALING = {"gke", "aks"}


class AutoscalingIn(BaseModel):
    """Autoscaling bounds of a pool."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    min: int = 0
    max: int = 0


class PoolIn(BaseModel):
    """A requested node pool."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    machine_type: str = Field(max_length=64)
    count: int
    autoscaling: AutoscalingIn = Field(default_factory=AutoscalingIn)


class NetworkIn(BaseModel):
    """Requested network settings; omitted fields take the defaults."""

    model_config = ConfigDict(extra="forbid")
    cni: str = DEFAULT_NETWORK["cni"]
    pod_cidr: str = DEFAULT_NETWORK["pod_cidr"]
    service_cidr: str = DEFAULT_NETWORK["service_cidr"]


class ClusterIn(BaseModel):
    """A request to create a cluster."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    provider: str = "sandbox"
    region: str
    version: str
    service_level: str = "standard"
    node_pools: list[PoolIn] = Field(max_length=20)
    features: list[str] = Field(default_factory=list, max_length=20)
    network: NetworkIn = Field(default_factory=NetworkIn)


class ClusterPatch(BaseModel):
    """A change to an existing cluster; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")
    service_level: str | None = None
    features: list[str] | None = Field(default=None, max_length=20)
    node_pools: list[PoolIn] | None = Field(default=None, max_length=20)


def check_name(name: str, field: str = "name") -> str:
    """Validate an RFC 1123 cluster name (1-40 chars, starts with a letter)."""
    if not 1 <= len(name) <= 40 or not NAME_RE.match(name):
        raise Invalid(
            {
                field: "Use 1-40 lowercase letters, digits and hyphens, starting with a "
                "letter and not ending with a hyphen (RFC 1123)."
            }
        )
    return name


def provider_catalog(provider: str) -> ProviderCatalog:
    """Return the catalog of an enabled provider or raise Invalid."""
    if provider not in provider_names():
        raise Invalid({"provider": f"Choose one of: {', '.join(provider_names())}."})
    return get_provider(provider).catalog()


def check_service_level(slug: str) -> str:
    """Validate a service level slug against the offered (non-retired) levels."""
    slugs = [lv.slug for lv in service_levels()]
    if slug not in slugs:
        raise Invalid({"service_level": f"Choose one of: {', '.join(slugs)}."})
    return slug


def check_pools(pools: list[PoolIn], cat: ProviderCatalog) -> None:
    """Validate node pools: names, machine types, counts and autoscaling bounds."""
    errors: dict[str, str] = {}
    if not pools:
        errors["node_pools"] = "Add at least one node pool."
    seen: set[str] = set()
    for i, p in enumerate(pools):
        at = f"node_pools.{i}"
        if len(p.name) > POOL_NAME_MAX or not NAME_RE.match(p.name):
            errors[f"{at}.name"] = (
                f"Use 1-{POOL_NAME_MAX} lowercase letters, digits and "
                "hyphens, starting with a letter."
            )
        elif p.name in seen:
            errors[f"{at}.name"] = f"Pool names must be unique; '{p.name}' is used twice."
        seen.add(p.name)
        if cat.machine(p.machine_type) is None:
            errors[f"{at}.machine_type"] = (
                f"Choose one of: {', '.join(m.name for m in cat.machine_types)}."
            )
        if not 0 <= p.count <= cat.max_nodes_per_pool:
            errors[f"{at}.count"] = f"Choose 0 to {cat.max_nodes_per_pool} nodes."
        a = p.autoscaling
        if a.enabled and not 0 <= a.min <= p.count <= a.max <= cat.max_nodes_per_pool:
            errors[f"{at}.autoscaling"] = (
                f"Bounds must satisfy 0 <= min <= count <= max <= {cat.max_nodes_per_pool} "
                f"(got min {a.min}, count {p.count}, max {a.max})."
            )
    if pools and not any(p.count >= 1 for p in pools):
        errors["node_pools"] = "At least one pool needs at least one node."
    if errors:
        raise Invalid(errors)


def _network(value: str, field: str, prefix: tuple[int, int]) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise Invalid({field: f"'{value}' is not a valid CIDR such as 10.244.0.0/16."}) from None
    if net.version != 4 or not any(net.subnet_of(p) for p in PRIVATE_NETS):
        raise Invalid({field: "Use a private IPv4 range (10/8, 172.16/12, 192.168/16, 100.64/10)."})
    if not prefix[0] <= net.prefixlen <= prefix[1]:
        raise Invalid({field: f"Use a prefix length between /{prefix[0]} and /{prefix[1]}."})
    return net


def check_network(net: NetworkIn, cat: ProviderCatalog) -> dict:
    """Validate CNI and CIDRs (valid, private, sized for the provider, not overlapping)."""
    if net.cni not in cat.cnis:
        raise Invalid({"network.cni": f"Choose one of: {', '.join(cat.cnis)}."})
    pods = _network(net.pod_cidr, "network.pod_cidr", cat.pod_cidr_prefix)
    services = _network(net.service_cidr, "network.service_cidr", cat.service_cidr_prefix)
    if pods.overlaps(services):
        raise Invalid({"network.service_cidr": "The pod and service ranges must not overlap."})
    return {"cni": net.cni, "pod_cidr": str(pods), "service_cidr": str(services)}


def resolve_features(features: list[str], pools: list[PoolIn], provider: str) -> list[str]:
    """Validate features and their dependencies; add what autoscaling needs.

    Returns:
        The sorted, de-duplicated feature slugs.
    """
    errors = {
        f"features.{i}": f"Unknown feature '{f}'."
        for i, f in enumerate(features)
        if f not in FEATURES_BY_SLUG
    }
    if errors:
        raise Invalid(errors)
    chosen = set(features)
    if provider not in NATIVE_AUTOSCALING and any(p.autoscaling.enabled for p in pools):
        chosen.add("cluster-autoscaler")
    for slug in sorted(chosen):
        missing = [d for d in FEATURES_BY_SLUG[slug].depends_on if d not in chosen]
        if missing:
            raise Invalid(
                {
                    "features": f"{FEATURES_BY_SLUG[slug].name} needs "
                    f"{', '.join(FEATURES_BY_SLUG[m].name for m in missing)}; "
                    "select it too."
                }
            )
    return sorted(chosen)


def validate_create(req: ClusterIn) -> tuple[ClusterIn, dict, list[str]]:
    """Validate a create request.

    Returns:
        The request, the normalised network and the resolved features.
    """
    check_name(req.name)
    cat = provider_catalog(req.provider)
    errors = {}
    if req.region not in cat.regions:
        errors["region"] = f"Choose one of: {', '.join(cat.regions)}."
    if req.version not in cat.versions:
        errors["version"] = f"Choose one of: {', '.join(cat.versions)}."
    if errors:
        raise Invalid(errors)
    check_service_level(req.service_level)
    check_pools(req.node_pools, cat)
    network = check_network(req.network, cat)
    return req, network, resolve_features(req.features, req.node_pools, req.provider)


def parse(model: type[BaseModel], body: dict) -> BaseModel:
    """Validate a raw request body (e.g. a web form) into `model`, or raise Invalid.

    The errors carry field paths such as ``node_pools.0.count``, like the API's 422s.
    """
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise Invalid(
            {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in exc.errors()}
        ) from None
