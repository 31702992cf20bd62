"""SLO reports: monthly availability per cluster, from Prometheus or from incidents.

`generate` writes one `SloReport` per cluster alive in the month. Availability is the
mean of the SLI `cluster:apiserver_available:bool` over the cluster's part of the month,
sampled every minute (a subquery, so the figure does not depend on the scrape interval);
observed minutes count the minutes with data, and downtime is their unavailable share.
For a cluster without that series, or when Prometheus is not reachable, downtime is the
union of its ClusterApiServerDown incidents instead (`source` says which). Reports an
operator entered by hand (`source` "manual") are never overwritten. Billing generates
the month's reports before rating, and turns misses into credits by the level's policy.
A tick hook refreshes the running month once a day and finalises the previous one.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, or_, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import SloReport
from mkportal.models.cluster import Cluster
from mkportal.models.metrics import Incident
from mkportal.models.service_level import ServiceLevel
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.billing.money import parse_period, previous_period
from mkportal.services.metrics import catalog, prom
from mkportal.services.metrics.incident_admin import aware
from mkportal.worker.tick import acquire_lock, register_tick

log = logging.getLogger(__name__)

DOWN_ALERT = "ClusterApiServerDown"
HUNDRED = Decimal(100)
FOUR = Decimal("0.0001")
TWO = Decimal("0.01")


@dataclass(frozen=True)
class Measured:
    """A cluster's month as measured: minutes with data and minutes down."""

    observed_minutes: int
    downtime_minutes: int
    availability: Decimal
    source: str


@dataclass
class GenerateResult:
    """How many reports `generate` wrote, and from which source."""

    period: str
    written: int = 0
    prometheus: int = 0
    incidents: int = 0
    manual_kept: int = 0
    final: bool = False


def error_budget_used(availability: Decimal, target: Decimal | None) -> Decimal:
    """Return the share of the error budget used, in percent (may exceed 100).

    The budget is the downtime the target allows (100 - target); no target, no budget.
    """
    if target is None or target >= HUNDRED:
        return Decimal(0)
    used = (HUNDRED - availability) / (HUNDRED - target) * HUNDRED
    return max(used, Decimal(0)).quantize(TWO, ROUND_HALF_UP)


def merge_minutes(intervals: list[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> int:
    """Return the whole minutes covered by the union of `intervals`, clipped to [lo, hi)."""
    clipped = sorted((max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi)
    total, cur_a, cur_b = 0.0, None, None
    for a, b in clipped:
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += (cur_b - cur_a).total_seconds()
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_b is not None:
        total += (cur_b - cur_a).total_seconds()
    return round(total / 60)


def _availability(observed: int, down: int) -> Decimal:
    if observed <= 0:
        return HUNDRED
    return (HUNDRED * (observed - min(down, observed)) / observed).quantize(FOUR, ROUND_HALF_UP)


def from_prometheus(at: datetime, seconds: int, org_id: str | None) -> dict[str, Measured]:
    """Measure every cluster with the SLI series over the `seconds` before `at`.

    Raises:
        MetricsUnavailable: Prometheus is not configured or does not answer.
    """
    matcher = f'{{org="{org_id}"}}' if org_id else ""
    window = f"[{max(seconds, 60)}s:1m]"
    series = f"{catalog.SLI_AVAILABLE}{matcher}"
    means = prom.query(f"avg_over_time({series}{window})", at=at)
    counts = prom.query(f"count_over_time({series}{window})", at=at)
    observed = {s.labels.get("cluster", ""): int(s.value) for s in counts}
    out: dict[str, Measured] = {}
    for s in means:
        cid = s.labels.get("cluster", "")
        minutes = observed.get(cid, 0)
        mean = Decimal(str(s.value))
        down = int((Decimal(minutes) * (1 - mean)).to_integral_value(ROUND_HALF_UP))
        out[cid] = Measured(minutes, down, (HUNDRED * mean).quantize(FOUR, ROUND_HALF_UP),
                            "prometheus")  # fmt: skip
    return out


@dataclass(frozen=True)
class IncidentSpan:
    """An incident of a cluster: its alert, start and end (None while it lasts)."""

    alertname: str
    starts_at: datetime
    ends_at: datetime | None


def incident_spans(s: Session, start: datetime, end: datetime) -> dict[str, list[IncidentSpan]]:
    """Return the incidents overlapping [start, end), by cluster id (one query)."""
    ended = func.coalesce(col(Incident.ends_at), col(Incident.resolved_at))
    rows = s.exec(
        select(Incident.cluster_id, Incident.alertname, Incident.starts_at, ended).where(
            Incident.cluster_id != "",
            col(Incident.starts_at) < end,
            or_(ended.is_(None), ended >= start),
        )
    ).all()
    out: dict[str, list[IncidentSpan]] = {}
    for cluster_id, alertname, starts_at, ends_at in rows:
        out.setdefault(cluster_id, []).append(
            IncidentSpan(alertname, aware(starts_at), aware(ends_at))
        )
    return out


def from_incidents(spans: list[IncidentSpan], lo: datetime, hi: datetime) -> Measured:
    """Measure a cluster by its ClusterApiServerDown incidents within [lo, hi)."""
    down_spans = [(x.starts_at, x.ends_at or hi) for x in spans if x.alertname == DOWN_ALERT]
    observed = max(round((hi - lo).total_seconds() / 60), 0)
    down = merge_minutes(down_spans, lo, hi)
    return Measured(observed, down, _availability(observed, down), "incidents")


def _alive(s: Session, start: datetime, end: datetime, org_id: str | None) -> list[Cluster]:
    query = select(Cluster).where(
        col(Cluster.created_at) < end,
        or_(col(Cluster.deleted_at).is_(None), col(Cluster.deleted_at) >= start),
    )
    if org_id:
        query = query.where(Cluster.org_id == org_id)
    return list(s.exec(query.order_by(col(Cluster.created_at))))


def _upsert(
    s: Session, row: SloReport | None, c: Cluster, period: str, m: Measured, fields: dict
) -> bool:
    """Write the report of `c` (`row`: its existing one); False when a manual report is kept."""
    if row is not None and row.source == "manual":
        return False
    row = row or SloReport(org_id=c.org_id, cluster_id=c.id, period=period,
                           service_level=c.service_level, availability=m.availability,
                           target=Decimal(0))  # fmt: skip
    row.service_level = c.service_level
    row.availability, row.source = m.availability, m.source
    row.observed_minutes, row.downtime_minutes = m.observed_minutes, m.downtime_minutes
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    s.add(row)
    return True


def generate(actor: Actor, period: str, org_id: str | None = None) -> GenerateResult:
    """Write or update the SLO reports of `period` for every cluster alive in it.

    Args:
        actor: The caller; must be an operator (or the system: billing, the tick).
        period: The month, ``YYYY-MM``.
        org_id: Only this organisation's clusters.

    Returns:
        How many reports were written and from which source.

    """
    actor.require_operator()
    start, end = parse_period(period)
    now = utcnow()
    at = min(end, now)
    result = GenerateResult(period=period, final=end <= now)
    try:
        measured = from_prometheus(at, int((at - start).total_seconds()), org_id)
    except prom.MetricsUnavailable as exc:
        log.info("SLO reports of %s from incidents: %s", period, exc.message)
        measured = {}
    with session_scope() as s:
        targets = dict(s.exec(select(ServiceLevel.slug, ServiceLevel.availability_target)).all())
        spans = incident_spans(s, start, end)
        existing = {
            r.cluster_id: r for r in s.exec(select(SloReport).where(SloReport.period == period))
        }
        for c in _alive(s, start, end, org_id):
            lo = max(start, aware(c.created_at))
            hi = min(at, aware(c.deleted_at) or at)
            mine = spans.get(c.id, [])
            m = measured.get(c.id) or from_incidents(mine, lo, max(lo, hi))
            raw_target = targets.get(c.service_level)
            target = Decimal(str(raw_target)) if raw_target is not None else None
            fields = {
                "target": target if target is not None else Decimal(0),
                "error_budget_used": error_budget_used(m.availability, target),
                "incidents": sum(1 for x in mine if start <= x.starts_at < end),
                "final": result.final,
            }
            if not _upsert(s, existing.get(c.id), c, period, m, fields):
                result.manual_kept += 1
                continue
            result.written += 1
            setattr(result, m.source, getattr(result, m.source) + 1)
        audit.record(s, actor, "slo.generated", target_type="slo_period", target_id=period,
                     org_id=org_id, detail={"written": result.written, "final": result.final,
                                            "prometheus": result.prometheus,
                                            "incidents": result.incidents})  # fmt: skip
    return result


def generate_safely(actor: Actor, period: str, org_id: str | None = None) -> GenerateResult:
    """`generate`, retried once when a concurrent run inserted the same report first."""
    try:
        return generate(actor, period, org_id)
    except IntegrityError:
        return generate(actor, period, org_id)


def daily_refresh(now: datetime | None = None) -> list[str]:
    """Refresh the running month once a day and finalise the previous month.

    Returns:
        The periods generated ([] when this day's refresh ran already).

    """
    now = now or utcnow()
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if not acquire_lock("slo.daily", uuid.uuid4().hex, (tomorrow - now).total_seconds()):
        return []
    system = Actor.system("slo-reports")
    current = now.strftime("%Y-%m")
    previous = previous_period(now)
    with session_scope() as s:
        open_previous = s.exec(
            select(SloReport.id).where(SloReport.period == previous, SloReport.final.is_(False))
        ).first()
    periods = ([previous] if open_previous is not None or now.day == 1 else []) + [current]
    for period in periods:
        generate_safely(system, period)
    return periods


register_tick("metrics.slo", daily_refresh)
