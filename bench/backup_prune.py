"""Retention over a catalog of 10,000 backups: the pure plan and the prune tick.

One cluster with BACKUP_PRUNE_COUNT (default 10,000) succeeded hourly backups (about 14
months), each with a small archive in the local store, and the default policy (last 7,
7 daily, 4 weekly, 6 monthly) in Europe/Zurich.

1. `retention.plan` alone (pure; median of 5 runs).
2. The first `retention.prune()` on SQLite: plan, label the kept ones, mark the rest
   pruned (one guarded UPDATE and an audit event each) and delete their archives.
3. A second `prune()` over the pruned catalog (nothing left to do: the steady state).
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.common import apply_env, scratch_env

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _setup(count: int) -> str:
    from mkportal.db import session_scope
    from mkportal.migrate import upgrade
    from mkportal.models.backup import Backup, BackupPolicy
    from mkportal.models.cluster import Cluster
    from mkportal.models.org import Organization
    from mkportal.services.backup.storage import store_for

    upgrade()
    with session_scope() as s:
        org = Organization(name="Bench", slug="bench")
        s.add(org)
        s.flush()
        cluster = Cluster(
            org_id=org.id, name="bench", provider="sandbox", region="r", version="1.35"
        )
        s.add(cluster)
        s.flush()
        s.add(BackupPolicy(cluster_id=cluster.id, org_id=org.id, timezone="Europe/Zurich"))
        store = store_for(org.id)
        rows = []
        for i in range(count):
            at = NOW - timedelta(hours=i + 1)
            row = Backup(
                org_id=org.id,
                cluster_id=cluster.id,
                status="succeeded",
                started_at=at,
                finished_at=at,
            )
            row.storage_key = f"{cluster.id}/{row.id}.mkb"
            store.put(row.storage_key, b"x")
            rows.append(row)
        s.add_all(rows)
        return cluster.id


def measure() -> dict:
    """Return the figures of the prune benchmark."""
    count = int(os.environ.get("BACKUP_PRUNE_COUNT", "10000"))
    apply_env(scratch_env())
    cluster_id = _setup(count)
    from sqlmodel import func, select

    from mkportal.db import session_scope
    from mkportal.models.backup import Backup, BackupPolicy
    from mkportal.services.backup import retention

    with session_scope() as s:
        policy = s.get(BackupPolicy, cluster_id)
        s.expunge(policy)
        items = [
            retention.Item(b.id, b.status, b.started_at, b.locked)
            for b in s.exec(select(Backup).where(Backup.cluster_id == cluster_id))
        ]
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        decided = retention.plan(items, policy, policy.timezone, NOW)
        timings.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    first = retention.prune(NOW)
    first_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    second = retention.prune(NOW)
    second_ms = (time.perf_counter() - started) * 1000
    with session_scope() as s:
        kept = s.exec(select(func.count()).where(Backup.status == "succeeded")).one()
    return {
        "catalog_backups": count,
        "plan_ms_median": round(statistics.median(timings), 1),
        "plan_kept": sum(1 for v in decided.values() if v),
        "prune_first_ms_sqlite": round(first_ms),
        "prune_first_pruned": first.pruned,
        "prune_first_per_backup_ms": round(first_ms / max(first.pruned, 1), 3),
        "prune_steady_ms_sqlite": round(second_ms, 1),
        "kept_after_prune": kept,
        "archive_errors": first.archive_errors + second.archive_errors,
    }


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key:32s} {value}")
