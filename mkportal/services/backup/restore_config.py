"""The portal-side configuration kept in a backup, turned back into cluster requests.

A backup's `config` holds the cluster's version, service level, features, node pools,
region, provider and network at backup time. Restoring it in place goes through
`update_cluster` (service level, features, pools); a clone goes through `create_cluster`.
"""

from __future__ import annotations

from mkportal.services.clusters.spec import ClusterIn, ClusterPatch, PoolIn
from mkportal.services.clusters.views import ClusterView
from mkportal.services.providers.registry import get_provider

POOL_FIELDS = ("name", "machine_type", "count")


def pools_of(config: dict) -> list[PoolIn]:
    """Return the node pools of a configuration as requests (either stored shape)."""
    out = []
    for p in config.get("node_pools") or config.get("pools") or []:
        auto = p.get("autoscaling", {})
        if not isinstance(auto, dict):
            auto = {
                "enabled": bool(auto),
                "min": p.get("min_count", 0),
                "max": p.get("max_count", 0),
            }
        out.append(
            PoolIn(
                **{k: p[k] for k in POOL_FIELDS},
                autoscaling={
                    k: auto.get(k, 0 if k != "enabled" else False)
                    for k in ("enabled", "min", "max")
                },
            )
        )
    return sorted(out, key=lambda p: p.name)


def _pools_now(view: ClusterView) -> list[dict]:
    return [
        PoolIn(
            name=p.name, machine_type=p.machine_type, count=p.count, autoscaling=p.autoscaling
        ).model_dump()
        for p in view.node_pools
        if p.status != "deleting"
    ]


def changes(config: dict, view: ClusterView) -> dict:
    """Return {field: {"from", "to"}} for what restoring `config` would change on a cluster."""
    out: dict = {}
    if not config:
        return out
    if config.get("service_level") and config["service_level"] != view.service_level:
        out["service_level"] = {"from": view.service_level, "to": config["service_level"]}
    if "features" in config and sorted(config["features"]) != sorted(view.features):
        out["features"] = {"from": sorted(view.features), "to": sorted(config["features"])}
    wanted = [p.model_dump() for p in pools_of(config)]
    if wanted and wanted != sorted(_pools_now(view), key=lambda p: p["name"]):
        out["node_pools"] = {"from": _pools_now(view), "to": wanted}
    if config.get("version") and config["version"] != view.version:
        out["version"] = {"from": view.version, "to": config["version"]}
    return out


def patch(config: dict, view: ClusterView) -> ClusterPatch | None:
    """Return the update bringing a cluster back to `config` (None: nothing to change)."""
    diff = changes(config, view)
    fields = {k: diff[k]["to"] for k in ("service_level", "features") if k in diff}
    if "node_pools" in diff:
        fields["node_pools"] = pools_of(config)
    return ClusterPatch(**fields) if fields else None


def clone_request(config: dict, name: str) -> ClusterIn:
    """Return the request creating a new cluster with the backed-up configuration."""
    return ClusterIn(
        name=name,
        provider=config.get("provider", "sandbox"),
        region=config["region"],
        version=config["version"],
        service_level=config.get("service_level", "standard"),
        node_pools=pools_of(config),
        features=list(config.get("features", [])),
        network=config.get("network") or {},
    )


def drill_request(config: dict, name: str) -> ClusterIn:
    """Return the request for a small temporary sandbox cluster for a restore drill."""
    cat = get_provider("sandbox").catalog()
    version = config.get("version", "")
    return ClusterIn(
        name=name,
        provider="sandbox",
        region=cat.regions[0],
        version=version if version in cat.versions else cat.versions[-1],
        node_pools=[{"name": "drill", "machine_type": cat.machine_types[0].name, "count": 1}],
    )
