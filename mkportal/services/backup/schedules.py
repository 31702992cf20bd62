"""Backup schedules: presets (hourly, daily, weekly) or cron, and the tick that runs them.

Presets are expanded into a cron expression (`BackupSchedule.cron`), evaluated in the
cluster's policy timezone (see `cronspec` for the daylight-saving rules). The
`backup.schedules` tick starts a backup for every schedule whose `next_run_at` has come,
once per due time: the backup is requested with an idempotency key naming the schedule
and the due time (a repeated or concurrent tick gets the same backup back), then
`next_run_at` moves on by compare-and-set. Runs missed while the worker was down, or
while the cluster was provisioning or updating, are caught up by one backup, not one per
missed time; a run the backup service refuses is skipped (audited as `backup.schedule_skipped`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.backup import BackupPolicy, BackupSchedule
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.backup.cronspec import next_run
from mkportal.services.backup.policy import add_defaults, live, policy_row, visible_cluster
from mkportal.services.backup.presets import (
    check_fields,
    clean_name,
    describe,
    expand,
    params,
)
from mkportal.services.errors import Conflict, NotFound, ServiceError
from mkportal.worker.tick import register_tick

log = logging.getLogger(__name__)

MAX_PER_CLUSTER = 10
WAIT_STATUSES = ("provisioning", "upgrading")  # back up once these finish


@dataclass
class ScheduleView:
    """A backup schedule as callers see it (`next_run_at` in UTC)."""

    id: str
    cluster_id: str
    name: str
    preset: str
    cron: str
    description: str
    timezone: str
    enabled: bool
    is_default: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    created_by: str
    created_at: datetime


def _view(row: BackupSchedule, tz: str) -> ScheduleView:
    return ScheduleView(
        id=row.id,
        cluster_id=row.cluster_id,
        name=row.name,
        preset=row.preset,
        cron=row.cron,
        description=describe(row.preset, row.cron, tz),
        timezone=tz,
        enabled=row.enabled,
        is_default=row.is_default,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _timezone(s: Session, cluster: Cluster) -> str:
    return policy_row(s, cluster).timezone


def list_schedules(actor: Actor, cluster_id: str) -> list[ScheduleView]:
    """Return a cluster's schedules, oldest first (any role of its organisation).

    Raises:
        NotFound: No such cluster in the caller's organisation.

    """
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        tz = _timezone(s, cluster)
        rows = s.exec(
            select(BackupSchedule)
            .where(BackupSchedule.cluster_id == cluster.id)
            .order_by(
                col(BackupSchedule.is_default).desc(), BackupSchedule.created_at, BackupSchedule.id
            )
        ).all()
        return [_view(r, tz) for r in rows]


def create_schedule(
    actor: Actor, cluster_id: str, data: dict, *, now: datetime | None = None
) -> ScheduleView:
    """Add a schedule to a cluster (members and owners).

    Args:
        actor: The caller.
        cluster_id: The cluster.
        data: `name`, `preset` and its parameters (see `expand`), optional `enabled`.
        now: The current time (tests pass one).

    Raises:
        NotFound: No such cluster in the caller's organisation.
        Forbidden: The caller is a viewer.
        Invalid: A bad name, preset or cron expression.
        Conflict: The cluster has the maximum number of schedules, or is being deleted.

    """
    now = now or utcnow()
    check_fields(data)
    name = clean_name(data.get("name"))
    preset, cron = expand(data)
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id, write=True)
        add_defaults(s, cluster, now)
        s.flush()
        count = len(
            s.exec(select(BackupSchedule.id).where(BackupSchedule.cluster_id == cluster.id)).all()
        )
        if count >= MAX_PER_CLUSTER:
            raise Conflict(f"A cluster has at most {MAX_PER_CLUSTER} backup schedules.")
        tz = _timezone(s, cluster)
        enabled = data.get("enabled", True)
        row = BackupSchedule(
            org_id=cluster.org_id,
            cluster_id=cluster.id,
            name=name,
            preset=preset,
            cron=cron,
            enabled=enabled,
            next_run_at=next_run(cron, tz, now) if enabled else None,
            created_by=actor.email,
            created_at=now,
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor,
            "backup.schedule_created",
            target_type="backup_schedule",
            target_id=row.id,
            org_id=cluster.org_id,
            detail={"cluster_id": cluster.id, "name": name, "preset": preset, "cron": cron},
        )
        return _view(row, tz)


def _own_schedule(s: Session, actor: Actor, schedule_id: str) -> tuple[BackupSchedule, Cluster]:
    row = s.get(BackupSchedule, schedule_id)
    if row is None or not actor.can_see_org(row.org_id):
        raise NotFound("Not found.")
    return row, visible_cluster(s, actor, row.cluster_id, write=True)


def update_schedule(
    actor: Actor, schedule_id: str, data: dict, *, now: datetime | None = None
) -> ScheduleView:
    """Change a schedule's name, timing or enabled flag (members and owners).

    Timing fields are merged with the schedule's current ones, so `{"time": "04:00"}`
    moves a daily schedule; `preset` switches kind.

    Raises:
        NotFound: No such schedule in the caller's organisation.
        Forbidden: The caller is a viewer.
        Invalid: A bad value.

    """
    now = now or utcnow()
    check_fields(data)
    with session_scope() as s:
        row, cluster = _own_schedule(s, actor, schedule_id)
        tz = _timezone(s, cluster)
        changes: dict = {}
        if "name" in data and (name := clean_name(data["name"])) != row.name:
            changes["name"] = {"from": row.name, "to": name}
            row.name = name
        if set(data) & {"preset", "time", "minute", "weekday", "cron"}:
            preset, cron = expand({**params(row), **data})
            if (preset, cron) != (row.preset, row.cron):
                changes["cron"] = {"from": row.cron, "to": cron}
                row.preset, row.cron = preset, cron
        if "enabled" in data and data["enabled"] != row.enabled:
            changes["enabled"] = {"from": row.enabled, "to": data["enabled"]}
            row.enabled = data["enabled"]
        if "cron" in changes or "enabled" in changes:
            row.next_run_at = next_run(row.cron, tz, now) if row.enabled else None
        if changes:
            s.add(row)
            audit.record(
                s,
                actor,
                "backup.schedule_updated",
                target_type="backup_schedule",
                target_id=row.id,
                org_id=row.org_id,
                detail=changes,
            )
        return _view(row, tz)


def delete_schedule(actor: Actor, schedule_id: str) -> None:
    """Delete a schedule, the default one included (members and owners).

    Raises:
        NotFound: No such schedule in the caller's organisation.
        Forbidden: The caller is a viewer.

    """
    with session_scope() as s:
        row, _cluster = _own_schedule(s, actor, schedule_id)
        audit.record(
            s,
            actor,
            "backup.schedule_deleted",
            target_type="backup_schedule",
            target_id=row.id,
            org_id=row.org_id,
            detail={"cluster_id": row.cluster_id, "name": row.name, "cron": row.cron},
        )
        s.delete(row)


def ensure_defaults(now: datetime | None = None) -> int:
    """Give every live cluster without a backup policy its policy and default daily schedule.

    Returns:
        How many clusters got them.

    """
    now = now or utcnow()
    with session_scope() as s:
        missing = s.exec(
            select(Cluster)
            .outerjoin(BackupPolicy, col(BackupPolicy.cluster_id) == Cluster.id)
            .where(col(BackupPolicy.cluster_id).is_(None), col(Cluster.deleted_at).is_(None))
        ).all()
        added = 0
        for cluster in missing:
            if live(cluster) and add_defaults(s, cluster, now):
                added += 1
        return added


def _claim(row_id: str, due: datetime, nxt: datetime, now: datetime) -> bool:
    """Move `next_run_at` from `due` to `nxt` unless someone else already did."""
    with session_scope() as s:
        res = s.exec(
            update(BackupSchedule)
            .where(BackupSchedule.id == row_id, BackupSchedule.next_run_at == due)
            .values(next_run_at=nxt, last_run_at=now)
        )
        return res.rowcount == 1


def _start(row: BackupSchedule, cluster: Cluster, due: datetime) -> str:
    """Start the scheduled backup of `due` (idempotent per schedule and due time)."""
    from mkportal.services.backup.backups import back_up_now

    actor = Actor(
        user_id=None,
        email=f"schedule:{row.name}"[:254],
        org_id=cluster.org_id,
        role="owner",
        is_operator=True,
    )
    key = f"backup-schedule:{row.id}:{due.strftime('%Y%m%dT%H%M%SZ')}"
    try:
        view = back_up_now(
            actor, cluster.id, trigger="schedule", schedule_id=row.id, idempotency_key=key
        )
    except ServiceError as exc:
        with session_scope() as s:
            audit.record(
                s,
                actor,
                "backup.schedule_skipped",
                target_type="backup_schedule",
                target_id=row.id,
                org_id=cluster.org_id,
                detail={"due": due.isoformat(), "reason": exc.message},
            )
        return ""
    return view.id


def run_due(now: datetime | None = None) -> list[str]:
    """Start the backups whose schedules are due at `now`; the `backup.schedules` tick.

    Returns:
        The ids of the backups started (or found already started for the same due time).

    """
    now = now or utcnow()
    ensure_defaults(now)
    with session_scope() as s:
        due = s.exec(
            select(BackupSchedule, Cluster)
            .join(Cluster, col(Cluster.id) == BackupSchedule.cluster_id)
            .where(
                col(BackupSchedule.enabled).is_(True),
                col(BackupSchedule.next_run_at) <= now,
                col(Cluster.deleted_at).is_(None),
            )
            .order_by(BackupSchedule.next_run_at, BackupSchedule.id)
        ).all()
        work = []
        for row, cluster in due:
            tz = policy_row(s, cluster).timezone
            s.expunge(row)
            s.expunge(cluster)
            work.append((row, cluster, tz))
    started = []
    for row, cluster, tz in work:
        if not live(cluster) or cluster.status in WAIT_STATUSES:
            continue  # due again on the next tick, once the cluster is ready
        due_at = row.next_run_at
        try:
            backup_id = _start(row, cluster, due_at)
            if _claim(row.id, due_at, next_run(row.cron, tz, now), now) and backup_id:
                started.append(backup_id)
        except Exception:  # noqa: BLE001 - one broken schedule must not stop the others
            log.exception("backup schedule %s failed; it is retried on the next tick", row.id)
    return started


def _tick() -> None:
    run_due()


register_tick("backup.schedules", _tick)
