"""Backup freshness, the exporter's last-success series, and versioned cluster configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, ClusterConfigVersion
from mkportal.models.cluster import Cluster
from mkportal.models.operation import Operation
from mkportal.services.backup import config_versions, freshness, policy, schedules
from mkportal.services.backup.freshness import allowed_age
from mkportal.services.clusters import actions
from mkportal.services.clusters.spec import ClusterIn, ClusterPatch
from mkportal.services.errors import Invalid, NotFound
from mkportal.services.metrics import catalog as c
from mkportal.services.metrics import simulate
from tests.fakes.metrics_data import sandbox_cluster

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_allowed_age_follows_the_schedules():
    assert allowed_age([], "UTC", T0) is None
    assert allowed_age(["0 3 * * *"], "UTC", T0) == timedelta(hours=26)
    assert allowed_age(["0 * * * *"], "UTC", T0) == timedelta(minutes=75)
    # Weekdays only: the weekend is the longest gap (Fri 03:00 -> Mon 03:00).
    assert allowed_age(["0 3 * * 1-5"], "UTC", T0) == timedelta(hours=72 + 6)
    # Two schedules together: the gaps of their union.
    assert allowed_age(["0 3 * * *", "0 15 * * *"], "UTC", T0) == timedelta(hours=13)
    monthly = allowed_age(["0 3 1 * *"], "UTC", T0)
    assert timedelta(days=31) < monthly < timedelta(days=34)


@pytest.fixture
def cluster(two_orgs) -> dict:
    org = two_orgs["acme_owner"].org_id
    cid = sandbox_cluster(org, started=T0 - timedelta(days=10))
    schedules.ensure_defaults(T0)
    return {"id": cid, "org": org, **two_orgs}


def _backup(cid: str, org: str, finished: datetime, status: str = "succeeded") -> None:
    with session_scope() as s:
        s.add(
            Backup(
                org_id=org, cluster_id=cid, status=status, started_at=finished, finished_at=finished
            )
        )


def _last_success(now: datetime) -> float:
    for fam in text_string_to_metric_families(simulate.exposition(now)):
        for sample in fam.samples:
            if sample.name == c.BACKUP_LAST_SUCCESS:
                return sample.value
    raise AssertionError("no series")


def test_freshness_and_the_exported_series_use_real_backups(cluster):
    cid, org = cluster["id"], cluster["org"]
    never = freshness.freshness(cid, T0)
    assert never.newest_good_at is None and never.stale and never.allowed_seconds == 26 * 3600
    assert _last_success(T0) == (T0 - timedelta(days=10)).timestamp()  # the cluster's start
    _backup(cid, org, T0 - timedelta(hours=30))
    _backup(cid, org, T0 - timedelta(hours=2), status="failed")
    _backup(cid, org, T0 + timedelta(hours=1))  # finishes after "now": not seen yet
    old = freshness.freshness(cid, T0)
    assert old.stale and old.age_seconds == 30 * 3600 and "older than the 26 hours" in old.message
    assert _last_success(T0) == (T0 - timedelta(hours=30)).timestamp()
    _backup(cid, org, T0 - timedelta(hours=20))
    fresh = freshness.get_freshness(cluster["acme_viewer"], cid, T0)
    assert not fresh.stale and fresh.newest_good_at == T0 - timedelta(hours=20)
    assert _last_success(T0) == (T0 - timedelta(hours=20)).timestamp()
    with pytest.raises(NotFound):
        freshness.get_freshness(cluster["globex_owner"], cid, T0)


def test_no_enabled_schedule_is_never_stale(cluster):
    (default,) = schedules.list_schedules(cluster["acme_member"], cluster["id"])
    schedules.update_schedule(cluster["acme_member"], default.id, {"enabled": False})
    result = freshness.freshness(cluster["id"], T0)
    assert not result.stale and result.allowed_seconds == 0
    assert result.message == "No backup schedule is enabled."


def test_hourly_schedule_in_a_timezone(cluster):
    policy.set_policy(cluster["acme_member"], cluster["id"], {"timezone": "Asia/Kolkata"}, now=T0)
    schedules.create_schedule(
        cluster["acme_member"], cluster["id"], {"name": "h", "preset": "hourly"}, now=T0
    )
    _backup(cluster["id"], cluster["org"], T0 - timedelta(minutes=80))
    result = freshness.freshness(cluster["id"], T0)
    assert result.allowed_seconds == 75 * 60 and result.stale


@pytest.fixture
def _fast_sandbox(monkeypatch):
    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")


def test_config_is_versioned_on_create_and_update(two_orgs, _fast_sandbox):
    member = two_orgs["acme_member"]
    req = ClusterIn.model_validate(
        {
            "name": "web",
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 2}],
        }
    )
    view, op, _ = actions.create_cluster(member, req)
    between = datetime.now(UTC)
    with session_scope() as s:
        s.get(Cluster, view.id).status = "running"  # as if provisioning finished
        s.get(Operation, op.id).status = "succeeded"
        first = s.exec(select(ClusterConfigVersion)).one()
        first.created_at = between - timedelta(seconds=1)
    actions.update_cluster(member, view.id, ClusterPatch(service_level="premium"))
    versions = config_versions.list_versions(two_orgs["acme_viewer"], view.id)
    assert [(v.version, v.reason) for v in versions] == [
        (2, "updated: service_level"),
        (1, "created"),
    ]
    assert (
        versions[0].spec["service_level"] == "premium"
        and versions[1].spec["service_level"] == "standard"
    )
    assert (
        versions[1].spec["node_pools"][0]["count"] == 2 and versions[1].changed_by == member.email
    )
    then = config_versions.at(member, view.id, between)
    assert then["version"] == 1 and then["spec"]["service_level"] == "standard"
    assert config_versions.at(member, view.id, datetime.now(UTC))["version"] == 2
    with pytest.raises(NotFound):
        config_versions.at(member, view.id, datetime(2000, 1, 1, tzinfo=UTC))
    with pytest.raises(Invalid):
        config_versions.at(member, view.id, datetime(2030, 1, 1))
    with pytest.raises(NotFound):
        config_versions.list_versions(two_orgs["globex_owner"], view.id)
    # Creation also gave the cluster its policy and default daily schedule.
    assert [s.is_default for s in schedules.list_schedules(member, view.id)] == [True]


def test_clusters_from_before_versioning_get_a_baseline(cluster):
    (only,) = config_versions.list_versions(cluster["acme_viewer"], cluster["id"])
    assert only.version == 1 and only.reason == "baseline" and only.spec["name"] == "prod"
