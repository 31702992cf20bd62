"""The metrics explorer: a user's own PromQL, confined to their organisation.

Every query goes through `promql.confine` with the caller's organisation and its clusters
(deleted ones included: their series stay queryable by their organisation), or one
cluster when `cluster_id` is given. Results come back shaped for charts: an instant
table (labels, value) and range series (name, x as ISO times, y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, NotFound
from mkportal.services.metrics import prom, promql

RANGES: dict[str, int] = {
    "15m": 15 * 60,
    "1h": 3600,
    "6h": 6 * 3600,
    "24h": 24 * 3600,
    "7d": 7 * 86400,
    "30d": 30 * 86400,
}
MAX_SERIES = 50


@dataclass
class InstantRow:
    """One series of an instant result."""

    labels: dict[str, str]
    name: str
    value: float | None


@dataclass
class ChartSeries:
    """One series of a range result, ready for a line chart."""

    name: str
    labels: dict[str, str]
    x: list[str] = field(default_factory=list)
    y: list[float | None] = field(default_factory=list)


@dataclass
class QueryResult:
    """The answer to an explorer query (instant rows and/or range series)."""

    query: str
    range: str
    step_seconds: float
    instant: list[InstantRow] = field(default_factory=list)
    series: list[ChartSeries] = field(default_factory=list)
    truncated: bool = False
    start: str = ""
    end: str = ""


@dataclass(frozen=True)
class Scope:
    """The organisation and clusters a query may read."""

    org_id: str
    cluster_ids: list[str]


def org_scope(org_id: str) -> Scope:
    """Return the scope of every cluster (deleted ones included) of `org_id`."""
    with session_scope() as s:
        ids = s.exec(select(Cluster.id).where(Cluster.org_id == org_id)).all()
        return Scope(org_id, sorted(ids))


def scope_for(actor: Actor, cluster_id: str | None = None) -> Scope:
    """Return what `actor` may query: one cluster of theirs, or all of their org's clusters.

    Raises:
        NotFound: The cluster does not exist or belongs to another organisation.
        Invalid: An operator without an organisation did not name a cluster.
    """
    with session_scope() as s:
        if cluster_id:
            row = s.get(Cluster, cluster_id)
            if row is None or not actor.can_see_org(row.org_id):
                raise NotFound("Not found.")
            return Scope(row.org_id, [row.id])
    if actor.org_id is None:
        raise Invalid({"cluster_id": "Choose a cluster to query."})
    return org_scope(actor.org_id)


def confined(actor: Actor, query: str, cluster_id: str | None = None) -> str:
    """Return `query` confined to what `actor` may read (see `scope_for`).

    Raises:
        Invalid: The query cannot be confined (field "query").
        NotFound: Another organisation's cluster.
    """
    promql.validate(query)
    scope = scope_for(actor, cluster_id)
    return promql.confine(query, scope.org_id, scope.cluster_ids)


def _range_seconds(range_: str) -> int:
    if range_ not in RANGES:
        raise Invalid({"range": f"Choose one of {', '.join(RANGES)}."})
    return RANGES[range_]


def _name(labels: dict[str, str]) -> str:
    metric = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    if not rest:
        return metric or "value"
    return f"{metric}{{{rest}}}"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def instant(actor: Actor, query: str, *, cluster_id: str | None = None) -> QueryResult:
    """Run a confined instant query (now).

    Raises:
        Invalid: Bad query (field "query").
        NotFound: Another organisation's cluster.
        MetricsUnavailable: No metrics backend.
    """
    samples = prom.query(confined(actor, query, cluster_id))
    rows = [InstantRow(s.labels, _name(s.labels), _finite(s.value)) for s in samples]
    return QueryResult(query, "", 0.0, instant=rows[:MAX_SERIES], truncated=len(rows) > MAX_SERIES)


def range_query(
    actor: Actor,
    query: str,
    *,
    cluster_id: str | None = None,
    range: str = "1h",  # noqa: A002
    end: datetime | None = None,
) -> QueryResult:
    """Run a confined range query over the last `range` (15m, 1h, 6h, 24h, 7d, 30d).

    Raises:
        Invalid: Bad query (field "query") or range (field "range").
        NotFound: Another organisation's cluster.
        MetricsUnavailable: No metrics backend.
    """
    _range_seconds(range)
    promql.validate(query)
    return range_in_scope(scope_for(actor, cluster_id), query, range, end)


def range_in_scope(
    scope: Scope,
    query: str,
    range: str = "1h",  # noqa: A002
    end: datetime | None = None,
) -> QueryResult:
    """Run a range query confined to `scope` (the caller has checked access to it).

    Raises:
        Invalid: Bad query (field "query") or range (field "range").
        MetricsUnavailable: No metrics backend.
    """
    seconds = _range_seconds(range)
    text = promql.confine(query, scope.org_id, scope.cluster_ids)
    stop = end or datetime.now(UTC)
    step = prom.step_for(seconds)
    found = prom.query_range(text, stop - timedelta(seconds=seconds), stop, step)
    series = [
        ChartSeries(
            _name(s.labels),
            s.labels,
            [datetime.fromtimestamp(t, UTC).isoformat() for t, _ in s.points],
            [_finite(v) for _, v in s.points],
        )
        for s in found[:MAX_SERIES]
    ]
    return QueryResult(
        query,
        range,
        step,
        series=series,
        truncated=len(found) > MAX_SERIES,
        start=(stop - timedelta(seconds=seconds)).isoformat(),
        end=stop.isoformat(),
    )


def run(
    actor: Actor,
    query: str,
    *,
    cluster_id: str | None = None,
    range: str = "1h",  # noqa: A002
) -> QueryResult:
    """Run a confined query as both an instant table and range series (for the explorer).

    Raises:
        Invalid: Bad query (field "query") or range (field "range").
        NotFound: Another organisation's cluster.
        MetricsUnavailable: No metrics backend.
    """
    _range_seconds(range)
    now = instant(actor, query, cluster_id=cluster_id)
    result = range_query(actor, query, cluster_id=cluster_id, range=range)
    result.instant = now.instant
    result.truncated = result.truncated or now.truncated
    return result
