"""The running cost estimate shown while a cluster is configured.

Prices come from the provider catalog (node-hours) and the feature catalog (feature-hours);
service levels add a monthly base fee and a percentage. Money is Decimal, never float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mkportal.services.catalog import FEATURES_BY_SLUG
from mkportal.services.providers.base import ProviderCatalog

HOURS_PER_MONTH = Decimal(730)
CURRENCY = "CHF"
LEVEL_FEES = {
    "zero": (Decimal("0"), Decimal("0")),
    "standard": (Decimal("50"), Decimal("0")),
    "professional": (Decimal("150"), Decimal("10")),
    "premium": (Decimal("400"), Decimal("25")),
}


@dataclass
class Estimate:
    """A monthly estimate with its lines (description, amount)."""

    currency: str
    monthly_total: Decimal
    hourly_total: Decimal
    lines: list[tuple[str, Decimal]]


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def estimate(
    cat: ProviderCatalog, pools: list[tuple[str, int]], features: list[str], service_level: str
) -> Estimate:
    """Estimate the monthly cost.

    Args:
        cat: The provider's catalog (machine prices).
        pools: (machine type, node count) per pool; unknown types count as zero.
        features: Feature slugs.
        service_level: The service level slug.
    """
    lines: list[tuple[str, Decimal]] = []
    hourly = Decimal(0)
    for machine, count in pools:
        m = cat.machine(machine)
        if m is None or count <= 0:
            continue
        hourly += m.hourly_price * count
        lines.append(
            (f"{count} x {m.name} nodes", _money(m.hourly_price * count * HOURS_PER_MONTH))
        )
    for slug in features:
        f = FEATURES_BY_SLUG.get(slug)
        if f:
            hourly += f.hourly_price
            lines.append((f.name, _money(f.hourly_price * HOURS_PER_MONTH)))
    base, percent = LEVEL_FEES.get(service_level, (Decimal(0), Decimal(0)))
    usage = hourly * HOURS_PER_MONTH
    if base:
        lines.append((f"Service level {service_level} (base fee)", _money(base)))
    if percent:
        lines.append(
            (f"Service level {service_level} (+{percent}%)", _money(usage * percent / 100))
        )
    total = usage + base + usage * percent / 100
    return Estimate(
        CURRENCY, _money(total), (hourly * (1 + percent / 100)).quantize(Decimal("0.0001")), lines
    )


def quote(provider: str, pools: list[tuple[str, int]], features: list[str], level: str) -> Estimate:
    """Estimate a draft (e.g. a half-filled form): unknown providers and types cost nothing."""
    from mkportal.services.providers.registry import get_provider, provider_names

    if provider not in provider_names():
        return Estimate(CURRENCY, Decimal(0), Decimal(0), [])
    return estimate(get_provider(provider).catalog(), pools, features, level)
