"""Rating: usage records priced under the price version in force, per cluster and component.

Usage is aggregated in SQL (one GROUP BY per price-version interval from
`prices.versions_between`, so every hour is rated under exactly one version) and priced in
Python with Decimal:

* ``node``: node-hours x the node-hour price of the machine type;
* ``feature``: feature-hours x the feature's price per cluster-hour;
* ``load_balancer``: LoadBalancer-hours x the hourly price;
* ``storage``: GiB-hours x the GiB-month price / the hours of the month;
* ``base``: the level's monthly base fee x cluster-hours at that level / hours of the month
  (clamped to 0..one full month);
* ``surcharge``: the level's percentage of the cluster's usage charges (nodes, features,
  load balancers, storage) at that level.

Each line is rounded to cents; an invoice's subtotal is the sum of its lines. SLO credits
follow the level's credit policy when an `SloReport` says a cluster missed its target.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.billing import SloReport, UsageRecord
from mkportal.models.cluster import Cluster
from mkportal.models.service_level import ServiceLevel
from mkportal.services.billing.money import hours_in, money, parse_period
from mkportal.services.billing.prices import PriceVersion, versions_between
from mkportal.services.catalog import FEATURES_BY_SLUG
from mkportal.services.errors import Conflict

ZERO = Decimal(0)
HUNDRED = Decimal(100)
QTY = Decimal("0.000001")
COMPONENT_ORDER = {
    "base": 0,
    "node": 1,
    "feature": 2,
    "load_balancer": 3,
    "storage": 4,
    "surcharge": 5,
}
UNITS = {
    "base": "month",
    "node": "node-hour",
    "feature": "hour",
    "load_balancer": "LB-hour",
    "storage": "GiB-month",
}
USAGE_COMPONENTS = ("node", "feature", "load_balancer", "storage")


@dataclass(frozen=True)
class UsageGroup:
    """Usage summed over some hours for one cluster, level, component, sku and pool.

    Attributes:
        quantity: The sum of the hourly quantities (node-hours, GiB-hours, ...).
        hours: The number of hours with a record.

    """

    org_id: str
    cluster_id: str
    service_level: str
    component: str
    sku: str
    pool: str
    quantity: int
    hours: int


@dataclass
class Line:
    """One priced line of a cluster's charges."""

    org_id: str
    cluster_id: str
    cluster_name: str
    service_level: str
    component: str
    sku: str
    pool: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    price_version: int


@dataclass
class SloCredit:
    """A service credit owed because a cluster missed its SLO."""

    org_id: str
    cluster_id: str
    cluster_name: str
    percent: Decimal
    amount: Decimal
    reason: str


@dataclass
class OrgCharges:
    """One organisation's rated month."""

    org_id: str
    period: str
    currency: str
    lines: list[Line] = field(default_factory=list)
    slo_credits: list[SloCredit] = field(default_factory=list)
    price_versions: list[int] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        """The sum of the (rounded) line amounts."""
        return sum((line.amount for line in self.lines), ZERO)


@dataclass(frozen=True)
class ClusterInfo:
    """What a line needs to know about a cluster."""

    name: str
    provider: str


def prorate(monthly: Decimal, hours: int, period_hours: int) -> Decimal:
    """Return a monthly fee for `hours` of a month of `period_hours`, rounded to cents.

    Never negative and never more than the full fee (hours are clamped to the month).
    """
    if monthly <= 0 or period_hours <= 0:
        return ZERO
    hours = min(max(hours, 0), period_hours)
    return money(monthly * hours / period_hours)


def credit_percent(policy: list[dict], missed_by: Decimal) -> Decimal:
    """Return the credit percentage for an SLO missed by `missed_by` percentage points.

    `policy` is ascending by ``missed_by_up_to``; beyond its last step the last step's
    percentage applies. Zero when the target was met or there is no policy.
    """
    if missed_by <= 0 or not policy:
        return ZERO
    steps = sorted(policy, key=lambda p: Decimal(str(p["missed_by_up_to"])))
    for step in steps:
        if missed_by <= Decimal(str(step["missed_by_up_to"])):
            return Decimal(str(step["credit_percent"]))
    return Decimal(str(steps[-1]["credit_percent"]))


def apply_credits(subtotal: Decimal, credits: Iterable[Decimal]) -> tuple[Decimal, Decimal]:
    """Return ``(credit_total, total)``: credits are capped at the subtotal, total >= 0."""
    wanted = sum((c for c in credits if c > 0), ZERO)
    applied = min(wanted, max(subtotal, ZERO))
    return applied, subtotal - applied


def _num(value: Decimal | int) -> str:
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,}"


def price_groups(
    groups: Iterable[UsageGroup],
    version: PriceVersion,
    period_hours: int,
    *,
    clusters: dict[str, ClusterInfo],
    levels: dict[str, str],
    tag: str = "",
) -> list[Line]:
    """Price aggregated usage under one price version (pure: no database access).

    Args:
        groups: Usage aggregated per cluster, level, component, sku and pool.
        version: The price version in force for all of these hours.
        period_hours: The hours of the billed month (base fee and storage proration).
        clusters: Name and provider by cluster id.
        levels: Service level names by slug.
        tag: Appended to descriptions (e.g. the price version when a month has several).

    Returns:
        The lines, unsorted; zero-priced base fees, load balancers, storage and surcharges
        are left out.

    """
    prices = version.components
    node_prices: dict[str, Decimal] = {}
    lines: list[Line] = []
    usage: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    base_hours: dict[tuple[str, str, str], int] = defaultdict(int)

    def add(
        g: UsageGroup,
        component: str,
        desc: str,
        qty: Decimal,
        unit: str,
        unit_price: Decimal,
        amount: Decimal,
    ) -> None:
        info = clusters.get(g.cluster_id) or ClusterInfo(g.cluster_id[:8], "")
        lines.append(
            Line(
                org_id=g.org_id,
                cluster_id=g.cluster_id,
                cluster_name=info.name,
                service_level=g.service_level,
                component=component,
                sku=g.sku if component not in ("base", "surcharge") else g.service_level,
                pool=g.pool,
                description=f"{info.name} · {desc}{tag}"[:300],
                quantity=qty,
                unit=unit,
                unit_price=unit_price,
                amount=amount,
                price_version=version.version,
            )
        )
        if component in USAGE_COMPONENTS:
            usage[(g.org_id, g.cluster_id, g.service_level)] += amount

    for g in groups:
        hours = Decimal(g.hours) if g.hours else Decimal(1)
        if g.component == "cluster":
            base_hours[(g.org_id, g.cluster_id, g.service_level)] += g.hours
            continue
        if g.component == "node":
            price = node_prices.get(g.sku)
            if price is None:
                provider, _, machine = g.sku.partition("/")
                price = node_prices[g.sku] = prices.node_price(provider, machine)
            desc = (
                f"{_num(g.quantity / hours)} × {g.sku.partition('/')[2] or g.sku} nodes"
                f" (pool {g.pool}) · {_num(g.quantity)} node-hours @ {price}"
            )
            add(
                g,
                "node",
                desc,
                Decimal(g.quantity),
                UNITS["node"],
                price,
                money(g.quantity * price),
            )
        elif g.component == "feature":
            price = prices.feature_hour.get(g.sku, ZERO)
            name = FEATURES_BY_SLUG[g.sku].name if g.sku in FEATURES_BY_SLUG else g.sku
            desc = f"{name} · {_num(g.quantity)} hours @ {price}"
            add(
                g,
                "feature",
                desc,
                Decimal(g.quantity),
                UNITS["feature"],
                price,
                money(g.quantity * price),
            )
        elif g.component == "load_balancer":
            price = prices.load_balancer_hour
            if price:
                desc = f"{_num(g.quantity / hours)} load balancers · {_num(g.quantity)} LB-hours @ {price}"
                add(
                    g,
                    "load_balancer",
                    desc,
                    Decimal(g.quantity),
                    UNITS["load_balancer"],
                    price,
                    money(g.quantity * price),
                )
        elif g.component == "storage":
            price = prices.storage_gib_month
            if price and period_hours > 0:
                months = (Decimal(g.quantity) / period_hours).quantize(QTY, rounding=ROUND_HALF_UP)
                desc = (
                    f"{_num(g.quantity / hours)} GiB storage · {_num(g.quantity)} GiB-hours"
                    f" = {months.normalize():f} GiB-months @ {price}"
                )
                amount = money(g.quantity * price / period_hours)
                add(g, "storage", desc, months, UNITS["storage"], price, amount)

    for (org_id, cluster_id, level), hours in base_hours.items():
        base = prices.level_base_monthly.get(level, ZERO)
        if not base:
            continue
        g = UsageGroup(org_id, cluster_id, level, "base", level, "", hours, hours)
        clamped = min(max(hours, 0), period_hours)
        fraction = (Decimal(clamped) / period_hours).quantize(QTY, rounding=ROUND_HALF_UP)
        desc = (
            f"{levels.get(level, level)} base fee · {_num(clamped)} of {_num(period_hours)}"
            f" hours @ {base}/month"
        )
        add(g, "base", desc, fraction, UNITS["base"], base, prorate(base, hours, period_hours))

    for (org_id, cluster_id, level), amount in list(usage.items()):
        pct = prices.level_percent.get(level, ZERO)
        if not pct or not amount:
            continue
        g = UsageGroup(org_id, cluster_id, level, "surcharge", level, "", 0, 0)
        desc = f"{levels.get(level, level)} surcharge {pct.normalize():f} % of {amount} usage"
        add(
            g,
            "surcharge",
            desc,
            amount,
            version.currency,
            pct / HUNDRED,
            money(amount * pct / HUNDRED),
        )
    return lines


def sort_lines(lines: list[Line]) -> list[Line]:
    """Order lines by cluster, price version, component, sku and pool."""
    return sorted(
        lines,
        key=lambda x: (
            x.cluster_name,
            x.cluster_id,
            x.price_version,
            COMPONENT_ORDER.get(x.component, 9),
            x.sku,
            x.pool,
        ),
    )


def aggregate(
    s: Session, start: datetime, end: datetime, org_id: str | None = None
) -> list[UsageGroup]:
    """Sum the usage records of ``[start, end)`` per org, cluster, level, component, sku, pool."""
    u = UsageRecord
    query = select(
        u.org_id,
        u.cluster_id,
        u.service_level,
        u.component,
        u.sku,
        u.pool,
        func.sum(u.quantity),
        func.count(),
    ).where(col(u.hour) >= start, col(u.hour) < end)
    if org_id is not None:
        query = query.where(u.org_id == org_id)
    query = query.group_by(u.org_id, u.cluster_id, u.service_level, u.component, u.sku, u.pool)
    return [UsageGroup(*row[:6], int(row[6] or 0), int(row[7])) for row in s.exec(query)]


def level_names(s: Session) -> dict[str, str]:
    """Return service level names by slug."""
    return dict(s.exec(select(ServiceLevel.slug, ServiceLevel.name)).all())


def cluster_info(s: Session, ids: Iterable[str]) -> dict[str, ClusterInfo]:
    """Return name and provider of the given clusters (deleted ones included)."""
    ids = list(set(ids))
    out: dict[str, ClusterInfo] = {}
    for start in range(0, len(ids), 900):
        rows = s.exec(
            select(Cluster.id, Cluster.name, Cluster.provider).where(
                col(Cluster.id).in_(ids[start : start + 900])
            )
        ).all()
        out.update({cid: ClusterInfo(name, provider) for cid, name, provider in rows})
    return out


def period_currency(versions: list[tuple[PriceVersion, datetime, datetime]], period: str) -> str:
    """Return the one currency of the versions in force during `period`.

    Raises:
        Conflict: The versions of the month use different currencies.

    """
    currencies = {v.currency for v, _, _ in versions}
    if len(currencies) > 1:
        raise Conflict(
            f"The price versions in force during {period} use different currencies "
            f"({', '.join(sorted(currencies))}); one month is billed in one currency."
        )
    if currencies:
        return currencies.pop()
    from mkportal.settings import get_settings

    return get_settings().billing_currency


def slo_credits(
    s: Session, period: str, charges: dict[str, OrgCharges], org_id: str | None = None
) -> None:
    """Add the SLO credits of `period` to `charges` (from SLO reports and credit policies).

    A report whose availability is below its target earns the credit percentage of the
    level's policy (by how many percentage points it was missed), applied to all of that
    cluster's charges of the month.
    """
    query = select(SloReport).where(SloReport.period == period)
    if org_id is not None:
        query = query.where(SloReport.org_id == org_id)
    reports = list(s.exec(query))
    if not reports:
        return
    policies = dict(s.exec(select(ServiceLevel.slug, ServiceLevel.credit_policy)).all())
    for r in reports:
        missed = Decimal(r.target) - Decimal(r.availability)
        pct = credit_percent(policies.get(r.service_level) or [], missed)
        org = charges.get(r.org_id)
        if not pct or org is None:
            continue
        lines = [x for x in org.lines if x.cluster_id == r.cluster_id]
        base = sum((x.amount for x in lines), ZERO)
        amount = money(base * pct / HUNDRED)
        if amount <= 0:
            continue
        name = lines[0].cluster_name if lines else r.cluster_id[:8]
        org.slo_credits.append(
            SloCredit(
                org_id=r.org_id,
                cluster_id=r.cluster_id,
                cluster_name=name,
                percent=pct,
                amount=amount,
                reason=(
                    f"SLO credit {pct.normalize():f} % for {name}: availability "
                    f"{Decimal(r.availability).normalize():f} % below the target "
                    f"{Decimal(r.target).normalize():f} % in {period}"
                ),
            )
        )


def rate(
    period: str, *, org_id: str | None = None, with_credits: bool = True
) -> dict[str, OrgCharges]:
    """Rate the usage recorded for `period`: every organisation's, or one's.

    Args:
        period: The month, ``YYYY-MM``.
        org_id: Only this organisation.
        with_credits: Also compute the SLO credits.

    Returns:
        The charges by organisation id (organisations without usage are absent).

    Raises:
        Invalid: Not a ``YYYY-MM`` month.
        Conflict: The month's price versions use different currencies.

    """
    start, end = parse_period(period)
    period_hours = hours_in(period)
    versions = versions_between(start, end)
    currency = period_currency(versions, period)
    charges: dict[str, OrgCharges] = {}
    with session_scope() as s:
        levels = level_names(s)
        per_version = [(v, aggregate(s, lo, hi, org_id)) for v, lo, hi in versions]
        clusters = cluster_info(s, {g.cluster_id for _, gs in per_version for g in gs})
        used = [(v, gs) for v, gs in per_version if gs]
        tagged = len(used) > 1
        for v, groups in used:
            tag = f" (prices v{v.version})" if tagged else ""
            for line in price_groups(
                groups, v, period_hours, clusters=clusters, levels=levels, tag=tag
            ):
                org = charges.get(line.org_id)
                if org is None:
                    org = charges[line.org_id] = OrgCharges(line.org_id, period, currency)
                org.lines.append(line)
                if v.version not in org.price_versions:
                    org.price_versions.append(v.version)
        for org in charges.values():
            org.lines = sort_lines(org.lines)
        if with_credits:
            slo_credits(s, period, charges, org_id)
    return charges
