"""Restore drills: the schedule tick starts each due drill exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, BackupDrill, BackupPolicy
from mkportal.services.backup import drills
from mkportal.services.clusters import actions
from mkportal.services.errors import Conflict, NotFound
from mkportal.settings import get_settings
from tests.unit.test_clusters import _req, _run


@pytest.fixture
def cluster(two_orgs, monkeypatch) -> str:
    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")
    monkeypatch.setenv("PROVIDER_INLINE_WAIT", "5")
    get_settings.cache_clear()
    view, op, _ = actions.create_cluster(two_orgs["acme_member"], _req(name="drilled"))
    assert _run(op.id) == "succeeded"
    return view.id


def _policy(cluster_id: str, org_id: str, cron: str = "0 3 * * *") -> None:
    with session_scope() as s:
        row = s.get(BackupPolicy, cluster_id) or BackupPolicy(cluster_id=cluster_id, org_id=org_id)
        row.timezone, row.drill_cron, row.drill_next_at = "Europe/Zurich", cron, None
        s.add(row)


def _good_backup(cluster_id: str, org_id: str) -> str:
    with session_scope() as s:
        row = Backup(org_id=org_id, cluster_id=cluster_id, status="succeeded")
        s.add(row)
        return row.id


def _next_at(cluster_id: str) -> datetime:
    with session_scope() as s:
        at = s.get(BackupPolicy, cluster_id).drill_next_at
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def test_due_drill_starts_once_per_due_time(cluster, two_orgs):
    org = two_orgs["acme_member"].org_id
    _policy(cluster, org)
    backup = _good_backup(cluster, org)
    t0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert drills.due_drills(t0) == []
    first = _next_at(cluster)
    assert first == datetime(2026, 7, 2, 1, 0, tzinfo=UTC)  # 03:00 in Zurich (CEST)
    assert drills.due_drills(first - timedelta(minutes=1)) == []
    started = drills.due_drills(first + timedelta(minutes=1))
    assert len(started) == 1
    assert drills.due_drills(first + timedelta(minutes=1)) == []  # the same due time: once
    assert _next_at(cluster) == datetime(2026, 7, 3, 1, 0, tzinfo=UTC)
    with session_scope() as s:
        rows = s.exec(select(BackupDrill)).all()
        assert [(d.id, d.backup_id, d.status) for d in rows] == [(started[0], backup, "running")]
        assert rows[0].operation_id


def test_no_good_backup_skips_the_drill_but_moves_on(cluster, two_orgs):
    org = two_orgs["acme_member"].org_id
    _policy(cluster, org)
    t0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    drills.due_drills(t0)
    due = _next_at(cluster)
    assert drills.due_drills(due + timedelta(seconds=1)) == []
    assert _next_at(cluster) > due
    with pytest.raises(Conflict, match="no succeeded backup"):
        drills.run_drill_now(two_orgs["acme_member"], cluster)


def test_drills_of_other_organisations_are_not_found(cluster, two_orgs):
    with pytest.raises(NotFound):
        drills.list_drills(two_orgs["globex_owner"], cluster)
    with pytest.raises(NotFound):
        drills.run_drill_now(two_orgs["globex_owner"], cluster)
    assert drills.list_drills(two_orgs["acme_viewer"], cluster) == []
