"""Restore drills: regularly prove that a cluster's latest good backup restores.

`BackupPolicy.drill_cron` (in the policy's timezone; empty: no drills) schedules them;
the tick `backup.drills` starts each due drill exactly once (compare-and-set on
`drill_next_at`). A drill runs as the `backup.drill` operation (drill_steps.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, BackupDrill, BackupPolicy
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.org import Role
from mkportal.services import audit, operations
from mkportal.services.actor import Actor
from mkportal.services.backup import cronspec
from mkportal.services.backup.drill_steps import drill_actor
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.worker.tick import register_tick

MAX_LISTED = 100


@dataclass
class DrillView:
    """A restore drill as callers see it."""

    id: str
    cluster_id: str
    backup_id: str
    temp_cluster_id: str
    status: str
    operation_id: str
    result: dict
    message: str
    started_at: datetime
    finished_at: datetime | None


def view(d: BackupDrill) -> DrillView:
    """Convert a row."""
    return DrillView(
        d.id,
        d.cluster_id,
        d.backup_id,
        d.temp_cluster_id,
        d.status,
        d.operation_id,
        dict(d.result),
        d.message,
        d.started_at,
        d.finished_at,
    )


def _cluster(s: Session, actor: Actor, cluster_id: str) -> Cluster:
    cluster = s.get(Cluster, cluster_id)
    if cluster is None or not actor.can_see_org(cluster.org_id):
        raise NotFound("Not found.")
    return cluster


def list_drills(actor: Actor, cluster_id: str) -> list[DrillView]:
    """Return a cluster's restore drills, newest first."""
    with session_scope() as s:
        _cluster(s, actor, cluster_id)
        rows = s.exec(
            select(BackupDrill)
            .where(BackupDrill.cluster_id == cluster_id)
            .order_by(BackupDrill.started_at.desc(), BackupDrill.id)
            .limit(MAX_LISTED)
        ).all()
        return [view(d) for d in rows]


def _latest_good(s: Session, cluster_id: str) -> Backup | None:
    return s.exec(
        select(Backup)
        .where(Backup.cluster_id == cluster_id, Backup.status == "succeeded")
        .order_by(Backup.started_at.desc(), Backup.id)
    ).first()


def _start(s: Session, actor: Actor, cluster: Cluster) -> BackupDrill:
    """Insert a drill of the cluster's latest good backup and its operation (caller dispatches)."""
    running = s.exec(
        select(BackupDrill.id).where(
            BackupDrill.cluster_id == cluster.id, BackupDrill.status == "running"
        )
    ).first()
    if running is not None:
        raise Conflict(f"Drill {running} of this cluster is still running.")
    backup = _latest_good(s, cluster.id)
    if backup is None:
        raise Conflict("The cluster has no succeeded backup to drill yet.")
    drill = BackupDrill(org_id=cluster.org_id, cluster_id=cluster.id, backup_id=backup.id)
    s.add(drill)
    s.flush()
    op = operations.add_operation(
        s, actor, "backup.drill", org_id=cluster.org_id, params={"drill_id": drill.id}
    )
    drill.operation_id = op.id
    s.add(drill)
    audit.record(
        s,
        actor,
        "backup.drill_started",
        target_type="cluster",
        target_id=cluster.id,
        org_id=cluster.org_id,
        detail={"drill_id": drill.id, "backup_id": backup.id},
    )
    return drill


def run_drill_now(actor: Actor, cluster_id: str) -> DrillView:
    """Start a restore drill of the cluster's latest good backup (members and owners).

    Raises:
        NotFound: Not the caller's cluster.
        Conflict: No succeeded backup yet, or a drill is already running.
    """
    with session_scope() as s:
        cluster = _cluster(s, actor, cluster_id)
        actor.require_role(Role.member)
        if cluster.deleted_at:
            raise Conflict("The cluster was deleted.")
        drill = _start(s, actor, cluster)
        op_id, result = drill.operation_id, view(drill)
    _dispatch(op_id)
    return result


def _dispatch(op_id: str) -> None:
    from mkportal.worker.queue import enqueue

    enqueue(op_id)


def _next(policy: BackupPolicy, after: datetime) -> datetime | None:
    try:
        return cronspec.next_run(policy.drill_cron, policy.timezone or "UTC", after)
    except Invalid:
        return None


def due_drills(now: datetime | None = None) -> list[str]:
    """Start every due drill once; return the ids of the drills started.

    A policy whose `drill_next_at` is unset gets its first time; a due policy is moved to
    its next time with a compare-and-set, so concurrent ticks start a drill only once.
    """
    now = now or utcnow()
    started: list[str] = []
    with session_scope() as s:
        policies = s.exec(select(BackupPolicy).where(col(BackupPolicy.drill_cron) != "")).all()
        s.expunge_all()
    for policy in policies:
        if policy.drill_next_at is None:
            with session_scope() as s:
                s.exec(
                    update(BackupPolicy)
                    .where(
                        BackupPolicy.cluster_id == policy.cluster_id,
                        col(BackupPolicy.drill_next_at).is_(None),
                    )
                    .values(drill_next_at=_next(policy, now))
                )
            continue
        due = policy.drill_next_at
        if due.tzinfo is None:
            due = due.replace(tzinfo=now.tzinfo)
        if due > now:
            continue
        if (drill_id := _claim_and_start(policy, now)) is not None:
            started.append(drill_id)
    return started


def _claim_and_start(policy: BackupPolicy, now: datetime) -> str | None:
    with session_scope() as s:
        res = s.exec(
            update(BackupPolicy)
            .where(
                BackupPolicy.cluster_id == policy.cluster_id,
                BackupPolicy.drill_next_at == policy.drill_next_at,
            )
            .values(drill_next_at=_next(policy, now))
        )
        if res.rowcount != 1:
            return None
        cluster = s.get(Cluster, policy.cluster_id)
        if cluster is None or cluster.deleted_at or cluster.status != "running":
            return None
        try:
            with s.begin_nested():
                drill = _start(s, drill_actor(cluster.org_id), cluster)
        except Conflict:
            return None
        drill_id, op_id = drill.id, drill.operation_id
    _dispatch(op_id)
    return drill_id


def _tick() -> None:
    due_drills()


register_tick("backup.drills", _tick)
