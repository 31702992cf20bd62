"""Backup freshness: whether the newest good backup is older than the schedules allow.

The allowed age is the longest gap between two consecutive runs of the cluster's enabled
schedules (all of them together, in the policy's timezone, around now), plus a grace of
a twelfth of that gap and at least 15 minutes for the backup itself to run: 26 hours for a
daily schedule, 75 minutes for an hourly one. A cluster without enabled schedules is
never stale (nothing is expected). A cluster that never had a good backup is stale once
it has existed longer than the allowed age.

The exporter's `mk_backup_last_success_timestamp_seconds` (services/metrics/simulate.py)
reads `newest_good_at`, so the ClusterBackupStale alert and this check see the same backup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, BackupSchedule
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.services.actor import Actor
from mkportal.services.backup.cronspec import fires_between
from mkportal.services.backup.policy import policy_row, visible_cluster
from mkportal.services.errors import NotFound

WINDOW = timedelta(days=8)
WIDE_WINDOW = timedelta(days=400)
MIN_GRACE = timedelta(minutes=15)


@dataclass
class Freshness:
    """How old a cluster's newest good backup is allowed to be, and whether it is older."""

    newest_good_at: datetime | None
    allowed_seconds: int
    stale: bool
    age_seconds: int | None = None
    message: str = ""


def newest_good_at(s: Session, cluster_id: str, until: datetime | None = None) -> datetime | None:
    """Return when the cluster's newest succeeded backup finished (only those done by `until`)."""
    query = select(Backup.finished_at).where(
        Backup.cluster_id == cluster_id,
        Backup.status == "succeeded",
        col(Backup.finished_at).is_not(None),
    )
    if until is not None:
        query = query.where(col(Backup.finished_at) <= until)
    return s.exec(query.order_by(col(Backup.finished_at).desc()).limit(1)).first()


def allowed_age(crons: list[str], tz: str, now: datetime) -> timedelta | None:
    """Return the allowed age of the newest backup for these schedules (None: no schedule)."""
    if not crons:
        return None
    fires: set[datetime] = set()
    for cron in crons:
        near = fires_between(cron, tz, now - WINDOW, now + WINDOW)
        fires.update(
            near
            if len(near) >= 3
            else fires_between(cron, tz, now - WIDE_WINDOW, now + WIDE_WINDOW)
        )
    ordered = sorted(fires)
    gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
    gap = max(gaps) if gaps else WIDE_WINDOW
    return gap + max(MIN_GRACE, gap / 12)


def _message(newest: datetime | None, allowed: timedelta | None, stale: bool) -> str:
    if allowed is None:
        return "No backup schedule is enabled."
    hours = allowed.total_seconds() / 3600
    limit = f"{hours:.0f} hours" if hours >= 2 else f"{allowed.total_seconds() / 60:.0f} minutes"
    if newest is None:
        return (
            f"No successful backup yet; one is expected within {limit}."
            if not stale
            else (f"No successful backup in the {limit} the schedules allow.")
        )
    if stale:
        return f"The newest successful backup is older than the {limit} the schedules allow."
    return f"Backups are fresh (the schedules allow {limit})."


def freshness(cluster_id: str, now: datetime | None = None) -> Freshness:
    """Return the freshness of a cluster's backups (no access check; see `get_freshness`).

    Raises:
        NotFound: No such cluster.

    """
    now = now or utcnow()
    with session_scope() as s:
        cluster = s.get(Cluster, cluster_id)
        if cluster is None:
            raise NotFound("Not found.")
        return _freshness(s, cluster, now)


def allowed_for(s: Session, cluster: Cluster, now: datetime) -> timedelta | None:
    """Return how old a cluster's newest backup may be under its enabled schedules.

    None when no schedule is enabled. The answer is cached per hour, schedules and
    timezone, so the metrics exporter can ask on every scrape.
    """
    tz = policy_row(s, cluster).timezone
    crons = s.exec(
        select(BackupSchedule.cron).where(
            BackupSchedule.cluster_id == cluster.id, col(BackupSchedule.enabled).is_(True)
        )
    ).all()
    hour = now.replace(minute=0, second=0, microsecond=0)
    return _allowed_cached(tuple(sorted(crons)), tz, hour)


@lru_cache(maxsize=4096)
def _allowed_cached(crons: tuple[str, ...], tz: str, hour: datetime) -> timedelta | None:
    return allowed_age(list(crons), tz, hour)


def _freshness(s: Session, cluster: Cluster, now: datetime) -> Freshness:
    allowed = allowed_for(s, cluster, now)
    newest = newest_good_at(s, cluster.id, now)
    since = newest or cluster.created_at
    age = now - since
    stale = allowed is not None and age > allowed
    return Freshness(
        newest_good_at=newest,
        allowed_seconds=int(allowed.total_seconds()) if allowed else 0,
        stale=stale,
        age_seconds=int(age.total_seconds()) if newest else None,
        message=_message(newest, allowed, stale),
    )


def get_freshness(actor: Actor, cluster_id: str, now: datetime | None = None) -> Freshness:
    """Return the freshness of a cluster's backups (any role of its organisation).

    Raises:
        NotFound: No such cluster in the caller's organisation.

    """
    now = now or utcnow()
    with session_scope() as s:
        return _freshness(s, visible_cluster(s, actor, cluster_id), now)
