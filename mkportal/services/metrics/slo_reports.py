"""Reading SLO reports: per cluster, per-organisation and fleet roll-ups, CSV export.

Members of an organisation see their own clusters' reports; operators see every
organisation's (optionally one). Roll-ups weight availability by observed minutes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.billing import SloReport
from mkportal.models.cluster import Cluster
from mkportal.models.org import Organization
from mkportal.models.service_level import ServiceLevel
from mkportal.services.actor import Actor
from mkportal.services.billing.money import parse_period
from mkportal.services.billing.rating import credit_percent
from mkportal.services.errors import NotFound
from mkportal.services.metrics.incident_admin import aware

HUNDRED = Decimal(100)
FOUR = Decimal("0.0001")
CSV_COLUMNS = (
    "period", "org_id", "org_name", "cluster_id", "cluster_name", "service_level", "target",
    "availability", "met", "downtime_minutes", "observed_minutes", "error_budget_used",
    "incidents", "credit_percent", "source", "final",
)  # fmt: skip


@dataclass
class SloRow:
    """One cluster's report of a month, with the service credit its level's policy gives."""

    id: str
    period: str
    org_id: str
    org_name: str
    cluster_id: str
    cluster_name: str
    service_level: str
    target: Decimal
    availability: Decimal
    met: bool
    downtime_minutes: int
    observed_minutes: int
    error_budget_used: Decimal
    incidents: int
    credit_percent: Decimal
    source: str
    final: bool
    updated_at: datetime | None


@dataclass
class Rollup:
    """Reports summed over an organisation or the fleet."""

    key: str
    name: str
    clusters: int = 0
    missed: int = 0
    downtime_minutes: int = 0
    observed_minutes: int = 0
    incidents: int = 0
    availability: Decimal = HUNDRED


@dataclass
class SloSummary:
    """A month's reports with their roll-ups."""

    period: str
    rows: list[SloRow] = field(default_factory=list)
    orgs: list[Rollup] = field(default_factory=list)
    fleet: Rollup = field(default_factory=lambda: Rollup("fleet", "Fleet"))


def _scope(actor: Actor, org_id: str | None) -> str | None:
    """Return the organisation to show: a member's own; an operator's choice (None: all)."""
    if actor.is_operator:
        return org_id or None
    if actor.org_id is None or (org_id and org_id != actor.org_id):
        raise NotFound("Not found.")
    return actor.org_id


def _row(r: SloReport, org: str, cluster: str, policy: list) -> SloRow:
    target, availability = Decimal(r.target), Decimal(r.availability)
    has_target = target > 0
    return SloRow(
        id=r.id,
        period=r.period,
        org_id=r.org_id,
        org_name=org,
        cluster_id=r.cluster_id,
        cluster_name=cluster,
        service_level=r.service_level,
        target=target,
        availability=availability,
        met=not has_target or availability >= target,
        downtime_minutes=r.downtime_minutes,
        observed_minutes=r.observed_minutes,
        error_budget_used=Decimal(r.error_budget_used),
        incidents=r.incidents,
        credit_percent=credit_percent(policy, target - availability) if has_target else Decimal(0),
        source=r.source,
        final=r.final,
        updated_at=aware(r.updated_at),
    )


def _add(roll: Rollup, row: SloRow) -> None:
    roll.clusters += 1
    roll.missed += 0 if row.met else 1
    roll.downtime_minutes += row.downtime_minutes
    roll.observed_minutes += row.observed_minutes
    roll.incidents += row.incidents
    if roll.observed_minutes > 0:
        up = Decimal(roll.observed_minutes - min(roll.downtime_minutes, roll.observed_minutes))
        roll.availability = (HUNDRED * up / roll.observed_minutes).quantize(FOUR, ROUND_HALF_UP)


def _pairs(s: Session, key: Any, value: Any, ids: set[str]) -> dict[str, str]:  # noqa: ANN401
    if not ids:
        return {}
    return dict(s.exec(select(key, value).where(col(key).in_(ids))).all())


def summary(actor: Actor, period: str, org_id: str | None = None) -> SloSummary:
    """Return the reports of `period` visible to `actor`, with per-org and fleet roll-ups.

    Args:
        actor: Members see their organisation's clusters; operators every organisation's.
        period: The month, ``YYYY-MM``.
        org_id: Operators: only this organisation. Members: their own, or 404.

    """
    parse_period(period)
    scope = _scope(actor, org_id)
    query = select(SloReport).where(SloReport.period == period)
    if scope is not None:
        query = query.where(SloReport.org_id == scope)
    with session_scope() as s:
        reports = list(s.exec(query))
        org_ids = {r.org_id for r in reports}
        orgs = _pairs(s, Organization.id, Organization.name, org_ids)
        clusters = _pairs(s, Cluster.id, Cluster.name, {r.cluster_id for r in reports})
        policies = dict(s.exec(select(ServiceLevel.slug, ServiceLevel.credit_policy)).all())
    rows = [
        _row(r, orgs.get(r.org_id, ""), clusters.get(r.cluster_id, r.cluster_id[:8]),
             policies.get(r.service_level) or [])
        for r in reports
    ]  # fmt: skip
    rows.sort(key=lambda x: (x.org_name.lower(), x.cluster_name.lower(), x.cluster_id))
    out = SloSummary(period=period, rows=rows)
    by_org: dict[str, Rollup] = {}
    for row in rows:
        _add(by_org.setdefault(row.org_id, Rollup(row.org_id, row.org_name)), row)
        _add(out.fleet, row)
    out.orgs = sorted(by_org.values(), key=lambda x: x.name.lower())
    return out


def _cell(value: object) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(actor: Actor, period: str, org_id: str | None = None) -> str:
    """Return the visible reports of `period` as CSV (one line per cluster, with a header).

    Text cells that a spreadsheet would run as a formula are prefixed with a quote.
    """
    data = summary(actor, period, org_id)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in data.rows:
        writer.writerow([_cell(getattr(row, c)) for c in CSV_COLUMNS])
    return buf.getvalue()
