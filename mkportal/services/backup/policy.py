"""A cluster's backup policy: timezone, retention (last N + daily/weekly/monthly), drills.

A cluster without a policy row uses the defaults (UTC, last 7, 7 daily, 4 weekly,
6 monthly, no drills). `add_defaults` gives a cluster its policy row and the default daily
schedule; it runs once per cluster (at creation, or from the schedules tick for clusters
that predate backups), so a user who deletes the default schedule keeps it deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, BackupPolicy, BackupSchedule
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.org import Role
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.backup.cronspec import check_cron, check_timezone, next_run
from mkportal.services.errors import Conflict, Invalid, NotFound

RETENTION = {"keep_last": 1000, "keep_daily": 3660, "keep_weekly": 520, "keep_monthly": 240}
FIELDS = ("timezone", *RETENTION, "drill_cron")
DRILL_MIN_MINUTES = 60


@dataclass
class PolicyView:
    """A cluster's backup policy as callers see it."""

    cluster_id: str
    timezone: str
    keep_last: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    drill_cron: str
    drill_next_at: datetime | None
    updated_by: str
    updated_at: datetime | None


def policy_view(row: BackupPolicy) -> PolicyView:
    """Convert a policy row (saved or default)."""
    return PolicyView(
        cluster_id=row.cluster_id,
        timezone=row.timezone,
        keep_last=row.keep_last,
        keep_daily=row.keep_daily,
        keep_weekly=row.keep_weekly,
        keep_monthly=row.keep_monthly,
        drill_cron=row.drill_cron,
        drill_next_at=row.drill_next_at,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def live(cluster: Cluster) -> bool:
    """Whether a cluster is neither deleted nor being deleted."""
    return cluster.deleted_at is None and cluster.status not in ("deleting", "deleted")


def visible_cluster(s: Session, actor: Actor, cluster_id: str, *, write: bool = False) -> Cluster:
    """Return the cluster if the actor may see it (and, with `write`, change its backups).

    Raises:
        NotFound: No such cluster in the caller's organisation.
        Forbidden: `write` and the caller is a viewer.
        Conflict: `write` and the cluster is deleted or being deleted.

    """
    cluster = s.get(Cluster, cluster_id)
    if cluster is None or not actor.can_see_org(cluster.org_id):
        raise NotFound("Not found.")
    if write:
        actor.require_role(Role.member)
        if not live(cluster):
            raise Conflict("The cluster is being deleted or was deleted.")
    return cluster


def policy_row(s: Session, cluster: Cluster) -> BackupPolicy:
    """Return the cluster's policy row, or an unsaved row with the defaults."""
    return s.get(BackupPolicy, cluster.id) or BackupPolicy(
        cluster_id=cluster.id, org_id=cluster.org_id, updated_at=None
    )


def default_cron(cluster_id: str) -> str:
    """Return the default daily schedule's cron: a time between 01:00 and 04:45 from the id.

    Spreading clusters over the night keeps them from all backing up at the same minute.
    """
    digest = int(cluster_id[:8], 16) if len(cluster_id) >= 8 else 0
    return f"{(digest >> 4) % 4 * 15} {digest % 4 + 1} * * *"


def add_defaults(s: Session, cluster: Cluster, now: datetime | None = None) -> bool:
    """Give a cluster its policy row and default daily schedule unless it has a policy.

    Returns:
        Whether they were added (the caller's session commits them).

    """
    if s.get(BackupPolicy, cluster.id) is not None:
        return False
    now = now or utcnow()
    s.add(BackupPolicy(cluster_id=cluster.id, org_id=cluster.org_id, updated_by="system"))
    cron = default_cron(cluster.id)
    s.add(
        BackupSchedule(
            org_id=cluster.org_id,
            cluster_id=cluster.id,
            name="Daily",
            preset="daily",
            cron=cron,
            is_default=True,
            next_run_at=next_run(cron, "UTC", now),
            created_by="system",
            created_at=now,
        )
    )
    return True


def get_policy(actor: Actor, cluster_id: str) -> PolicyView:
    """Return a cluster's backup policy (any role of its organisation).

    Raises:
        NotFound: No such cluster in the caller's organisation.

    """
    with session_scope() as s:
        return policy_view(policy_row(s, visible_cluster(s, actor, cluster_id)))


def _int(data: dict, name: str, limit: int) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise Invalid({name: f"Enter a whole number from 0 to {limit}."})
    return value


def _clean(data: dict) -> dict:
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise Invalid({unknown[0]: f"Unknown setting; use {', '.join(FIELDS)}."})
    clean: dict = {}
    if "timezone" in data:
        clean["timezone"] = check_timezone(str(data["timezone"] or ""))
    for name, limit in RETENTION.items():
        if name in data:
            clean[name] = _int(data, name, limit)
    if "drill_cron" in data:
        text = str(data["drill_cron"] or "").strip()
        clean["drill_cron"] = (
            check_cron(text, min_minutes=DRILL_MIN_MINUTES, field="drill_cron") if text else ""
        )
    return clean


def _has_locked(s: Session, cluster_id: str) -> bool:
    return (
        s.exec(
            select(Backup.id).where(
                Backup.cluster_id == cluster_id,
                col(Backup.locked).is_(True),
                Backup.status == "succeeded",
            )
        ).first()
        is not None
    )


def set_policy(
    actor: Actor, cluster_id: str, data: dict, *, now: datetime | None = None
) -> PolicyView:
    """Change a cluster's timezone, retention or drill schedule (members and owners).

    Args:
        actor: The caller.
        cluster_id: The cluster.
        data: Any of timezone (IANA), keep_last, keep_daily, keep_weekly, keep_monthly
            (whole numbers) and drill_cron ("" for no drills).
        now: The current time (tests pass one).

    Raises:
        NotFound: No such cluster in the caller's organisation.
        Forbidden: The caller is a viewer.
        Invalid: A bad value, or retention of zero everything without a locked backup.

    """
    now = now or utcnow()
    clean = _clean(data)
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id, write=True)
        add_defaults(s, cluster, now)
        s.flush()
        row = s.get(BackupPolicy, cluster.id)
        before = policy_view(row)
        for name, value in clean.items():
            setattr(row, name, value)
        if not any(getattr(row, n) for n in RETENTION) and not _has_locked(s, cluster.id):
            raise Invalid(
                {
                    "retention": "This would keep no backup at all. Keep at least one (last, "
                    "daily, weekly or monthly above zero), or lock a backup first."
                }
            )
        tz_changed = row.timezone != before.timezone
        if tz_changed or row.drill_cron != before.drill_cron:
            row.drill_next_at = (
                next_run(row.drill_cron, row.timezone, now) if row.drill_cron else None
            )
        if tz_changed:
            for sched in s.exec(
                select(BackupSchedule).where(BackupSchedule.cluster_id == cluster.id)
            ):
                sched.next_run_at = next_run(sched.cron, row.timezone, now)
                s.add(sched)
        row.updated_by, row.updated_at = actor.email, now
        s.add(row)
        changes = {
            n: {"from": getattr(before, n), "to": getattr(row, n)}
            for n in FIELDS
            if getattr(before, n) != getattr(row, n)
        }
        audit.record(
            s,
            actor,
            "backup.policy_updated",
            target_type="cluster",
            target_id=cluster.id,
            org_id=cluster.org_id,
            detail=changes,
        )
        return policy_view(row)
