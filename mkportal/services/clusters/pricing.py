"""The running cost estimate shown while a cluster is configured.

Prices come from the price version in force now (`mkportal.services.billing.prices`):
node-hours per machine type (or the vCPU-hour/GiB-hour fallback), feature-hours, and by
service level a monthly base fee and a percentage on the usage. Money is Decimal, never
float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from mkportal.models.base import utcnow
from mkportal.services.billing import prices
from mkportal.services.catalog import FEATURES_BY_SLUG
from mkportal.services.providers.base import ProviderCatalog
from mkportal.settings import get_settings

HOURS_PER_MONTH = Decimal(730)


@dataclass
class Estimate:
    """A monthly estimate with its lines (description, amount)."""

    currency: str
    monthly_total: Decimal
    hourly_total: Decimal
    lines: list[tuple[str, Decimal]]


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _empty() -> Estimate:
    return Estimate(get_settings().billing_currency, Decimal("0.00"), Decimal("0.0000"), [])


def estimate(
    cat: ProviderCatalog,
    pools: list[tuple[str, int]],
    features: list[str],
    service_level: str,
    *,
    at: datetime | None = None,
) -> Estimate:
    """Estimate the monthly cost (730 hours) under the price version in force.

    Args:
        cat: The provider's catalog (machine types).
        pools: (machine type, node count) per pool; unknown types count as zero.
        features: Feature slugs.
        service_level: The service level slug.
        at: Use the version in force at this time instead of now.

    Returns:
        The total, the hourly rate (usage with the level's percentage) and the lines, in
        the version's currency; all zero before the first price version.

    """
    version = prices.version_at(at or utcnow())
    if version is None:
        return _empty()
    c = version.components
    lines: list[tuple[str, Decimal]] = []
    hourly = Decimal(0)
    for machine, count in pools:
        m = cat.machine(machine)
        if m is None or count <= 0:
            continue
        price = c.node_price(cat.name, m.name)
        hourly += price * count
        lines.append((f"{count} x {m.name} nodes", _money(price * count * HOURS_PER_MONTH)))
    for slug in features:
        f = FEATURES_BY_SLUG.get(slug)
        if f:
            price = c.feature_hour.get(slug, Decimal(0))
            hourly += price
            lines.append((f.name, _money(price * HOURS_PER_MONTH)))
    base = c.level_base_monthly.get(service_level, Decimal(0))
    percent = c.level_percent.get(service_level, Decimal(0))
    usage = hourly * HOURS_PER_MONTH
    if base:
        lines.append((f"Service level {service_level} (base fee)", _money(base)))
    if percent:
        sign = "+" if percent > 0 else ""
        lines.append(
            (f"Service level {service_level} ({sign}{percent}%)", _money(usage * percent / 100))
        )
    total = usage + base + usage * percent / 100
    return Estimate(
        version.currency,
        _money(total),
        (hourly * (1 + percent / 100)).quantize(Decimal("0.0001")),
        lines,
    )


def quote(
    provider: str,
    pools: list[tuple[str, int]],
    features: list[str],
    level: str,
    *,
    at: datetime | None = None,
) -> Estimate:
    """Estimate a draft (e.g. a half-filled form): unknown providers and types cost nothing."""
    from mkportal.services.providers.registry import get_provider, provider_names

    if provider not in provider_names():
        return _empty()
    return estimate(get_provider(provider).catalog(), pools, features, level, at=at)
