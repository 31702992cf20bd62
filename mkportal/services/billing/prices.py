"""Price models: versioned, each in force from its effective date until the next one.

This module is the read side (which prices apply at a given time, what a node-hour costs).
Creating and deleting versions (operators) lives in `price_admin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator
from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.billing import PriceModel
from mkportal.services.billing.money import as_utc

ZERO = Decimal(0)


class PriceComponents(BaseModel):
    """The prices of one version. Every price is a Decimal >= 0 (sent as a string).

    Attributes:
        level_base_monthly: Base fee per cluster and month, by service level slug.
        level_percent: Surcharge in percent of the usage charges, by service level slug.
        node_hour: Price per node-hour by ``provider/machine_type``.
        vcpu_hour: Fallback for machine types without a node-hour price: per vCPU-hour.
        gib_hour: Fallback for machine types without a node-hour price: per GiB-hour of memory.
        feature_hour: Price per cluster-hour of each add-on feature, by slug.
        load_balancer_hour: Price per LoadBalancer Service and hour (0: not charged).
        storage_gib_month: Price per GiB-month of bound volumes (0: not charged).

    """

    level_base_monthly: dict[str, Decimal] = Field(default_factory=dict)
    level_percent: dict[str, Decimal] = Field(default_factory=dict)
    node_hour: dict[str, Decimal] = Field(default_factory=dict)
    vcpu_hour: Decimal = ZERO
    gib_hour: Decimal = ZERO
    feature_hour: dict[str, Decimal] = Field(default_factory=dict)
    load_balancer_hour: Decimal = ZERO
    storage_gib_month: Decimal = ZERO

    model_config = {"extra": "forbid"}

    @field_validator("vcpu_hour", "gib_hour", "load_balancer_hour", "storage_gib_month")
    @classmethod
    def _non_negative(cls, v: Decimal) -> Decimal:
        if not v.is_finite() or v < 0:
            raise ValueError("must be a number >= 0")
        return v

    @field_validator("level_base_monthly", "node_hour", "feature_hour")
    @classmethod
    def _non_negative_map(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for key, price in v.items():
            if not price.is_finite() or price < 0:
                raise ValueError(f"{key}: must be a number >= 0")
        return v

    @field_validator("level_percent")
    @classmethod
    def _percent(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for key, pct in v.items():
            if not pct.is_finite() or pct < -100 or pct > 1000:
                raise ValueError(f"{key}: a percentage between -100 and 1000")
        return v

    def as_json(self) -> dict:
        """Return the components with every price as a string (for the JSON column)."""
        return self.model_dump(mode="json")

    def node_price(self, provider: str, machine_type: str) -> Decimal:
        """Return the node-hour price of a machine type.

        Uses the ``provider/machine_type`` price when set, otherwise vCPU-hours plus
        GiB-hours from the provider's catalog (zero for a machine type no catalog knows).
        """
        key = f"{provider}/{machine_type}"
        if key in self.node_hour:
            return self.node_hour[key]
        from mkportal.services.providers.registry import get_provider, provider_names

        if provider not in provider_names():
            return ZERO
        m = get_provider(provider).catalog().machine(machine_type)
        if m is None:
            return ZERO
        return self.vcpu_hour * m.vcpu + self.gib_hour * Decimal(str(m.memory_gib))


@dataclass(frozen=True)
class PriceVersion:
    """One version of the price model."""

    id: str
    version: int
    effective_from: datetime
    currency: str
    components: PriceComponents
    note: str
    created_by: str
    created_at: datetime


def version_view(row: PriceModel) -> PriceVersion:
    """Return a price-model row as a `PriceVersion`."""
    return PriceVersion(
        id=row.id,
        version=row.version,
        effective_from=as_utc(row.effective_from),
        currency=row.currency,
        components=PriceComponents.model_validate(row.components),
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def all_versions() -> list[PriceVersion]:
    """Return every version, oldest first."""
    with session_scope() as s:
        rows = s.exec(select(PriceModel).order_by(col(PriceModel.effective_from))).all()
        return [version_view(r) for r in rows]


def version_at(when: datetime) -> PriceVersion | None:
    """Return the version in force at `when` (None before the first version)."""
    with session_scope() as s:
        row = s.exec(
            select(PriceModel)
            .where(col(PriceModel.effective_from) <= as_utc(when))
            .order_by(col(PriceModel.effective_from).desc())
            .limit(1)
        ).first()
        return version_view(row) if row else None


def versions_between(
    start: datetime, end: datetime
) -> list[tuple[PriceVersion, datetime, datetime]]:
    """Split ``[start, end)`` into the intervals each version is in force.

    The intervals are contiguous and cover ``[start, end)`` from the first version's
    effective date on, so no hour falls between two versions.
    """
    start, end = as_utc(start), as_utc(end)
    out: list[tuple[PriceVersion, datetime, datetime]] = []
    versions = all_versions()
    for i, v in enumerate(versions):
        v_end = versions[i + 1].effective_from if i + 1 < len(versions) else None
        lo = max(start, v.effective_from)
        hi = min(end, v_end) if v_end is not None else end
        if lo < hi:
            out.append((v, lo, hi))
    return out
