"""The catalog: providers, features and service levels a cluster can be built from.

Prices are not part of the catalog: they come from the price version in force
(`mkportal.services.billing.prices`); `catalog_json` shows them for convenience.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.service_level import ServiceLevel
from mkportal.services.providers.registry import get_provider, provider_names
from mkportal.settings import get_settings


@dataclass(frozen=True)
class Feature:
    """A predefined, optional cluster component."""

    slug: str
    name: str
    description: str
    depends_on: tuple[str, ...] = ()
    addons: dict[str, str] = field(default_factory=dict, compare=False)


FEATURES: tuple[Feature, ...] = (
    Feature(
        "ingress-controller",
        "Ingress controller",
        "NGINX ingress controller with a LoadBalancer Service, for HTTP(S) routing.",
    ),
    Feature(
        "cert-manager",
        "cert-manager",
        "Automatically issued and renewed TLS certificates (ACME, Let's Encrypt).",
        ("ingress-controller",),
    ),
    Feature(
        "metrics-agent",
        "Metrics agent",
        "Prometheus agent shipping cluster and application metrics to the portal.",
        addons={"eks": "amazon-cloudwatch-observability"},
    ),
    Feature(
        "log-agent",
        "Log agent",
        "Fluent Bit DaemonSet shipping container logs to the portal's log store.",
    ),
    Feature(
        "backup-agent",
        "Backup agent",
        "Backs up cluster resources and volumes on a schedule.",
    ),
    Feature(
        "cluster-autoscaler",
        "Cluster autoscaler",
        "Adds and removes nodes of autoscaling pools as workloads need them.",
    ),
    Feature(
        "rwx-storage",
        "RWX storage driver",
        "A CSI driver for ReadWriteMany volumes shared by several pods.",
        addons={
            "eks": "aws-efs-csi-driver",
            "gke": "gcpFilestoreCsiDriver",
            "aks": "azureFileCSIDriver",
        },
    ),
    Feature(
        "network-policy",
        "Network-policy engine",
        "Enforces Kubernetes NetworkPolicies between workloads.",
        addons={"gke": "networkPolicyConfig"},
    ),
)
FEATURES_BY_SLUG = {f.slug: f for f in FEATURES}


@dataclass
class LevelInfo:
    """A service level as customers see it."""

    slug: str
    name: str
    availability_target: float | None
    description: str


def service_levels(include_retired: bool = False) -> list[LevelInfo]:
    """Return the service levels, in order (retired ones only when asked)."""
    with session_scope() as s:
        query = select(ServiceLevel).order_by(ServiceLevel.sort_order)
        if not include_retired:
            query = query.where(col(ServiceLevel.retired_at).is_(None))
        return [
            LevelInfo(r.slug, r.name, r.availability_target, r.description) for r in s.exec(query)
        ]


def catalog_json(*, at: datetime | None = None) -> dict:
    """Return the catalog in the shape of `GET /api/v1/catalog` (DESIGN.md section 5).

    Machine types and features carry their ``hourly_price`` (a decimal string) under the
    price version in force now (or at `at`), whose ``currency`` is given at the top.
    """
    from mkportal.models.base import utcnow
    from mkportal.services.billing.prices import PriceComponents, version_at

    version = version_at(at or utcnow())
    prices = version.components if version else PriceComponents()
    providers = []
    for name in provider_names():
        cat = get_provider(name).catalog()
        providers.append(
            {
                "name": cat.name,
                "title": cat.title,
                "regions": list(cat.regions),
                "versions": list(cat.versions),
                "cnis": list(cat.cnis),
                "max_nodes_per_pool": cat.max_nodes_per_pool,
                "machine_types": [
                    {
                        "name": m.name,
                        "vcpu": m.vcpu,
                        "memory_gib": m.memory_gib,
                        "hourly_price": str(prices.node_price(cat.name, m.name)),
                    }
                    for m in cat.machine_types
                ],
            }
        )
    return {
        "currency": version.currency if version else get_settings().billing_currency,
        "providers": providers,
        "features": [
            {
                "slug": f.slug,
                "name": f.name,
                "description": f.description,
                "depends_on": list(f.depends_on),
                "hourly_price": str(prices.feature_hour.get(f.slug, Decimal(0))),
            }
            for f in FEATURES
        ],
        "service_levels": [
            {
                "slug": lv.slug,
                "name": lv.name,
                "availability_target": lv.availability_target,
                "description": lv.description,
            }
            for lv in service_levels()
        ],
    }
