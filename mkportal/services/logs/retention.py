"""Log retention and quota settings, and the periodic retention job.

A line's expiry day is fixed when it is ingested (its timestamp's day plus the retention
that applies then: the org's app retention, or the cluster's control-plane retention).
A retention change therefore applies to lines ingested afterwards; lines already stored
keep the expiry they were given. Retention is enforced by the tick: whole day partitions
are dropped on PostgreSQL, expired rows deleted in batches on SQLite.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.logs import (
    DEFAULT_APP_RETENTION_DAYS,
    DEFAULT_CONTROL_PLANE_RETENTION_DAYS,
    ClusterLogSettings,
    LogSettings,
    LogUsage,
)
from mkportal.models.org import Organization, Role
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Forbidden, Invalid, NotFound
from mkportal.services.logs.store import get_store
from mkportal.services.logs.tokens import visible_cluster
from mkportal.worker.tick import register_tick

log = logging.getLogger(__name__)

MIN_DAYS, MAX_DAYS = 1, 90
USAGE_KEEP_DAYS = MAX_DAYS + 2


@dataclass
class OrgLogSettings:
    """An organisation's log settings and its current usage."""

    org_id: str
    app_retention_days: int
    quota_bytes: int
    used_bytes: int
    warned_at: datetime | None
    operator_grants_control_plane: bool


@dataclass
class ClusterLogSettingsInfo:
    """A cluster's control-plane log retention."""

    cluster_id: str
    control_plane_retention_days: int


def today_utc() -> date:
    """Return today's date in UTC."""
    return datetime.now(UTC).date()


def org_settings_row(s: Session, org_id: str) -> LogSettings:
    """Return the org's settings row, or an unsaved row with the defaults."""
    return s.get(LogSettings, org_id) or LogSettings(org_id=org_id)


def control_plane_days(s: Session, cluster_id: str) -> int:
    """Return the cluster's control-plane retention in days."""
    row = s.get(ClusterLogSettings, cluster_id)
    return row.control_plane_retention_days if row else DEFAULT_CONTROL_PLANE_RETENTION_DAYS


def used_bytes(s: Session, org_id: str, retention_days: int, today: date) -> int:
    """Return the bytes the org ingested within its retention window (the quota's measure)."""
    since = today - timedelta(days=retention_days)
    total = s.exec(
        select(func.coalesce(func.sum(LogUsage.bytes), 0)).where(
            LogUsage.org_id == org_id, LogUsage.day > since
        )
    ).one()
    return int(total)


def _check_days(field: str, days: int) -> None:
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise Invalid({field: f"Choose between {MIN_DAYS} and {MAX_DAYS} days."})


def _org_id(actor: Actor, org_id: str | None) -> str:
    target = org_id or actor.org_id
    if target is None:
        raise Invalid({"org_id": "Name the organisation."})
    actor.require_org(target)
    return target


def _info(s: Session, row: LogSettings) -> OrgLogSettings:
    return OrgLogSettings(
        org_id=row.org_id,
        app_retention_days=row.app_retention_days,
        quota_bytes=row.quota_bytes,
        used_bytes=used_bytes(s, row.org_id, row.app_retention_days, today_utc()),
        warned_at=row.warned_at,
        operator_grants_control_plane=row.operator_grants_control_plane,
    )


def get_org_settings(actor: Actor, org_id: str | None = None) -> OrgLogSettings:
    """Return an organisation's log settings (the caller's own unless an operator names one)."""
    target = _org_id(actor, org_id)
    with session_scope() as s:
        if s.get(Organization, target) is None:
            raise NotFound("Not found.")
        return _info(s, org_settings_row(s, target))


def update_org_settings(
    actor: Actor,
    *,
    org_id: str | None = None,
    app_retention_days: int | None = None,
    quota_bytes: int | None = None,
    operator_grants_control_plane: bool | None = None,
) -> OrgLogSettings:
    """Change an organisation's log settings.

    Owners set the application-log retention (1-90 days); only operators set the quota and
    grant an organisation read access to its clusters' control-plane logs.

    Raises:
        Invalid: Retention out of 1..90 or a quota below 1 MiB.
        Forbidden: Not an owner, or a non-operator changing operator settings.

    """
    target = _org_id(actor, org_id)
    actor.require_role(Role.owner)
    if app_retention_days is not None:
        _check_days("app_retention_days", app_retention_days)
    if (quota_bytes is not None or operator_grants_control_plane is not None) and not (
        actor.is_operator
    ):
        raise Forbidden("Only operators change the log quota and control-plane access.")
    if quota_bytes is not None and quota_bytes < 1024 * 1024:
        raise Invalid({"quota_bytes": "Use at least 1 MiB (1048576 bytes)."})
    with session_scope() as s:
        if s.get(Organization, target) is None:
            raise NotFound("Not found.")
        row = org_settings_row(s, target)
        changes = {}
        for name, value in (
            ("app_retention_days", app_retention_days),
            ("quota_bytes", quota_bytes),
            ("operator_grants_control_plane", operator_grants_control_plane),
        ):
            if value is not None and getattr(row, name) != value:
                changes[name] = {"from": getattr(row, name), "to": value}
                setattr(row, name, value)
        if changes:
            row.updated_at = utcnow()
            s.add(row)
            audit.record(
                s,
                actor,
                "logs.settings_changed",
                target_type="organization",
                target_id=target,
                org_id=target,
                detail=changes,
            )
        s.flush()
        return _info(s, row)


def get_cluster_settings(actor: Actor, cluster_id: str) -> ClusterLogSettingsInfo:
    """Return a cluster's control-plane retention (anyone who can see the cluster)."""
    with session_scope() as s:
        visible_cluster(s, actor, cluster_id)
        return ClusterLogSettingsInfo(cluster_id, control_plane_days(s, cluster_id))


def set_control_plane_retention(actor: Actor, cluster_id: str, days: int) -> ClusterLogSettingsInfo:
    """Set a cluster's control-plane log retention (operators only, 1-90 days)."""
    actor.require_operator()
    _check_days("control_plane_retention_days", days)
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        row = s.get(ClusterLogSettings, cluster_id) or ClusterLogSettings(cluster_id=cluster_id)
        before = row.control_plane_retention_days
        row.control_plane_retention_days = days
        row.updated_at = utcnow()
        s.add(row)
        audit.record(
            s,
            actor,
            "logs.control_plane_retention_changed",
            target_type="cluster",
            target_id=cluster_id,
            org_id=cluster.org_id,
            detail={"from": before, "to": days},
        )
        return ClusterLogSettingsInfo(cluster_id, days)


def enforce(today: date | None = None) -> int:
    """Remove expired log lines and old usage counters (the tick runs this).

    Returns:
        What the store removed: partitions on PostgreSQL, rows on SQLite.

    """
    today = today or today_utc()
    removed = get_store().enforce_retention(today)
    with session_scope() as s:
        s.exec(delete(LogUsage).where(LogUsage.day < today - timedelta(days=USAGE_KEEP_DAYS)))
    if removed:
        log.info("log retention removed %s (before %s)", removed, today)
    return removed


__all__ = [
    "DEFAULT_APP_RETENTION_DAYS",
    "ClusterLogSettingsInfo",
    "OrgLogSettings",
    "enforce",
    "get_cluster_settings",
    "get_org_settings",
    "set_control_plane_retention",
    "update_org_settings",
]

register_tick("logs.retention", enforce)
