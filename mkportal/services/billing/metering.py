"""Metering: hourly usage records from the observed state of the clusters.

Each run records every *completed* hour from the ``hourly`` `MeterCursor` up to the start of
the current hour, then moves the cursor. An hour is recorded once, just after it ends, from
what is observed at that moment; a cluster is billed a full hour for any part of it, like
the clouds do. Which clusters are billed for an hour:

* alive during it: ``created_at < hour end`` and (``deleted_at`` empty or ``> hour start``);
* in a billable status: ``running``, ``updating``, ``upgrading`` or ``deleting``. A cluster
  that ever ran (``current_version`` set) is also billed when it is ``failed`` (a failed
  update or deletion leaves its nodes running, and they are billed at their observed
  counts) and, once ``deleted``, for the hours before its deletion. ``provisioning``
  clusters, and clusters whose provisioning failed, are not billed.

Records per cluster and hour: ``cluster`` (sku = service level, quantity 1), ``node`` per
pool (sku ``provider/machine_type``, quantity = observed nodes; for a deleted cluster, whose
observed counts are reset, the pool's last desired count), ``feature`` per feature whose
status is ready, and for **sandbox clusters only** ``load_balancer`` (Services of type
LoadBalancer) and ``storage`` (GiB of bound PersistentVolumeClaims, each rounded up to a
whole GiB), read from the sandbox's stored Kubernetes objects. Other providers' in-cluster
objects are not read here, so their load balancers and volumes are not metered.

Idempotency: rows are inserted with insert-or-ignore on the unique key, and an hour in which
a cluster already has rows is left alone (the first observation of a cluster-hour wins), so
re-running over the same hours changes nothing.

Backfill: after downtime the missed hours are recorded with the state observed *now*,
bounded by each cluster's created and deleted times. That is an approximation: a scale
change or service level change during the downtime is billed as if it held for all the
missed hours. The first run starts at the current hour (no history is invented before the
cursor existed) unless it is given a `start`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import MeterCursor, UsageRecord
from mkportal.models.cluster import Cluster, NodePool
from mkportal.models.sandbox import SandboxObject
from mkportal.services.billing.money import as_utc, floor_hour

CURSOR = "hourly"
HOUR = timedelta(hours=1)
BILLABLE = ("running", "updating", "upgrading", "deleting")
USAGE_KEY = ("cluster_id", "hour", "component", "sku", "pool")
BATCH = 5000
_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_BYTES = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
}


@dataclass
class ClusterUsage:
    """What one cluster uses per hour, as observed now.

    Attributes:
        org_id: The cluster's organisation.
        cluster_id: The cluster.
        service_level: Its service level now.
        created_at: When it was created (no usage before).
        deleted_at: When it was deleted (no usage after), or None.
        items: ``(component, sku, pool, quantity)`` per record of one hour.

    """

    org_id: str
    cluster_id: str
    service_level: str
    created_at: datetime
    deleted_at: datetime | None
    items: list[tuple[str, str, str, int]] = field(default_factory=list)

    def alive_during(self, hour: datetime) -> bool:
        """Whether the cluster existed during any part of the hour starting at `hour`."""
        return self.created_at < hour + HOUR and (self.deleted_at is None or self.deleted_at > hour)


def gib(quantity: str) -> int:
    """Return a Kubernetes storage quantity (``10Gi``, ``500Mi``, ``1T``) in GiB, rounded up.

    Unparseable quantities count as 0.
    """
    m = _QUANTITY.match(str(quantity).strip())
    if not m or m.group(2) not in _BYTES:
        return 0
    try:
        size = float(m.group(1)) * _BYTES[m.group(2)]
    except ValueError:
        return 0
    return math.ceil(size / 2**30) if size > 0 else 0


def _sandbox_extras(s: Session, refs: list[str]) -> dict[str, tuple[int, int]]:
    """Return ``{ref: (load balancers, GiB bound)}`` from the sandbox's stored objects."""
    out: dict[str, list[int]] = {}
    for start in range(0, len(refs), 500):
        rows = s.exec(
            select(SandboxObject.ref, SandboxObject.kind, SandboxObject.body).where(
                col(SandboxObject.ref).in_(refs[start : start + 500]),
                SandboxObject.api_group == "",
                col(SandboxObject.kind).in_(("Service", "PersistentVolumeClaim")),
            )
        ).all()
        for ref, kind, body in rows:
            try:
                obj = json.loads(body)
            except ValueError:
                continue
            acc = out.setdefault(ref, [0, 0])
            if kind == "Service" and (obj.get("spec") or {}).get("type") == "LoadBalancer":
                acc[0] += 1
            elif kind == "PersistentVolumeClaim":
                status = obj.get("status") or {}
                if status.get("phase") == "Bound":
                    size = (status.get("capacity") or {}).get("storage") or (
                        (obj.get("spec") or {}).get("resources", {}).get("requests", {})
                    ).get("storage", "0")
                    acc[1] += gib(size)
    return {ref: (lb, size) for ref, (lb, size) in out.items()}


def observe(s: Session, *, since: datetime, org_id: str | None = None) -> list[ClusterUsage]:
    """Return the hourly usage of every billable cluster alive at or after `since`, as of now.

    Args:
        s: An open session.
        since: Clusters deleted before this are left out.
        org_id: Only this organisation's clusters (all when None).

    """
    billable = or_(
        col(Cluster.status).in_(BILLABLE),
        and_(Cluster.status == "failed", Cluster.current_version != ""),
        and_(
            Cluster.status == "deleted",
            col(Cluster.deleted_at).is_not(None),
            Cluster.current_version != "",
        ),
    )
    query = select(Cluster).where(
        billable, or_(col(Cluster.deleted_at).is_(None), col(Cluster.deleted_at) > since)
    )
    if org_id is not None:
        query = query.where(Cluster.org_id == org_id)
    clusters = list(s.exec(query))
    if not clusters:
        return []
    by_id = {c.id: c for c in clusters}
    pools: dict[str, list[NodePool]] = {}
    ids = list(by_id)
    for start in range(0, len(ids), 500):
        for p in s.exec(
            select(NodePool).where(col(NodePool.cluster_id).in_(ids[start : start + 500]))
        ):
            pools.setdefault(p.cluster_id, []).append(p)
    refs = [c.provider_ref for c in clusters if c.provider == "sandbox" and c.provider_ref]
    extras = _sandbox_extras(s, refs) if refs else {}
    out = []
    for c in clusters:
        deleted = c.deleted_at is not None
        items: list[tuple[str, str, str, int]] = [("cluster", c.service_level, "", 1)]
        for p in sorted(pools.get(c.id, []), key=lambda p: p.name):
            count = p.count if deleted else p.observed_count
            if count > 0:
                items.append(("node", f"{c.provider}/{p.machine_type}", p.name, count))
        for slug, status in sorted((c.feature_status or {}).items()):
            if status == "ready":
                items.append(("feature", slug, "", 1))
        lbs, size = extras.get(c.provider_ref, (0, 0)) if c.provider == "sandbox" else (0, 0)
        if lbs:
            items.append(("load_balancer", "", "", lbs))
        if size:
            items.append(("storage", "", "", size))
        out.append(
            ClusterUsage(
                org_id=c.org_id,
                cluster_id=c.id,
                service_level=c.service_level,
                created_at=as_utc(c.created_at),
                deleted_at=as_utc(c.deleted_at) if deleted else None,
                items=items,
            )
        )
    return out


def insert_ignore(s: Session, rows: list[dict]) -> None:
    """Insert usage rows, ignoring those whose unique key exists (SQLite and PostgreSQL)."""
    dialect = s.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(UsageRecord.__table__).on_conflict_do_nothing(
        index_elements=list(USAGE_KEY)
    )
    for start in range(0, len(rows), BATCH):
        s.connection().execute(stmt, rows[start : start + BATCH])


def hour_rows(usage: Iterable[ClusterUsage], hour: datetime, skip: set[str]) -> list[dict]:
    """Return the records of `hour` for the clusters alive then, except those in `skip`."""
    rows = []
    for u in usage:
        if u.cluster_id in skip or not u.alive_during(hour):
            continue
        for component, sku, pool, quantity in u.items:
            rows.append(
                {
                    "org_id": u.org_id,
                    "cluster_id": u.cluster_id,
                    "hour": hour,
                    "service_level": u.service_level,
                    "component": component,
                    "sku": sku,
                    "pool": pool,
                    "quantity": quantity,
                }
            )
    return rows


def cursor() -> datetime | None:
    """Return the first hour not metered yet, or None before the first run."""
    with session_scope() as s:
        row = s.get(MeterCursor, CURSOR)
        return as_utc(row.next_hour) if row else None


def _advance(s: Session, to: datetime) -> None:
    row = s.get(MeterCursor, CURSOR, with_for_update=True)
    if row is None:
        s.add(MeterCursor(name=CURSOR, next_hour=to))
    elif as_utc(row.next_hour) < to:
        row.next_hour = to
        s.add(row)


def meter(now: datetime | None = None, *, start: datetime | None = None) -> int:
    """Record the usage of every completed hour not metered yet; move the cursor.

    Args:
        now: The time to meter up to (default: now). Hours starting before
            ``floor_hour(now)`` are recorded.
        start: Meter from this hour instead of the cursor (e.g. a first run with history,
            or re-metering: hours already recorded are left as they are).

    Returns:
        The number of usage records written.

    """
    until = floor_hour(now or utcnow())
    begin = floor_hour(start) if start is not None else cursor()
    if begin is None:
        with session_scope() as s:
            _advance(s, until)
        return 0
    if begin >= until:
        if start is not None:
            with session_scope() as s:
                if s.get(MeterCursor, CURSOR) is None:
                    _advance(s, until)
        return 0
    with session_scope() as s:
        usage = observe(s, since=begin)
    written = 0
    hour = begin
    while hour < until:
        with session_scope() as s:
            seen = set(
                s.exec(
                    select(UsageRecord.cluster_id).where(UsageRecord.hour == hour).distinct()
                ).all()
            )
            rows = hour_rows(usage, hour, seen)
            if rows:
                insert_ignore(s, rows)
            _advance(s, hour + HOUR)
        written += len(rows)
        hour += HOUR
    return written
