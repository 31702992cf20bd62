"""The running estimate: this month's charges so far and what the month will come to.

`to_date` rates the usage metered so far this month (complete hours). `projected` adds the
hours from the metering cursor to the month's end at the current hourly rate: the usage
each live billable cluster shows now (see `metering.observe`), priced under the price
versions in force in those hours (a scheduled price change is taken into account), with
base fees prorated. Deleted clusters add nothing further; credits are not included.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.services.actor import Actor
from mkportal.services.billing import metering, rating
from mkportal.services.billing.money import as_utc, floor_hour, hours_in, parse_period, period_of
from mkportal.services.billing.prices import versions_between
from mkportal.services.catalog import FEATURES_BY_SLUG

ZERO = Decimal(0)
HOUR = timedelta(hours=1)


@dataclass
class EstimateLine:
    """One cluster's component: charged so far and projected to the month's end."""

    cluster_id: str
    cluster_name: str
    component: str
    description: str
    to_date: Decimal
    projected: Decimal


@dataclass
class MonthEstimate:
    """The running month for one organisation."""

    period: str
    currency: str
    to_date: Decimal
    projected: Decimal
    lines: list[EstimateLine]


def hour_starts(lo: datetime, hi: datetime) -> int:
    """Return how many hour starts fall in ``[lo, hi)``."""
    first = floor_hour(lo)
    if first < as_utc(lo):
        first += HOUR
    if first >= hi:
        return 0
    return math.ceil((hi - first) / HOUR)


def label(line: rating.Line, levels: dict[str, str]) -> str:
    """Return a short description of a line's kind, without its quantities."""
    level = levels.get(line.service_level, line.service_level)
    if line.component == "node":
        return f"{line.sku.partition('/')[2] or line.sku} nodes (pool {line.pool})"
    if line.component == "feature":
        return FEATURES_BY_SLUG[line.sku].name if line.sku in FEATURES_BY_SLUG else line.sku
    if line.component == "base":
        return f"{level} base fee"
    if line.component == "surcharge":
        return f"{level} service level surcharge"
    if line.component == "load_balancer":
        return "Load balancers"
    return "Storage"


def projected_lines(
    org_id: str, period: str, resume: datetime, end: datetime
) -> tuple[list[rating.Line], dict[str, str]]:
    """Price the current usage of an organisation's live clusters from `resume` to `end`.

    Returns:
        The lines and the service level names.

    """
    with session_scope() as s:
        usage = [u for u in metering.observe(s, since=resume, org_id=org_id) if not u.deleted_at]
        clusters = rating.cluster_info(s, [u.cluster_id for u in usage])
        levels = rating.level_names(s)
    lines: list[rating.Line] = []
    period_hours = hours_in(period)
    for version, lo, hi in versions_between(resume, end):
        groups = []
        for u in usage:
            hours = hour_starts(max(lo, floor_hour(u.created_at)), hi)
            if hours <= 0:
                continue
            for component, sku, pool, qty in u.items:
                groups.append(
                    rating.UsageGroup(
                        org_id,
                        u.cluster_id,
                        u.service_level,
                        component,
                        sku,
                        pool,
                        qty * hours,
                        hours,
                    )  # fmt: skip
                )
        lines += rating.price_groups(
            groups, version, period_hours, clusters=clusters, levels=levels
        )
    return lines, levels


def running_estimate(actor: Actor, *, now: datetime | None = None) -> MonthEstimate:
    """Return this month's charges so far and projected for the caller's organisation.

    Args:
        actor: The caller (any member of the organisation).
        now: The time to estimate at (default: now).

    """
    now = as_utc(now or utcnow())
    period = period_of(now)
    start, end = parse_period(period)
    currency = rating.period_currency(versions_between(start, end), period)
    if actor.org_id is None:
        return MonthEstimate(period, currency, ZERO, ZERO, [])
    org_id = actor.org_id
    so_far = rating.rate(period, org_id=org_id, with_credits=False).get(org_id)
    cursor = metering.cursor() or floor_hour(now)
    resume = min(max(cursor, start), end)
    ahead, levels = projected_lines(org_id, period, resume, end)
    keyed: dict[tuple, list] = defaultdict(lambda: [None, ZERO, ZERO])
    for line, slot in [(x, 1) for x in (so_far.lines if so_far else [])] + [(x, 2) for x in ahead]:
        key = (line.cluster_name, line.cluster_id, rating.COMPONENT_ORDER.get(line.component, 9))
        key += (line.sku, line.pool, line.component)
        entry = keyed[key]
        entry[0] = entry[0] or line
        entry[slot] += line.amount
    lines = [
        EstimateLine(
            cluster_id=line.cluster_id,
            cluster_name=line.cluster_name,
            component=line.component,
            description=label(line, levels),
            to_date=done,
            projected=done + more,
        )
        for _, (line, done, more) in sorted(keyed.items())
    ]
    return MonthEstimate(
        period=period,
        currency=currency,
        to_date=sum((x.to_date for x in lines), ZERO),
        projected=sum((x.projected for x in lines), ZERO),
        lines=lines,
    )
