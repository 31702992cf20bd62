"""Retention: which backups to keep (last N + grandfather-father-son) and the prune tick.

`plan` is pure. Of the succeeded backups it keeps the newest `keep_last`, the newest of
each calendar day for the last `keep_daily` days, of each ISO week for the last
`keep_weekly` weeks (the current one included) and of each month for the last
`keep_monthly` months, days, weeks and months taken in the policy's timezone. Locked
backups are always kept. Failed backups older than the newest succeeded one are dropped;
newer ones (up to `FAILED_KEPT`) stay visible. Each kept backup is labelled with the
first rule that keeps it, in the order locked, last N, daily, weekly, monthly.

The `backup.prune` tick applies the plan to every cluster. Backups a restore or drill is
using are kept ("restoring"). A dropped backup is marked pruned (the update is guarded,
so a backup locked meanwhile stays) and audited, and then its archive is deleted; an
archive that could not be deleted is retried on the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, BackupDrill, BackupPolicy, Restore
from mkportal.models.base import utcnow
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.worker.tick import register_tick

log = logging.getLogger(__name__)

FAILED_KEPT = 20
CHUNK = 500
ACTIVE = ("pending", "running")


class Catalogued(Protocol):
    """What `plan` reads of a backup (a `Backup` row fits)."""

    id: str
    status: str
    started_at: datetime
    locked: bool


class Retention(Protocol):
    """What `plan` reads of a policy (a `BackupPolicy` row fits)."""

    keep_last: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int


@dataclass(frozen=True)
class Item:
    """A minimal catalogued backup, for tests and benchmarks."""

    id: str
    status: str
    started_at: datetime
    locked: bool = False


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def plan(
    backups: Iterable[Catalogued], policy: Retention, tz: str | ZoneInfo, now: datetime
) -> dict[str, str | None]:
    """Decide which backups retention keeps.

    Args:
        backups: The cluster's catalog; running and pruned backups are ignored.
        policy: keep_last, keep_daily, keep_weekly and keep_monthly.
        tz: The timezone days, weeks and months are taken in.
        now: The current instant (timezone-aware).

    Returns:
        For every succeeded or failed backup, the rule keeping it ("locked", "last N",
        "daily", "weekly", "monthly", "recent failure") or None to prune it.

    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    items = [b for b in backups if b.status in ("succeeded", "failed")]
    order = sorted(items, key=lambda b: (b.started_at, b.id), reverse=True)
    good = [b for b in order if b.status == "succeeded"]
    out: dict[str, str | None] = {b.id: None for b in order}
    for b in order:
        if b.locked:
            out[b.id] = "locked"
    for b in good[: max(policy.keep_last, 0)]:
        out[b.id] = out[b.id] or f"last {policy.keep_last}"
    today = now.astimezone(zone).date()
    this_monday, this_month = _monday(today), today.year * 12 + today.month
    seen: dict[str, set] = {"daily": set(), "weekly": set(), "monthly": set()}
    for b in good:
        day = b.started_at.astimezone(zone).date()
        buckets = (
            ("daily", day, (today - day).days, policy.keep_daily),
            ("weekly", _monday(day), (this_monday - _monday(day)).days // 7, policy.keep_weekly),
            (
                "monthly",
                (day.year, day.month),
                this_month - day.year * 12 - day.month,
                policy.keep_monthly,
            ),
        )
        for rule, bucket, age, keep in buckets:
            if bucket in seen[rule]:
                continue
            seen[rule].add(bucket)  # newest first: the first one seen is the bucket's newest
            if age < keep and out[b.id] is None:
                out[b.id] = rule
    newest_good = good[0].started_at if good else None
    failed = [b for b in order if b.status == "failed" and out[b.id] is None]
    recent = [b for b in failed if newest_good is None or b.started_at > newest_good]
    for b in recent[:FAILED_KEPT]:
        out[b.id] = "recent failure"
    return out


@dataclass
class PruneResult:
    """What one prune run did."""

    clusters: int = 0
    pruned: int = 0
    relabelled: int = 0
    archive_errors: int = 0


def _busy(s, cluster_id: str) -> set[str]:
    """Backups a restore or drill is using right now (never pruned under them)."""
    restoring = s.exec(
        select(Restore.backup_id)
        .join(Backup, col(Backup.id) == Restore.backup_id)
        .where(Backup.cluster_id == cluster_id, col(Restore.status).in_(ACTIVE))
    ).all()
    drilling = s.exec(
        select(BackupDrill.backup_id).where(
            BackupDrill.cluster_id == cluster_id, BackupDrill.status == "running"
        )
    ).all()
    return set(restoring) | set(drilling)


def _relabel(s, labels: dict[str, str]) -> None:
    by_label: dict[str, list[str]] = {}
    for backup_id, label in labels.items():
        by_label.setdefault(label, []).append(backup_id)
    for label, ids in by_label.items():
        for i in range(0, len(ids), CHUNK):
            s.exec(
                update(Backup).where(col(Backup.id).in_(ids[i : i + CHUNK])).values(kept_by=label)
            )


def _mark_pruned(s, actor: Actor, rows: list, now: datetime) -> int:
    """Mark dropped backups pruned, guarded against a lock set meanwhile; audit each one.

    Returns:
        How many were marked.

    """
    by_id = {row.id: row for row in rows}
    ids = list(by_id)
    marked = 0
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        s.exec(
            update(Backup)
            .where(
                col(Backup.id).in_(chunk),
                col(Backup.locked).is_(False),
                col(Backup.status).in_(("succeeded", "failed")),
            )
            .values(status="pruned", pruned_at=now, kept_by="")
        )
        done = s.exec(
            select(Backup.id).where(
                col(Backup.id).in_(chunk), Backup.status == "pruned", Backup.pruned_at == now
            )
        ).all()
        marked += len(done)
        for backup_id in done:
            row = by_id[backup_id]
            audit.record(
                s,
                actor,
                "backup.pruned",
                target_type="backup",
                target_id=row.id,
                org_id=row.org_id,
                detail={
                    "cluster_id": row.cluster_id,
                    "status": row.status,
                    "started_at": row.started_at.isoformat(),
                },
            )
    return marked


def _prune_cluster(cluster_id: str, actor: Actor, now: datetime, result: PruneResult) -> None:
    with session_scope() as s:
        policy = s.get(BackupPolicy, cluster_id) or BackupPolicy(cluster_id=cluster_id, org_id="")
        rows = s.exec(
            select(
                Backup.id,
                Backup.org_id,
                Backup.cluster_id,
                Backup.status,
                Backup.started_at,
                Backup.locked,
                Backup.kept_by,
            ).where(
                Backup.cluster_id == cluster_id, col(Backup.status).in_(("succeeded", "failed"))
            )
        ).all()
        decisions = plan(rows, policy, policy.timezone, now)
        busy = _busy(s, cluster_id)
        labels = {}
        dropped = []
        for row in rows:
            label = decisions[row.id] or ("restoring" if row.id in busy else None)
            if label is None:
                dropped.append(row)
            elif label != row.kept_by:
                labels[row.id] = label
        _relabel(s, labels)
        result.relabelled += len(labels)
        result.pruned += _mark_pruned(s, actor, dropped, now)


def _delete_archives(result: PruneResult) -> None:
    """Delete the archives of pruned backups; clear `storage_key` once gone."""
    from mkportal.services.backup.storage import StoreError, store_for

    with session_scope() as s:
        rows = s.exec(
            select(Backup.id, Backup.org_id, Backup.storage_kind, Backup.storage_key).where(
                Backup.status == "pruned", Backup.storage_key != ""
            )
        ).all()
    stores: dict = {}
    done = []
    for row in rows:
        try:
            key = (row.org_id, row.storage_kind)
            if key not in stores:
                stores[key] = store_for(row.org_id, row.storage_kind)
            stores[key].delete(row.storage_key)
            done.append(row.id)
        except StoreError as exc:
            result.archive_errors += 1
            log.warning("could not delete the archive of pruned backup %s: %s", row.id, exc)
    with session_scope() as s:
        for i in range(0, len(done), CHUNK):
            s.exec(
                update(Backup).where(col(Backup.id).in_(done[i : i + CHUNK])).values(storage_key="")
            )


def prune(now: datetime | None = None) -> PruneResult:
    """Apply retention to every cluster's catalog; the `backup.prune` tick.

    Returns:
        Counts of clusters seen, backups pruned and relabelled, and archive errors.

    """
    now = now or utcnow()
    actor = Actor.system("backup retention")
    result = PruneResult()
    with session_scope() as s:
        clusters = s.exec(
            select(Backup.cluster_id)
            .where(col(Backup.status).in_(("succeeded", "failed")))
            .distinct()
        ).all()
    for cluster_id in sorted(clusters):
        result.clusters += 1
        _prune_cluster(cluster_id, actor, now, result)
    _delete_archives(result)
    return result


def _tick() -> None:
    prune()


register_tick("backup.prune", _tick)
