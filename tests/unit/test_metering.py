"""Metering: hourly usage from the observed state, idempotent, with backfill."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from mkportal.db import session_scope
from mkportal.models.billing import MeterCursor, UsageRecord
from mkportal.models.cluster import Cluster, NodePool
from mkportal.models.sandbox import SandboxObject
from mkportal.services.billing import metering
from mkportal.services.billing.metering import gib, meter

H = timedelta(hours=1)
T0 = datetime(2026, 10, 5, 8, tzinfo=UTC)


def make_cluster(
    org_id: str,
    name: str,
    *,
    created: datetime,
    deleted: datetime | None = None,
    status: str = "running",
    level: str = "standard",
    pools: tuple = (("default", "s-2", 2),),
    features: dict | None = None,
    provider: str = "sandbox",
    current_version: str = "1.35",
) -> str:
    """Insert a cluster with its pools as the worker would have left it."""
    with session_scope() as s:
        c = Cluster(
            org_id=org_id,
            name=name,
            provider=provider,
            region="ch-gva-2",
            version="1.35",
            current_version=current_version,
            service_level=level,
            status=status,
            features=sorted(features or {}),
            feature_status=dict(features or {}),
            created_at=created,
            updated_at=created,
            deleted_at=deleted,
        )
        s.add(c)
        s.flush()
        for pool, machine, count in pools:
            s.add(
                NodePool(
                    cluster_id=c.id,
                    name=pool,
                    machine_type=machine,
                    count=count,
                    observed_count=0 if deleted else count,
                    ready_count=0 if deleted else count,
                    status="deleted" if deleted else "ready",
                )
            )
        return c.id


def start_metering(at: datetime) -> None:
    """Start the cursor at `at` (a first run)."""
    assert meter(at) == 0


def usage(cluster_id: str | None = None) -> list[tuple]:
    with session_scope() as s:
        query = select(UsageRecord)
        if cluster_id:
            query = query.where(UsageRecord.cluster_id == cluster_id)
        rows = s.exec(query).all()
        return sorted(
            (r.hour.astimezone(UTC), r.component, r.sku, r.pool, r.quantity, r.service_level)
            for r in rows
        )


def count_usage() -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(UsageRecord)).one()


def hours_of(cluster_id: str) -> list[datetime]:
    return sorted({h for h, component, *_ in usage(cluster_id) if component == "cluster"})


@pytest.fixture
def acme(two_orgs) -> str:
    return two_orgs["acme_owner"].org_id


def test_first_run_starts_at_the_current_hour(acme):
    make_cluster(acme, "web", created=T0 - 10 * H)
    assert metering.cursor() is None
    assert meter(T0 + timedelta(minutes=20)) == 0
    assert metering.cursor() == T0
    assert count_usage() == 0


def test_completed_hours_are_recorded_once(acme):
    web = make_cluster(
        acme,
        "web",
        created=T0 - 10 * H,
        pools=(("default", "s-2", 2), ("big", "m-8", 1)),
        features={"ingress-controller": "ready", "cert-manager": "installing"},
    )
    start_metering(T0)
    written = meter(T0 + 3 * H + timedelta(minutes=5))
    assert metering.cursor() == T0 + 3 * H
    rows = usage(web)
    assert written == len(rows) == 3 * 4
    first = [r for r in rows if r[0] == T0]
    assert first == [
        (T0, "cluster", "standard", "", 1, "standard"),
        (T0, "feature", "ingress-controller", "", 1, "standard"),
        (T0, "node", "sandbox/m-8", "big", 1, "standard"),
        (T0, "node", "sandbox/s-2", "default", 2, "standard"),
    ]
    # Running again, or again over the same hours, changes nothing.
    assert meter(T0 + 3 * H + timedelta(minutes=50)) == 0
    assert meter(T0 + 3 * H, start=T0) == 0
    assert usage(web) == rows


def test_re_metering_keeps_the_first_observation(acme):
    web = make_cluster(acme, "web", created=T0 - H)
    start_metering(T0)
    meter(T0 + 2 * H)
    before = usage(web)
    with session_scope() as s:
        c = s.get(Cluster, web)
        c.service_level = "premium"
        s.add(c)
        pool = s.exec(select(NodePool).where(NodePool.cluster_id == web)).one()
        pool.observed_count, pool.machine_type = 5, "s-4"
        s.add(pool)
    assert meter(T0 + 2 * H, start=T0) == 0
    assert usage(web) == before
    # Rows written again (a concurrent run) are ignored on the unique key.
    with session_scope() as s:
        again = [
            r.model_dump(exclude={"id"})
            for r in s.exec(select(UsageRecord).where(UsageRecord.cluster_id == web))
        ]
        metering.insert_ignore(s, again)
    assert usage(web) == before


def test_backfill_after_downtime(acme):
    web = make_cluster(acme, "web", created=T0 - H)
    start_metering(T0)
    assert meter(T0 + H) == 2
    # The worker was down for ten hours: the missed hours are recorded now.
    assert meter(T0 + 11 * H + timedelta(minutes=1)) == 2 * 10
    assert hours_of(web) == [T0 + i * H for i in range(11)]
    assert metering.cursor() == T0 + 11 * H


def test_a_given_start_meters_history(acme):
    web = make_cluster(acme, "web", created=T0 - 3 * H - timedelta(minutes=30))
    meter(T0, start=T0 - 5 * H)
    # Created at 04:30: billed from the 04:00 hour on, not before.
    assert hours_of(web) == [T0 - 4 * H, T0 - 3 * H, T0 - 2 * H, T0 - H]
    assert metering.cursor() == T0


def test_clusters_created_and_deleted_mid_hour(acme):
    late = make_cluster(acme, "late", created=T0 + H + timedelta(minutes=30))
    gone = make_cluster(
        acme,
        "gone",
        created=T0 - 5 * H,
        deleted=T0 + H + timedelta(minutes=20),
        status="deleted",
        pools=(("default", "s-4", 3),),
    )
    never_ran = make_cluster(
        acme,
        "never",
        created=T0 - 5 * H,
        deleted=T0 + timedelta(minutes=30),
        status="deleted",
        current_version="",
    )
    provisioning = make_cluster(acme, "prov", created=T0 - 5 * H, status="provisioning")
    failed = make_cluster(acme, "failed", created=T0 - 5 * H, status="failed", current_version="")
    # An update that failed leaves a cluster that ran with its nodes: it is billed.
    broken = make_cluster(acme, "broken", created=T0 - 5 * H, status="failed")
    updating = make_cluster(acme, "upd", created=T0 - 5 * H, status="updating")
    start_metering(T0)
    meter(T0 + 3 * H)
    assert hours_of(late) == [T0 + H, T0 + 2 * H]
    assert hours_of(gone) == [T0, T0 + H]
    # A deleted cluster's observed counts are reset: its last desired count is billed.
    assert [r[4] for r in usage(gone) if r[1] == "node"] == [3, 3]
    assert hours_of(updating) == hours_of(broken) == [T0, T0 + H, T0 + 2 * H]
    for cid in (never_ran, provisioning, failed):
        assert usage(cid) == []


def test_only_ready_features_are_metered(acme):
    web = make_cluster(
        acme,
        "web",
        created=T0 - H,
        features={"metrics-agent": "ready", "log-agent": "failed", "backup-agent": "pending"},
    )
    start_metering(T0)
    meter(T0 + H)
    assert [r[2] for r in usage(web) if r[1] == "feature"] == ["metrics-agent"]


def test_service_level_is_recorded_on_every_row(acme):
    web = make_cluster(acme, "web", created=T0 - H, level="premium")
    start_metering(T0)
    meter(T0 + H)
    assert {r[5] for r in usage(web)} == {"premium"}
    assert [r[2] for r in usage(web) if r[1] == "cluster"] == ["premium"]


def test_storage_quantities():
    assert gib("10Gi") == 10
    assert gib("1Ti") == 1024
    assert gib("500Mi") == 1
    assert gib("1G") == 1
    assert gib("2.5Gi") == 3
    assert gib("nonsense") == 0
    assert gib("0") == 0


def test_sandbox_load_balancers_and_volumes(two_orgs, monkeypatch):
    from mkportal.models.base import utcnow
    from mkportal.services.billing.money import floor_hour
    from tests.unit.test_clusters import _req, _run

    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")
    monkeypatch.setenv("PROVIDER_INLINE_WAIT", "5")
    from mkportal.services.clusters import actions
    from mkportal.settings import get_settings

    get_settings.cache_clear()
    cluster, op, _ = actions.create_cluster(two_orgs["acme_member"], _req())
    assert _run(op.id) == "succeeded"
    with session_scope() as s:
        ref = s.get(Cluster, cluster.id).provider_ref

        def obj(kind: str, name: str, body: dict) -> SandboxObject:
            return SandboxObject(
                ref=ref, kind=kind, namespace="default", name=name, body=json.dumps(body)
            )

        s.add(obj("Service", "web", {"spec": {"type": "LoadBalancer"}}))
        s.add(obj("Service", "web2", {"spec": {"type": "LoadBalancer"}}))
        s.add(obj("Service", "internal", {"spec": {"type": "ClusterIP"}}))
        bound = {"phase": "Bound", "capacity": {"storage": "10Gi"}}
        s.add(obj("PersistentVolumeClaim", "data", {"spec": {}, "status": bound}))
        s.add(obj("PersistentVolumeClaim", "logs", {"spec": {}, "status": bound}))
        pending = {"spec": {"resources": {"requests": {"storage": "50Gi"}}}, "status": {}}
        s.add(obj("PersistentVolumeClaim", "new", pending))
    hour = floor_hour(utcnow())
    meter(hour + H, start=hour)
    rows = {r[1]: r for r in usage(cluster.id)}
    assert rows["load_balancer"][4] == 2
    assert rows["storage"][4] == 20
    assert rows["node"][2:5] == ("sandbox/s-2", "default", 2)


def test_other_providers_have_no_load_balancer_or_storage_rows(acme):
    eks = make_cluster(acme, "eks", created=T0 - H, provider="eks", pools=(("ng", "m6i.large", 3),))
    start_metering(T0)
    meter(T0 + H)
    assert [r[1:5] for r in usage(eks)] == [
        ("cluster", "standard", "", 1),
        ("node", "eks/m6i.large", "ng", 3),
    ]


def test_the_tick_meters(acme):
    from mkportal.worker import tick
    from mkportal.worker.registry import kind_names

    kind_names()
    assert {"billing.meter", "billing.monthly"} <= set(tick._HOOKS)
    with session_scope() as s:
        s.add(MeterCursor(name=metering.CURSOR, next_hour=T0))
    web = make_cluster(acme, "web", created=T0 - H)
    tick._HOOKS["billing.meter"]()
    with session_scope() as s:
        hours = s.exec(
            select(func.count(col(UsageRecord.id))).where(
                UsageRecord.cluster_id == web, UsageRecord.component == "cluster"
            )
        ).one()
    # From the cursor up to the current hour: every hour since T0 was backfilled.
    assert hours == int((metering.cursor() - T0) / H) > 24
